"""YouTube ``reconcile``: finding the video an interrupted upload made, against recorded Data API reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.youtube import YouTubeConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Transient
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

Cassette = Callable[[str], Replay]
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)


def connect(replay: Replay) -> YouTubeConnector:
    return YouTubeConnector(Account(base_url=replay.url, remote_id=CHANNEL), Credentials(access_token="ya29.token"))


def request(tmp_path: Path, **fields: object) -> PublishRequest:
    values: dict[str, object] = {
        "text": "توضیحات ویدیو\nبا لینک https://sokhan.example",
        "title": "معرفی سخن",
        "idempotency_key": "k-1",
        "not_before": FIRST_ATTEMPT,
        "media": (MediaFile(path=tmp_path / "clip.mp4", mime_type="video/mp4"),),
        **fields,
    }
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert YouTubeConnector.has(Capability.RECONCILE) and not YouTubeConnector.idempotent_publish


def test_finds_the_upload_by_title_and_description_inside_the_window(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("youtube/reconcile_found")).reconcile(request(tmp_path))
    assert result is not None
    assert result.remote_id == "Ks-_Mh1QhMc"  # not last week's upload with the same title and description
    assert result.url == "https://www.youtube.com/watch?v=Ks-_Mh1QhMc"
    assert result.published_at == datetime(2026, 1, 10, 9, 3, 10, tzinfo=UTC)


def test_not_found_stops_at_the_window(cassette: Cassette, tmp_path: Path) -> None:
    assert connect(cassette("youtube/reconcile_not_found")).reconcile(request(tmp_path)) is None


def test_a_video_without_title_cannot_be_matched(tmp_path: Path) -> None:
    connector = YouTubeConnector(Account(remote_id=CHANNEL), Credentials(access_token="t"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(tmp_path, title=" "))


def test_errors_are_typed(cassette: Cassette, tmp_path: Path) -> None:
    connector = connect(cassette("youtube/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request(tmp_path))
    with pytest.raises(RateLimited):
        connector.reconcile(request(tmp_path))
    with pytest.raises(Transient):
        connector.reconcile(request(tmp_path))
