"""X ``reconcile``: finding the post an interrupted publish made, against recorded timeline reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.x import XConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Transient
from sokhan.networks.types import Account, Capability, Credentials, PublishRequest

Cassette = Callable[[str], Replay]
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)  # the cassettes ask from 08:58:00Z (2 min skew)
TEXT = "Ahead of the launch & more:\nhttps://sokhan.example/launch"


def connect(replay: Replay) -> XConnector:
    return XConnector(
        Account(base_url=f"{replay.url}/2", remote_id="2244994945", handle="sokhan_demo"),
        Credentials(access_token="x-access"),
    )


def request(**fields: object) -> PublishRequest:
    values: dict[str, object] = {"text": TEXT, "idempotency_key": "k-1", "not_before": FIRST_ATTEMPT, **fields}
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile_not_idempotent_publish() -> None:
    assert XConnector.has(Capability.RECONCILE) and not XConnector.idempotent_publish


def test_finds_the_post_and_its_thread_part(cassette: Cassette) -> None:
    connector = connect(cassette("x/reconcile_found"))
    result = connector.reconcile(request(thread=("2/ دومین بخش",)))
    assert result is not None
    assert result.remote_id == "1878000000000000100"
    assert result.url == "https://x.com/sokhan_demo/status/1878000000000000100"
    assert result.thread_ids == ("1878000000000000200",)
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 2, tzinfo=UTC)
    assert connector.last_rate_limit is not None and connector.last_rate_limit.remaining == 898


def test_a_thread_found_only_in_part_is_for_a_person(cassette: Cassette) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        connect(cassette("x/reconcile_partial_thread")).reconcile(request(thread=("2/ دومین بخش",)))
    assert caught.value.detail == "1878000000000000100"


def test_not_found_after_reading_every_page(cassette: Cassette) -> None:
    assert connect(cassette("x/reconcile_not_found")).reconcile(request()) is None


def test_a_post_without_text_cannot_be_matched() -> None:
    connector = XConnector(Account(remote_id="2244994945"), Credentials(access_token="x-access"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(text="  "))


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("x/reconcile_errors"))
    with pytest.raises(RateLimited) as limited:
        connector.reconcile(request())
    assert limited.value.retry_after == 120
    with pytest.raises(AuthExpired):
        connector.reconcile(request())
    with pytest.raises(Transient):
        connector.reconcile(request())
