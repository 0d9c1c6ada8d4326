"""Drive Debian's Chromium: sign in, switch the account to Persian, see RTL and a Jalali date."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.browser.conftest import ARTIFACTS, PASSWORD

from sokhan.core.models import User

PERSIAN_MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip

pytestmark = pytest.mark.browser


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
