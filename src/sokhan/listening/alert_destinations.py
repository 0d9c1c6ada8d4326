"""Where alerts go besides the alerts page: in-app notifications, an email address, an outbound
webhook, a Telegram or Bale chat through a connected bot channel. See docs/listening-crisis.md.

**At most once.** In-app notifications are rows written in the transaction that creates the alert:
exactly once. Every other destination gets one delivery job, enqueued in that same transaction,
whose retry policy allows a single attempt: the engine counts claims, so if a worker dies anywhere
in the attempt (before the request, during it, after it but before the result is recorded) the
next claim finds the attempt used up and fails the job without running it. The job's own result
(sent, failed) is an audit event written in the transaction that completes the job. So an alert
reaches a destination once or not at all, never twice; the alerts page shows "not confirmed" for
a job that ended without a result. The only retries are for failures that prove nothing left
(the connection was refused or never made, the bot API's rate limit): the attempt schedules a
*new* single-attempt job, in the same transaction as its own completion.

**Webhooks** POST JSON with ``X-Sokhan-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<X-Sokhan-Timestamp>.<body>`` under the destination's signing secret, and ``X-Sokhan-Delivery``
(the same for every attempt, for receivers that deduplicate). The secret is not stored anywhere:
it is derived from the installation's secret key (``SOKHAN_SECRET_KEY`` or the key file in the data
directory, never in the database) and the destination's id and creation time, so a copy of the
database alone cannot sign. A new secret means deleting the destination and adding it again.
Private and loopback addresses are refused like the feed fetcher's (``sokhan.automation.fetch``,
``AUTOMATION_FETCH_ALLOW_PRIVATE``); redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from sokhan.automation.fetch import FetchError, check_url
from sokhan.channels.calls import call
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.listening.alerts import alert_json, alert_summary, alert_title, alerts_path, listeners, mentions_url
from sokhan.listening.models import Alert, AlertDestination, DestinationKind, Mention
from sokhan.networks.errors import ConnectorError, RateLimited
from sokhan.networks.http import USER_AGENT
from sokhan.notifications.services import notify
from sokhan.runtime.models import Job

log = logging.getLogger(__name__)

BOT_NETWORKS = ("telegram", "bale")
DELIVERY_ACTION = "listening.alert.delivery"
DELIVER_TASK = "sokhan.listening.spike_tasks.deliver_alert"
MAX_ATTEMPTS = 3  # only for failures that prove nothing was sent
WEBHOOK_TIMEOUT = 10.0
BOT_TEXT_MAX = 3500  # under the Bot API's 4096 UTF-16 units, with room for the link
_CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")
SENT, FAILED = "sent", "failed"


class NotSent(Exception):
    """Nothing left: another attempt cannot make a second copy."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryFailed(Exception):
    """The destination refused it, or it is unknown whether it arrived: not tried again."""


# ------------------------------------------------------------------------------ destinations


def destinations_for(workspace: Workspace) -> list[AlertDestination]:
    return list(AlertDestination.objects.filter(workspace=workspace).select_related("channel").order_by("pk"))


def destination_get(workspace: Workspace, destination_id: int) -> AlertDestination:
    found = AlertDestination.objects.filter(workspace=workspace, pk=destination_id).select_related("channel").first()
    if found is None:
        raise NotFound(_("No such alert destination in this workspace."))
    return found


def bot_channels(workspace: Workspace) -> list[Channel]:
    """The workspace's Telegram and Bale channels, whose bots can write to a chat."""
    return list(
        Channel.objects.filter(workspace=workspace, network__in=BOT_NETWORKS)
        .exclude(status=ChannelStatus.DISCONNECTED)
        .order_by("display_name", "pk")
    )


def destination_clean(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """``kind``, ``target`` and ``channel`` checked; a ``DomainError`` names the wrong field."""
    kind = str(data.get("kind") or "")
    target = str(data.get("target") or "").strip()
    channel_id = data.get("channel")
    if kind not in DestinationKind.values:
        raise DomainError(_("Choose where the alerts go."), fields={"kind": "invalid"})
    if len(target) > 500:
        raise DomainError(_("The address is at most 500 characters."), fields={"target": "too_long"})
    channel: Channel | None = None
    if kind == DestinationKind.EMAIL:
        try:
            validate_email(target)
        except ValidationError:
            raise DomainError(_("Enter an email address."), fields={"target": "invalid"}) from None
    elif kind == DestinationKind.WEBHOOK:
        try:
            check_url(target)
        except FetchError as exc:
            raise DomainError(str(exc), fields={"target": "refused"}) from None
    elif kind == DestinationKind.BOT:
        if not _CHAT_ID.fullmatch(target):
            raise DomainError(
                _("Enter the chat's numeric id (for example -1001234567890) or its @username."),
                fields={"target": "invalid"},
            )
        channel = next((c for c in bot_channels(workspace) if str(c.pk) == str(channel_id)), None)
        if channel is None:
            raise DomainError(_("Choose a connected Telegram or Bale channel."), fields={"channel": "invalid"})
    else:
        target = ""
    return {"kind": kind, "target": target, "channel": channel}


def _require(actor: Membership) -> None:
    if not role_can(actor.role, Perm.LISTENING_MANAGE):
        raise NotAllowed(_("Your role may not change where alerts go."))


def _snapshot(destination: AlertDestination) -> dict[str, Any]:
    return {"kind": destination.kind, "target": destination.target, "channel": destination.channel_id}


@transaction.atomic
def destination_create(actor: Membership, data: dict[str, Any], ip: str | None = None) -> AlertDestination:
    _require(actor)
    clean = destination_clean(actor.workspace, data)
    destination = AlertDestination.objects.create(workspace=actor.workspace, **clean)
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="listening.destination.create",
        target=f"alert_destination:{destination.pk}",
        data=_snapshot(destination),
        ip=ip,
    )
    return destination


@transaction.atomic
def destination_set_enabled(
    actor: Membership, destination_id: int, enabled: bool, ip: str | None = None
) -> AlertDestination:
    _require(actor)
    destination = destination_get(actor.workspace, destination_id)
    if destination.enabled != enabled:
        destination.enabled = enabled
        destination.save(update_fields=["enabled"])
        audit_record(
            workspace=actor.workspace,
            actor=actor.user,
            action="listening.destination.enable" if enabled else "listening.destination.disable",
            target=f"alert_destination:{destination.pk}",
            data=_snapshot(destination),
            ip=ip,
        )
    return destination


@transaction.atomic
def destination_delete(actor: Membership, destination_id: int, ip: str | None = None) -> None:
    _require(actor)
    destination = destination_get(actor.workspace, destination_id)
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="listening.destination.delete",
        target=f"alert_destination:{destination.pk}",
        data=_snapshot(destination),
        ip=ip,
    )
    destination.delete()


def destination_label(destination: AlertDestination) -> str:
    if destination.kind == DestinationKind.IN_APP:
        return _("In-app notifications")
    if destination.kind == DestinationKind.BOT:
        name = destination.channel.display_name if destination.channel else "?"
        return _("%(chat)s through %(channel)s") % {"chat": destination.target, "channel": name}
    return destination.target


# ------------------------------------------------------------------------------ webhook signing


def webhook_secret(destination: AlertDestination) -> str:
    """The destination's signing secret, derived (see the module docstring), never stored."""
    created = destination.created_at.astimezone(UTC).isoformat()
    value = f"{destination.workspace_id}:{destination.pk}:{created}"
    return salted_hmac("sokhan.listening.alert-webhook", value, algorithm="sha256").hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


# ------------------------------------------------------------------------------ announcing


def announce(alert: Alert) -> None:
    """A new alert, inside the transaction that created it: notifications in the app, and one
    delivery job per other enabled destination. A workspace that has set up no destination at all
    gets the in-app notifications."""
    from sokhan.listening.spike_tasks import deliver_alert  # the tasks module imports this one

    destinations = destinations_for(alert.workspace)
    enabled = [d for d in destinations if d.enabled]
    if not destinations or any(d.kind == DestinationKind.IN_APP for d in enabled):
        notify(
            listeners(alert.workspace),
            workspace=alert.workspace,
            kind="listening.alert",
            title=lambda: alert_title(alert),
            body=lambda: alert_summary(alert),
            url=f"{alerts_path(alert.workspace)}#alert-{alert.pk}",
            email=False,  # the email destination is the way to email alerts
        )
    for destination in enabled:
        if destination.kind != DestinationKind.IN_APP:
            deliver_alert.enqueue(alert_id=alert.pk, destination_id=destination.pk)


def deliver(alert_id: int, destination_id: int, attempt: int = 1) -> dict[str, Any]:
    """The delivery job's body: send ``alert`` to ``destination`` and record how it went."""
    alert = Alert.objects.select_related("workspace", "topic").filter(pk=alert_id).first()
    if alert is None:
        return {"outcome": "skipped"}
    destination = (
        AlertDestination.objects.select_related("channel")
        .filter(pk=destination_id, workspace_id=alert.workspace_id)
        .first()
    )
    if destination is None or not destination.enabled:
        return {"outcome": "skipped"}
    if _recorded(alert, destination):
        return {"outcome": "already"}  # a duplicate job: the first one decided
    sender = {DestinationKind.EMAIL: _email, DestinationKind.WEBHOOK: _webhook, DestinationKind.BOT: _bot}
    try:
        detail = sender[DestinationKind(destination.kind)](alert, destination)
    except NotSent as exc:
        if attempt < MAX_ATTEMPTS:
            from sokhan.listening.spike_tasks import deliver_alert

            delay = timedelta(seconds=exc.retry_after or 60 * attempt)
            deliver_alert.using(run_after=timezone.now() + delay).enqueue(
                alert_id=alert.pk, destination_id=destination.pk, attempt=attempt + 1
            )
            return {"outcome": "retry", "detail": str(exc)}
        _record(alert, destination, FAILED, str(exc), attempt)
        return {"outcome": FAILED, "detail": str(exc)}
    except DeliveryFailed as exc:
        _record(alert, destination, FAILED, str(exc), attempt)
        return {"outcome": FAILED, "detail": str(exc)}
    _record(alert, destination, SENT, detail, attempt)
    return {"outcome": SENT, "detail": detail}


def _recorded(alert: Alert, destination: AlertDestination) -> bool:
    events = AuditEvent.objects.filter(workspace_id=alert.workspace_id, action=DELIVERY_ACTION, target=_target(alert))
    return any(e.data.get("destination") == destination.pk for e in events)


def _target(alert: Alert) -> str:
    return f"alert:{alert.pk}"


def _record(alert: Alert, destination: AlertDestination, status: str, detail: str, attempt: int) -> None:
    audit_record(
        workspace=alert.workspace,
        actor=None,
        action=DELIVERY_ACTION,
        target=_target(alert),
        data={
            "destination": destination.pk,
            "kind": destination.kind,
            "label": destination_label(destination),
            "status": status,
            "detail": detail[:500],
            "attempt": attempt,
        },
    )


# ------------------------------------------------------------------------------ the message


def _mention_lines(alert: Alert) -> list[str]:
    mentions = Mention.objects.filter(workspace_id=alert.workspace_id, pk__in=alert.mention_ids)
    by_id = {m.pk: m for m in mentions}
    lines = []
    for mention_id in alert.mention_ids:
        mention = by_id.get(mention_id)
        if mention is None:
            continue
        who = f"@{mention.author_handle}" if mention.author_handle else mention.author_name or "—"
        text = " ".join(mention.text.split())
        text = text if len(text) <= 160 else text[:159] + "…"
        lines.append(f"• {who}: {text}" + (f" {mention.url}" if mention.url else ""))
    return lines


def alert_text(alert: Alert) -> str:
    """The alert as plain text in the active language: what, the figures, the top mentions, links."""
    parts = [alert_title(alert), alert_summary(alert)]
    mentions = _mention_lines(alert)
    if mentions:
        parts.append(_("Top mentions:") + "\n" + "\n".join(mentions))
    parts.append(_("Alerts: %(link)s") % {"link": settings.BASE_URL + alerts_path(alert.workspace)})
    return "\n\n".join(parts)


def webhook_payload(alert: Alert, destination: AlertDestination) -> dict[str, Any]:
    mentions = Mention.objects.filter(workspace_id=alert.workspace_id, pk__in=alert.mention_ids)
    by_id = {m.pk: m for m in mentions}
    link = mentions_url(alert)
    return {
        "event": "listening.alert",
        "delivery": f"{alert.pk}-{destination.pk}",
        "workspace": {"slug": alert.workspace.slug, "name": alert.workspace.name},
        "alert": {**alert_json(alert), "title": alert_title(alert), "summary": alert_summary(alert)},
        "mentions": [
            {
                "id": m.pk,
                "network": m.network,
                "url": m.url,
                "author_handle": m.author_handle,
                "author_followers": m.author_followers,
                "text": m.text[:1000],
                "sentiment": m.label,
                "published_at": m.published_at,
            }
            for m in (by_id[i] for i in alert.mention_ids if i in by_id)
        ],
        "links": {
            "alerts": settings.BASE_URL + alerts_path(alert.workspace),
            "mentions": settings.BASE_URL + link if link else "",
        },
    }


# ------------------------------------------------------------------------------ senders


def _email(alert: Alert, destination: AlertDestination) -> str:
    workspace = alert.workspace
    with translation.override(workspace.language or settings.LANGUAGE_CODE):
        subject = f"[{workspace.name}] {alert_title(alert)}"[:300]
        body = alert_text(alert)
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[destination.target])
    except (smtplib.SMTPConnectError, ConnectionRefusedError, socket.gaierror) as exc:
        raise NotSent(_("The mail server could not be reached: %(error)s") % {"error": exc}) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(_("The mail server refused it: %(error)s") % {"error": exc}) from exc
    return destination.target


def _webhook(alert: Alert, destination: AlertDestination) -> str:
    try:
        check_url(destination.target)
    except FetchError as exc:
        raise DeliveryFailed(str(exc)) from exc
    with translation.override(alert.workspace.language or settings.LANGUAGE_CODE):
        payload = webhook_payload(alert, destination)
    body = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Sokhan-Event": "listening.alert",
        "X-Sokhan-Delivery": payload["delivery"],
        "X-Sokhan-Timestamp": timestamp,
        "X-Sokhan-Signature": signature(webhook_secret(destination), timestamp, body),
    }
    try:
        response = httpx.post(
            destination.target, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT, follow_redirects=False
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise NotSent(_("The receiver could not be reached: %(error)s") % {"error": exc}) from exc
    except httpx.HTTPError as exc:
        raise DeliveryFailed(
            _("No answer from the receiver (%(error)s); it may have arrived, so it is not sent again.") % {"error": exc}
        ) from exc
    if not response.is_success:
        raise DeliveryFailed(_("The receiver answered HTTP %(status)s.") % {"status": response.status_code})
    return f"HTTP {response.status_code}"


def _bot(alert: Alert, destination: AlertDestination) -> str:
    channel = destination.channel
    if channel is None or channel.network not in BOT_NETWORKS or channel.status != ChannelStatus.ACTIVE:
        raise DeliveryFailed(_("The bot channel is not connected."))
    with translation.override(alert.workspace.language or settings.LANGUAGE_CODE):
        text = alert_text(alert)
    if len(text) > BOT_TEXT_MAX:
        text = text[: BOT_TEXT_MAX - 1] + "…"
    try:
        result = call(channel, "send_dm", destination.target, text)
    except RateLimited as exc:  # refused before anything was sent: Sokhan's bucket or the network's 429
        raise NotSent(str(exc), retry_after=exc.retry_after) from exc
    except (ConnectorError, DomainError) as exc:
        raise DeliveryFailed(str(exc)) from exc
    return str(result.remote_id)


# ------------------------------------------------------------------------------ what happened


@dataclass(frozen=True)
class Delivery:
    label: str
    kind: str
    status: str  # sent, failed, pending, unconfirmed
    detail: str
    at: datetime | None


def deliveries_of(workspace: Workspace, alerts: list[Alert]) -> dict[int, list[Delivery]]:
    """How each alert's deliveries went: the recorded results, jobs still waiting, and jobs that
    ended without a result (a worker stopped mid-send: not confirmed, and never sent again)."""
    ids = [a.pk for a in alerts]
    found: dict[int, list[Delivery]] = {i: [] for i in ids}
    if not ids:
        return found
    done: set[tuple[int, int]] = set()
    events = AuditEvent.objects.filter(
        workspace=workspace, action=DELIVERY_ACTION, target__in=[f"alert:{i}" for i in ids]
    ).order_by("created_at", "pk")
    for event in events:
        alert_id = int(event.target.split(":")[1])
        data = event.data
        done.add((alert_id, int(data.get("destination", 0))))
        found[alert_id].append(
            Delivery(
                str(data.get("label", "")),
                str(data.get("kind", "")),
                str(data.get("status", "")),
                str(data.get("detail", "")),
                event.created_at,
            )
        )
    labels = {d.pk: (destination_label(d), d.kind) for d in destinations_for(workspace)}
    jobs = Job.objects.filter(task_path=DELIVER_TASK, kwargs__alert_id__in=ids).order_by("enqueued_at")
    latest: dict[tuple[int, int], Job] = {}
    for job in jobs:
        latest[(int(job.kwargs["alert_id"]), int(job.kwargs["destination_id"]))] = job
    for (alert_id, destination_id), job in latest.items():
        if (alert_id, destination_id) in done or job.state == Job.SUCCEEDED:
            continue
        label, kind = labels.get(destination_id, ("?", ""))
        status = "pending" if job.state == Job.READY else "unconfirmed"
        found[alert_id].append(Delivery(label, kind, status, "", job.finished_at or job.enqueued_at))
    return found
