"""Listening in Chromium: a topic whose query has a syntax error shows the column, is fixed and
saved; the query tester; insight over mentions in the test database; and a click on a chart bar
lands on the mentions list filtered to what is behind it. Also the Persian insight page."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.browser.conftest import ARTIFACTS, sign_in
from tests.listening.mention_rows import mention, topic

from sokhan.core.models import User, Workspace
from sokhan.listening.models import Topic, TopicKind

pytestmark = pytest.mark.browser


def in_thread[T](work: Callable[[], T]) -> T:
    """Run ORM work outside Playwright's event loop (the ORM refuses to run inside one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _mentions_for(topic_name: str) -> list[int]:
    workspace = Workspace.objects.get(slug="acme")
    acme = Topic.objects.get(workspace=workspace, name=topic_name)
    rival = topic(workspace, "Rival", "rival", TopicKind.COMPETITOR)
    now = timezone.now()
    made = [
        mention(
            workspace,
            "خرید از آکمه عالی بود #یلدا",
            now - timedelta(hours=3),
            [acme],
            sentiment="positive",
            handle="sara",
            name="سارا",
            followers=1200,
        ),
        mention(
            workspace,
            "acme delivery was late again",
            now - timedelta(hours=2),
            [acme],
            sentiment="negative",
            language="en",
            handle="nima",
            followers=300,
        ),
        mention(
            workspace,
            "آکمه یا rival؟ #یلدا",
            now - timedelta(days=1),
            [acme, rival],
            sentiment="neutral",
            handle="leila",
        ),
    ]
    return [m.pk for m in made]


def test_topic_then_insight_then_the_mentions_behind_a_figure(live_server: Any, owner: User, browser_page: Any) -> None:
    page = browser_page
    base = live_server.url
    sign_in(page, base, owner.email)

    page.goto(f"{base}/w/acme/listening/topics/new/")
    page.get_by_label("Name").fill("Acme")
    page.get_by_label("Type").select_option("brand")
    page.get_by_label("Query", exact=True).fill("(acme OR آکمه")
    page.get_by_role("button", name="Create topic").click()
    error = page.locator("#query-error")
    error.wait_for()
    assert "Column 14" in error.inner_text()
    assert page.locator("#query-error mark").count() == 1

    page.get_by_label("Query", exact=True).fill("(acme OR آکمه) -jobs")
    page.get_by_label("Texts to test, one per line").fill("خرید از آکمه\nacme jobs\nchocolate")
    page.get_by_role("button", name="Test the query").click()
    page.locator("#test-results").wait_for()
    assert "1 of 3 texts match." in page.locator("#test-results").inner_text()
    assert page.locator("#query-canonical").inner_text().endswith("(acme OR آکمه) AND NOT jobs")

    page.get_by_role("button", name="Create topic").click()
    page.wait_for_url(re.compile(r".*/listening/topics/\d+/$"))
    assert "Topic “Acme” saved." in page.content()

    made = in_thread(lambda: _mentions_for("Acme"))
    page.goto(f"{base}/w/acme/listening/")
    assert page.locator("#figure-total").inner_text() == "3"
    assert page.locator("#figure-sov").inner_text() == "75%"  # Acme 3 ÷ (3 + Rival 1)
    assert page.locator("#volume-chart circle").count() > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "listening-insight.png"), full_page=True)

    # The negative part of today's bar in the sentiment chart.
    bar = page.locator("#sentiment-chart a:has(rect.sentiment-negative)")
    assert bar.count() == 1
    bar.click()
    page.wait_for_url(re.compile(r".*/listening/mentions/\?.*sentiment=negative.*"))
    assert page.locator("li.mention").count() == 1
    assert page.locator(f"#mention-{made[1]}").is_visible()
    assert page.locator("#f-sentiment").input_value() == "negative"


def test_persian_insight_page(live_server: Any, owner: User, browser_page: Any) -> None:
    def rows() -> None:
        User.objects.filter(pk=owner.pk).update(language="fa")
        workspace = Workspace.objects.get(slug="acme")
        topic(workspace, "آکمه", "آکمه OR acme")
        _mentions_for("آکمه")

    in_thread(rows)
    page = browser_page
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/listening/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("#figure-total").inner_text() == "۳"
    assert page.locator("#word-cloud a", has_text="#یلدا").count() == 1
    # Right to left: the cloud's first word sits to the right of the second.
    first, second = (page.locator("#word-cloud li").nth(i).bounding_box() for i in (0, 1))
    assert first is not None and second is not None
    assert first["x"] > second["x"]
    page.screenshot(path=str(ARTIFACTS / "listening-insight-fa.png"), full_page=True)
