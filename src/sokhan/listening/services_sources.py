"""Managing where mentions come from: add, enable/disable and remove sources, and import a file.

Which connected channel can feed which kind of source is read from its connector, never from the
network's name: ``search`` needs the SEARCH capability; ``hashtag`` a hashtag timeline
(``hashtag_timeline``) or, failing that, search (a hashtag can be searched for); ``chats`` a bot
(the network is connected with a bot token, so the bot sees the channels and groups it is in).
Polling itself belongs to ingest; these only write the rows it reads.
"""

from __future__ import annotations

from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm
from sokhan.core.services import audit_record
from sokhan.core.text import ZWNJ, normalize_fa
from sokhan.listening.imports import FORMATS, ImportResult, import_file
from sokhan.listening.models import Source, SourceKind
from sokhan.listening.services import _require
from sokhan.networks import registry
from sokhan.networks.base import Connector
from sokhan.networks.types import AuthKind, Capability

CHANNEL_KINDS = (SourceKind.SEARCH, SourceKind.HASHTAG, SourceKind.CHATS)
TARGET_MAX = 500
NAME_MAX = 120


def _overrides(cls: type[Connector], method: str) -> bool:
    own = getattr(cls, method, None)
    return own is not None and own is not getattr(Connector, method, None)


def channel_supports(cls: type[Connector], kind: str) -> bool:
    """Whether a channel of this connector can feed a source of ``kind`` (the module docstring)."""
    if kind == SourceKind.SEARCH:
        return cls.has(Capability.SEARCH)
    if kind == SourceKind.HASHTAG:
        return _overrides(cls, "hashtag_timeline") or cls.has(Capability.SEARCH)
    if kind == SourceKind.CHATS:
        return cls.auth == AuthKind.BOT_TOKEN
    return False


def _connector(network: str) -> type[Connector] | None:
    try:
        return registry.get(network)
    except KeyError:
        return None


def channels_for(workspace: Workspace) -> dict[str, list[Channel]]:
    """For each channel kind of source, the workspace's connected channels that can feed it."""
    out: dict[str, list[Channel]] = {kind: [] for kind in CHANNEL_KINDS}
    for channel in Channel.objects.filter(workspace=workspace).exclude(status=ChannelStatus.DISCONNECTED):
        cls = _connector(channel.network)
        for kind in CHANNEL_KINDS:
            if cls is not None and channel_supports(cls, kind):
                out[kind].append(channel)
    return out


def _clean_target(kind: str, target: str) -> str:
    target = " ".join(target.split())
    if len(target) > TARGET_MAX:
        raise DomainError(_("At most %(n)s characters.") % {"n": TARGET_MAX}, fields={"target": "too_long"})
    if kind == SourceKind.FEED:
        try:
            URLValidator(schemes=["http", "https"])(target)
        except ValidationError:
            raise DomainError(
                _("A feed needs its address, starting with http:// or https://."), fields={"target": "bad_url"}
            ) from None
    elif kind == SourceKind.SEARCH and not target:
        raise DomainError(_("Write what to search for."), fields={"target": "required"})
    elif kind == SourceKind.HASHTAG:
        target = normalize_fa(target.lstrip("#"))
        if not target or not all(ch.isalnum() or ch in ("_", ZWNJ) for ch in target):
            raise DomainError(
                _("A hashtag is letters, digits and _ (without #, without spaces)."), fields={"target": "bad_hashtag"}
            )
    return target


def _clean_channel(workspace: Workspace, kind: str, channel_id: int | None) -> Channel | None:
    if kind not in CHANNEL_KINDS:
        return None
    channel = channels_for(workspace)[kind]
    found = next((c for c in channel if c.pk == channel_id), None)
    if found is None:
        raise DomainError(_("Choose a connected channel whose network can do this."), fields={"channel": "unsupported"})
    return found


def source_get(workspace: Workspace, source_id: int) -> Source:
    source = Source.objects.filter(workspace=workspace, pk=source_id).first()
    if source is None:
        raise NotFound(_("No such source."))
    return source


def source_create(
    *,
    actor: Membership,
    kind: str,
    name: str = "",
    channel_id: int | None = None,
    target: str = "",
    ip: str | None = None,
) -> Source:
    """A search, hashtag, chats or feed source (imports come in through ``source_import``)."""
    _require(actor, Perm.LISTENING_MANAGE)
    if kind not in (*CHANNEL_KINDS, SourceKind.FEED):
        raise DomainError(_("Choose what kind of source to add."), fields={"kind": "unknown"})
    target = _clean_target(kind, target)
    channel = _clean_channel(actor.workspace, kind, channel_id)
    name = " ".join(name.split())[:NAME_MAX] or _default_name(kind, target, channel)
    with transaction.atomic():
        source = Source.objects.create(workspace=actor.workspace, kind=kind, name=name, channel=channel, target=target)
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.source.create",
            target=f"source:{source.pk}",
            data={"name": name, "kind": kind, "target": target, "channel": channel.pk if channel else None},
            ip=ip,
        )
    return source


def _default_name(kind: str, target: str, channel: Channel | None) -> str:
    where = f" ({channel.display_name or channel.network})" if channel else ""
    shown = f"#{target}" if kind == SourceKind.HASHTAG else target
    return f"{shown or SourceKind(kind).label}{where}"[:NAME_MAX]


def source_set_enabled(*, actor: Membership, source_id: int, enabled: bool, ip: str | None = None) -> Source:
    _require(actor, Perm.LISTENING_MANAGE)
    source = source_get(actor.workspace, source_id)
    if source.enabled == enabled:
        return source
    source.enabled = enabled
    with transaction.atomic():
        source.save(update_fields=["enabled"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.source.enable" if enabled else "listening.source.disable",
            target=f"source:{source.pk}",
            data={"name": source.name},
            ip=ip,
        )
    return source


def source_delete(*, actor: Membership, source_id: int, ip: str | None = None) -> None:
    """Remove a source; the mentions it brought stay (their ``source`` becomes empty)."""
    _require(actor, Perm.LISTENING_MANAGE)
    source = source_get(actor.workspace, source_id)
    with transaction.atomic():
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.source.delete",
            target=f"source:{source.pk}",
            data={"name": source.name, "kind": source.kind},
            ip=ip,
        )
        source.delete()


# ------------------------------------------------------------------ import


def source_import(
    *, actor: Membership, fileobj: IO[bytes], file_name: str, file_format: str, ip: str | None = None
) -> ImportResult:
    """Import mentions from a JSONL or CSV file through ingest's ``import_file`` (all or nothing:
    with a bad line nothing is stored, and the result names every bad line and field)."""
    _require(actor, Perm.LISTENING_MANAGE)
    if file_format not in FORMATS:
        raise DomainError(_("Choose JSONL or CSV."), fields={"file_format": "unknown"})
    try:
        result = import_file(actor.workspace, fileobj, file_format, name=file_name)
    except (ValueError, UnicodeDecodeError) as error:
        raise DomainError(str(error) or _("The file could not be read."), fields={"file": "unreadable"}) from None
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="listening.source.import",
        target=f"source:{result.source.pk}" if result.source else file_name[:200],
        data={
            "file": file_name,
            "format": file_format,
            "stored": result.created,
            "lines": result.lines,
            "errors": result.error_count,
        },
        ip=ip,
    )
    return result
