"""Drive Debian's Chromium: the analytics overview in Persian draws its chart (Chart.js on a canvas)
with Jalali labels and shows Persian digits."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from tests.analytics.helpers import mastodon_channel
from tests.analytics.pagedata import daily, post
from tests.browser.conftest import ARTIFACTS, chromium_page, sign_in

from sokhan.analytics import besttime
from sokhan.analytics.models import Goal
from sokhan.core.models import User, Workspace

pytestmark = pytest.mark.browser


def test_overview_in_persian_draws_a_chart(live_server: Any, owner: User) -> None:
    owner.language, owner.calendar = "fa", "jalali"
    owner.save()
    workspace = Workspace.objects.get(slug="acme")
    channel = mastodon_channel(workspace, "http://127.0.0.1:9", display_name="Acme Mastodon")
    today = timezone.now().astimezone(ZoneInfo(workspace.timezone)).date()
    for n, followers in ((6, 1180), (5, 1195), (3, 1210), (1, 1234)):  # days 4 and 2 are gaps
        daily(channel, today - timedelta(days=n), followers)
    post(channel, timezone.now() - timedelta(days=2), text="#قهوه تازه", likes=12, impressions=300)
    nine = timezone.now().astimezone(ZoneInfo(workspace.timezone)).replace(hour=9, minute=30)
    for n in range(besttime.MIN_POSTS):  # enough posts for the heatmap
        post(channel, nine - timedelta(days=n % 7 + 7 * (n % 3) + 7), likes=3 + n % 7, impressions=100)
    Goal.objects.create(
        workspace=workspace,
        metric="followers",
        target=1400,
        start=today - timedelta(days=6),
        deadline=today + timedelta(days=60),
    )

    with chromium_page() as page:  # signs in on the English page; the account then says Persian
        sign_in(page, live_server.url, owner.email)
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/w/acme/analytics/?days=7")
        assert page.locator("html").get_attribute("dir") == "rtl"
        canvas = page.locator("canvas#followers-chart")
        canvas.wait_for()
        page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('followers-chart'))")
        drawn = page.evaluate(
            """() => {
              const chart = Chart.getChart(document.getElementById('followers-chart'));
              return {labels: chart.data.labels, data: chart.data.datasets[0].data, width: chart.width};
            }"""
        )
        assert drawn["width"] > 0
        assert drawn["data"][2] is None  # a gap stays a gap
        assert all(re.fullmatch(r"[۰-۹]+ \S+", label) for label in drawn["labels"]), drawn["labels"]
        assert page.locator("table.heatmap td").count() == 7 * 24
        assert page.locator("progress.goal-progress").count() == 1
        table = page.locator("#channels table").inner_text()
        assert "۱٬۲۳۴" in table
        assert not re.search(r"[0-9]", table)
        # Light and dark: the palette follows prefers-color-scheme and the chart is redrawn.
        colour = "() => Chart.getChart(document.getElementById('followers-chart')).data.datasets[0].borderColor"
        assert page.evaluate(colour) == "#0f6b5c"
        page.emulate_media(color_scheme="dark")
        page.wait_for_function(f"() => ({colour})() === '#2dd4bf'")
        page.emulate_media(color_scheme="light")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "analytics-overview-fa.png"), full_page=True)
