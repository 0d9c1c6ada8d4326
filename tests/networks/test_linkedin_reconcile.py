"""LinkedIn ``reconcile``: finding the post an interrupted publish made, against recorded Posts API reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.linkedin import LinkedInConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Transient
from sokhan.networks.types import Account, Capability, Credentials, PublishRequest

Cassette = Callable[[str], Replay]
ORG = "urn:li:organization:2414183"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)  # posts from 08:58:00Z count (2 min skew)
TEXT = "Hiring: (remote) #Python engineers — apply https://careers.example/jobs?id=7"


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: Any) -> None:
    monkeypatch.setattr(LinkedInConnector, "reconcile_page_size", 2)


def connect(replay: Replay) -> LinkedInConnector:
    return LinkedInConnector(Account(base_url=replay.url, target=ORG), Credentials(access_token="li-token"))


def request(**fields: object) -> PublishRequest:
    values: dict[str, object] = {"text": TEXT, "idempotency_key": "k-1", "not_before": FIRST_ATTEMPT, **fields}
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert LinkedInConnector.has(Capability.RECONCILE) and not LinkedInConnector.idempotent_publish


def test_finds_the_post_by_its_escaped_commentary_inside_the_window(cassette: Cassette) -> None:
    result = connect(cassette("linkedin/reconcile_found")).reconcile(request())
    assert result is not None
    assert result.remote_id == "urn:li:share:7283000000000000200"  # not the older post with the same words
    assert result.url == "https://www.linkedin.com/feed/update/urn:li:share:7283000000000000200/"
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 3, 120000, tzinfo=UTC)


def test_not_found_stops_at_the_window(cassette: Cassette) -> None:
    assert connect(cassette("linkedin/reconcile_not_found")).reconcile(request()) is None


def test_a_post_without_text_cannot_be_matched() -> None:
    connector = LinkedInConnector(Account(target=ORG), Credentials(access_token="t"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(text=""))


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("linkedin/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request())
    with pytest.raises(RateLimited):
        connector.reconcile(request())
    with pytest.raises(Transient):
        connector.reconcile(request())
