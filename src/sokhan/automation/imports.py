"""CSV bulk import into posts: validate every row first, then import in one transaction.

``import_validate`` parses the file with :mod:`sokhan.publishing.csv_import`, checks each valid row
against every target channel's network rules (``validate_variant``: length, link, media), fetches
media URLs into the media library, and stores the outcome as an :class:`ImportBatch`
(``previewed``). ``import_confirm`` then turns the batch's rows into posts, all of them or none:

* ``all`` — refused while any row has an error;
* ``valid`` — the rows with errors are skipped (their error report stays downloadable).

Each row becomes one post (scheduled at its time, or a draft when ``as_drafts``). Confirming the
same batch twice imports once: the batch is locked and its state checked inside the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.automation.fetch import MEDIA_MAX_BYTES, FetchError, fetch
from sokhan.automation.models import ImportBatch
from sokhan.channels.calls import connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import Conflict, DomainError, NotAllowed
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.media.services import asset_upload
from sokhan.publishing import csv_import
from sokhan.publishing.preview import media_entry
from sokhan.publishing.services import TargetInput, post_create, post_schedule, validate_variant
from sokhan.publishing.validation import validate_text

FileFormat = Literal["hootsuite", "sokhan"]
FORMATS: tuple[FileFormat, ...] = ("hootsuite", "sokhan")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_MEDIA_PER_ROW = 10


@dataclass
class ImportOptions:
    file_format: FileFormat
    channel_ids: list[int] = field(default_factory=list)  # Hootsuite rows go to these
    date_order: csv_import.DateOrder = "dmy"
    timezone: str = ""  # empty: the workspace's


class RowsInvalid(DomainError):
    """The import was refused because of row errors; ``fields`` holds ``rows.<n>[.<column>]``."""

    status = 422
    code = "invalid_rows"


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def usable_channels(workspace: Workspace) -> list[Channel]:
    return list(Channel.objects.filter(workspace=workspace).exclude(status=ChannelStatus.DISCONNECTED).order_by("pk"))


def channel_names(channels: list[Channel]) -> dict[str, str]:
    """Every name a CSV may use for a channel → its id (as text). Names two channels share are left
    out (use the id)."""
    names: dict[str, str] = {}
    ambiguous: set[str] = set()
    for channel in channels:
        key = str(channel.pk)
        candidates = {channel.display_name, f"{channel.network}:{channel.handle}"}
        if channel.handle:
            candidates |= {channel.handle, f"@{channel.handle.lstrip('@')}"}
        for name in candidates:
            if not name:
                continue
            if name in names and names[name] != key:
                ambiguous.add(name)
            names[name] = key
    for name in ambiguous:
        names.pop(name, None)
    for channel in channels:
        names[str(channel.pk)] = str(channel.pk)
    return names


def _length_check(channels: dict[str, Channel]) -> csv_import.LengthCheck:
    def check(key: str, text: str) -> str | None:
        channel = channels.get(key)
        if channel is None:
            return None
        cls = connector_class(channel.network)
        errors = validate_text(text, cls.limits, network_name=cls.name, allow_empty=True).errors
        return " ".join(errors) or None

    return check


def _fetch_media(actor: Membership, url: str, cache: dict[str, int | str]) -> int | str:
    """The asset id for ``url`` (downloaded into the library), or the problem as text."""
    if url not in cache:
        try:
            fetched = fetch(url, max_bytes=MEDIA_MAX_BYTES, accept="image/*,video/*")
            name = fetched.url.rsplit("/", 1)[-1].split("?")[0] or "media"
            cache[url] = asset_upload(actor=actor, chunks=[fetched.body], name=name).asset.pk
        except FetchError as exc:
            cache[url] = str(exc)
        except DomainError as exc:
            cache[url] = exc.message
        except (ValueError, OSError) as exc:  # the probe could not read it as an image or video
            cache[url] = _("Not an image or video the library accepts (%(error)s).") % {"error": exc}
    return cache[url]


def _row_variants(
    actor: Membership, row: csv_import.ParsedRow, channels: dict[str, Channel], cache: dict[str, int | str]
) -> tuple[list[dict[str, Any]], list[tuple[str | None, str]]]:
    from sokhan.media.models import Asset

    problems: list[tuple[str | None, str]] = []
    assets: list[Asset] = []
    if len(row.media_urls) > MAX_MEDIA_PER_ROW:
        problems.append(("media_urls", _("At most %(n)s media files per row.") % {"n": MAX_MEDIA_PER_ROW}))
    for url in row.media_urls[:MAX_MEDIA_PER_ROW]:
        found = _fetch_media(actor, url, cache)
        if isinstance(found, str):
            problems.append(("media_urls", f"{url}: {found}"))
        else:
            assets.append(Asset.objects.get(pk=found))
    variants: list[dict[str, Any]] = []
    for key in row.channels:
        channel = channels[key]
        cls = connector_class(channel.network)
        media = [media_entry(asset, cls) for asset in assets]
        variant = TargetInput(channel_id=channel.pk, text=row.text, link=row.link, media=media)
        if not problems:
            errors = validate_variant(channel, variant)
            column = "media_urls" if media and any("media" in e.lower() for e in errors) else None
            problems += [(column, f"{channel.display_name}: {error}") for error in errors]
        variants.append({"channel_id": channel.pk, "text": row.text, "link": row.link, "media": media})
    return variants, problems


def import_validate(
    *,
    actor: Membership,
    data: bytes,
    file_name: str,
    options: ImportOptions,
    now: datetime | None = None,
    ip: str | None = None,
) -> ImportBatch:
    """Check every row and keep the outcome as a ``previewed`` batch (nothing else is written,
    except media fetched into the library)."""
    _require(actor, Perm.POSTS_DRAFT)
    workspace = actor.workspace
    if options.file_format not in FORMATS:
        raise DomainError(_("Choose the file format."), fields={"file_format": "invalid"})
    if len(data) > MAX_FILE_BYTES:
        raise DomainError(
            _("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // 1024**2}, fields={"file": "too large"}
        )
    tz = options.timezone or workspace.timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("Unknown time zone %(tz)s.") % {"tz": tz}, fields={"timezone": "invalid"}) from None
    available = usable_channels(workspace)
    by_key = {str(c.pk): c for c in available}
    check = _length_check(by_key)
    if options.file_format == "hootsuite":
        chosen = [str(pk) for pk in dict.fromkeys(options.channel_ids)]
        unknown = [pk for pk in chosen if pk not in by_key]
        if not chosen or unknown:
            raise DomainError(
                _("Choose the channels the rows go to.") if not chosen else _("No such channel in this workspace."),
                fields={"channel_ids": "required" if not chosen else "invalid"},
            )
        report = csv_import.parse_hootsuite(
            data, date_order=options.date_order, tz=tz, channels=chosen, now=now, length_check=check
        )
    else:
        report = csv_import.parse_sokhan(
            data, tz=tz, known_channels=channel_names(available), now=now, length_check=check
        )
    media_cache: dict[str, int | str] = {}
    ready: list[dict[str, Any]] = []
    for row in list(report.rows):
        variants, problems = _row_variants(actor, row, by_key, media_cache)
        if problems:
            report.reject(row, problems)
            continue
        ready.append(
            {
                "row": row.row_number,
                "scheduled_at": row.scheduled_at.isoformat(),
                "text": row.text,
                "link": row.link,
                "labels": row.labels,
                "channels": [by_key[key].display_name for key in row.channels],
                "variants": variants,
            }
        )
    report.errors.sort(key=lambda error: error.row_number)
    bad_rows = {error.row_number for error in report.errors}
    batch = ImportBatch.objects.create(
        workspace=workspace,
        created_by=actor.user,
        file_name=file_name[:255],
        file_format=options.file_format,
        options={
            "channel_ids": options.channel_ids,
            "date_order": options.date_order,
            "timezone": tz,
        },
        rows_total=len(ready) + len(bad_rows),
        rows_valid=len(ready),
        rows_invalid=len(bad_rows),
        rows=ready,
        errors=[{"row": e.row_number, "column": e.column or "", "message": e.message} for e in report.errors],
        error_report=csv_import.error_report_csv(report) if report.errors else "",
    )
    audit_record(
        workspace=workspace,
        actor=actor.user,
        action="import.validate",
        target=f"import:{batch.pk}",
        data={"file": batch.file_name, "valid": batch.rows_valid, "invalid": batch.rows_invalid},
        ip=ip,
    )
    return batch


def row_errors(batch: ImportBatch) -> dict[str, str]:
    """``{"rows.3.text": "…", "rows.1": "…"}`` for API error bodies."""
    fields: dict[str, str] = {}
    for error in batch.errors:
        key = f"rows.{error['row']}" + (f".{error['column']}" if error["column"] else "")
        fields[key] = f"{fields[key]} {error['message']}" if key in fields else error["message"]
    return fields


@transaction.atomic
def import_confirm(
    *,
    actor: Membership,
    batch_id: int,
    mode: str,
    as_drafts: bool,
    idempotency_key: str = "",
    now: datetime | None = None,
    ip: str | None = None,
) -> ImportBatch:
    """Import the batch's rows as posts: every chosen row, or nothing. A batch already imported is
    returned as it is (a repeated confirm creates nothing). ``idempotency_key`` (from the API) is
    kept on the batch, unique per workspace."""
    _require(actor, Perm.POSTS_DRAFT)
    batch = ImportBatch.objects.select_for_update().filter(workspace=actor.workspace, pk=batch_id).first()
    if batch is None:
        raise DomainError(_("No such import."), code="not_found")
    if batch.state == ImportBatch.IMPORTED:
        return batch
    if mode not in (ImportBatch.MODE_ALL, ImportBatch.MODE_VALID):
        raise DomainError(_("Choose how to import."), fields={"mode": "invalid"})
    if not as_drafts:
        _require(actor, Perm.POSTS_PUBLISH)
    if mode == ImportBatch.MODE_ALL and batch.rows_invalid:
        raise RowsInvalid(
            _("%(n)s row(s) have errors; fix them, or import only the valid rows.") % {"n": batch.rows_invalid},
            fields=row_errors(batch),
        )
    if not batch.rows:
        raise Conflict(_("There are no valid rows to import."), code="nothing_to_import")
    moment = now or timezone.now()
    if not as_drafts:
        late = [row["row"] for row in batch.rows if datetime.fromisoformat(row["scheduled_at"]) <= moment]
        if late:
            raise RowsInvalid(
                _("The time of these rows has passed since the check: %(rows)s. Upload the file again.")
                % {"rows": ", ".join(str(n) for n in late)},
                fields={f"rows.{n}.date": _("This time is in the past.") for n in late},
            )
    post_ids: list[int] = []
    for row in batch.rows:
        try:
            post = post_create(
                actor=actor,
                targets=[TargetInput(**variant) for variant in row["variants"]],
                labels=row["labels"],
                notes=_("Imported from %(file)s, row %(row)s.") % {"file": batch.file_name, "row": row["row"]},
                ip=ip,
            )
            if not as_drafts:
                post_schedule(actor=actor, post_id=post.pk, at=datetime.fromisoformat(row["scheduled_at"]), ip=ip)
        except DomainError as exc:
            detail = " ".join(f"{value}" for value in exc.fields.values() if isinstance(value, str))
            raise RowsInvalid(
                _("Row %(row)s could not be imported, so nothing was: %(error)s")
                % {"row": row["row"], "error": f"{exc.message} {detail}".strip()},
                fields={f"rows.{row['row']}": exc.message},
            ) from exc
        post_ids.append(post.pk)
    batch.state = ImportBatch.IMPORTED
    batch.idempotency_key = idempotency_key[:200]
    batch.mode = mode
    batch.as_drafts = as_drafts
    batch.post_ids = post_ids
    batch.imported_at = moment
    batch.save()
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="import.run",
        target=f"import:{batch.pk}",
        data={
            "file": batch.file_name,
            "mode": mode,
            "drafts": as_drafts,
            "posts": len(post_ids),
            "skipped_rows": batch.rows_invalid if mode == ImportBatch.MODE_VALID else 0,
        },
        ip=ip,
    )
    return batch
