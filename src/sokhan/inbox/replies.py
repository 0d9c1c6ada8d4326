"""Answering from the inbox: replies, direct messages, likes and hides, through the channel's connector.

A reply is sent at most once. The outgoing message is committed as ``sending`` with its own
idempotency key *before* the network is called; the answer then moves it to ``sent`` (with the
remote id), ``failed`` (the network refused: nothing went out, it may be sent again) or ``unknown``
(no answer: it may have gone out, so it is never re-sent automatically; a person checks).

Collision guard: the caller passes the conversation ``version`` its view showed. If the
conversation changed since (a new message arrived, a teammate replied or reassigned it), the reply
is refused with ``StaleView`` naming what changed, unless the person confirms.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.calls import ChannelUnavailable, call, connector_class
from sokhan.core.errors import DomainError
from sokhan.core.models import User
from sokhan.core.services import audit_record
from sokhan.inbox.ingest import note_message
from sokhan.inbox.models import Conversation, Direction, Kind, Message, SendState
from sokhan.inbox.reply_media import attachments_for, media_files
from sokhan.networks.errors import ConnectorError, OutcomeUnknown, Rejected
from sokhan.networks.types import Capability, MessageKind, PublishResult, RemoteMessage

MAX_REPLY_CHARS = 10_000


class StaleView(DomainError):
    status = 409
    code = "stale_view"


def remote_message(message: Message) -> RemoteMessage:
    """The stored message as the connector's type, for ``reply``."""
    conversation = message.conversation
    return RemoteMessage(
        remote_id=message.remote_id,
        kind=MessageKind(message.kind),
        text=message.text,
        author_id=message.author_remote_id,
        author_handle=message.author_handle,
        created_at=message.created_at,
        author_name=message.author_name,
        in_reply_to=message.in_reply_to,
        root_id=conversation.thread_key if conversation.kind == Kind.COMMENT else "",
        conversation_id=conversation.thread_key if conversation.kind == Kind.DM else "",
        url=message.url,
        lang=message.language,
        raw=message.raw,
    )


# How an outgoing message goes out: the connector operation (``Message.send_method``).
REPLY, SEND_DM, PRIVATE_REPLY = "reply", "send_dm", "private_reply"


def clean_text(text: str, *, with_media: bool) -> str:
    """The message's text, or an error naming what is wrong (empty is fine with media)."""
    text = text.strip()
    if not text and not with_media:
        raise DomainError(_("The reply is empty."), fields={"text": "empty"})
    if len(text) > MAX_REPLY_CHARS:
        raise DomainError(_("The reply is too long."), fields={"text": "too_long"})
    return text


def reply_send(
    conversation: Conversation,
    text: str,
    *,
    actor: User | None,
    seen_version: int | None = None,
    seen_at: datetime | None = None,
    confirm: bool = False,
    to: Message | None = None,
    automatic: bool = False,
    ip: str | None = None,
    media: Sequence[int] = (),
) -> Message:
    """Send ``text`` into the conversation (a reply to ``to`` or its latest received message; a DM
    in a DM thread), with the library files ``media`` where the network takes them.
    ``seen_version``/``seen_at``: the version and time of the view it was written in (the collision
    guard). Returns the outgoing message in its final state."""
    text = clean_text(text, with_media=bool(media))
    channel = conversation.channel
    cls = connector_class(channel.network)
    dm = conversation.kind == Kind.DM
    needed = Capability.SEND_DM if dm and cls.has(Capability.SEND_DM) else Capability.REPLY
    if not cls.has(needed):
        raise DomainError(
            _("%(network)s does not let Sokhan answer here; answer in its app.") % {"network": cls.name},
            fields={"text": "not_supported"},
            code="not_supported",
        )
    method = SEND_DM if needed == Capability.SEND_DM else REPLY
    attachments = attachments_for(conversation.workspace_id, media, cls, direct=method == SEND_DM)
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if seen_version is not None and locked.version != seen_version and not confirm:
            changed = _describe_changes(locked, seen_at)
            raise StaleView(changed, fields={"version": "stale"})
        if to is None:
            to = (
                Message.objects.filter(conversation=locked, direction=Direction.IN)
                .order_by("-created_at", "-id")
                .first()
            )
        if to is None and method != SEND_DM:
            raise DomainError(_("There is no received message to answer."), fields={"to": "missing"})
        outgoing = new_outgoing(
            locked, text, to=to, actor=actor, method=method, attachments=attachments, automatic=automatic
        )
        audit_record(
            workspace=locked.workspace,
            actor=actor,
            action="inbox.reply",
            target=f"conversation:{locked.pk}",
            data={"message": outgoing.pk, "automatic": automatic, "media": [a["asset_id"] for a in attachments]},
            ip=ip,
        )
    return deliver(outgoing, to, dm_recipient=locked.contact_remote_id or locked.thread_key)


def new_outgoing(
    conversation: Conversation,
    text: str,
    *,
    to: Message | None,
    actor: User | None,
    method: str,
    attachments: list[dict[str, Any]],
    automatic: bool = False,
) -> Message:
    """The outgoing message, committed as ``sending`` with its own idempotency key (call inside the
    transaction that locked ``conversation``; :func:`deliver` sends it after the commit)."""
    now = timezone.now()
    return Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=Direction.OUT,
        kind=conversation.kind,
        text=text,
        in_reply_to=to.remote_id if to else "",
        created_at=now,
        received_at=now,
        needs_response=False,
        sent_by=actor,
        send_state=SendState.SENDING,
        idempotency_key=uuid.uuid4().hex,
        send_method=method,
        attachments=attachments,
        automatic=automatic,
    )


def reply_retry(message: Message, *, actor: User | None) -> Message:
    """Send a ``failed`` reply again (the network refused it, so nothing went out)."""
    if message.direction != Direction.OUT or message.send_state != SendState.FAILED:
        raise DomainError(_("Only a failed reply can be sent again."), fields={"message": "not_failed"})
    to = Message.objects.filter(channel=message.channel, remote_id=message.in_reply_to).exclude(remote_id="").first()
    conversation = message.conversation
    Message.objects.filter(pk=message.pk).update(send_state=SendState.SENDING, send_error="")
    message.refresh_from_db()
    return deliver(message, to, dm_recipient=conversation.contact_remote_id or conversation.thread_key)


def _method_of(outgoing: Message) -> str:
    """How ``outgoing`` goes out: as recorded, or (rows from before that was recorded) decided again
    from the conversation."""
    if outgoing.send_method:
        return outgoing.send_method
    dm = outgoing.kind == Kind.DM and connector_class(outgoing.channel.network).has(Capability.SEND_DM)
    return SEND_DM if dm else REPLY


def deliver(outgoing: Message, to: Message | None, *, dm_recipient: str) -> Message:
    """Call the network for a committed ``sending`` message and record the outcome."""
    channel = outgoing.channel
    method = _method_of(outgoing)
    media = media_files(outgoing.attachments or [])
    # Only with media: a third-party connector written before media keeps working for text.
    extra: dict[str, Any] = {"media": media} if media else {}
    try:
        if method == SEND_DM:
            result: PublishResult = call(
                channel, SEND_DM, dm_recipient, outgoing.text, idempotency_key=outgoing.idempotency_key, **extra
            )
        elif to is None:  # a retry whose message was removed meanwhile: nothing to answer
            return _finish(outgoing, SendState.FAILED, error=_("The message it answers is no longer stored."))
        else:
            result = call(
                channel, method, remote_message(to), outgoing.text, idempotency_key=outgoing.idempotency_key, **extra
            )
    except OutcomeUnknown as exc:
        return _finish(outgoing, SendState.UNKNOWN, error=str(exc))
    except (Rejected, ChannelUnavailable) as exc:
        return _finish(outgoing, SendState.FAILED, error=getattr(exc, "message", None) or str(exc))
    except ConnectorError as exc:  # temporary: refused for now, nothing went out
        return _finish(outgoing, SendState.FAILED, error=str(exc))
    return _finish(outgoing, SendState.SENT, result=result)


def _finish(outgoing: Message, state: str, *, result: PublishResult | None = None, error: str = "") -> Message:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=outgoing.conversation_id)
        outgoing.send_state, outgoing.send_error = state, error[:4000]
        fields = ["send_state", "send_error"]
        if result is not None:
            # A poll may have stored the sent message already (seen on the account): keep one copy.
            if result.remote_id:
                copies, _rows = (
                    Message.objects.filter(channel=outgoing.channel, remote_id=result.remote_id)
                    .exclude(pk=outgoing.pk)
                    .delete()
                )
                if copies:
                    Conversation.objects.filter(pk=conversation.pk).update(message_count=F("message_count") - copies)
            outgoing.remote_id, outgoing.url = result.remote_id, result.url[:1000]
            outgoing.created_at = result.published_at or outgoing.created_at
            fields += ["remote_id", "url", "created_at"]
            _adopt_thread(conversation, result, private=outgoing.send_method == PRIVATE_REPLY)
        outgoing.save(update_fields=fields)
        if state == SendState.SENT:
            note_message(conversation, outgoing, now=timezone.now())
    return outgoing


def _adopt_thread(conversation: Conversation, result: PublishResult, *, private: bool) -> None:
    """A direct message the network put in a thread it names (a Matrix room; after Meta's private
    reply, the person's page-scoped id): key the DM conversation by it, so what they answer threads
    here. After a private reply that id is also who to message next."""
    key = result.conversation_id[:255]
    if conversation.kind != Kind.DM or not key:
        return
    if private and conversation.contact_remote_id != key:
        conversation.contact_remote_id = key
        conversation.save(update_fields=["contact_remote_id"])
    if conversation.thread_key == key:
        return
    taken = Conversation.objects.filter(channel_id=conversation.channel_id, kind=Kind.DM, thread_key=key)
    if taken.exists():
        return  # they wrote to us meanwhile: that thread exists; this one keeps its key
    old, conversation.thread_key = conversation.thread_key, key
    try:
        with transaction.atomic():
            conversation.save(update_fields=["thread_key"])
    except IntegrityError:  # created at this very moment by an incoming message
        conversation.thread_key = old


def _describe_changes(conversation: Conversation, seen_at: datetime | None) -> str:
    """What moved on since the view the reply was written in (``seen_at``: when it was shown)."""
    parts = [_("This conversation changed since you opened it.")]
    if seen_at is not None:
        since = list(
            Message.objects.filter(conversation=conversation, received_at__gt=seen_at).select_related("sent_by")
        )
        received = sum(1 for m in since if m.direction == Direction.IN)
        repliers = sorted(
            {
                (m.sent_by.full_name or m.sent_by.email) if m.sent_by else _("someone on the network")
                for m in since
                if m.direction == Direction.OUT
            }
        )
        if repliers:
            parts.append(_("Replied since: %(names)s.") % {"names": ", ".join(repliers)})
        if received:
            parts.append(_("Check the newest messages."))
        if not (repliers or received):
            parts.append(_("It was reassigned, tagged or noted meanwhile."))
    parts.append(_("Send anyway to confirm."))
    return " ".join(parts)


# Networks whose delete removes other people's comments on our posts or messages in our groups
# (Graph API comment deletion, a bot admin's deleteMessage); elsewhere a connector's delete only
# takes down the account's own posts, so the inbox does not offer it.
DELETES_OTHERS = frozenset({"facebook", "instagram", "telegram", "bale", "eitaa"})


def can_delete_others(network: str) -> bool:
    try:
        return network in DELETES_OTHERS and connector_class(network).has(Capability.DELETE)
    except DomainError:
        return False


def message_action(message: Message, action: str, *, actor: User | None, ip: str | None = None) -> Message:
    """Like, hide or delete a received message on the network, where the connector can."""
    capability = {"like": Capability.LIKE, "hide": Capability.HIDE, "delete": Capability.DELETE}.get(action)
    if capability is None:
        raise DomainError(_("Unknown action %(action)s.") % {"action": action}, fields={"action": "unknown"})
    channel = message.channel
    cls = connector_class(channel.network)
    allowed = can_delete_others(channel.network) if action == "delete" else cls.has(capability)
    if not allowed or not message.remote_id:
        raise DomainError(
            _("%(network)s does not let Sokhan do that; use its app.") % {"network": cls.name},
            fields={"action": "not_supported"},
            code="not_supported",
        )
    try:
        call(channel, action, message.remote_id)
    except ConnectorError as exc:
        raise DomainError(
            _("%(network)s refused: %(error)s") % {"network": cls.name, "error": exc}, code="network_refused"
        ) from exc
    fields = {"like": ["liked"], "hide": ["hidden", "needs_response"], "delete": ["deleted", "needs_response"]}[action]
    if action == "like":
        message.liked = True
    elif action == "hide":
        message.hidden, message.needs_response = True, False
    else:
        message.deleted, message.needs_response = True, False
    with transaction.atomic():
        message.save(update_fields=fields)
        audit_record(
            workspace=message.conversation.workspace,
            actor=actor,
            action=f"inbox.{action}",
            target=f"conversation:{message.conversation_id}",
            data={"message": message.pk},
            ip=ip,
        )
    return message
