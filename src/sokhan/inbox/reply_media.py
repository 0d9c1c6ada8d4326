"""Media sent with a reply or a direct message: files from the workspace's media library, checked
against what the channel's network takes in a reply (the connector's ``reply_media_limits``) and
made to fit it with a rendition, as the composer does, before anything is sent. What goes out is
recorded on the message (``Message.attachments``) so a retry sends the same files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sokhan.core.errors import DomainError
from sokhan.media.models import Asset
from sokhan.media.renditions import CannotFit, rendition_for
from sokhan.networks.base import Connector
from sokhan.networks.errors import Rejected
from sokhan.networks.types import Capability, MediaFile
from sokhan.publishing.validation import validate_media

MAX_ATTACHMENTS = 10  # no network takes more in one reply


def can_attach(cls: type[Connector], *, direct: bool) -> bool:
    return cls.has(Capability.DM_MEDIA if direct else Capability.REPLY_MEDIA)


def attachments_for(
    workspace_id: int, asset_ids: Sequence[int], cls: type[Connector], *, direct: bool
) -> list[dict[str, Any]]:
    """The library files ``asset_ids`` as a reply's attachments for ``cls``'s network (``direct``: in a
    direct message), or a ``DomainError`` naming what is wrong: the network takes no media there,
    too many files, an id not in this workspace, or a file it cannot take even after conversion."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        return []
    if not can_attach(cls, direct=direct):
        raise DomainError(
            _("%(network)s does not let Sokhan attach media here; send text only.") % {"network": cls.name},
            fields={"media": "not_supported"},
            code="media_not_supported",
        )
    limits = cls.reply_media_limits()
    if len(ids) > min(limits.max_count, MAX_ATTACHMENTS):
        count = min(limits.max_count, MAX_ATTACHMENTS)
        raise DomainError(
            ngettext(
                "%(network)s takes at most %(n)s file in a reply.",
                "%(network)s takes at most %(n)s files in a reply.",
                count,
            )
            % {"network": cls.name, "n": count},
            fields={"media": "too_many"},
        )
    found = {a.pk: a for a in Asset.objects.filter(workspace_id=workspace_id, pk__in=ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise DomainError(
            _("These media ids are not in this workspace's library: %(ids)s.") % {"ids": ", ".join(missing)},
            fields={"media": "unknown"},
            code="media_unknown",
        )
    chosen = [(found[i], _fitting(found[i], cls)) for i in ids]
    files = [file for _asset, file in chosen]
    problems = validate_media(files, replace(cls.limits, media=limits), network_name=cls.name).errors
    try:
        cls.check_reply_media(files, direct=direct)
    except Rejected as exc:
        problems.append(exc.reason)
    if problems:
        raise DomainError(" ".join(dict.fromkeys(problems)), fields={"media": "invalid"}, code="media_invalid")
    return [_entry(asset, file) for asset, file in chosen]


def _fitting(asset: Asset, cls: type[Connector]) -> MediaFile:
    """The original when it fits the network's reply limits, else a (cached) rendition."""
    try:
        return rendition_for(asset, cls.reply_media_limits(), network=cls.name)
    except CannotFit as exc:
        raise DomainError(
            _("%(file)s: %(problem)s") % {"file": asset, "problem": exc.message},
            fields={"media": "cannot_fit"},
            code="cannot_fit",
        ) from None
    except OSError:
        raise DomainError(
            _("%(file)s cannot be read from the media library.") % {"file": asset}, fields={"media": "unreadable"}
        ) from None


def _entry(asset: Asset, file: MediaFile) -> dict[str, Any]:
    return {
        "asset_id": asset.pk,
        "name": str(asset),
        "path": str(file.path),
        "mime_type": file.mime_type,
        "alt_text": file.alt_text,
        "width": file.width,
        "height": file.height,
        "duration_seconds": file.duration_seconds,
    }


def media_files(attachments: Iterable[dict[str, Any]]) -> tuple[MediaFile, ...]:
    """A message's recorded attachments as the connector's type."""
    return tuple(
        MediaFile(
            path=Path(str(a["path"])),
            mime_type=str(a.get("mime_type", "")),
            alt_text=str(a.get("alt_text", "")),
            width=a.get("width"),
            height=a.get("height"),
            duration_seconds=a.get("duration_seconds"),
        )
        for a in attachments
        if a.get("path")
    )
