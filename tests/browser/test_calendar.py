"""Drag a scheduled post to another day in the month calendar with Chromium."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.core.models import Membership, User
from sokhan.publishing import services
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.browser
TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def scheduled(owner: User) -> int:
    # Made before the browser starts (the ORM refuses to run inside Playwright's event loop).
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace__slug="acme")
    channel = make_channel(actor.workspace, "http://127.0.0.1:9")
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="Drag me")])
    services.post_schedule(actor=actor, post_id=post.pk, at=datetime(2030, 5, 15, 10, 20, tzinfo=TEHRAN))
    return PostTarget.objects.get(post=post).pk


def _scheduled_at(target_id: int) -> datetime | None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: PostTarget.objects.get(pk=target_id).scheduled_at).result()


def test_drag_a_post_to_another_day(live_server: Any, owner: User, scheduled: int, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/calendar/?date=2030-05-15")
    item = page.locator(f"#item-{scheduled}")
    source = page.locator('td[data-date="2030-05-15"]')
    destination = page.locator('td[data-date="2030-05-22"]')
    assert source.locator(f"#item-{scheduled}").count() == 1
    assert item.get_attribute("draggable") == "true"

    # Grab the item by its time and text (its link), as people do; move in steps so Chromium
    # passes its drag threshold before the pointer reaches the other day.
    item.drag_to(destination, source_position={"x": 10, "y": 10}, steps=10)

    moved = page.locator(f'td[data-date="2030-05-22"] #item-{scheduled}')
    moved.wait_for()
    assert "10:20" in moved.inner_text()
    assert source.locator(f"#item-{scheduled}").count() == 0
    assert "Moved to" in page.locator("#calendar-body").inner_text()
    assert _scheduled_at(scheduled) == datetime(2030, 5, 22, 10, 20, tzinfo=TEHRAN)

    # Without a mouse: focus the item, open its Move form from the keyboard, type a new date and time.
    moved.focus()
    page.keyboard.press("Tab")  # the item's link
    page.keyboard.press("Tab")  # its "Move" summary
    page.keyboard.press("Enter")
    page.get_by_label("Date", exact=True).fill("2030-05-25")
    page.get_by_label("Time", exact=True).fill("11:05")
    page.get_by_label("Time", exact=True).press("Enter")
    page.locator(f'td[data-date="2030-05-25"] #item-{scheduled}').wait_for()
    assert _scheduled_at(scheduled) == datetime(2030, 5, 25, 11, 5, tzinfo=TEHRAN)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "calendar-drag.png"), full_page=True)
