"""Messaging the author of a comment or mention privately ("message privately").

The direct-message conversation with that person on the same channel is opened (or created) and
the message is sent there through the connector: Meta's private reply where the network has it
(Facebook and Instagram let a page message a commenter only that way: once, about that comment,
within 7 days), else an ordinary direct message to the author's id (Mastodon, Matrix, Telegram and
Bale, where a bot may write only to someone who started a chat with it). The DM conversation keeps
the message it started from as context (``Conversation.origin_message``).

Sending is a reply's: committed as ``sending`` with its own idempotency key, then ``sent``,
``failed`` or ``unknown`` (see ``replies``); a failed one is sent again with ``reply_retry``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.calls import connector_class
from sokhan.core.errors import DomainError
from sokhan.core.models import User
from sokhan.core.services import audit_record
from sokhan.inbox.models import Conversation, Direction, Kind, Message
from sokhan.inbox.replies import PRIVATE_REPLY, SEND_DM, clean_text, deliver, new_outgoing
from sokhan.inbox.reply_media import attachments_for, can_attach
from sokhan.networks.types import Capability, MessageKind


@dataclass(frozen=True)
class PrivateRoute:
    """How ``message``'s author can be messaged privately: the connector operation, or why not."""

    method: str = ""
    reason: str = ""
    media: bool = False  # files may go with it

    @property
    def possible(self) -> bool:
        return bool(self.method)


def private_route(message: Message, conversation: Conversation | None = None) -> PrivateRoute:
    conversation = conversation or message.conversation
    network = conversation.channel.network
    try:
        cls = connector_class(network)
    except DomainError as exc:
        return PrivateRoute(reason=exc.message)
    if conversation.kind == Kind.DM:
        return PrivateRoute(reason=_("This is already a direct-message conversation."))
    if message.direction != Direction.IN or message.deleted:
        return PrivateRoute(reason=_("Only the author of a received message can be messaged privately."))
    if cls.has(Capability.PRIVATE_REPLY):
        if message.remote_id and MessageKind(message.kind) in cls.private_reply_kinds:
            return PrivateRoute(PRIVATE_REPLY, media=can_attach(cls, direct=True))
        return PrivateRoute(
            reason=_("%(network)s lets Sokhan message only the authors of comments, about their comment.")
            % {"network": cls.name}
        )
    if cls.has(Capability.SEND_DM):
        if message.author_remote_id:
            return PrivateRoute(SEND_DM, media=can_attach(cls, direct=True))
        return PrivateRoute(reason=_("The network did not say who wrote this message."))
    return PrivateRoute(reason=_("%(network)s does not let Sokhan message people privately.") % {"network": cls.name})


def private_message_send(
    message: Message,
    text: str,
    *,
    actor: User | None,
    media: Sequence[int] = (),
    ip: str | None = None,
) -> Message:
    """Message ``message``'s author privately (see the module). Returns the outgoing message, in the
    direct-message conversation, in its final state."""
    origin = message.conversation
    route = private_route(message, origin)
    if not route.possible:
        raise DomainError(route.reason, fields={"message": "not_supported"}, code="not_supported")
    text = clean_text(text, with_media=bool(media))
    cls = connector_class(origin.channel.network)
    attachments = attachments_for(origin.workspace_id, media, cls, direct=True)
    with transaction.atomic():
        conversation = _dm_conversation(origin, message)
        outgoing = new_outgoing(
            conversation, text, to=message, actor=actor, method=route.method, attachments=attachments
        )
        audit_record(
            workspace=origin.workspace,
            actor=actor,
            action="inbox.private_message",
            target=f"conversation:{conversation.pk}",
            data={
                "message": outgoing.pk,
                "from_conversation": origin.pk,
                "from_message": message.pk,
                "media": [a["asset_id"] for a in attachments],
            },
            ip=ip,
        )
    return deliver(outgoing, message, dm_recipient=message.author_remote_id)


def _dm_conversation(origin: Conversation, message: Message) -> Conversation:
    """The DM conversation with ``message``'s author on ``origin``'s channel (locked), created when
    there is none; it now points at ``message`` as where it started."""
    author = message.author_remote_id
    rows = Conversation.objects.select_for_update().filter(
        workspace_id=origin.workspace_id, channel_id=origin.channel_id, kind=Kind.DM
    )
    found = rows.filter(contact_remote_id=author).order_by("-last_message_at", "-id").first() if author else None
    if found is None:
        now = timezone.now()
        found, _created = Conversation.objects.select_for_update().get_or_create(
            channel_id=origin.channel_id,
            kind=Kind.DM,
            thread_key=(author or f"private:{message.remote_id}")[:500],
            defaults={
                "workspace_id": origin.workspace_id,
                "contact_remote_id": author,
                "contact_handle": message.author_handle,
                "contact_name": message.author_name,
                "contact_followers": message.author_followers,
                "created_at": now,
                "updated_at": now,
            },
        )
    found.origin_message = message
    found.version = F("version") + 1  # teammates with it open see the new context
    found.updated_at = timezone.now()
    found.save(update_fields=["origin_message", "version", "updated_at"])
    found.refresh_from_db(fields=["version"])
    return found
