"""The publishing issue's journey, tried as a new user would, in Persian with the Jalali calendar:
compose one post for three channels on real local servers (Bluesky, WordPress, Matrix) with a
different variant on each, submit it, get it approved by a client through the external sign-off
link, see it on the Jalali month calendar, drag it to tomorrow, then move it to the coming minute
and watch a real worker publish it at that minute; the post page shows each remote URL, and each
server holds the post exactly once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone
from tests.browser.conftest import ARTIFACTS, PASSWORD, chromium_page, sign_in
from tests.e2e.conftest import PDS, WORDPRESS_URL
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually
from tests.e2e.test_matrix_e2e import synapse  # noqa: F401 - the session fixture that starts Synapse
from tests.e2e.test_publish_faults_e2e import new_rooms, room_messages
from tests.publishing.workers import start_worker, stop_workers

from sokhan.approvals.services import workflow_update
from sokhan.channels.models import Channel
from sokhan.channels.services import Connected, channel_connect
from sokhan.core.calendars import to_jalali
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.services import workspace_create
from sokhan.networks.connectors.matrix import MatrixConnector
from sokhan.publishing.models import Post

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.slow]

TEHRAN = ZoneInfo("Asia/Tehran")
MAIN = "قهوه‌ی دمی تازه رسید؛ امروز امتحانش کنید #قهوه"
BLUESKY_TEXT = "دانه‌های تازه رسید ☕ #قهوه"
WORDPRESS_TITLE = "قهوه‌ی دمی تازه"
MATRIX_TEXT = "سلام به همه! قهوه‌ی دمی تازه رسید."
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def fa_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", PERSIAN_DIGITS))


@pytest.fixture
def allow_orm_in_browser_tests() -> Iterator[None]:
    # Playwright's sync API runs an event loop in this thread; the ORM reads in this test are plain
    # blocking reads between browser steps, which is safe.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def setup(
    transactional_db: None,
    bluesky_server: str,
    wordpress: dict[str, str],
    synapse: str,  # noqa: F811
) -> dict[str, Any]:
    owner = User.objects.create_user("maryam@example.com", PASSWORD, full_name="مریم احمدی", language="fa")
    workspace_create(owner=owner, name="قهوه‌ی آکمه", slug="acme", timezone_name="Asia/Tehran")
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)
    workflow_update(actor=actor, mode="single")

    author = new_bluesky_account(bluesky_server, "acme")

    def connect_bluesky() -> Connected | None:
        try:
            return channel_connect(
                actor=actor,
                network="bluesky",
                values={
                    "username": author.credentials.username,
                    "password": author.credentials.password,
                    "base_url": PDS,
                },
            )
        except DomainError as exc:
            # The local app view indexes a new account's profile asynchronously; a person would
            # press "Connect" again a moment later. Anything else is a real failure.
            assert "Profile not found" in exc.message, exc.message
            return None

    sky = eventually(connect_bluesky, "the new Bluesky profile to be indexed", seconds=90, every=2)
    assert sky is not None
    blog = channel_connect(
        actor=actor,
        network="wordpress",
        values={"base_url": WORDPRESS_URL, "username": "admin", "password": wordpress["admin"]},
    )
    creds = MatrixConnector.login(synapse, "alice", "alicepass")
    room = new_rooms(synapse, creds, 1)[0]
    matrix = channel_connect(
        actor=actor,
        network="matrix",
        values={"base_url": synapse, "target": room, "access_token": creds.access_token, "username": creds.username},
    )
    channels = {c.channel.network: c.channel for c in (sky, blog, matrix)}
    return {"owner": owner, "channels": channels, "matrix_token": creds.access_token, "room": room}


@pytest.fixture
def browser_page(setup: dict[str, Any]) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


def test_compose_approve_externally_drag_and_publish_at_the_minute(
    live_server: Any, setup: dict[str, Any], browser_page: Any, allow_orm_in_browser_tests: None
) -> None:
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    channels: dict[str, Channel] = setup["channels"]
    sky, blog, matrix = channels["bluesky"], channels["wordpress"], channels["matrix"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    worker = start_worker("journey", capture=False)
    try:
        sign_in(page, base, setup["owner"].email)
        assert page.locator("html").get_attribute("dir") == "rtl"

        # 1. Compose: three channels, the main text, and a variant of its own on each.
        page.goto(f"{base}/w/acme/posts/new/")
        for channel in (sky, blog, matrix):
            page.locator(f'input[name="channels"][value="{channel.pk}"]').check()
        page.locator('textarea[name="main_text"]').fill(MAIN)
        page.locator(f'textarea[name="c{sky.pk}-text"]').fill(BLUESKY_TEXT)
        page.locator(f'input[name="c{blog.pk}-title"]').fill(WORDPRESS_TITLE)
        page.locator(f'textarea[name="c{matrix.pk}-text"]').fill(MATRIX_TEXT)
        # Bluesky counts graphemes: the live check shows the count against 300 in Persian digits.
        expect(page.locator(f"#check-c{sky.pk} .count")).to_contain_text(fa_digits("300"))
        page.locator('button[name="action"][value="submit"]').click()
        page.wait_for_url(re.compile(r".*/w/acme/posts/\d+/$"))
        post = Post.objects.get(workspace__slug="acme")
        targets = {t.channel_id: t for t in post.targets.all()}
        assert {t.state for t in targets.values()} == {"in_review"}
        assert targets[sky.pk].text == BLUESKY_TEXT
        assert targets[blog.pk].text == MAIN and targets[blog.pk].title == WORDPRESS_TITLE
        assert targets[matrix.pk].text == MATRIX_TEXT

        # 2. A sign-off link for the client, who has no account.
        page.locator('form[action$="/review/links/"] button[type="submit"]').click()
        link = page.locator("code[id^='approval-link-']").inner_text().strip()
        assert link.startswith("http") and "/approve/" in link
        client = page.context.browser.new_context(locale="fa-IR")
        client_page = client.new_page()
        client_page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), base))  # type: ignore[union-attr]
        expect(client_page.locator("body")).to_contain_text(BLUESKY_TEXT)
        client_page.locator('input[name="client_name"]').fill("آقای رضایی، مدیر برند")
        client_page.locator('button[name="decision"][value="approve"]').click()
        client_page.wait_for_load_state()
        client_page.screenshot(path=str(ARTIFACTS / "journey-signoff.png"), full_page=True)
        client.close()
        assert {t.state for t in post.targets.all()} == {"approved"}

        # 3. Schedule it for today, later on, from the post page (Jalali date, Persian digits).
        now_local = timezone.now().astimezone(TEHRAN)
        later = (now_local + timedelta(hours=3)).replace(second=0, microsecond=0)
        if later.date() != now_local.date():
            later = now_local.replace(hour=23, minute=59, second=0, microsecond=0)
        jalali = to_jalali(later.date())
        year, month, day = jalali.year, jalali.month, jalali.day
        page.goto(f"{base}/w/acme/posts/{post.pk}/")
        page.locator('form.schedule-form input[name="schedule_date"]').fill(fa_digits(f"{year}/{month:02d}/{day:02d}"))
        page.locator('form.schedule-form input[name="schedule_time"]').fill(fa_digits(later.strftime("%H:%M")))
        page.locator('form.schedule-form button[value="schedule"]').click()
        page.wait_for_load_state()
        assert {t.scheduled_at for t in post.targets.all()} == {later}

        # 4. The Jalali month calendar: today's cell holds the post on each channel; drag each to tomorrow.
        page.goto(f"{base}/w/acme/calendar/?date={later.date().isoformat()}")
        heading = page.locator("#calendar-title").inner_text()
        assert re.search(f"[{PERSIAN_DIGITS}]{{4}}", heading), heading  # the Jalali year in Persian digits
        today_cell = page.locator(f'td[data-date="{later.date().isoformat()}"]')
        tomorrow = later.date() + timedelta(days=1)
        destination = page.locator(f'td[data-date="{tomorrow.isoformat()}"]')
        for target in targets.values():
            item = today_cell.locator(f"#item-{target.pk}")
            expect(item).to_be_visible()
            expect(item).to_contain_text(fa_digits(later.strftime("%H:%M")))
            if destination.count():
                item.drag_to(destination, source_position={"x": 10, "y": 10}, steps=10)
                destination.locator(f"#item-{target.pk}").wait_for()
            else:
                # Today is the last cell of this month's grid: tomorrow is on the next page, so move
                # it with the item's own Move form, as a keyboard user would.
                item.locator("details.item-move summary").click()
                item.locator('input[name="date"]').fill(tomorrow.isoformat())
                item.locator('button[type="submit"]').click()
                page.wait_for_load_state()
        page.screenshot(path=str(ARTIFACTS / "journey-calendar.png"), full_page=True)
        for moved in post.targets.all():
            assert moved.scheduled_at == later + timedelta(days=1)  # same wall-clock time, next day
            assert moved.state == "scheduled"

        # 5. Bring every channel to the coming minute and watch the worker publish it then.
        now_local = timezone.now().astimezone(TEHRAN)
        minute = (now_local + timedelta(minutes=2 if now_local.second > 45 else 1)).replace(second=0, microsecond=0)
        for target in post.targets.all():
            assert target.scheduled_at is not None
            page.goto(f"{base}/w/acme/calendar/?view=list&date={target.scheduled_at.astimezone(TEHRAN).date()}")
            form = page.locator(f"#item-{target.pk} form.move-form")
            page.locator(f"#item-{target.pk} details.item-move summary").click()
            form.locator('input[name="date"]').fill(minute.date().isoformat())
            form.locator('input[name="time"]').fill(minute.strftime("%H:%M"))
            form.locator('button[type="submit"]').click()
            page.wait_for_load_state()
        assert {t.scheduled_at for t in post.targets.all()} == {minute}

        page.goto(f"{base}/w/acme/posts/{post.pk}/")
        links = page.locator('a[href^="http"][target="_blank"]')
        deadline = minute + timedelta(seconds=75)
        while links.count() < 3 and timezone.now() < deadline:
            page.wait_for_timeout(2000)
            page.reload()
        page.screenshot(path=str(ARTIFACTS / "journey-published.png"), full_page=True)
        published = {t.channel_id: t for t in post.targets.all()}
        assert {t.state for t in published.values()} == {"published"}, [
            (t.state, t.last_error) for t in published.values()
        ]
        for target in published.values():
            assert target.published_at is not None
            assert minute <= target.published_at < minute + timedelta(seconds=30), (minute, target.published_at)
            assert target.remote_url
        shown = {links.nth(i).get_attribute("href") for i in range(links.count())}
        assert shown == {t.remote_url for t in published.values()}
    finally:
        stop_workers({"journey": worker})

    # 6. Each real server holds the post once, with the channel's own variant.
    did, rkey = re.match(r"at://([^/]+)/app\.bsky\.feed\.post/(.+)", published[sky.pk].remote_id).groups()  # type: ignore[union-attr]
    record = httpx.get(
        f"{PDS}/xrpc/com.atproto.repo.getRecord",
        params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
    ).json()
    assert record["value"]["text"] == BLUESKY_TEXT
    wp = httpx.get(f"{WORDPRESS_URL}/?rest_route=/wp/v2/posts/{published[blog.pk].remote_id}").json()
    assert WORDPRESS_TITLE in wp["title"]["rendered"] and "#قهوه" in wp["content"]["rendered"]
    messages = room_messages(str(setup["channels"]["matrix"].base_url), setup["matrix_token"], setup["room"])
    bodies = [str(m.get("content", {}).get("body", "")) for m in messages]
    assert bodies.count(MATRIX_TEXT) == 1
    assert published[matrix.pk].remote_url.endswith(quote(published[matrix.pk].remote_id))
