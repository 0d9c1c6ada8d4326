"""Crisis mode in Chromium: an alert is on the alerts page → start crisis mode from it → the posts
page says publishing is paused and the calendar carries the crisis banner → end it → the
post-mortem is shown and publishing is on again."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from tests.browser.conftest import ARTIFACTS, sign_in

from sokhan.core.models import User, Workspace
from sokhan.listening.models import Alert, Incident, Topic
from sokhan.listening.spikes import floor_hour
from sokhan.publishing.services import publishing_control

pytestmark = pytest.mark.browser


def in_thread[T](work: Callable[[], T]) -> T:
    """ORM work outside Playwright's event loop (the ORM refuses to run inside one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


@pytest.fixture
def alert(owner: User) -> int:
    workspace = Workspace.objects.get(slug="acme")
    topic = Topic.objects.create(workspace=workspace, name="Acme Coffee", query="acme")
    made = Alert.objects.create(
        workspace=workspace,
        topic=topic,
        kind="negative",
        hour=floor_hour(timezone.now()) - timedelta(hours=1),
        observed=0.72,
        expected=0.18,
        probability=2e-7,
    )
    return made.pk


def test_alert_to_crisis_mode_to_post_mortem(live_server: Any, owner: User, alert: int, browser_page: Any) -> None:
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # "Start crisis mode? …", "End crisis mode? …"
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/listening/alerts/")
    item = page.locator(f"#alert-{alert}")
    assert "Negative mentions of “Acme Coffee” surged" in item.inner_text()
    item.get_by_role("button", name="Start crisis mode").click()
    page.wait_for_url(f"{live_server.url}/w/acme/listening/crisis/*/")
    assert page.locator("#crisis-banner").is_visible()
    assert "Negative mentions of “Acme Coffee” surged" in page.locator("h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "crisis-open.png"), full_page=True)

    page.goto(f"{live_server.url}/w/acme/posts/")
    assert page.get_by_text("Publishing is paused in this workspace.").is_visible()
    assert page.get_by_role("button", name="Resume publishing").is_visible()
    page.goto(f"{live_server.url}/w/acme/calendar/")
    assert "Crisis mode is on." in page.locator("#crisis-banner").inner_text()
    assert in_thread(lambda: publishing_control(Workspace.objects.get(slug="acme")).paused)

    page.locator("#crisis-banner a").click()
    page.locator("#note-text").fill("Roaster called; batch recalled.")
    page.get_by_role("button", name="Add note").click()
    page.locator("#end-notes").fill("Supplier replaced.")
    page.get_by_role("button", name="End crisis mode").click()
    page.locator("#postmortem").wait_for()
    postmortem = page.locator(".postmortem").inner_text()
    assert "Publishing resumed when the incident ended." in postmortem and "Supplier replaced." in postmortem
    assert page.locator("#crisis-banner").count() == 0
    page.screenshot(path=str(ARTIFACTS / "crisis-post-mortem.png"), full_page=True)

    incident = in_thread(lambda: Incident.objects.get())
    assert incident.status == "closed" and incident.alert_id == alert
    assert not in_thread(lambda: publishing_control(Workspace.objects.get(slug="acme")).paused)
    page.goto(f"{live_server.url}/w/acme/posts/")
    assert page.get_by_text("Publishing is paused in this workspace.").count() == 0
