"""What every push receiver shares: settings, reading a bounded body, payload checks that name the
field at fault, and storing a delivery together with its messages.

| Setting / environment variable | Default | Meaning |
| --- | --- | --- |
| ``SOKHAN_META_WEBHOOK_VERIFY_TOKEN`` | (none) | the Verify Token typed into the Meta app's Webhooks settings |
| ``SOKHAN_META_APP_SECRET`` | (none) | an install-wide Meta app secret, besides the OAuth apps' secrets |
| ``SOKHAN_WEBHOOK_REPLAY_WINDOW_HOURS`` | 24 | a Meta delivery whose newest entry is older is refused |
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema

from sokhan.api.errors import error_response
from sokhan.channels.models import Channel
from sokhan.inbox.ingest import ingest
from sokhan.inbox.models import WebhookDelivery
from sokhan.networks.types import RemoteMessage

logger = logging.getLogger("sokhan.inbox.webhooks")

MAX_BODY = 1_000_000  # bytes; a Meta batch or a Bot API update is far smaller

JSON = dict[str, Any]


def setting(name: str, default: str = "") -> str:
    """A Django setting if set there, else the environment, else ``default``."""
    value = getattr(settings, name, os.environ.get(name, default))
    return str(value) if value is not None else default


def replay_window() -> timedelta:
    try:
        hours = float(setting("SOKHAN_WEBHOOK_REPLAY_WINDOW_HOURS", "24"))
    except ValueError:
        hours = 24.0
    return timedelta(hours=hours)


class WebhookAck(Schema):
    """``ok``: processed; ``duplicate``: this delivery was processed before; ``ignored``: nothing in it
    concerns the inbox."""

    status: str
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0


class WebhookError(Exception):
    """A refusal with its HTTP status, stable code and a message for whoever configures the sender."""

    def __init__(self, status: int, code: str, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}

    def response(self, source: str) -> HttpResponse:
        # The sender never shows our answer to anyone: the log is where a misconfiguration surfaces.
        logger.warning("webhook %s refused: %s %s %s %s", source, self.status, self.code, self.message, self.fields)
        return error_response(self.status, self.code, self.message, self.fields)


def invalid(where: str, problem: str) -> WebhookError:
    return WebhookError(
        400,
        "invalid_payload",
        _("The payload is not what was expected: %(where)s %(problem)s.") % {"where": where, "problem": problem},
        fields={where: problem},
    )


def read_body(request: HttpRequest) -> bytes:
    """The raw body (signatures cover the exact bytes), refused over :data:`MAX_BODY`."""
    too_large = WebhookError(
        413, "too_large", _("The request body is larger than %(limit)s bytes.") % {"limit": f"{MAX_BODY:,}"}
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > MAX_BODY:
        raise too_large
    return body


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise invalid("body", _("is not valid JSON")) from None


# ---------------------------------------------------------------------------------------------- payload checks


def obj(value: Any, where: str) -> JSON:
    if not isinstance(value, dict):
        raise invalid(where, _("must be an object") if value is not None else _("is missing"))
    return value


def arr(value: Any, where: str, *, required: bool = False) -> list[Any]:
    if value is None:
        if required:
            raise invalid(where, _("is missing"))
        return []
    if not isinstance(value, list):
        raise invalid(where, _("must be a list"))
    return value


def ident(value: Any, where: str, *, required: bool = True) -> str:
    """An id or short text the networks send as a string or a number."""
    if value is None or value == "":
        if required:
            raise invalid(where, _("is missing"))
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise invalid(where, _("must be a string or a number"))
    return str(value)


def text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(where, _("must be a string"))
    return value


def integer(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(where, _("must be an integer") if value is not None else _("is missing"))
    return value


def epoch(value: Any, where: str) -> datetime:
    """Unix time in seconds, or in milliseconds (Messenger) when the number is that large."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(where, _("must be a Unix time") if value is not None else _("is missing"))
    seconds = value / 1000 if value > 100_000_000_000 else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise invalid(where, _("is not a valid time")) from None


# ---------------------------------------------------------------------------------------------- storing


@dataclass
class Stored:
    stored: int = 0
    duplicates: int = 0


def already_received(source: str, key: str) -> bool:
    return WebhookDelivery.objects.filter(source=source, key=key).exists()


def record_and_ingest(
    source: str,
    key: str,
    batches: Sequence[tuple[Channel, Sequence[RemoteMessage]]],
    *,
    channel: Channel | None = None,
    now: datetime | None = None,
) -> Stored | None:
    """Record the delivery and store its messages in one transaction: a crash leaves neither, so the
    sender's retry is processed in full. ``None`` when the delivery was recorded already (a
    concurrent copy won the race)."""
    now = now or timezone.now()
    result = Stored()
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(source=source, key=key, channel=channel, received_at=now)
        except IntegrityError:
            return None
        for target, items in batches:
            if not items:
                continue
            outcome = ingest(target, items, now=now)
            result.stored += len(outcome.created)
            result.duplicates += outcome.duplicates
        if result.stored:
            delivery.messages = result.stored
            delivery.save(update_fields=["messages"])
    return result
