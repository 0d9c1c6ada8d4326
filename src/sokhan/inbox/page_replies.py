"""What the conversation page shows around answering: library files to attach to a reply, the files
a sent message carried, the "message privately" action on received messages, and where a
direct-message conversation started (see ``replies``, ``reply_media`` and ``private_messages``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from sokhan.channels.calls import connector_class
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.inbox.models import Conversation, Message
from sokhan.media.models import Asset, AssetKind
from sokhan.networks.base import Connector

LIBRARY_CHOICES = 24  # the newest library files offered in a reply form


@dataclass(frozen=True)
class Attachment:
    name: str
    mime_type: str
    alt_text: str
    url: str  # "" when the file is no longer in the library

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def connector_of(network: str) -> type[Connector] | None:
    try:
        return connector_class(network)
    except DomainError:
        return None


def library_choices(workspace: Workspace, cls: type[Connector] | None) -> list[Asset]:
    """The newest library files of a kind the network takes in a reply."""
    if cls is None:
        return []
    limits = cls.reply_media_limits()
    kinds = [
        kind for kind, types in ((AssetKind.IMAGE, limits.image_types), (AssetKind.VIDEO, limits.video_types)) if types
    ]
    return list(
        Asset.objects.filter(workspace=workspace, kind__in=kinds).order_by("-created_at", "-pk")[:LIBRARY_CHOICES]
    )


def can_upload(membership: Membership) -> bool:
    """Uploading from the reply form adds to the media library, which drafting content may do."""
    return role_can(membership.role, Perm.POSTS_DRAFT)


def attachments_of(messages: Iterable[Message], workspace: Workspace) -> dict[int, list[Attachment]]:
    """Each message's sent files, linked to the library file while it is still there (one query)."""
    messages = list(messages)
    wanted = {a.get("asset_id") for m in messages for a in m.attachments or [] if isinstance(a, dict)}
    present = set(
        Asset.objects.filter(workspace=workspace, pk__in=[i for i in wanted if i]).values_list("pk", flat=True)
    )
    shaped: dict[int, list[Attachment]] = {}
    for m in messages:
        items = [a for a in m.attachments or [] if isinstance(a, dict)]
        if items:
            shaped[m.pk] = [_attachment(a, workspace, present) for a in items]
    return shaped


def _attachment(item: dict[str, Any], workspace: Workspace, present: set[int]) -> Attachment:
    asset_id = item.get("asset_id")
    url = reverse("media:file", kwargs={"ws": workspace.slug, "asset_id": asset_id}) if asset_id in present else ""
    return Attachment(
        name=str(item.get("name", "")),
        mime_type=str(item.get("mime_type", "")),
        alt_text=str(item.get("alt_text", "")),
        url=url,
    )


def origin_of(conversation: Conversation) -> Message | None:
    """The comment or mention a direct-message conversation was opened from, with its conversation."""
    if not conversation.origin_message_id:
        return None
    return (
        Message.objects.filter(workspace_id=conversation.workspace_id, pk=conversation.origin_message_id)
        .select_related("conversation")
        .first()
    )
