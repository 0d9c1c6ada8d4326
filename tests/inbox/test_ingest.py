"""Storing received messages: once per remote id, threaded under the right post, answered when the
brand's own account replies, reopened when something new arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sokhan.core.models import Workspace
from sokhan.inbox.ingest import ingest
from sokhan.inbox.models import Conversation, Direction, Kind, Message, Status
from sokhan.inbox.workflow import conversation_set_status
from sokhan.networks.types import MessageKind, RemoteMessage
from sokhan.ops.bench_sink import make_channel
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget

T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


@pytest.fixture
def channel(workspace: Workspace) -> Any:
    return make_channel(workspace, "https://social.example", remote_id="brand-1")


@pytest.fixture
def our_post(workspace: Workspace, channel: Any) -> PostTarget:
    post = Post.objects.create(workspace=workspace, title="launch")
    target = PostTarget(
        workspace=workspace,
        post=post,
        channel=channel,
        text="قهوه‌ی تازه رسید",
        remote_id="post-1",
        remote_url="https://social.example/@brand/post-1",
        published_at=T0,
    )
    target.enter_state(S.PUBLISHED)
    target.save()
    return target


def msg(remote_id: str, *, kind: MessageKind = MessageKind.COMMENT, minutes: int = 0, **extra: Any) -> RemoteMessage:
    values: dict[str, Any] = {
        "remote_id": remote_id,
        "kind": kind,
        "text": "سلام، کی باز می‌کنید؟",
        "author_id": "u-9",
        "author_handle": "sara",
        "created_at": T0 + timedelta(minutes=minutes),
    }
    values.update(extra)
    return RemoteMessage(**values)


def test_comments_thread_under_our_post_and_are_stored_once(channel: Any, our_post: PostTarget) -> None:
    first = ingest(channel, [msg("c-1", root_id="post-1", in_reply_to="post-1")])
    again = ingest(
        channel, [msg("c-1", root_id="post-1", in_reply_to="post-1"), msg("c-2", minutes=5, in_reply_to="c-1")]
    )
    assert len(first.created) == 1 and first.duplicates == 0
    assert [m.remote_id for m in again.created] == ["c-2"] and again.duplicates == 1
    conversation = Conversation.objects.get()
    assert (conversation.kind, conversation.thread_key, conversation.subject_target) == (
        Kind.COMMENT,
        "post-1",
        our_post,
    )
    assert conversation.subject_text == "قهوه‌ی تازه رسید"
    assert conversation.message_count == 2 and conversation.awaiting_since == T0
    assert conversation.contact_handle == "sara" and conversation.language == "fa"
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_a_mention_inside_our_posts_thread_joins_its_comments(channel: Any, our_post: PostTarget) -> None:
    ingest(channel, [msg("c-1", root_id="post-1", in_reply_to="post-1")])
    ingest(channel, [msg("m-1", kind=MessageKind.MENTION, minutes=2, root_id="post-1", in_reply_to="post-1")])
    assert Conversation.objects.count() == 1
    elsewhere = ingest(channel, [msg("m-2", kind=MessageKind.MENTION, minutes=3, text="@brand great coffee")])
    conversation = elsewhere.created[0].conversation
    assert (conversation.kind, conversation.thread_key, conversation.subject_target) == (Kind.MENTION, "m-2", None)
    assert elsewhere.created[0].language == "en"


def test_direct_messages_thread_by_conversation(channel: Any) -> None:
    ingest(channel, [msg("d-1", kind=MessageKind.DM, conversation_id="chat-7")])
    ingest(channel, [msg("d-2", kind=MessageKind.DM, minutes=1, conversation_id="chat-7")])
    ingest(channel, [msg("d-3", kind=MessageKind.DM, minutes=1, conversation_id="chat-8", author_id="u-2")])
    assert sorted(Conversation.objects.values_list("thread_key", "message_count")) == [("chat-7", 2), ("chat-8", 1)]


def test_the_brands_own_reply_answers_what_came_before(channel: Any, our_post: PostTarget) -> None:
    ingest(
        channel,
        [
            msg("c-1", root_id="post-1", in_reply_to="post-1"),
            msg("c-2", minutes=10, root_id="post-1", in_reply_to="post-1", author_id="u-3"),
            msg("r-1", minutes=30, root_id="post-1", in_reply_to="c-1", author_id="brand-1", text="ساعت ۸ صبح"),
            msg("c-3", minutes=40, root_id="post-1", in_reply_to="post-1", author_id="u-4"),
        ],
    )
    rows = {m.remote_id: m for m in Message.objects.all()}
    assert rows["r-1"].direction == Direction.OUT and not rows["r-1"].needs_response
    assert rows["c-1"].answered_at == rows["c-2"].answered_at == T0 + timedelta(minutes=30)
    assert rows["c-3"].answered_at is None
    assert Conversation.objects.get().awaiting_since == T0 + timedelta(minutes=40)


def test_new_messages_reopen_closed_and_snoozed_conversations(channel: Any, our_post: PostTarget) -> None:
    ingest(channel, [msg("c-1", root_id="post-1", in_reply_to="post-1")])
    conversation = Conversation.objects.get()
    conversation_set_status(conversation, Status.CLOSED, actor=None)
    version = Conversation.objects.get().version
    ingest(channel, [msg("c-2", minutes=3, in_reply_to="c-1")])
    conversation.refresh_from_db()
    assert conversation.status == Status.OPEN and conversation.closed_at is None
    assert conversation.version > version


def test_messages_without_an_id_are_ignored(channel: Any) -> None:
    result = ingest(channel, [msg("")])
    assert result.created == [] and not Message.objects.exists()
