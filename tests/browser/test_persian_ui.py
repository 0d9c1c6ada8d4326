"""Drive Debian's Chromium: sign in, switch the account to Persian, see RTL and a Jalali date."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sokhan.core.models import User
from sokhan.core.services import workspace_create

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"
PERSIAN_MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def owner(transactional_db: None) -> User:
    # Created before Playwright starts: its sync API runs an event loop in this thread, and the ORM
    # refuses to run inside one.
    user = User.objects.create_user("owner@example.com", PASSWORD, full_name="Maryam Ahmadi", language="en")
    workspace_create(
        owner=user,
        name="Acme Coffee",
        slug="acme",
        timezone_name="Asia/Tehran",
        calendar="gregorian",
        language="en",
    )
    return user


@pytest.fixture
def browser_page(owner: User) -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-core)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def test_persian_ui_is_rtl_with_jalali_dates(live_server: Any, owner: User, browser_page: Any) -> None:
    user, slug = owner, "acme"
    page = browser_page

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/w/{slug}/")
    assert page.locator("html").get_attribute("dir") == "ltr"

    page.get_by_role("link", name="Maryam Ahmadi").click()
    page.wait_for_url(f"{live_server.url}/account/")
    page.get_by_label("Language").select_option("fa")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/account/")
    assert page.locator("html").get_attribute("dir") == "rtl"

    page.goto(f"{live_server.url}/w/{slug}/")
    html = page.locator("html")
    assert html.get_attribute("dir") == "rtl"
    assert html.get_attribute("lang") == "fa"
    today = page.locator("p.today time").inner_text()
    assert any(month in today for month in PERSIAN_MONTHS), today
    assert re.search(r"[۰-۹]{4}", today), today  # a Jalali year in Persian digits
    assert not re.search(r"[0-9]", today), today
    # The navigation starts at the right edge in RTL.
    nav = page.locator("nav.ws-nav").bounding_box()
    main = page.locator("main").bounding_box()
    assert nav is not None and main is not None and nav["x"] > main["x"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "persian-ui.png"), full_page=True)
