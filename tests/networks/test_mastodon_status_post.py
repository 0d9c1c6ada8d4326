"""The connector posts statuses itself (``_post``): the request must stay what Mastodon.py's
``status_post`` would send, and the errors what it would raise."""

from __future__ import annotations

from typing import Any

import pytest

from sokhan.networks.connectors.mastodon import MastodonConnector
from sokhan.networks.errors import OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.types import Account, Credentials


class _Sent(Exception):
    pass


def _capture(connector: MastodonConnector, seen: list[tuple[Any, ...]]) -> None:
    def request(method: str, url: str, **kwargs: Any) -> Any:
        seen.append((method, url, list(kwargs["data"].items()), dict(kwargs["headers"]), kwargs["timeout"]))
        raise _Sent

    connector.client.session.request = request  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "case",
    [
        {"text": "a", "key": "k1"},
        {"text": "b", "key": "", "reply_to": "5", "visibility": "Unlisted"},
        {"text": "c", "key": "k3", "media_ids": ["1", "2"], "spoiler_text": "cw", "language": "fa", "sensitive": True},
        {"text": "d", "key": "k4", "visibility": "direct"},
    ],
)
def test_status_request_matches_mastodon_py(case: dict[str, Any]) -> None:
    connector = MastodonConnector(Account(base_url="http://x.example/"), Credentials(access_token="tok"), timeout=7)
    seen: list[tuple[Any, ...]] = []
    _capture(connector, seen)
    with pytest.raises(OutcomeUnknown):  # the fake request fails after "sending"
        connector._post(**case)
    options = dict(case)
    text, key = options.pop("text"), options.pop("key")
    reply_to, media_ids = options.pop("reply_to", ""), options.pop("media_ids", [])
    with pytest.raises(Exception, match="Could not complete request"):
        connector.client.status_post(
            text, in_reply_to_id=reply_to or None, media_ids=media_ids or None, idempotency_key=key or None, **options
        )
    ours, theirs = seen
    assert ours == theirs


class _Response:
    def __init__(self, status: int, body: Any, reason: str = "") -> None:
        self.status_code, self._body, self.reason, self.headers = status, body, reason, {}
        self.ok = status < 400
        self.content = b"x"

    def json(self) -> Any:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (422, {"error": "Validation failed: Text can't be blank"}, Rejected),
        (429, {"error": "Too many requests"}, RateLimited),
        (502, {"error": "bad gateway"}, Transient),
        (504, ValueError("not json"), OutcomeUnknown),
        (200, ValueError("not json"), Rejected),
    ],
)
def test_status_errors_map_like_mastodon_py(status: int, body: Any, error: type[Exception]) -> None:
    connector = MastodonConnector(Account(base_url="http://x.example"), Credentials(access_token="tok"), timeout=7)
    connector.client.session.request = lambda *a, **k: _Response(status, body)  # type: ignore[method-assign]
    with pytest.raises(error):
        connector._post("x", key="k")
