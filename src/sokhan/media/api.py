"""The media library over the API: list, multipart upload, read, alt text, delete, network fit and
renditions. See docs/media.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, ErrorOut, PageMeta
from sokhan.core.permissions import Perm
from sokhan.media.models import Asset
from sokhan.media.renditions import Fit
from sokhan.media.services import (
    asset_delete,
    asset_fit_report,
    asset_get,
    asset_list,
    asset_rendition,
    asset_set_alt_text,
    asset_upload,
)

router = Router(tags=["media"])
UPLOAD_ERRORS: dict[int, type[ErrorOut]] = {**ERRORS, 413: ErrorOut, 415: ErrorOut}


class AssetOut(Schema):
    id: int
    kind: str
    mime_type: str = Field(description="Sniffed from the file's content, not the client's claim.")
    original_name: str
    sha256: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_seconds: float | None = Field(description="null: an image, or unknown (ffprobe not installed).")
    alt_text: str
    uploaded_by: str | None
    created_at: datetime


class AssetPage(PageMeta):
    results: list[AssetOut]


class AltTextIn(Schema):
    alt_text: str = Field(..., max_length=5000)


class FitOut(Schema):
    network: str
    name: str
    connected: bool
    fits_as_is: bool
    possible: bool
    changes: list[str]
    problems: list[str]
    notes: list[str]


class RenditionIn(Schema):
    network: str = Field(..., min_length=1, max_length=40)
    fit: Fit = Fit.PAD


class RenditionOut(Schema):
    original: bool = Field(description="True when the original already fits and is used as-is.")
    mime_type: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_seconds: float | None


def asset_out(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.pk,
        "kind": asset.kind,
        "mime_type": asset.mime_type,
        "original_name": asset.original_name,
        "sha256": asset.sha256,
        "size_bytes": asset.size_bytes,
        "width": asset.width,
        "height": asset.height,
        "duration_seconds": asset.duration_seconds,
        "alt_text": asset.alt_text,
        "uploaded_by": asset.uploaded_by.email if asset.uploaded_by else None,
        "created_at": asset.created_at,
    }


@router.get("/workspaces/{ws}/media", response={200: AssetPage, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def media_list(request: HttpRequest, ws: str, page: Query[PageParams], kind: str = "") -> dict[str, Any]:
    rows = asset_list(access_of(request).workspace_membership.workspace)
    if kind:
        rows = rows.filter(kind=kind)
    return paginate(request, rows, page, asset_out)


@router.post(
    "/workspaces/{ws}/media",
    response={201: AssetOut, 200: AssetOut, **UPLOAD_ERRORS},
    auth=access(Perm.POSTS_DRAFT, Scope.WRITE),
)
def media_upload(
    request: HttpRequest, ws: str, file: File[UploadedFile], alt_text: Form[str] = ""
) -> Status[dict[str, Any]]:
    """Multipart upload (field ``file``, optional ``alt_text``). 201 for a new file; 200 with the
    existing asset when the same bytes are already in this workspace's library."""
    result = asset_upload(
        actor=access_of(request).workspace_membership,
        chunks=file.chunks(),
        name=file.name or "",
        alt_text=alt_text,
        ip=client_ip(request),
    )
    return Status(201 if result.created else 200, asset_out(result.asset))


@router.get("/workspaces/{ws}/media/{asset_id}", response={200: AssetOut, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def media_get(request: HttpRequest, ws: str, asset_id: int) -> dict[str, Any]:
    return asset_out(asset_get(access_of(request).workspace_membership.workspace, asset_id))


@router.get("/workspaces/{ws}/media/{asset_id}/file", response={200: None, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def media_file(request: HttpRequest, ws: str, asset_id: int) -> FileResponse:
    asset = asset_get(access_of(request).workspace_membership.workspace, asset_id)
    name = asset.original_name or asset.path.name
    return FileResponse(asset.path.open("rb"), content_type=asset.mime_type, filename=name)


@router.patch(
    "/workspaces/{ws}/media/{asset_id}",
    response={200: AssetOut, **ERRORS},
    auth=access(Perm.POSTS_DRAFT, Scope.WRITE),
)
def media_update(request: HttpRequest, ws: str, asset_id: int, payload: AltTextIn) -> dict[str, Any]:
    asset = asset_set_alt_text(
        actor=access_of(request).workspace_membership,
        asset_id=asset_id,
        alt_text=payload.alt_text,
        ip=client_ip(request),
    )
    return asset_out(asset)


@router.delete(
    "/workspaces/{ws}/media/{asset_id}",
    response={204: None, **ERRORS},
    auth=access(Perm.POSTS_EDIT, Scope.WRITE),
)
def media_delete(request: HttpRequest, ws: str, asset_id: int) -> Status[None]:
    asset_delete(actor=access_of(request).workspace_membership, asset_id=asset_id, ip=client_ip(request))
    return Status(204, None)


@router.get(
    "/workspaces/{ws}/media/{asset_id}/fit", response={200: list[FitOut], **ERRORS}, auth=access(Perm.POSTS_VIEW)
)
def media_fit(request: HttpRequest, ws: str, asset_id: int) -> list[dict[str, Any]]:
    """Per network (limits from the connector registry): fits as-is, needs a rendition, or cannot fit."""
    workspace = access_of(request).workspace_membership.workspace
    asset = asset_get(workspace, asset_id)
    return [
        {
            "network": row.key,
            "name": row.name,
            "connected": row.connected,
            "fits_as_is": row.assessment.fits_as_is,
            "possible": row.assessment.possible,
            "changes": list(row.assessment.changes),
            "problems": list(row.assessment.problems),
            "notes": list(row.assessment.notes),
        }
        for row in asset_fit_report(workspace, asset)
    ]


@router.post(
    "/workspaces/{ws}/media/{asset_id}/renditions",
    response={200: RenditionOut, **ERRORS, 503: ErrorOut},
    auth=access(Perm.POSTS_DRAFT, Scope.WRITE),
)
def media_rendition(request: HttpRequest, ws: str, asset_id: int, payload: RenditionIn) -> dict[str, Any]:
    """Make (or reuse) the version of the file that fits the network; 422 ``cannot_fit`` names why not."""
    asset, media = asset_rendition(
        actor=access_of(request).workspace_membership, asset_id=asset_id, network=payload.network, fit=payload.fit
    )
    return {
        "original": media.path == asset.path,
        "mime_type": media.mime_type,
        "size_bytes": media.path.stat().st_size,
        "width": media.width,
        "height": media.height,
        "duration_seconds": media.duration_seconds,
    }
