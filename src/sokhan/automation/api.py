"""Bulk import over the API: one call validates the CSV and imports it (all-or-nothing or the valid
rows). See docs/automation.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db import IntegrityError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.automation.imports import ImportOptions, import_confirm, import_validate
from sokhan.automation.models import ImportBatch
from sokhan.core.errors import Conflict, DomainError
from sokhan.core.permissions import Perm

router = Router(tags=["imports"])


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    id: int
    state: str
    file_name: str
    file_format: str
    mode: str
    drafts: bool
    rows_total: int
    rows_valid: int
    rows_invalid: int
    post_ids: list[int]
    errors: list[RowErrorOut] = Field(description="Rows left out (mode `valid`), with row numbers as in a spreadsheet.")
    created_at: datetime
    imported_at: datetime | None


def batch_out(batch: ImportBatch) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "state": batch.state,
        "file_name": batch.file_name,
        "file_format": batch.file_format,
        "mode": batch.mode,
        "drafts": batch.as_drafts,
        "rows_total": batch.rows_total,
        "rows_valid": batch.rows_valid,
        "rows_invalid": batch.rows_invalid,
        "post_ids": [int(pk) for pk in batch.post_ids or []],
        "errors": batch.errors,
        "created_at": batch.created_at,
        "imported_at": batch.imported_at,
    }


def _ids(text: str) -> list[int]:
    ids: list[int] = []
    for item in text.replace(";", ",").split(","):
        if item.strip():
            if not item.strip().isdigit():
                raise DomainError(_("Channel ids are numbers separated by commas."), fields={"channel_ids": "invalid"})
            ids.append(int(item))
    return ids


@router.post(
    "/workspaces/{ws}/imports",
    response={200: ImportOut, 201: ImportOut, **ERRORS},
    auth=access(Perm.POSTS_DRAFT, Scope.WRITE),
)
def imports_create(
    request: HttpRequest,
    ws: str,
    file: File[UploadedFile],
    file_format: Form[Literal["hootsuite", "sokhan"]] = "sokhan",
    mode: Form[Literal["all", "valid"]] = "all",
    channel_ids: Form[str] = "",
    date_order: Form[Literal["dmy", "mdy"]] = "dmy",
    timezone: Form[str] = "",
    drafts: Form[bool] = False,
) -> Status[dict[str, Any]]:
    """Validate a CSV (``hootsuite`` or ``sokhan`` format) and import it in one transaction.

    ``mode=all`` imports every row or, when any row has an error, nothing: 422 ``invalid_rows`` with
    one ``fields`` entry per problem, keyed ``rows.<row>[.<column>]``. ``mode=valid`` imports the
    valid rows and lists the skipped ones in ``errors``. Rows are scheduled at their time, or kept
    as drafts with ``drafts=true`` (scheduling needs the publish permission). Send an
    ``Idempotency-Key`` header to make a retried request return the first import (200) instead of
    importing again."""
    membership = access_of(request).workspace_membership
    key = request.headers.get("Idempotency-Key", "").strip()[:200]
    if key:
        earlier = ImportBatch.objects.filter(workspace=membership.workspace, idempotency_key=key).first()
        if earlier is not None:
            return Status(200, batch_out(earlier))
    batch = import_validate(
        actor=membership,
        data=file.read(),
        file_name=file.name or "",
        options=ImportOptions(
            file_format=file_format, channel_ids=_ids(channel_ids), date_order=date_order, timezone=timezone
        ),
        ip=client_ip(request),
    )
    try:
        batch = import_confirm(
            actor=membership, batch_id=batch.pk, mode=mode, as_drafts=drafts, idempotency_key=key, ip=client_ip(request)
        )
    except IntegrityError:
        raise Conflict(_("An import with this Idempotency-Key is running; retry in a moment.")) from None
    return Status(201, batch_out(batch))
