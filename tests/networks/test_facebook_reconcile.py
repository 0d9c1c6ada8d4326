"""Facebook Page ``reconcile``: finding the post an interrupted publish made, against recorded Graph reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks.connectors.facebook import FacebookConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Transient
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

Cassette = Callable[[str], Replay]
PAGE = "104086835489520"
FIRST_ATTEMPT = datetime(2026, 1, 10, 9, 0, 0, tzinfo=UTC)  # the cassettes ask since 08:58:00Z (2 min skew)
TEXT = "کتاب‌خوانی هفتگی\nاین جمعه ساعت ۱۸"


def connect(replay: Replay) -> FacebookConnector:
    return FacebookConnector(
        Account(base_url=f"{replay.url}/v25.0", target=PAGE),
        Credentials(access_token="EAA-long", data={"page_access_token": "page-token"}),
    )


def request(**fields: object) -> PublishRequest:
    values: dict[str, object] = {"text": TEXT, "idempotency_key": "k-1", "not_before": FIRST_ATTEMPT, **fields}
    return PublishRequest(**values)  # type: ignore[arg-type]


def test_declares_reconcile() -> None:
    assert FacebookConnector.has(Capability.RECONCILE) and not FacebookConnector.idempotent_publish


def test_finds_the_post_and_its_first_comment_across_pages(cassette: Cassette) -> None:
    result = connect(cassette("facebook/reconcile_found")).reconcile(
        request(first_comment="ثبت‌نام: https://cafe.example/join")
    )
    assert result is not None
    assert result.remote_id == f"{PAGE}_1200"
    assert result.url == f"https://www.facebook.com/{PAGE}_1200"
    assert result.published_at == datetime(2026, 1, 10, 9, 0, 4, tzinfo=UTC)
    assert result.first_comment_id == "1200_500"


def test_a_post_without_its_first_comment_is_for_a_person(cassette: Cassette) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        connect(cassette("facebook/reconcile_first_comment_missing")).reconcile(request(first_comment="ثبت‌نام"))
    assert caught.value.detail == f"{PAGE}_1200"


def test_not_found(cassette: Cassette) -> None:
    assert connect(cassette("facebook/reconcile_not_found")).reconcile(request()) is None


def test_finds_a_video_by_title_and_description_inside_the_window(cassette: Cassette, tmp_path: Path) -> None:
    video = MediaFile(path=tmp_path / "v60.mp4", mime_type="video/mp4")
    result = connect(cassette("facebook/reconcile_video")).reconcile(
        request(text="آموزش دم‌آوری در دو دقیقه", title="دم‌آوری V60", media=(video,))
    )
    assert result is not None
    assert result.remote_id == "1029384756"  # not last week's upload with the same words
    assert result.url == f"https://www.facebook.com/{PAGE}/videos/1029384756"


def test_a_photo_without_text_cannot_be_matched(tmp_path: Path) -> None:
    photo = MediaFile(path=tmp_path / "p.jpg", mime_type="image/jpeg")
    connector = FacebookConnector(Account(target=PAGE), Credentials(access_token="t"))
    with pytest.raises(OutcomeUnknown):
        connector.reconcile(request(text="", media=(photo,)))


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("facebook/reconcile_errors"))
    with pytest.raises(AuthExpired):
        connector.reconcile(request())
    with pytest.raises(RateLimited) as limited:
        connector.reconcile(request())
    assert limited.value.retry_after == 180
    with pytest.raises(Transient):
        connector.reconcile(request())
