"""Media library actions: upload (with per-workspace checksum dedupe), alt text, delete, lookup."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.scoping import scoped
from sokhan.core.services import audit_record
from sokhan.core.text import count_graphemes
from sokhan.media.models import Asset, AssetKind, Rendition
from sokhan.media.probe import EXTENSIONS, probe_file
from sokhan.media.renditions import Assessment, Fit, assess, rendition_for
from sokhan.networks import registry
from sokhan.networks.types import MediaFile

MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024
_ARABIC_TO_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc"})
ALT_TEXT_MAX = 5000  # the longest any network accepts is far below this


class TooLarge(DomainError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Uploaded:
    asset: Asset
    created: bool  # False: the same file was already in the library (dedupe by SHA-256)


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise PermissionError(perm.value)


def workspace_dir(workspace: Workspace) -> Path:
    path = Path(settings.MEDIA_ROOT) / str(workspace.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_alt_text(text: str) -> str:
    """Trimmed, with Arabic ي/ك folded to Persian ی/ک; ZWNJ (نیم‌فاصله) kept."""
    text = unicodedata.normalize("NFC", text.strip()).translate(_ARABIC_TO_PERSIAN)
    if count_graphemes(text) > ALT_TEXT_MAX:
        raise DomainError(
            _("Alt text may be at most %(max)s characters.") % {"max": ALT_TEXT_MAX}, fields={"alt_text": "too long"}
        )
    return text


def asset_list(workspace: Workspace) -> QuerySet[Asset]:
    return scoped(Asset, workspace).select_related("uploaded_by")


def asset_get(workspace: Workspace, asset_id: int) -> Asset:
    try:
        return asset_list(workspace).get(pk=asset_id)
    except Asset.DoesNotExist:
        raise NotFound(_("No such media file."), fields={"asset_id": "not found"}) from None


def asset_upload(
    *,
    actor: Membership,
    chunks: Iterable[bytes],
    name: str = "",
    alt_text: str = "",
    ip: str | None = None,
) -> Uploaded:
    """Store a file in the workspace's library. The type comes from the content, not the name."""
    _require(actor, Perm.POSTS_DRAFT)
    workspace = actor.workspace
    alt = clean_alt_text(alt_text)
    directory = workspace_dir(workspace)
    handle, raw_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
    temp = Path(raw_path)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise TooLarge(
                        _("The file is larger than the %(max)s GB limit.") % {"max": MAX_UPLOAD_BYTES // 1024**3},
                        fields={"file": "too large"},
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError(_("The file is empty."), fields={"file": "empty"})
        sha = digest.hexdigest()
        existing = scoped(Asset, workspace).filter(sha256=sha).first()
        if existing is not None:
            return Uploaded(existing, created=False)
        probe = probe_file(temp)
        relative = Path(str(workspace.pk)) / sha[:2] / f"{sha}.{EXTENSIONS[probe.mime_type]}"
        final = Path(settings.MEDIA_ROOT) / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        try:
            with transaction.atomic():
                asset = Asset.objects.create(
                    workspace=workspace,
                    kind=AssetKind.VIDEO if probe.is_video else AssetKind.IMAGE,
                    mime_type=probe.mime_type,
                    file=str(relative),
                    original_name=Path(name).name[:255],
                    sha256=sha,
                    size_bytes=size,
                    width=probe.width,
                    height=probe.height,
                    duration_seconds=probe.duration_seconds,
                    has_metadata=probe.has_metadata,
                    alt_text=alt,
                    uploaded_by=actor.user,
                )
                audit_record(
                    workspace=workspace,
                    actor=actor.user,
                    action="media.upload",
                    target=f"media:{asset.pk}",
                    data={"name": asset.original_name, "type": asset.mime_type, "bytes": size, "sha256": sha},
                    ip=ip,
                )
        except IntegrityError:  # the same file uploaded at the same moment: keep the first
            return Uploaded(scoped(Asset, workspace).get(sha256=sha), created=False)
        return Uploaded(asset, created=True)
    finally:
        temp.unlink(missing_ok=True)


def asset_set_alt_text(*, actor: Membership, asset_id: int, alt_text: str, ip: str | None = None) -> Asset:
    _require(actor, Perm.POSTS_DRAFT)
    asset = asset_get(actor.workspace, asset_id)
    asset.alt_text = clean_alt_text(alt_text)
    asset.save(update_fields=["alt_text"])
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="media.alt_text", target=f"media:{asset.pk}", ip=ip
    )
    return asset


def asset_delete(*, actor: Membership, asset_id: int, ip: str | None = None) -> None:
    """Delete the asset, its renditions and their files. (Refusing while a post uses it comes later.)"""
    _require(actor, Perm.POSTS_EDIT)
    asset = asset_get(actor.workspace, asset_id)
    paths = [asset.path, *(r.path for r in Rendition.objects.filter(asset=asset))]
    data = {"name": asset.original_name, "sha256": asset.sha256}
    target = f"media:{asset.pk}"
    with transaction.atomic():
        asset.delete()
        audit_record(
            workspace=actor.workspace, actor=actor.user, action="media.delete", target=target, data=data, ip=ip
        )
    for path in paths:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class NetworkFit:
    key: str
    name: str
    connected: bool
    assessment: Assessment


def asset_fit_report(workspace: Workspace, asset: Asset) -> list[NetworkFit]:
    """For every network in the registry: does the asset fit as-is, with a rendition, or not at all?
    Networks the workspace has connected come first. Limits come from each connector's declaration."""
    from sokhan.channels.models import Channel, ChannelStatus

    connected = set(
        Channel.objects.filter(workspace=workspace)
        .exclude(status=ChannelStatus.DISCONNECTED)
        .values_list("network", flat=True)
    )
    rows = [
        NetworkFit(
            key=cls.key,
            name=cls.name,
            connected=cls.key in connected,
            assessment=assess(asset, cls.limits.media, cls.name),
        )
        for cls in registry.all_connectors()
        if cls.limits.media.max_count > 0
    ]
    return sorted(rows, key=lambda row: (not row.connected, row.name.casefold()))


def asset_rendition(*, actor: Membership, asset_id: int, network: str, fit: Fit = Fit.PAD) -> tuple[Asset, MediaFile]:
    """The file to send to ``network`` (the original or a rendition)."""
    _require(actor, Perm.POSTS_DRAFT)
    asset = asset_get(actor.workspace, asset_id)
    try:
        cls = registry.get(network)
    except KeyError:
        raise DomainError(_("Unknown network: %(n)s") % {"n": network}, fields={"network": "unknown"}) from None
    return asset, rendition_for(asset, cls.limits.media, network=cls.name, fit=fit)
