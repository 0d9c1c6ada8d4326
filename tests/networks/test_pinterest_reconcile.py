"""Pinterest ``reconcile``: finding the Pin an interrupted publish made, against recorded board reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.pinterest import PinterestConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

Cassette = Callable[[str], Replay]
BOARD = "549755885175"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: Any) -> None:
    monkeypatch.setattr(PinterestConnector, "reconcile_page_size", 2)


def connect(replay: Replay) -> PinterestConnector:
    return PinterestConnector(Account(base_url=replay.url, target=BOARD), Credentials(access_token="pina_token"))


def request(tmp_path: Path, **fields: object) -> PublishRequest:
    values: dict[str, object] = {
        "text": "Twelve hours, one jar. Recipe inside.",
        "title": "Cold brew at home",
        "link": "https://cafe.example/recipes/cold-brew",
        "idempotency_key": "k-1",
        "not_before": FIRST_ATTEMPT,
        "media": (MediaFile(path=tmp_path / "jar.jpg", mime_type="image/jpeg"),),
        **fields,
    }
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert PinterestConnector.has(Capability.RECONCILE) and not PinterestConnector.idempotent_publish


def test_finds_the_pin_by_title_and_description_inside_the_window(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("pinterest/reconcile_found")).reconcile(request(tmp_path))
    assert result is not None
    assert result.remote_id == "813744226420795890"  # not last week's Pin with the same words
    assert result.url == "https://www.pinterest.com/pin/813744226420795890/"
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 6, tzinfo=UTC)


def test_not_found(cassette: Cassette, tmp_path: Path) -> None:
    assert connect(cassette("pinterest/reconcile_not_found")).reconcile(request(tmp_path)) is None


def test_a_pin_without_title_or_description_cannot_be_matched(tmp_path: Path) -> None:
    connector = PinterestConnector(Account(target=BOARD), Credentials(access_token="t"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(tmp_path, text="", title=""))


def test_errors_are_typed(cassette: Cassette, tmp_path: Path) -> None:
    connector = connect(cassette("pinterest/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request(tmp_path))
    with pytest.raises(RateLimited):
        connector.reconcile(request(tmp_path))
    with pytest.raises(Rejected):
        connector.reconcile(request(tmp_path))
