"""Per-channel posting schedules (a Buffer-style queue).

A channel has weekly slots (weekday + wall-clock time in the workspace's time zone). Queuing a
post puts each of its targets at its channel's next slot that no scheduled or published target
of that channel already holds. Slot times are wall-clock: 09:00 stays 09:00 across a DST change.
A time the clocks skip (02:30 on a spring-forward night) moves forward by the gap (03:30); a
time that happens twice (clocks go back) means its first occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.models import Channel
from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostingSlot, PostTarget

# States whose scheduled time holds a slot.
TAKING = (S.SCHEDULED, S.PUBLISHING, S.PUBLISHED, S.RESOLVED, S.OUTCOME_UNKNOWN)
# States a post's target can be queued from (those ``services.post_schedule`` accepts).
QUEUEABLE = (S.DRAFT, S.APPROVED, S.FAILED, S.IN_REVIEW)
MAX_SLOTS = 7 * 48
SEARCH_DAYS = 3 * 366


@dataclass(frozen=True)
class SlotInput:
    weekday: int
    time: str  # "HH:MM"


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_("Unknown time zone %(tz)s.") % {"tz": tz}, fields={"timezone": "invalid"}) from None


def _local(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    """``at`` on ``day``'s date in ``zone`` as aware UTC (skipped times move forward by the gap)."""
    wall = datetime.combine(day.date(), at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def _minute(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def next_free_slot(channel: Channel, *, after: datetime, tz: str) -> datetime:
    """The earliest slot of ``channel`` strictly after ``after`` that no scheduled or published
    target of the channel holds, as an aware UTC datetime. ``DomainError`` when it has no slots."""
    if timezone.is_naive(after):
        raise ValueError("after must be an aware datetime")
    zone = _zone(tz)
    by_weekday: dict[int, list[time]] = {}
    for slot in PostingSlot.objects.filter(channel=channel).order_by("weekday", "time"):
        by_weekday.setdefault(slot.weekday, []).append(slot.time)
    if not by_weekday:
        raise DomainError(
            _("Channel %(name)s has no posting times; add some first.") % {"name": channel.display_name},
            fields={f"channel.{channel.pk}": "no_slots"},
            code="no_slots",
        )
    taken = {
        _minute(at)
        for at in PostTarget.objects.filter(
            channel=channel, state__in=TAKING, scheduled_at__gt=after - timedelta(days=1)
        ).values_list("scheduled_at", flat=True)
        if at is not None
    }
    start = after.astimezone(zone).replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None)
    for offset in range(SEARCH_DAYS):
        day = start + timedelta(days=offset)
        candidates = sorted({_local(day, at, zone) for at in by_weekday.get(day.weekday(), [])})
        for candidate in candidates:
            if candidate > after and candidate not in taken:
                return candidate
    raise Conflict(_("Every posting time of this channel is taken for years ahead."), code="queue_full")


# ------------------------------------------------------------------ slots


def _channel(workspace: Workspace, channel_id: int) -> Channel:
    channel = Channel.objects.filter(workspace=workspace, pk=channel_id).first()
    if channel is None:
        raise NotFound(_("No such channel in this workspace."))
    return channel


def slots_list(workspace: Workspace, channel_id: int) -> list[PostingSlot]:
    return list(PostingSlot.objects.filter(channel=_channel(workspace, channel_id)).order_by("weekday", "time"))


def _parse_time(text: str) -> time | None:
    try:
        hours, minutes = text.strip().split(":")
        if len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
            return None
        return time(int(hours), int(minutes))
    except ValueError:
        return None


@transaction.atomic
def slots_replace(
    *, actor: Membership, channel_id: int, slots: Sequence[SlotInput], ip: str | None = None
) -> list[PostingSlot]:
    """Replace the channel's whole weekly list of posting times."""
    if not role_can(actor.role, Perm.POSTS_EDIT):
        raise NotAllowed(_("Your role may not do this."))
    channel = _channel(actor.workspace, channel_id)
    fields: dict[str, str] = {}
    wanted: list[tuple[int, time]] = []
    if len(slots) > MAX_SLOTS:
        fields["slots"] = _("At most %(n)s posting times.") % {"n": MAX_SLOTS}
    for index, item in enumerate(slots):
        if not 0 <= item.weekday <= 6:
            fields[f"slots.{index}.weekday"] = _("Weekday is 0 (Monday) to 6 (Sunday).")
            continue
        at = _parse_time(item.time)
        if at is None:
            fields[f"slots.{index}.time"] = _("Time is HH:MM, from 00:00 to 23:59.")
            continue
        if (item.weekday, at) in wanted:
            fields[f"slots.{index}"] = _("This posting time is listed twice.")
            continue
        wanted.append((item.weekday, at))
    if fields:
        raise DomainError(_("Some posting times are not valid."), fields=fields)
    PostingSlot.objects.filter(channel=channel).delete()
    PostingSlot.objects.bulk_create(
        PostingSlot(workspace=actor.workspace, channel=channel, weekday=weekday, time=at) for weekday, at in wanted
    )
    audit_record(
        workspace=actor.workspace,
        actor=actor.user,
        action="channel.slots",
        target=f"channel:{channel.pk}",
        data={"slots": [f"{weekday} {at:%H:%M}" for weekday, at in sorted(wanted)]},
        ip=ip,
    )
    return slots_list(actor.workspace, channel.pk)


# ------------------------------------------------------------------ queue a post


@transaction.atomic
def post_queue(*, actor: Membership, post_id: int, ip: str | None = None) -> Post:
    """Schedule each queueable target of the post at its channel's next free slot."""
    if not role_can(actor.role, Perm.POSTS_PUBLISH):
        raise NotAllowed(_("Your role may not do this."))
    post = services.post_get(actor.workspace, post_id)
    rows = list(
        PostTarget.objects.select_for_update()
        .filter(post=post, state__in=QUEUEABLE)
        .select_related("channel")
        .order_by("pk")
    )
    if not rows:
        raise Conflict(_("No channel of this post is in a state that allows this."), code="invalid_transition")
    # Lock the channels' rows so two posts queued at once do not take the same slot.
    list(Channel.objects.select_for_update().filter(pk__in=[r.channel_id for r in rows]).order_by("pk"))
    empty = [r.channel for r in rows if not PostingSlot.objects.filter(channel_id=r.channel_id).exists()]
    if empty:
        raise DomainError(
            _("Some channels have no posting times: %(names)s.") % {"names": ", ".join(c.display_name for c in empty)},
            fields={f"channel.{c.pk}": _("This channel has no posting times.") for c in empty},
            code="no_slots",
        )
    now = timezone.now()
    for row in rows:
        at = next_free_slot(row.channel, after=now, tz=actor.workspace.timezone)
        services.post_schedule(actor=actor, post_id=post.pk, at=at, channel_ids=[row.channel_id], ip=ip)
    return post


# Slot suggestions: another app (analytics' best time to post) registers a provider from its
# ``ready()``; the queue page offers the slots a channel does not have yet as one-click additions.
SlotSuggester = Callable[[Workspace, int], list[tuple[int, time]]]
_SUGGESTERS: list[SlotSuggester] = []


def register_slot_suggester(suggester: SlotSuggester) -> None:
    """Add a provider of ``(weekday, local time)`` slots, best first (idempotent)."""
    if suggester not in _SUGGESTERS:
        _SUGGESTERS.append(suggester)


def suggested_slots(workspace: Workspace, n: int = 3) -> list[tuple[int, time]]:
    """Up to ``n`` suggested weekly slots from the registered providers, best first."""
    found: list[tuple[int, time]] = []
    for suggester in _SUGGESTERS:
        found.extend(slot for slot in suggester(workspace, n) if slot not in found)
    return found[:n]
