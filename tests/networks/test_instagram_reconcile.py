"""Instagram ``reconcile``: finding the post an interrupted publish made, against recorded Graph reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.instagram import InstagramConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

Cassette = Callable[[str], Replay]
USER = "17841405822304914"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)  # the cassettes ask since 08:58:00Z (2 min skew)
CAPTION = "لاته امروز ☕\n#کافه_سخن"


def connect(replay: Replay) -> InstagramConnector:
    return InstagramConnector(
        Account(base_url=f"{replay.url}/v25.0", remote_id=USER, handle="cafesokhan"),
        Credentials(access_token="IGQ-token"),
    )


def request(tmp_path: Path, **fields: object) -> PublishRequest:
    values: dict[str, object] = {
        "text": CAPTION,
        "idempotency_key": "k-1",
        "not_before": FIRST_ATTEMPT,
        "media": (MediaFile(path=tmp_path / "latte.jpg", mime_type="image/jpeg"),),
        **fields,
    }
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert InstagramConnector.has(Capability.RECONCILE) and not InstagramConnector.idempotent_publish


def test_finds_the_image_post_and_the_accounts_own_first_comment(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("instagram/reconcile_found")).reconcile(
        request(tmp_path, first_comment="منوی امروز در بیو")
    )
    assert result is not None
    assert result.remote_id == "18030000000000002"  # the image, not the Reel with the same caption
    assert result.url == "https://www.instagram.com/p/DAbCdEfGhIk/"
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 9, tzinfo=UTC)
    assert result.first_comment_id == "17858893269000100"


def test_not_found(cassette: Cassette, tmp_path: Path) -> None:
    assert connect(cassette("instagram/reconcile_not_found")).reconcile(request(tmp_path)) is None


def test_a_post_without_caption_cannot_be_matched(tmp_path: Path) -> None:
    connector = InstagramConnector(Account(remote_id=USER), Credentials(access_token="t"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(tmp_path, text=""))


def test_errors_are_typed(cassette: Cassette, tmp_path: Path) -> None:
    connector = connect(cassette("instagram/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request(tmp_path))
    with pytest.raises(RateLimited):
        connector.reconcile(request(tmp_path))
