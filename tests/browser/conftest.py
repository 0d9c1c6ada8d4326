"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser), and a
signed-up owner of an English, Gregorian workspace ``acme`` in Asia/Tehran."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sokhan.core.models import User
from sokhan.core.services import workspace_create

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"
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


@contextmanager
def chromium_page(locale: str = "en-US") -> Iterator[Any]:
    """A page in a fresh headless Chromium; start it only after the test's rows are written
    (Playwright's sync API runs an event loop in this thread, and the ORM refuses to run inside one)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium fonts-noto-core)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale=locale)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def browser_page(owner: User) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


def sign_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/w/**")
