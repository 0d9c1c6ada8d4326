"""Drive Debian's Chromium through the composer: pick two channels, type Persian, watch the live
count and the right-to-left preview, give one channel its own text, save, find the post."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from tests.browser.conftest import ARTIFACTS, sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import User, Workspace
from sokhan.networks.types import Credentials

pytestmark = pytest.mark.browser

TEXT = "قهوه تازه رسید #قهوه"  # 20 characters: X and Mastodon both count 20


@pytest.fixture
def channels(owner: User) -> dict[str, int]:
    # Created before Playwright starts (the ORM refuses to run inside its event loop).
    workspace = Workspace.objects.get(slug="acme")
    made: dict[str, int] = {}
    for network, name, remote_id in (("x", "Acme on X", "1"), ("mastodon", "Acme Toots", "2")):
        channel = Channel(
            workspace=workspace,
            network=network,
            display_name=name,
            base_url="http://127.0.0.1:9",
            remote_id=remote_id,
            handle="acme",
            last_check_ok=True,
            last_check_at=timezone.now(),
        )
        channel.credentials = Credentials(access_token="test-token")
        channel.save()
        made[network] = channel.pk
    return made


def test_compose_in_persian_with_a_variant_and_save(
    live_server: Any, owner: User, channels: dict[str, int], browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    base = live_server.url
    sign_in(page, base, owner.email)
    page.goto(f"{base}/w/acme/posts/new/")
    on_x, on_mastodon = f"#variant-c{channels['x']}", f"#variant-c{channels['mastodon']}"
    # Only chosen channels show their fields.
    expect(page.locator(on_x)).to_be_hidden()
    page.get_by_label("X: Acme on X (acme)").check()
    page.get_by_label("Mastodon: Acme Toots (acme)").check()
    expect(page.locator(on_x)).to_be_visible()
    expect(page.locator(on_mastodon)).to_be_visible()

    page.get_by_label("Main text").fill(TEXT)
    x_check = page.locator(f"#check-c{channels['x']}")
    expect(x_check.locator(".count strong")).to_have_text("20 / 280")
    expect(page.locator(f"#check-c{channels['mastodon']} .count strong")).to_have_text("20 / 500")
    preview = x_check.locator(".preview-text")
    expect(preview).to_have_attribute("dir", "auto")
    assert preview.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(preview.locator("mark.entity.hashtag")).to_have_text("#قهوه")
    # Each channel's text follows the main text until it is edited.
    expect(page.locator(f"{on_mastodon} textarea[data-variant-text]")).to_have_value(TEXT)

    page.locator(f"{on_x} textarea[data-variant-text]").fill("نسخه ویژه ایکس با لینک https://example.com")
    expect(x_check.locator(".count strong")).to_have_text("46 / 280")  # 23 + the link's 23
    page.get_by_label("Main text").fill(TEXT + " امروز")
    expect(page.locator(f"{on_mastodon} textarea[data-variant-text]")).to_have_value(TEXT + " امروز")
    expect(page.locator(f"{on_x} textarea[data-variant-text]")).to_have_value(
        "نسخه ویژه ایکس با لینک https://example.com"
    )
    expect(page.locator("#autosave-status")).to_contain_text("Saved at", timeout=15_000)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "composer.png"), full_page=True)
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"{base}/w/acme/posts/*/")
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "post-page.png"), full_page=True)
    page.goto(f"{base}/w/acme/posts/")
    rows = page.locator("table.posts tbody tr")
    expect(rows).to_have_count(1)  # autosave and the button saved the same post
    expect(rows.first).to_contain_text("Acme on X")
    expect(rows.first).to_contain_text("Acme Toots")
    page.screenshot(path=str(ARTIFACTS / "composer-list.png"), full_page=True)

    # Text typed but not yet saved survives leaving the page: the browser offers it back.
    page.on("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?"
    page.goto(f"{base}/w/acme/posts/new/")
    page.get_by_label("Main text").fill("متنی که هنوز ذخیره نشده")
    page.goto(f"{base}/w/acme/posts/new/")
    page.get_by_role("button", name="Restore it").click()
    expect(page.get_by_label("Main text")).to_have_value("متنی که هنوز ذخیره نشده")
    expect(page.locator("#composer-restore")).to_be_hidden()
