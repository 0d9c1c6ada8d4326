"""Store received messages once, thread them into conversations, rate them, run the rules.

Every source (polling, webhooks, tests) hands ``ingest`` the connector's ``RemoteMessage`` items;
``(channel, remote_id)`` is unique, so a message delivered twice (by a poll and a webhook, or by two
overlapping polls) is stored once. Threading, in order:

1. a reply to a message we already have joins that message's conversation;
2. a comment (or a mention inside a thread) whose root is a post we published on the channel joins
   that post's comment conversation, with the post shown as context;
3. otherwise by kind: a DM thread by its conversation id (or the author), a comment thread by its
   root post, a mention by its thread root.

A message written by the channel's own account (a reply made in the network's app) is stored as
sent and answers what came before it, so response metrics stay true.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sokhan.channels.models import Channel
from sokhan.inbox.language import detect_language
from sokhan.inbox.models import Conversation, Direction, Kind, Message, SendState, Status
from sokhan.networks.types import MessageKind, RemoteMessage
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget

PREVIEW_CHARS = 300


@dataclass
class IngestResult:
    created: list[Message] = field(default_factory=list)
    duplicates: int = 0


def rate_sentiment(text: str, language: str) -> tuple[str, float | None]:
    """The sentiment label and score of a text through the product's sentiment model."""
    from sokhan.sentiment import analyze

    if not text.strip():
        return "", None
    result = analyze(text, language)
    return result.label, result.score


def ingest(channel: Channel, items: Iterable[RemoteMessage], *, now: datetime | None = None) -> IngestResult:
    """Store the new ones of ``items`` (any order) in one transaction and run the rules on them."""
    from sokhan.inbox.rules import apply_rules

    now = now or timezone.now()
    result = IngestResult()
    fresh = [item for item in items if item.remote_id]
    with transaction.atomic():
        known = set(
            Message.objects.filter(channel=channel, remote_id__in=[i.remote_id for i in fresh]).values_list(
                "remote_id", flat=True
            )
        )
        for item in sorted(fresh, key=lambda i: (i.created_at, i.remote_id)):
            if item.remote_id in known:
                result.duplicates += 1
                continue
            try:
                with transaction.atomic():  # a webhook may store the same message at the same moment
                    message = _store(channel, item, now=now)
            except IntegrityError:
                result.duplicates += 1
                continue
            known.add(item.remote_id)
            result.created.append(message)
        received = [m for m in result.created if m.direction == Direction.IN]
        if received:
            apply_rules(received)
    return result


def _store(channel: Channel, item: RemoteMessage, *, now: datetime) -> Message:
    conversation = _conversation_for(channel, item, now=now)
    ours = bool(item.author_id) and item.author_id == channel.remote_id
    language = detect_language(item.text) if not ours else ""
    label, score = rate_sentiment(item.text, item.lang or language) if not ours else ("", None)
    message = Message.objects.create(
        workspace_id=channel.workspace_id,
        conversation=conversation,
        channel=channel,
        remote_id=item.remote_id,
        direction=Direction.OUT if ours else Direction.IN,
        kind=conversation.kind,
        text=item.text,
        author_remote_id=item.author_id,
        author_handle=item.author_handle,
        author_name=item.author_name,
        author_followers=item.author_followers,
        in_reply_to=item.in_reply_to,
        url=item.url[:1000],
        created_at=item.created_at,
        received_at=now,
        language=item.lang or language,
        sentiment=label,
        sentiment_score=score,
        needs_response=not ours,
        send_state=SendState.SENT if ours else SendState.RECEIVED,
        raw=_jsonable(item.raw),
    )
    note_message(conversation, message, now=now)
    return message


def note_message(conversation: Conversation, message: Message, *, now: datetime) -> None:
    """Update the (locked) conversation for a message just stored in it."""
    fields = ["message_count", "last_message_at", "preview", "version", "updated_at"]
    conversation.message_count = F("message_count") + 1
    if conversation.last_message_at is None or message.created_at >= conversation.last_message_at:
        conversation.last_message_at = message.created_at
        conversation.preview = message.text[:PREVIEW_CHARS]
    if message.direction == Direction.IN:
        conversation.last_inbound_at = max(filter(None, [conversation.last_inbound_at, message.created_at]))
        if message.needs_response and (
            conversation.awaiting_since is None or message.created_at < conversation.awaiting_since
        ):
            conversation.awaiting_since = message.created_at
        if message.language:
            conversation.language = message.language
        if message.sentiment:
            conversation.sentiment = message.sentiment
        if not conversation.contact_remote_id:
            conversation.contact_remote_id = message.author_remote_id
            conversation.contact_handle = message.author_handle
            conversation.contact_name = message.author_name
            conversation.contact_followers = message.author_followers
            fields += ["contact_remote_id", "contact_handle", "contact_name", "contact_followers"]
        if conversation.status in (Status.CLOSED, Status.SNOOZED):  # something new to look at
            conversation.status, conversation.snoozed_until, conversation.closed_at = Status.OPEN, None, None
        fields += ["last_inbound_at", "awaiting_since", "language", "sentiment", "status", "snoozed_until"]
        fields += ["closed_at"]
    else:
        answer_before(conversation, message.created_at, by=message.sent_by_id)
        fields += ["awaiting_since"]
    conversation.version = F("version") + 1
    conversation.updated_at = now
    conversation.save(update_fields=fields)
    conversation.refresh_from_db(fields=["message_count", "version"])


def answer_before(conversation: Conversation, at: datetime, *, by: int | None) -> None:
    """A reply at ``at`` answers every earlier received message of the conversation still waiting."""
    Message.objects.filter(
        conversation=conversation, direction=Direction.IN, answered_at__isnull=True, created_at__lte=at
    ).update(answered_at=at, answered_by_id=by)
    waiting = (
        Message.objects.filter(
            conversation=conversation, direction=Direction.IN, needs_response=True, answered_at__isnull=True
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    conversation.awaiting_since = waiting


def _conversation_for(channel: Channel, item: RemoteMessage, *, now: datetime) -> Conversation:
    """The conversation ``item`` belongs to, created if new, locked for this transaction."""
    parents = [r for r in (item.in_reply_to, item.root_id) if r]
    if parents:
        parent = (
            Message.objects.filter(channel=channel, remote_id__in=parents)
            .order_by("-created_at")
            .values_list("conversation_id", flat=True)
            .first()
        )
        if parent is not None:
            return Conversation.objects.select_for_update().get(pk=parent)
        target = _published_target(channel, parents)
        if target is not None and item.kind != MessageKind.DM:
            return _thread(
                channel,
                Kind.COMMENT,
                target.remote_id,
                now=now,
                subject_target=target,
                subject_remote_id=target.remote_id,
                subject_text=target.text,
                subject_url=target.remote_url[:1000],
            )
    if item.kind == MessageKind.DM:
        return _thread(channel, Kind.DM, item.conversation_id or item.author_id or item.remote_id, now=now)
    if item.kind == MessageKind.COMMENT:
        root = item.root_id or item.in_reply_to or item.remote_id
        return _thread(channel, Kind.COMMENT, root, now=now, subject_remote_id=root)
    root = item.root_id or item.remote_id
    return _thread(channel, Kind.MENTION, root, now=now, subject_remote_id=root if root != item.remote_id else "")


def _published_target(channel: Channel, remote_ids: Sequence[str]) -> PostTarget | None:
    return (
        PostTarget.objects.filter(channel=channel, remote_id__in=remote_ids, state__in=[S.PUBLISHED, S.RESOLVED])
        .exclude(remote_id="")
        .first()
    )


def _thread(channel: Channel, kind: str, key: str, *, now: datetime, **subject: object) -> Conversation:
    conversation, _created = Conversation.objects.select_for_update().get_or_create(
        channel=channel,
        kind=kind,
        thread_key=key[:500],
        defaults={"workspace_id": channel.workspace_id, "created_at": now, "updated_at": now, **subject},
    )
    return conversation


def _jsonable(raw: object) -> dict[str, object]:
    try:
        return json.loads(json.dumps(raw, default=str)) if isinstance(raw, dict) else {}
    except (TypeError, ValueError):
        return {}
