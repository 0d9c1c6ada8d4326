"""Threads ``reconcile``: finding the post an interrupted publish made, against recorded Threads API reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.threads import ThreadsConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, Transient
from sokhan.networks.types import Account, Capability, Credentials, PublishRequest

Cassette = Callable[[str], Replay]
USER = "17841405822304914"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)  # the cassettes ask since 08:58:00Z (2 min skew)
TEXT = "یک رشته  درباره قهوه 🧵"


def connect(replay: Replay) -> ThreadsConnector:
    return ThreadsConnector(
        Account(base_url=f"{replay.url}/v1.0", remote_id=USER, handle="sokhan"), Credentials(access_token="th-token")
    )


def request(**fields: object) -> PublishRequest:
    values: dict[str, object] = {"text": TEXT, "idempotency_key": "k-1", "not_before": FIRST_ATTEMPT, **fields}
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert ThreadsConnector.has(Capability.RECONCILE) and not ThreadsConnector.idempotent_publish


def test_finds_the_post_its_thread_part_and_first_comment(cassette: Cassette) -> None:
    result = connect(cassette("threads/reconcile_found")).reconcile(
        request(thread=("۱/ دانه تازه",), first_comment="بعدی: آسیاب")
    )
    assert result is not None
    assert result.remote_id == "18050000000000020"
    assert result.url == "https://www.threads.com/@sokhan/post/DAb1"
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 5, tzinfo=UTC)
    assert result.thread_ids == ("18050000000000021",)  # not the same words under an older post
    assert result.first_comment_id == "18050000000000022"


def test_finds_a_reply_among_the_accounts_replies(cassette: Cassette) -> None:
    result = connect(cassette("threads/reconcile_reply")).reconcile(
        request(text="۱/ دانه تازه", reply_to="18050000000000020")
    )
    assert result is not None and result.remote_id == "18050000000000021"


def test_a_thread_found_only_in_part_is_for_a_person(cassette: Cassette) -> None:
    with pytest.raises(OutcomeUnknown):
        connect(cassette("threads/reconcile_partial_thread")).reconcile(request(thread=("۱/ دانه تازه",)))


def test_not_found(cassette: Cassette) -> None:
    assert connect(cassette("threads/reconcile_not_found")).reconcile(request()) is None


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("threads/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request())
    with pytest.raises(Transient):
        connector.reconcile(request())
