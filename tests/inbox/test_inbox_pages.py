"""The inbox pages through Django's test client: the list and its filters, saved views, the
conversation and its actions (redirects, and JSON for the page's script), replies sent through the
loopback Mastodon-compatible sink, the collision guard, presence and live updates, and who may do what."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db.models import F
from django.test import Client
from django.utils import timezone
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.calendars import format_date, format_datetime
from sokhan.core.models import User, Workspace
from sokhan.core.permissions import MATRIX, Perm, Role
from sokhan.core.services import workspace_create
from sokhan.inbox.models import (
    Conversation,
    Direction,
    InboxSettings,
    Kind,
    Message,
    Note,
    Presence,
    Priority,
    Rule,
    RuleHit,
    SavedReply,
    SavedView,
    SendState,
    Sentiment,
    Status,
    Tag,
    Team,
)
from sokhan.ops.bench_sink import Sink, SinkServer, forget_buckets, make_channel
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget

pytestmark = pytest.mark.django_db
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    cache.clear()
    forget_buckets()
    yield
    cache.clear()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


@pytest.fixture
def channel(workspace: Workspace, sink: Sink) -> Channel:
    channel: Channel = make_channel(workspace, sink.url, display_name="Acme on Mastodon")
    return channel


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        sign_in(client, user.email)
        return client

    return make


@pytest.fixture
def owner_client(owner: User, workspace: Workspace, client_for: Callable[[User], Client]) -> Client:
    return client_for(owner)


def converse(
    channel: Channel,
    text: str = "Is the café open on Friday?",
    *,
    minutes_ago: int = 10,
    handle: str = "sara",
    name: str = "Sara",
    **fields: Any,
) -> Conversation:
    """A conversation with one received comment (stored directly, as ingest would leave it)."""
    at = timezone.now() - timedelta(minutes=minutes_ago)
    key = next(_keys)
    conversation = Conversation.objects.create(
        workspace=channel.workspace,
        channel=channel,
        kind=fields.pop("kind", Kind.COMMENT),
        thread_key=f"post-{key}",
        contact_remote_id=f"u-{key}",
        contact_handle=handle,
        contact_name=name,
        last_message_at=at,
        last_inbound_at=at,
        awaiting_since=at,
        preview=text,
        message_count=1,
        **fields,
    )
    Message.objects.create(
        workspace=channel.workspace,
        conversation=conversation,
        channel=channel,
        remote_id=f"11{key:04d}",
        direction=Direction.IN,
        kind=conversation.kind,
        text=text,
        author_remote_id=f"u-{key}",
        author_handle=handle,
        author_name=name,
        created_at=at,
        language=fields.get("language", ""),
        sentiment=fields.get("sentiment", ""),
    )
    return conversation


def rows_in(html: str) -> set[int]:
    import re

    return {int(pk) for pk in re.findall(r'id="row-(\d+)"', html)}


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()[:3000]
    return response.content.decode()


# ------------------------------------------------------------------ the list


def test_list_filters(owner_client: Client, owner: User, workspace: Workspace, channel: Channel) -> None:
    cold = converse(channel, "The coffee was cold", assignee=owner, sentiment=Sentiment.NEGATIVE, minutes_ago=5)
    cold.tags.add(Tag.objects.create(workspace=workspace, name="refund"))
    happy = converse(channel, "Lovely beans!", sentiment=Sentiment.POSITIVE, minutes_ago=6, priority=Priority.HIGH)
    waiting = converse(channel, "Any news?", status=Status.PENDING, minutes_ago=7)
    done = converse(channel, "Thanks, all good", status=Status.CLOSED, minutes_ago=8)

    html = page(owner_client, "/w/acme/inbox/")
    assert rows_in(html) == {cold.pk, happy.pk}  # open by default
    assert "The coffee was cold" in html and "#refund" in html and 'dir="auto"' in html
    assert rows_in(page(owner_client, "/w/acme/inbox/?status=")) == {cold.pk, happy.pk, waiting.pk, done.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?status=pending")) == {waiting.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?assignee=me")) == {cold.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?assignee=none&status=")) == {happy.pk, waiting.pk, done.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?tag=refund")) == {cold.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?sentiment=positive")) == {happy.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?priority=high")) == {happy.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?q=cold")) == {cold.pk}
    assert rows_in(page(owner_client, "/w/acme/inbox/?q=sara&status=closed")) == {done.pk}
    today = timezone.localdate().isoformat()
    assert rows_in(page(owner_client, f"/w/acme/inbox/?from={today}&to={today}&status=")) >= {cold.pk}

    bad = page(owner_client, "/w/acme/inbox/?sentiment=furious")
    assert "Unknown sentiment" in bad and rows_in(bad) == {cold.pk, happy.pk}  # the error, and the default list
    assert "is not a date" in page(owner_client, "/w/acme/inbox/?from=someday")


def test_keyset_more_and_the_rows_partial(owner_client: Client, channel: Channel) -> None:
    made = [converse(channel, f"message {i}", minutes_ago=i + 1) for i in range(33)]
    html = page(owner_client, "/w/acme/inbox/")
    first = rows_in(html)
    assert len(first) == 30 and made[0].pk in first and made[32].pk not in first
    import re

    more = re.search(r'<a class="button secondary small" href="([^"]+)" data-more>', html)
    assert more
    rest = page(owner_client, more.group(1).replace("&amp;", "&") + "&partial=rows")
    assert rows_in(rest) == {c.pk for c in made[30:]} and "data-more" not in rest and "<html" not in rest


def test_saved_views(owner_client: Client, owner: User, workspace: Workspace, channel: Channel) -> None:
    waiting = converse(channel, "Any news?", status=Status.PENDING)
    response = owner_client.post("/w/acme/inbox/views/", {"name": "Pending ones", "query": "status=pending"})
    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.owner, view.filters) == (owner, {"statuses": ["pending"]})
    assert f"view={view.pk}" in response["Location"]
    html = page(owner_client, response["Location"])
    assert "Pending ones" in html and rows_in(html) == {waiting.pk}

    shared = owner_client.post("/w/acme/inbox/views/", {"name": "Everything", "query": "status=", "shared": "1"})
    everything = SavedView.objects.get(name="Everything")
    assert everything.owner is None and everything.filters == {}
    assert "status=&" in shared["Location"]  # any status, not the open default

    assert owner_client.post("/w/acme/inbox/views/", {"name": " ", "query": ""}).status_code == 302
    assert SavedView.objects.count() == 2
    owner_client.post(f"/w/acme/inbox/views/{view.pk}/delete/")
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Everything"]


# ------------------------------------------------------------------ who may do what


def test_a_non_member_gets_404(
    workspace: Workspace, channel: Channel, client_for: Callable[[User], Client], make_member: Any
) -> None:
    conversation = converse(channel)
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    client = client_for(stranger)
    assert client.get("/w/acme/inbox/").status_code == 404
    assert client.get(f"/w/acme/inbox/c/{conversation.pk}/").status_code == 404
    assert client.post(f"/w/acme/inbox/c/{conversation.pk}/status/", {"status": "closed"}).status_code == 404
    assert client.get("/w/acme/inbox/updates/?since=2026-01-01T00:00:00%2B00:00").status_code == 404
    # A member of another workspace cannot reach this one's conversation through their own.
    outsider = User.objects.create_user("outsider@example.com", "correct horse battery staple")
    workspace_create(owner=outsider, name="Other", slug="other")
    assert client_for(outsider).get(f"/w/other/inbox/c/{conversation.pk}/").status_code == 404


def test_without_reply_permission_actions_are_403(
    workspace: Workspace, channel: Channel, client_for: Callable[[User], Client], make_member: Any, monkeypatch: Any
) -> None:
    conversation = converse(channel)
    base = f"/w/acme/inbox/c/{conversation.pk}/"
    viewer = client_for(make_member(Role.VIEWER))
    assert viewer.get("/w/acme/inbox/").status_code == 403
    assert viewer.post(f"{base}status/", {"status": "closed"}).status_code == 403

    # A role that may read the inbox but not answer (none ships today): the page, not the actions.
    monkeypatch.setitem(MATRIX, Role.ANALYST, MATRIX[Role.ANALYST] | {Perm.INBOX_VIEW})
    reader = client_for(make_member(Role.ANALYST))
    html = page(reader, base)
    assert "Is the café open on Friday?" in html and 'id="reply-text"' not in html and 'data-shortcut="a"' not in html
    posts: list[tuple[str, dict[str, str]]] = [
        ("reply/", {"text": "hi", "version": "1"}),
        ("status/", {"status": "closed"}),
        ("assign/", {"assignee": "me"}),
        ("priority/", {"priority": "high"}),
        ("tags/", {"tag": "x"}),
        ("notes/", {"text": "x"}),
        (f"messages/{Message.objects.get().pk}/action/", {"action": "like"}),
    ]
    for suffix, data in posts:
        assert reader.post(base + suffix, data).status_code == 403, suffix
    conversation.refresh_from_db()
    assert (conversation.status, conversation.version) == (Status.OPEN, 1)
    response = reader.post(f"{base}presence/", {"activity": "viewing"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200  # presence only needs to see the conversation


# ------------------------------------------------------------------ the conversation


def test_conversation_page_shows_context_timeline_and_tools(
    owner_client: Client, owner: User, workspace: Workspace, channel: Channel
) -> None:
    post = Post.objects.create(workspace=workspace, title="launch")
    target = PostTarget(
        workspace=workspace,
        post=post,
        channel=channel,
        text="قهوه‌ی تازه رسید",
        remote_id="900",
        remote_url="https://sink.example/@sokhan/900",
        published_at=timezone.now(),
    )
    target.enter_state(S.PUBLISHED)
    target.save()
    conversation = converse(
        channel, "When do you open?", subject_target=target, subject_remote_id="900", contact_followers=1200
    )
    received = Message.objects.get(conversation=conversation)
    rule = Rule.objects.create(workspace=workspace, name="Opening hours")
    RuleHit.objects.create(
        workspace=workspace,
        rule=rule,
        rule_name=rule.name,
        message=received,
        actions=[{"action": "tag", "value": "hours", "result": "done", "detail": "Tag “hours”"}],
    )
    Note.objects.create(workspace=workspace, conversation=conversation, author=owner, text="She asked before, too")
    Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        channel=channel,
        direction=Direction.OUT,
        kind=Kind.COMMENT,
        text="We open at 8",
        created_at=timezone.now(),
        sent_by=owner,
        send_state=SendState.FAILED,
        send_error="Validation failed: Text too long",
    )
    InboxSettings.objects.create(workspace=workspace, guidelines="Be kind; sign with your name.", brand_name="Acme")
    SavedReply.objects.create(workspace=workspace, title="Hours", text="Hi {author_name}, we open at 8. — {agent_name}")

    html = page(owner_client, f"/w/acme/inbox/?c={conversation.pk}")
    assert "Our post" in html and "قهوه‌ی تازه رسید" in html and "https://sink.example/@sokhan/900" in html
    assert html.index("When do you open?") < html.index("She asked before, too") < html.index("We open at 8")
    assert "Tagged “hours” by rule Opening hours" in html and "1200 followers" in html
    assert "Validation failed: Text too long" in html and "Send again" in html
    assert "Be kind; sign with your name." in html
    assert "Hi Sara, we open at 8. — Owner" in html  # the saved reply, filled in
    assert f'name="version" value="{conversation.version}"' in html
    assert 'data-shortcut="e"' in html and 'data-shortcut="a"' in html and 'data-shortcut="s"' in html
    assert ">Like<" in html and ">Hide<" not in html  # Mastodon can like, not hide
    detail = page(owner_client, f"/w/acme/inbox/c/{conversation.pk}/?saved={SavedReply.objects.get().pk}")
    assert ">Hi Sara, we open at 8. — Owner</textarea>" in detail  # without a script: pre-filled
    assert page(owner_client, f"/w/acme/inbox/c/{conversation.pk}/?status=closed").count('aria-current="true"') == 0


def test_reply_through_the_sink_is_recorded_as_sent(
    owner_client: Client, owner: User, channel: Channel, sink: Sink
) -> None:
    conversation = converse(channel, "Do you have oat milk?")
    url = f"/w/acme/inbox/c/{conversation.pk}/"
    response = owner_client.post(
        f"{url}reply/", {"text": "Yes, every day!", "version": str(conversation.version), "next": f"{url}?status=open"}
    )
    assert response.status_code == 302 and response["Location"] == f"{url}?status=open"
    sent = Message.objects.get(conversation=conversation, direction=Direction.OUT)
    assert sent.send_state == SendState.SENT and sent.sent_by == owner
    status = next(iter(sink.statuses.values()))
    assert sent.remote_id == status["id"] and sent.url == status["url"]
    assert status["content"] == "<p>@sara Yes, every day!</p>"  # the connector mentions the author
    conversation.refresh_from_db()
    assert conversation.awaiting_since is None and conversation.version == 2
    html = page(owner_client, url)
    assert "Reply sent." in html and "Yes, every day!" in html


def test_a_refused_reply_can_be_sent_again(owner_client: Client, channel: Channel, sink: Sink) -> None:
    conversation = converse(channel)
    url = f"/w/acme/inbox/c/{conversation.pk}/"
    sink.script.append(("422", "Text character limit of 500 exceeded"))
    owner_client.post(f"{url}reply/", {"text": "Sure", "version": str(conversation.version)})
    failed = Message.objects.get(direction=Direction.OUT)
    assert failed.send_state == SendState.FAILED
    assert "The reply was not sent" in page(owner_client, url)
    response = owner_client.post(f"{url}messages/{failed.pk}/retry/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"] is True
    failed.refresh_from_db()
    assert failed.send_state == SendState.SENT and failed.remote_id


def test_stale_view_is_refused_until_confirmed(owner_client: Client, channel: Channel, sink: Sink) -> None:
    conversation = converse(channel, "First question")
    url = f"/w/acme/inbox/c/{conversation.pk}/"
    seen = page(owner_client, url)
    assert f'name="version" value="{conversation.version}"' in seen
    import re

    seen_at = re.search(r'name="seen_at" value="([^"]+)"', seen)
    assert seen_at
    # A teammate's change arrives meanwhile: a new message, and the version moves on.
    Message.objects.create(
        workspace=channel.workspace,
        conversation=conversation,
        channel=channel,
        remote_id="999",
        direction=Direction.IN,
        kind=Kind.COMMENT,
        text="Hello? Anyone?",
        author_handle="sara",
        created_at=timezone.now(),
    )
    Conversation.objects.filter(pk=conversation.pk).update(version=F("version") + 1)

    data = {"text": "Yes, we are open", "version": "1", "seen_at": seen_at.group(1)}
    response = owner_client.post(f"{url}reply/", data)
    assert response.status_code == 409
    html = response.content.decode()
    assert "This conversation changed since you opened it." in html and "Send anyway" in html
    assert "Check the newest messages." in html and "Replied since" not in html  # only what came since
    assert ">Yes, we are open</textarea>" in html  # the typed text is kept
    assert 'id="message-' in html and "is-new" in html and "Hello? Anyone?" in html
    assert not Message.objects.filter(direction=Direction.OUT).exists() and not sink.statuses

    as_json = owner_client.post(f"{url}reply/", data, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 409 and as_json.json()["code"] == "stale_view" and as_json.json()["version"] == 2

    confirmed = owner_client.post(f"{url}reply/", {**data, "confirm": "1"})
    assert confirmed.status_code == 302
    assert Message.objects.get(direction=Direction.OUT).send_state == SendState.SENT


def test_an_empty_reply_keeps_the_page(owner_client: Client, channel: Channel) -> None:
    conversation = converse(channel)
    response = owner_client.post(f"/w/acme/inbox/c/{conversation.pk}/reply/", {"text": "  ", "version": "1"})
    assert response.status_code == 400 and "The reply is empty." in response.content.decode()


def test_status_assign_tag_priority_and_note_actions(
    owner_client: Client, owner: User, workspace: Workspace, channel: Channel, make_member: Any
) -> None:
    conversation = converse(channel)
    base = f"/w/acme/inbox/c/{conversation.pk}/"
    teammate = make_member(Role.EDITOR, "nima@example.com")
    team = Team.objects.create(workspace=workspace, name="Support")

    def fresh() -> Conversation:
        return Conversation.objects.get(pk=conversation.pk)

    response = owner_client.post(f"{base}status/", {"status": "closed", "next": f"{base}?status=open"})
    assert response.status_code == 302 and response["Location"] == f"{base}?status=open"
    assert fresh().status == Status.CLOSED and fresh().closed_at is not None
    owner_client.post(f"{base}status/", {"status": "pending"})
    assert fresh().status == Status.PENDING

    before = timezone.now()
    owner_client.post(f"{base}status/", {"status": "snoozed", "preset": "1h"})
    snoozed = fresh()
    assert snoozed.status == Status.SNOOZED and snoozed.snoozed_until is not None
    assert timedelta(minutes=59) < snoozed.snoozed_until - before < timedelta(minutes=61)
    owner_client.post(f"{base}status/", {"status": "snoozed", "until_date": "2099-01-02", "until_time": "10:30"})
    local = timezone.localtime(fresh().snoozed_until, timezone.get_current_timezone())
    assert fresh().snoozed_until is not None and local.year == 2099
    refused = owner_client.post(f"{base}status/", {"status": "snoozed"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and refused.json()["ok"] is False

    owner_client.post(f"{base}assign/", {"assignee": "me"})
    assert fresh().assignee == owner
    owner_client.post(f"{base}assign/", {"assignee": str(teammate.pk), "team": str(team.pk)})
    assert (fresh().assignee, fresh().team) == (teammate, team)
    owner_client.post(f"{base}assign/", {"assignee": ""})
    assert (fresh().assignee, fresh().team) == (None, team)  # the team stays when the form leaves it out
    stranger = User.objects.create_user("x@example.com", "correct horse battery staple")
    assert owner_client.post(f"{base}assign/", {"assignee": str(stranger.pk)}, follow=True).status_code == 200
    assert fresh().assignee is None

    answer = owner_client.post(f"{base}priority/", {"priority": "urgent"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] and body["priority"] == "urgent" and body["version"] == fresh().version
    assert owner_client.post(f"{base}priority/", {"priority": "x"}, HTTP_ACCEPT="application/json").status_code == 400

    owner_client.post(f"{base}tags/", {"tag": "refund, vip"})
    assert sorted(fresh().tags.values_list("name", flat=True)) == ["refund", "vip"]
    owner_client.post(f"{base}tags/", {"tag": "vip", "remove": "1"})
    assert list(fresh().tags.values_list("name", flat=True)) == ["refund"]

    owner_client.post(f"{base}notes/", {"text": "@nima can you check the order?"})
    note = Note.objects.get()
    assert note.author == owner and list(note.mentions.all()) == [teammate]
    html = page(owner_client, base)
    assert "can you check the order?" in html and "Internal note" in html and "#refund" in html


def test_like_calls_the_connector(owner_client: Client, owner: User, channel: Channel, monkeypatch: Any) -> None:
    conversation = converse(channel)
    message = Message.objects.get()
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr("sokhan.inbox.replies.call", lambda *args, **kwargs: calls.append(args[1:]))
    url = f"/w/acme/inbox/c/{conversation.pk}/messages/{message.pk}/action/"
    response = owner_client.post(url, {"action": "like"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["ok"]
    assert calls == [("like", message.remote_id)]
    message.refresh_from_db()
    assert message.liked
    refused = owner_client.post(url, {"action": "hide"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "does not let Sokhan" in refused.json()["error"]


# ------------------------------------------------------------------ presence and live updates


def test_presence_endpoint(
    owner_client: Client, workspace: Workspace, channel: Channel, client_for: Callable[[User], Client], make_member: Any
) -> None:
    conversation = converse(channel)
    url = f"/w/acme/inbox/c/{conversation.pk}/presence/"
    assert owner_client.get(url).status_code == 405
    first = owner_client.post(url, {"activity": "viewing"}, HTTP_ACCEPT="application/json").json()
    assert first == {"others": [], "version": 1}
    sara = make_member(Role.EDITOR, "sara@example.com")
    User.objects.filter(pk=sara.pk).update(full_name="Sara Karimi")
    client_for(sara).post(url, {"activity": "replying"})
    Conversation.objects.filter(pk=conversation.pk).update(version=F("version") + 1)
    second = owner_client.post(url, {"activity": "viewing"}).json()
    assert second == {"others": [{"user": "Sara Karimi", "activity": "replying"}], "version": 2}
    html = page(owner_client, f"/w/acme/inbox/c/{conversation.pk}/")
    assert "Sara Karimi is replying" in html
    client_for(sara).post(url, {"activity": "leave"})
    assert not Presence.objects.filter(user=sara).exists()


def test_updates_endpoint_returns_changed_rows(owner_client: Client, owner: User, channel: Channel) -> None:
    old = converse(channel, "Old and quiet", minutes_ago=30)
    moving = converse(channel, "Will be closed", minutes_ago=20)
    Conversation.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    since = timezone.now() - timedelta(minutes=1)
    fresh = converse(channel, "Brand new question", minutes_ago=0)
    owner_client.post(f"/w/acme/inbox/c/{moving.pk}/status/", {"status": "closed"})

    response = owner_client.get("/w/acme/inbox/updates/", {"since": since.isoformat()})
    assert response.status_code == 200
    data = response.json()
    assert [row["id"] for row in data["rows"]] == [fresh.pk]  # matches the default (open) filter
    row = data["rows"][0]
    assert row["status"] == "open" and row["preview"] == "Brand new question" and row["version"] == 1
    assert f'id="row-{fresh.pk}"' in row["html"] and "Brand new question" in row["html"]
    assert data["gone"] == [moving.pk] and old.pk not in data["gone"]

    closed = owner_client.get("/w/acme/inbox/updates/", {"since": since.isoformat(), "status": "closed"}).json()
    assert [r["id"] for r in closed["rows"]] == [moving.pk]
    later = owner_client.get("/w/acme/inbox/updates/", {"since": data["since"]}).json()
    assert {r["id"] for r in later["rows"]} <= {fresh.pk}  # only the overlap comes again
    bad = owner_client.get("/w/acme/inbox/updates/", {"since": "yesterday"})
    assert bad.status_code == 400 and json.loads(bad.content)["ok"] is False


def test_a_persian_viewer_gets_rtl_jalali_dates_and_persian_digits(
    owner: User, workspace: Workspace, channel: Channel
) -> None:
    conversation = converse(channel, "سلام، جمعه‌ها باز هستید؟")
    received = Message.objects.get()
    client = Client()
    sign_in(client, owner.email, language="fa")
    html = page(client, f"/w/acme/inbox/c/{conversation.pk}/")
    tehran = ZoneInfo("Asia/Tehran")
    assert '<html lang="fa" dir="rtl">' in html
    assert format_datetime(received.created_at, calendar="jalali", language="fa", tz=tehran) in html
    # The date filter takes the viewer's calendar, with Persian digits.
    day = format_date(received.created_at.astimezone(tehran).date(), calendar="jalali", language="fa", style="numeric")
    assert rows_in(page(client, f"/w/acme/inbox/?from={day}&to={day}")) == {conversation.pk}
