"""The inbox over the API: list filters and keyset paging, one conversation, replies through the loopback
Mastodon-compatible sink (with the collision guard and retry), the workflow endpoints, message actions,
presence, saved views, the change feed, permissions, other workspaces, and the list's query count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.api.conftest import ApiClient, assert_error, make_token

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox.api import ChannelRef, ConversationItem, ConversationPage
from sokhan.inbox.models import (
    Conversation,
    Direction,
    Kind,
    Message,
    Note,
    Presence,
    Priority,
    RuleHit,
    SavedView,
    SendState,
    Sentiment,
    Status,
    Tag,
    Team,
)
from sokhan.ops.bench_sink import Sink, SinkServer, make_channel

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)
BASE = "/workspaces/acme/inbox"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9", display_name="Brand on Mastodon")


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["write"]))


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


def session(user: User) -> ApiClient:
    client = Client()
    client.force_login(user)
    return ApiClient(client=client)


def conv(
    channel: Channel,
    key: str,
    *,
    minutes: int = 0,
    tags: tuple[str, ...] = (),
    messages: int = 1,
    **fields: Any,
) -> Conversation:
    """A conversation with ``messages`` received messages, the last ``minutes`` after T0."""
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "kind": Kind.COMMENT,
        "contact_handle": f"user-{key}",
        "contact_name": f"User {key}",
        "preview": f"hello from {key}",
        "message_count": messages,
        "last_message_at": at,
        "awaiting_since": at,
    }
    values.update(fields)
    conversation = Conversation.objects.create(
        workspace_id=channel.workspace_id, channel=channel, thread_key=key, **values
    )
    for i in range(messages):
        Message.objects.create(
            workspace_id=channel.workspace_id,
            conversation=conversation,
            channel=channel,
            remote_id=f"{key}-m{i}",
            direction=Direction.IN,
            kind=conversation.kind,
            text=f"message {i} of {key}",
            author_remote_id="9",
            author_handle=f"user-{key}",
            created_at=at - timedelta(minutes=messages - 1 - i),
        )
    for name in tags:
        tag, _created = Tag.objects.get_or_create(workspace_id=channel.workspace_id, name=name)
        conversation.tags.add(tag)
    return conversation


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# ----------------------------------------------------------------------------- list


def test_list_items_and_filters(
    api: ApiClient, owner: User, workspace: Workspace, channel: Channel, make_member
) -> None:  # type: ignore[no-untyped-def]
    editor = make_member(Role.EDITOR, "editor@example.com")
    team = Team.objects.create(workspace=workspace, name="Support")
    dm_channel = make_channel(workspace, "http://127.0.0.1:9", remote_id="2", display_name="Second")
    a = conv(channel, "a", minutes=5, tags=("vip",), assignee=owner, team=team, sentiment=Sentiment.NEGATIVE)
    b = conv(channel, "b", minutes=4, tags=("vip", "refund"), assignee=editor, priority=Priority.URGENT)
    c = conv(dm_channel, "c", minutes=3, kind=Kind.DM, status=Status.CLOSED, awaiting_since=None, language="en")
    d = conv(channel, "d", minutes=2, status=Status.PENDING, contact_name="Sara Ahmadi")

    body = api.get(f"{BASE}/conversations").json()
    assert [i["id"] for i in body["results"]] == [a.pk, b.pk, c.pk, d.pk] and body["next"] is None
    first = body["results"][0]
    # The list is written out without ninja's validation (the hot path): it must still be the schema's shape.
    assert set(body) == set(ConversationPage.model_fields)
    assert all(set(item) == set(ConversationItem.model_fields) for item in body["results"])
    assert set(first["channel"]) == set(ChannelRef.model_fields)
    assert first["channel"] == {"id": channel.pk, "network": "mastodon", "name": "Brand on Mastodon"}
    assert (first["assignee"], first["team"], first["team_id"], first["tags"]) == (
        "owner@example.com",
        "Support",
        team.pk,
        ["vip"],
    )
    assert first["version"] == 1 and first["preview"] == "hello from a" and first["message_count"] == 1
    assert body["results"][1]["tags"] == ["refund", "vip"]
    assert body["results"][2]["assignee"] is None and body["results"][2]["team"] is None

    get = lambda **params: ids(api.get(f"{BASE}/conversations", params))  # noqa: E731
    assert get(status="open") == [a.pk, b.pk]
    assert get(status="open,pending") == [a.pk, b.pk, d.pk]
    assert ids(api.get(f"{BASE}/conversations?statuses=closed&statuses=pending")) == [c.pk, d.pk]
    assert get(assignee="me") == [a.pk]
    assert get(assignee=str(editor.pk)) == [b.pk]
    assert get(assignee="none") == [c.pk, d.pk]
    assert get(team=team.pk) == [a.pk]
    assert get(tags="vip") == [a.pk, b.pk]
    assert get(tags="VIP,refund") == [b.pk]
    assert get(assignee=str(editor.pk), tag="vip") == [b.pk]
    assert get(kind="dm") == [c.pk]
    assert get(channels=str(dm_channel.pk)) == [c.pk]
    assert get(sentiment="negative") == [a.pk]
    assert get(priority="urgent") == [b.pk]
    assert get(language="en") == [c.pk]
    assert get(awaiting="true") == [a.pk, b.pk, d.pk]
    assert get(q="ahmadi") == [d.pk]
    assert get(since=(T0 + timedelta(days=1)).date().isoformat()) == []
    assert get(since=T0.date().isoformat(), until=T0.date().isoformat()) == [a.pk, b.pk, c.pk, d.pk]

    error = assert_error(api.get(f"{BASE}/conversations", {"status": "lost"}), 400, "invalid")
    assert error["fields"] == {"status": "unknown"}
    assert_error(api.get(f"{BASE}/conversations", {"assignee": "bob"}), 400)
    assert_error(api.get(f"{BASE}/conversations", {"since": "yesterday"}), 400)
    assert_error(api.get(f"{BASE}/conversations", {"size": 0}), 422)


def test_keyset_paging_with_equal_times(api: ApiClient, channel: Channel) -> None:
    rows = [conv(channel, f"k{i}", minutes=i // 2) for i in range(7)]  # pairs share a time
    expected = [c.pk for c in sorted(rows, key=lambda c: (c.last_message_at, c.pk), reverse=True)]
    seen: list[int] = []
    before = ""
    pages = 0
    while True:
        body = api.get(f"{BASE}/conversations", {"size": 3, "before": before}).json()
        seen += [i["id"] for i in body["results"]]
        pages += 1
        if body["next"] is None:
            break
        before = body["next"]
    assert seen == expected and pages == 3
    # An unencoded '+' of the cursor's zone arrives as a space; it still works.
    cursor = api.get(f"{BASE}/conversations", {"size": 3}).json()["next"]
    assert "+" in cursor
    assert ids(api.get(f"{BASE}/conversations?size=3&before={cursor}")) == expected[3:6]
    assert_error(api.get(f"{BASE}/conversations", {"before": "yesterday|x"}), 400)


def test_list_reads_a_page_in_two_queries(api: ApiClient, owner: User, workspace: Workspace, make_member: Any) -> None:
    editor = make_member(Role.EDITOR, "editor@example.com")
    team = Team.objects.create(workspace=workspace, name="Support")
    channels = [make_channel(workspace, "http://127.0.0.1:9", remote_id=str(i), display_name=f"C{i}") for i in range(3)]
    for i in range(40):
        conv(
            channels[i % 3],
            f"q{i}",
            minutes=i,
            tags=("vip", f"t{i % 4}"),
            assignee=(owner, editor, None)[i % 3],
            team=team if i % 2 else None,
        )
    api.get(f"{BASE}/conversations", {"size": 2})  # the token's first use records ``last_used_at``

    def queries(size: int) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(f"{BASE}/conversations", {"size": size, "status": "open"})
        assert response.status_code == 200 and len(response.json()["results"]) == size
        return [q["sql"] for q in captured.captured_queries]

    small, large = queries(5), queries(40)
    assert len(large) == len(small) <= 6, large
    inbox = [sql for sql in large if "inbox_" in sql]
    assert len(inbox) == 2, inbox  # the page (with channel, assignee and team joined) and its tags
    (page_sql,) = [sql for sql in inbox if 'FROM "inbox_conversation" ' in sql]
    # Only the list's columns: nothing like the channel's credentials or the conversation's thread key.
    assert "credentials" not in page_sql and "thread_key" not in page_sql and "subject_url" not in page_sql


# ----------------------------------------------------------------------------- one conversation


def test_get_one_conversation(
    api: ApiClient, owner: User, workspace: Workspace, channel: Channel, make_member: Any
) -> None:
    editor = make_member(Role.EDITOR, "editor@example.com")
    c = conv(channel, "g", messages=3, tags=("vip",), subject_text="our launch post")
    sent = Message.objects.create(
        workspace=workspace,
        conversation=c,
        channel=channel,
        remote_id="g-out",
        direction=Direction.OUT,
        kind=c.kind,
        text="thanks!",
        created_at=T0 + timedelta(minutes=1),
        sent_by=owner,
        send_state=SendState.SENT,
        needs_response=False,
    )
    first = c.messages.order_by("created_at").first()
    assert first is not None
    RuleHit.objects.create(
        workspace=workspace, rule_name="VIP", message=first, actions=[{"action": "tag", "value": "vip"}]
    )
    note = Note.objects.create(workspace=workspace, conversation=c, author=editor, text="@owner look")
    note.mentions.add(owner)
    Presence.objects.create(workspace=workspace, conversation=c, user=editor, activity="replying")

    body = api.get(f"{BASE}/conversations/{c.pk}").json()
    assert datetime.fromisoformat(body["notes"][0].pop("created_at")) - note.created_at < timedelta(milliseconds=1)
    assert body["id"] == c.pk and body["thread_key"] == "g" and body["subject_text"] == "our launch post"
    texts = [m["text"] for m in body["messages"]]
    assert texts == ["message 0 of g", "message 1 of g", "message 2 of g", "thanks!"]
    assert body["messages"][-1]["id"] == sent.pk and body["messages"][-1]["sent_by"] == "owner@example.com"
    assert body["messages"][-1]["direction"] == "out" and body["messages"][0]["direction"] == "in"
    assert body["tags"] == ["vip"]
    assert body["notes"] == [
        {
            "id": note.pk,
            "author": "editor@example.com",
            "text": "@owner look",
            "mentions": ["owner@example.com"],
        }
    ]
    (hit,) = body["rule_hits"]
    assert (hit["rule"], hit["message_id"], hit["actions"]) == ("VIP", first.pk, [{"action": "tag", "value": "vip"}])
    assert body["others"] == [{"user": "editor@example.com", "activity": "replying"}]


# ----------------------------------------------------------------------------- scoping, permissions


def test_other_workspaces_conversations_are_not_found(api: ApiClient, owner: User, channel: Channel) -> None:
    other_ws = workspace_create(owner=owner, name="Other", slug="other")
    other_channel = make_channel(other_ws, "http://127.0.0.1:9", remote_id="77")
    theirs = conv(other_channel, "x")
    message = theirs.messages.get()
    mine = conv(channel, "m")
    assert ids(api.get(f"{BASE}/conversations")) == [mine.pk]
    assert_error(api.get(f"{BASE}/conversations/{theirs.pk}"), 404, "not_found")
    for path, body in (
        (f"conversations/{theirs.pk}/reply", {"text": "hi"}),
        (f"conversations/{theirs.pk}/assign", {"user_id": None}),
        (f"conversations/{theirs.pk}/status", {"status": "closed"}),
        (f"conversations/{theirs.pk}/priority", {"priority": "high"}),
        (f"conversations/{theirs.pk}/tags", {"tag": "x"}),
        (f"conversations/{theirs.pk}/notes", {"text": "x"}),
        (f"conversations/{theirs.pk}/presence", {}),
        (f"conversations/{mine.pk}/reply", {"text": "hi", "to": message.pk}),
        (f"messages/{message.pk}/retry", None),
        (f"messages/{message.pk}/actions", {"action": "like"}),
    ):
        assert_error(api.post(f"{BASE}/{path}", body), 404)
    assert_error(api.delete(f"{BASE}/conversations/{theirs.pk}/tags/x"), 404)
    theirs.refresh_from_db()
    assert theirs.status == Status.OPEN and theirs.version == 1
    # A token of this workspace does not reach the other one, even for its owner.
    assert_error(api.get(f"/workspaces/other/inbox/conversations/{theirs.pk}"), 404)


def test_read_only_callers_cannot_change_anything(
    owner: User, workspace: Workspace, channel: Channel, make_member
) -> None:  # type: ignore[no-untyped-def]
    c = conv(channel, "p")
    reader = ApiClient(make_token(owner, workspace, ["read"]))
    assert ids(reader.get(f"{BASE}/conversations")) == [c.pk]
    assert reader.get(f"{BASE}/conversations/{c.pk}").status_code == 200
    assert reader.get(f"{BASE}/views").status_code == 200
    assert_error(reader.post(f"{BASE}/conversations/{c.pk}/status", {"status": "closed"}), 403, "insufficient_scope")
    assert_error(reader.post(f"{BASE}/conversations/{c.pk}/reply", {"text": "hi"}), 403, "insufficient_scope")
    assert_error(reader.post(f"{BASE}/views", {"name": "mine"}), 403, "insufficient_scope")

    # Roles without the inbox (viewer, analyst, contributor) may not even read it.
    viewer = session(make_member(Role.VIEWER, "viewer@example.com"))
    assert_error(viewer.get(f"{BASE}/conversations"), 403, "forbidden")
    assert_error(viewer.post(f"{BASE}/conversations/{c.pk}/status", {"status": "closed"}), 403, "forbidden")
    analyst = make_member(Role.ANALYST, "analyst@example.com")
    assert_error(ApiClient(make_token(analyst, workspace, ["write"])).get(f"{BASE}/conversations"), 403, "forbidden")

    editor = session(make_member(Role.EDITOR, "editor@example.com"))
    assert editor.post(f"{BASE}/conversations/{c.pk}/status", {"status": "closed"}).status_code == 200
    c.refresh_from_db()
    assert c.status == Status.CLOSED


# ----------------------------------------------------------------------------- replies


def test_reply_is_sent_through_the_sink_with_the_collision_guard(
    api: ApiClient, owner: User, workspace: Workspace, sink: Sink
) -> None:
    channel = make_channel(workspace, sink.url)
    c = conv(channel, "r", messages=2)
    version = api.get(f"{BASE}/conversations/{c.pk}").json()["version"]
    seen_at = timezone.now().isoformat()

    response = api.post(f"{BASE}/conversations/{c.pk}/reply", {"text": "Thanks, we open at 8.", "version": version})
    assert response.status_code == 201, response.content
    body = response.json()
    reply = body["message"]
    assert reply["send_state"] == "sent" and reply["direction"] == "out" and reply["sent_by"] == "owner@example.com"
    (key,) = sink.created
    assert reply["remote_id"] == sink.statuses[key]["id"] and sink.created[key] == 1
    stored = Message.objects.get(pk=reply["id"])
    assert stored.send_state == SendState.SENT and stored.remote_id == reply["remote_id"]
    assert stored.in_reply_to == "r-m1"  # the latest received message
    assert body["version"] > version
    c.refresh_from_db()
    assert c.version == body["version"] and c.awaiting_since is None and c.message_count == 3

    # A view from before that reply is stale: 409 naming the change, nothing sent; confirming sends.
    stale = {
        "text": "Also: free coffee.",
        "version": version,
        "seen_at": seen_at,
        "to": c.messages.get(remote_id="r-m0").pk,
    }
    error = assert_error(api.post(f"{BASE}/conversations/{c.pk}/reply", stale), 409, "stale_view")
    assert "changed" in error["message"] and "Replied since: Owner." in error["message"]  # the owner's name
    assert error["fields"] == {"version": "stale"} and len(sink.created) == 1
    response = api.post(f"{BASE}/conversations/{c.pk}/reply", {**stale, "confirm": True})
    assert response.status_code == 201, response.content
    assert response.json()["message"]["send_state"] == "sent" and len(sink.created) == 2
    assert response.json()["message"]["in_reply_to"] == "r-m0"
    assert AuditEvent.objects.filter(action="inbox.reply").count() == 2

    assert_error(api.post(f"{BASE}/conversations/{c.pk}/reply", {"text": "  "}), 400)


def test_failed_reply_can_be_retried(api: ApiClient, workspace: Workspace, sink: Sink) -> None:
    channel = make_channel(workspace, sink.url)
    c = conv(channel, "f")
    sink.script.append(("422", "text too long"))
    response = api.post(f"{BASE}/conversations/{c.pk}/reply", {"text": "hello"})
    assert response.status_code == 201, response.content
    failed = response.json()["message"]
    assert failed["send_state"] == "failed" and failed["send_error"] and not sink.created

    response = api.post(f"{BASE}/messages/{failed['id']}/retry")
    assert response.status_code == 200, response.content
    assert response.json()["message"]["send_state"] == "sent" and sum(sink.created.values()) == 1
    # A sent message cannot be "retried" again.
    assert_error(api.post(f"{BASE}/messages/{failed['id']}/retry"), 400)


def test_message_actions(api: ApiClient, channel: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    c = conv(channel, "l")
    message = c.messages.get()
    done: list[tuple[str, str]] = []
    monkeypatch.setattr("sokhan.inbox.replies.call", lambda ch, op, remote_id: done.append((op, remote_id)))

    response = api.post(f"{BASE}/messages/{message.pk}/actions", {"action": "like"})
    assert response.status_code == 200, response.content
    assert response.json()["liked"] is True and done == [("like", "l-m0")]
    message.refresh_from_db()
    assert message.liked
    # Mastodon cannot hide a reply to someone else's post: said so, nothing called.
    assert_error(api.post(f"{BASE}/messages/{message.pk}/actions", {"action": "hide"}), 400, "not_supported")
    assert_error(api.post(f"{BASE}/messages/{message.pk}/actions", {"action": "pin"}), 422)
    assert done == [("like", "l-m0")]


# ----------------------------------------------------------------------------- workflow


def test_workflow_endpoints(
    api: ApiClient, owner: User, workspace: Workspace, channel: Channel, make_member: Any
) -> None:
    editor = make_member(Role.EDITOR, "editor@example.com")
    team = Team.objects.create(workspace=workspace, name="Support")
    c = conv(channel, "w")
    path = f"{BASE}/conversations/{c.pk}"

    body = api.post(f"{path}/assign", {"user_id": editor.pk, "team_id": team.pk}).json()
    assert (body["assignee_id"], body["assignee"], body["team"]) == (editor.pk, "editor@example.com", "Support")
    assert body["version"] == 2
    body = api.post(f"{path}/assign", {"user_id": None, "team_id": None}).json()
    assert body["assignee"] is None and body["team"] is None
    stranger = User.objects.create_user("stranger@example.com", "x" * 12)
    error = assert_error(api.post(f"{path}/assign", {"user_id": stranger.pk}), 400)
    assert error["fields"] == {"user_id": "not_member"}
    other_team = Team.objects.create(workspace=workspace_create(owner=owner, name="O", slug="o"), name="Support")
    assert_error(api.post(f"{path}/assign", {"team_id": other_team.pk}), 400)

    until = timezone.now() + timedelta(hours=3)
    body = api.post(f"{path}/status", {"status": "snoozed", "until": until.isoformat()}).json()
    assert body["status"] == "snoozed" and abs(datetime.fromisoformat(body["snoozed_until"]) - until) < timedelta(
        seconds=1
    )
    error = assert_error(api.post(f"{path}/status", {"status": "snoozed"}), 400)
    assert error["fields"] == {"until": "not_future"}
    assert_error(api.post(f"{path}/status", {"status": "done"}), 400)
    body = api.post(f"{path}/status", {"status": "closed"}).json()
    assert body["status"] == "closed" and body["snoozed_until"] is None
    c.refresh_from_db()
    assert c.closed_at is not None

    assert api.post(f"{path}/priority", {"priority": "urgent"}).json()["priority"] == "urgent"
    assert_error(api.post(f"{path}/priority", {"priority": "meh"}), 400)

    assert api.post(f"{path}/tags", {"tag": "#Refund"}).json()["tags"] == ["Refund"]
    assert api.post(f"{path}/tags", {"tag": "vip"}).json()["tags"] == ["Refund", "vip"]
    assert api.post(f"{path}/tags", {"tag": "refund"}).json()["tags"] == ["Refund", "vip"]  # same tag
    assert api.delete(f"{path}/tags/refund").json()["tags"] == ["vip"]
    assert_error(api.post(f"{path}/tags", {"tag": " "}), 400)

    response = api.post(f"{path}/notes", {"text": "@editor@example.com can you check?"})
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["author"] == "owner@example.com" and note["mentions"] == ["editor@example.com"]
    assert_error(api.post(f"{path}/notes", {"text": ""}), 400)

    actions = set(AuditEvent.objects.filter(target=f"conversation:{c.pk}").values_list("action", flat=True))
    assert {"inbox.assign", "inbox.status", "inbox.priority", "inbox.tag", "inbox.untag", "inbox.note"} <= actions
    c.refresh_from_db()
    assert c.version > 8


def test_presence_heartbeat(api: ApiClient, workspace: Workspace, channel: Channel, make_member: Any) -> None:
    c = conv(channel, "h")
    editor = session(make_member(Role.EDITOR, "editor@example.com"))
    path = f"{BASE}/conversations/{c.pk}/presence"
    assert api.post(path, {}).json() == {"others": []}
    assert editor.post(path, {"activity": "replying"}).json() == {"others": [{"user": "Owner", "activity": "viewing"}]}
    assert api.post(path, {}).json() == {"others": [{"user": "editor@example.com", "activity": "replying"}]}
    assert editor.post(path, {"leave": True}).json()["others"] == [{"user": "Owner", "activity": "viewing"}]
    assert api.get(f"{BASE}/conversations/{c.pk}").json()["others"] == []
    assert_error(api.post(path, {"activity": "sleeping"}), 422)


# ----------------------------------------------------------------------------- saved views


def test_saved_views_personal_and_shared(api: ApiClient, owner: User, workspace: Workspace, make_member: Any) -> None:
    editor = make_member(Role.EDITOR, "editor@example.com")
    other = session(editor)

    response = api.post(f"{BASE}/views", {"name": " My  urgent ", "filters": {"priority": "urgent", "assignee": "me"}})
    assert response.status_code == 201, response.content
    mine = response.json()
    assert mine["name"] == "My urgent" and mine["shared"] is False and mine["owner"] == "owner@example.com"
    assert mine["filters"] == {"priorities": ["urgent"], "assignee": "me"}
    shared = api.post(
        f"{BASE}/views", {"name": "Negative", "filters": {"sentiments": ["negative"], "awaiting": True}, "shared": True}
    ).json()
    assert shared["shared"] is True and shared["owner"] is None
    assert shared["filters"] == {"sentiments": ["negative"], "awaiting": True}

    assert [v["name"] for v in api.get(f"{BASE}/views").json()] == ["My urgent", "Negative"]
    assert [v["name"] for v in other.get(f"{BASE}/views").json()] == ["Negative"]
    # Someone else's personal view does not exist for them.
    assert_error(other.patch(f"{BASE}/views/{mine['id']}", {"name": "stolen"}), 404)
    assert_error(other.delete(f"{BASE}/views/{mine['id']}"), 404)

    error = assert_error(api.post(f"{BASE}/views", {"name": "Bad", "filters": {"status": "gone"}}), 400)
    assert error["fields"] == {"status": "unknown"}
    assert_error(api.post(f"{BASE}/views", {"name": "  "}), 400)

    body = other.patch(f"{BASE}/views/{shared['id']}", {"filters": {"tags": "vip"}, "name": "VIP"}).json()
    assert body["name"] == "VIP" and body["filters"] == {"tags": ["vip"]} and body["shared"] is True
    body = api.patch(f"{BASE}/views/{mine['id']}", {"shared": True}).json()
    assert body["shared"] is True and body["filters"] == mine["filters"]
    assert other.delete(f"{BASE}/views/{mine['id']}").status_code == 204
    assert list(SavedView.objects.values_list("name", flat=True)) == ["VIP"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"inbox.view.create", "inbox.view.update", "inbox.view.delete"} <= actions


# ----------------------------------------------------------------------------- updates


def test_updates_since(api: ApiClient, channel: Channel) -> None:
    old = conv(channel, "u1", updated_at=T0)
    recent = conv(channel, "u2", updated_at=T0 + timedelta(hours=1))
    assert ids(api.get(f"{BASE}/updates", {"since": T0.isoformat()})) == [old.pk, recent.pk]
    body = api.get(f"{BASE}/updates", {"since": (T0 + timedelta(minutes=1)).isoformat()}).json()
    assert [i["id"] for i in body["results"]] == [recent.pk] and body["more"] is False

    # Something changes now: a poll with the last ``next`` sees it (and nothing older).
    since = api.get(f"{BASE}/updates", {"since": timezone.now().isoformat()}).json()["next"]
    assert api.post(f"{BASE}/conversations/{old.pk}/priority", {"priority": "high"}).status_code == 200
    body = api.get(f"{BASE}/updates", {"since": since}).json()
    assert [(i["id"], i["priority"]) for i in body["results"]] == [(old.pk, "high")]
    assert ids(api.get(f"{BASE}/updates", {"since": since, "status": "closed"})) == []

    # Many changes at one instant (snoozed conversations woken together) page by id.
    same = [conv(channel, f"s{i}", updated_at=T0 + timedelta(days=1)) for i in range(5)]
    cursor, seen = (T0 + timedelta(hours=2)).isoformat(), []
    for _round in range(4):
        body = api.get(f"{BASE}/updates", {"since": cursor, "size": 2}).json()
        seen += [i["id"] for i in body["results"] if i["id"] in {s.pk for s in same}]
        cursor = body["next"]
        if not body["more"]:
            break
    assert seen == [s.pk for s in same]
    assert_error(api.get(f"{BASE}/updates", {"since": "last week"}), 400)
    assert_error(api.get(f"{BASE}/updates"), 422)


# ----------------------------------------------------------------------------- the load benchmark


def test_bench_inbox_refuses_sqlite() -> None:
    from django.core.management import CommandError, call_command

    if connection.vendor != "sqlite":
        pytest.skip("the benchmark runs on PostgreSQL; only its refusal of SQLite is tested")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench", "inbox", "--conversations", "10", "--messages", "10")
