"""The inbox in Chromium: moving through the list with the keyboard, replying through the loopback
sink, the collision guard when a teammate's change lands between page load and send, and a new
conversation showing up in the list without a reload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db.models import F
from django.utils import timezone
from tests.browser.conftest import ARTIFACTS, PASSWORD, sign_in
from tests.inbox.test_inbox_pages import converse

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.inbox.models import Conversation, Direction, Kind, Message, Presence, SendState
from sokhan.ops.bench_sink import Sink, SinkServer, forget_buckets, make_channel

pytestmark = pytest.mark.browser


def in_thread[T](work: Callable[[], T]) -> T:
    """Run ORM work outside Playwright's event loop (the ORM refuses to run inside one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


@pytest.fixture
def conversations(owner: User, sink: Sink) -> list[int]:
    """Three open conversations, newest first (made before the browser starts)."""
    forget_buckets()
    channel = make_channel(Workspace.objects.get(slug="acme"), sink.url, display_name="Acme on Mastodon")
    made = [
        converse(channel, "Do you roast on Fridays?", minutes_ago=5, handle="sara", name="Sara"),
        converse(channel, "Where is my order?", minutes_ago=15, handle="nima", name="Nima"),
        converse(channel, "Love the new blend", minutes_ago=25, handle="leila", name="Leila"),
    ]
    return [c.pk for c in made]


def _outgoing(conversation_id: int) -> list[tuple[str, str, str]]:
    return in_thread(
        lambda: list(
            Message.objects.filter(conversation_id=conversation_id, direction=Direction.OUT).values_list(
                "text", "send_state", "remote_id"
            )
        )
    )


def _active_id(page: Any) -> str:
    """The focused element's id, or its list row's (a row's link has none)."""
    script = "(() => { const a = document.activeElement; return a ? a.id || a.closest('li')?.id || '' : ''; })()"
    return str(page.evaluate(script))


def test_keyboard_reply_and_live_list(
    live_server: Any, owner: User, conversations: list[int], browser_page: Any
) -> None:
    page = browser_page
    first, second, _third = conversations
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/inbox/")
    assert page.locator(".inbox-row").count() == 3

    page.keyboard.press("j")
    assert _active_id(page) == f"row-{first}"
    page.keyboard.press("j")
    assert _active_id(page) == f"row-{second}"
    page.keyboard.press("k")
    assert _active_id(page) == f"row-{first}"
    assert page.locator(f"#row-{first}.cursor").count() == 1

    page.keyboard.press("?")
    dialog = page.locator("#inbox-shortcuts")
    dialog.wait_for(state="visible")
    assert "Next conversation" in dialog.inner_text()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    page.keyboard.press("o")
    page.wait_for_url(f"**/w/acme/inbox/c/{first}/**")
    assert page.locator("#conversation-heading").inner_text().startswith("Sara")
    page.keyboard.press("r")
    assert _active_id(page) == "reply-text"
    page.keyboard.type("Yes, every Friday morning.")
    assert page.locator("#reply-text").input_value() == "Yes, every Friday morning."  # "r" was not typed
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_load_state()
    page.locator(".msg-out").filter(has_text="Yes, every Friday morning.").wait_for()
    assert "Reply sent." in page.locator(".messages").inner_text()
    sent = _outgoing(first)
    assert len(sent) == 1 and sent[0][0] == "Yes, every Friday morning." and sent[0][1] == SendState.SENT and sent[0][2]

    # A conversation that arrives while the page is open joins the list without a reload.
    page.evaluate("window.__same_page = true")
    channel = in_thread(lambda: Conversation.objects.select_related("channel").get(pk=first).channel)
    fresh = in_thread(lambda: converse(channel, "Are you open on Nowruz?", minutes_ago=0, handle="reza").pk)
    row = page.locator(f"#row-{fresh}")
    row.wait_for(timeout=20_000)
    assert "Are you open on Nowruz?" in row.inner_text()
    assert page.locator(".inbox-row").first.get_attribute("id") == f"row-{fresh}"  # newest first
    assert page.evaluate("window.__same_page") is True

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)


def test_stale_view_warning_and_send_anyway(
    live_server: Any, owner: User, conversations: list[int], browser_page: Any
) -> None:
    page = browser_page
    first = conversations[0]
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/inbox/c/{first}/")
    page.locator("#reply-text").fill("We roast on Fridays, yes.")

    def teammate_change() -> None:
        conversation = Conversation.objects.get(pk=first)
        Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            channel_id=conversation.channel_id,
            remote_id="777",
            direction=Direction.IN,
            kind=Kind.COMMENT,
            text="Also, do you sell decaf?",
            author_handle="sara",
            author_name="Sara",
            created_at=timezone.now(),
        )
        Conversation.objects.filter(pk=first).update(version=F("version") + 1, updated_at=timezone.now())

    in_thread(teammate_change)
    page.get_by_role("button", name="Send reply").click()
    warning = page.locator("#stale-notice")
    warning.wait_for()
    assert "changed since you opened it" in warning.inner_text()
    assert page.locator("#reply-text").input_value() == "We roast on Fridays, yes."
    assert page.locator(".msg.is-new").filter(has_text="do you sell decaf?").count() == 1
    assert _outgoing(first) == []

    page.get_by_role("button", name="Send anyway").click()
    page.locator(".msg-out").filter(has_text="We roast on Fridays, yes.").wait_for()
    assert page.locator("#stale-notice").count() == 0
    sent = _outgoing(first)
    assert len(sent) == 1 and sent[0][1] == SendState.SENT


def test_shortcuts_act_and_presence_shows_teammates(
    live_server: Any, owner: User, conversations: list[int], browser_page: Any
) -> None:
    page = browser_page
    first = conversations[0]
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/acme/inbox/c/{first}/")

    page.keyboard.press("/")
    assert _active_id(page) == "f-q"
    page.keyboard.press("Escape")  # leaves the field, so the next keys are shortcuts again
    page.keyboard.press("t")
    assert _active_id(page) == "tag-input"
    page.keyboard.type("decaf")
    page.keyboard.press("Enter")
    page.locator(".tag-list").filter(has_text="#decaf").wait_for()

    page.keyboard.press("a")
    page.locator(".messages").filter(has_text="Assigned to Maryam Ahmadi").wait_for()
    page.keyboard.press("s")
    page.locator(".messages").filter(has_text="Snoozed until").wait_for()
    page.keyboard.press("e")
    page.locator(".messages").filter(has_text="Status changed to Closed").wait_for()
    state = in_thread(lambda: Conversation.objects.values("status", "assignee_id").get(pk=first))
    assert state == {"status": "closed", "assignee_id": owner.pk}

    # A teammate opens it and starts typing; a new message arrives: the next heartbeat tells.
    def teammate() -> None:
        sara = User.objects.create_user("sara@example.com", "x", full_name="Sara Karimi")
        conversation = Conversation.objects.get(pk=first)
        Membership.objects.create(workspace_id=conversation.workspace_id, user=sara, role=Role.EDITOR)
        Presence.objects.create(
            workspace_id=conversation.workspace_id, conversation=conversation, user=sara, activity="replying"
        )
        Conversation.objects.filter(pk=first).update(version=F("version") + 1)

    in_thread(teammate)
    page.locator("#presence").filter(has_text="Sara Karimi is replying").wait_for(timeout=20_000)
    page.locator("#activity-notice").wait_for(state="visible")


def test_persian_inbox_reads_right_to_left(
    live_server: Any, owner: User, conversations: list[int], browser_page: Any
) -> None:
    in_thread(lambda: User.objects.filter(pk=owner.pk).update(language="fa", calendar="jalali"))
    page = browser_page
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=email]").fill(owner.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/w/**")
    page.goto(f"{live_server.url}/w/acme/inbox/c/{conversations[0]}/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    time_text = page.locator(f"#row-{conversations[0]} .row-time").inner_text()
    assert any("۰" <= ch <= "۹" for ch in time_text) and not any(ch.isascii() and ch.isdigit() for ch in time_text)
    # The list sits at the start (right) and the conversation at the end (left).
    list_box = page.locator(".inbox-list").bounding_box()
    detail_box = page.locator(".inbox-detail").bounding_box()
    assert list_box["x"] > detail_box["x"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox-fa.png"), full_page=True)
