"""Dashboard computations over the snapshots: one row per published post (its latest snapshot and
rates), totals over a period, period-over-period changes, and groupings by content type and by
hashtag. Pure where it can be; every read takes the workspace and filters by it.

Aggregate rates (docs/analytics.md, "Dashboards"): by impressions and by reach are Σ engagements ÷
Σ impressions (reach) × 100 over the posts that have both numbers; by followers is the mean of the
posts' own rates (Hootsuite's average engagement rate per post). Missing numbers are skipped, never 0.
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sokhan.analytics.models import AccountDaily, PostSnapshot
from sokhan.analytics.rollups import day_bounds, workspace_zone
from sokhan.core.calendars import CalendarName, month_name, to_calendar
from sokhan.core.models import Workspace
from sokhan.core.text import to_persian_digits
from sokhan.metrics import formulas
from sokhan.metrics.definitions import ENGAGEMENT_PARTS
from sokhan.publishing.extract import extract_entities
from sokhan.publishing.models import PostTarget

KINDS: tuple[str, ...] = ("text", "image", "video", "link", "thread")
PERIODS: tuple[int, ...] = (7, 30, 90)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # both included

    @classmethod
    def ending(cls, end: date, days: int) -> Period:
        return cls(end - timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The equal period just before this one."""
        return Period.ending(self.start - timedelta(days=1), self.days)


@dataclass
class PostRow:
    target_id: int
    channel_id: int
    channel_name: str
    network: str
    text: str
    published_at: datetime
    kind: str
    hashtags: list[tuple[str, str]]  # (normalised key, as written)
    engagements: float | None = None
    impressions: int | None = None
    reach: int | None = None
    followers: int | None = None
    rate_impressions: float | None = None
    rate_reach: float | None = None
    rate_followers: float | None = None
    step: int | None = None  # the latest snapshot's step; None: no snapshot yet

    @property
    def rate(self) -> float | None:
        """The rate best-time uses: by impressions, else by followers."""
        return self.rate_impressions if self.rate_impressions is not None else self.rate_followers


def content_kind(target: PostTarget) -> str:
    """thread, video, image, link or text, from the target's parts (the first that applies)."""
    if target.thread:
        return "thread"
    mimes = [str(m.get("mime_type", "")) for m in target.media if isinstance(m, dict)]
    if any(m.startswith("video/") for m in mimes):
        return "video"
    if mimes:
        return "image"
    if target.link or any(e.kind == "url" for e in extract_entities(target.text)):
        return "link"
    return "text"


def hashtags(text: str) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for entity in extract_entities(text):
        if entity.kind == "hashtag":
            seen.setdefault(entity.normalized, entity.text)
    return list(seen.items())


class _Followers:
    """Followers of a channel on or before a day, from the daily rollup (one query)."""

    def __init__(self, workspace: Workspace, start: date, end: date) -> None:
        self._days: dict[int, list[date]] = defaultdict(list)
        self._values: dict[int, list[int]] = defaultdict(list)
        rows = AccountDaily.objects.filter(
            workspace=workspace, day__gte=start, day__lte=end, followers__isnull=False
        ).order_by("channel_id", "day")
        for channel_id, day, followers in rows.values_list("channel_id", "day", "followers"):
            self._days[channel_id].append(day)
            self._values[channel_id].append(int(followers or 0))  # NULLs are filtered out

    def at(self, channel_id: int, day: date) -> int | None:
        i = bisect.bisect_right(self._days[channel_id], day)
        return self._values[channel_id][i - 1] if i else None


def post_rows(
    workspace: Workspace, period: Period, *, channel_id: int | None = None, target_id: int | None = None
) -> list[PostRow]:
    """The posts published in the period (local days), newest first, with their latest snapshot."""
    zone = workspace_zone(workspace)
    lo, hi = day_bounds(period.start, zone)[0], day_bounds(period.end, zone)[1]
    targets = PostTarget.objects.filter(workspace=workspace, published_at__gte=lo, published_at__lt=hi).select_related(
        "channel"
    )
    if channel_id is not None:
        targets = targets.filter(channel_id=channel_id)
    if target_id is not None:
        targets = targets.filter(pk=target_id)
    found = list(targets.order_by("-published_at", "-pk"))
    latest: dict[int, PostSnapshot] = {}
    for snap in PostSnapshot.objects.filter(workspace=workspace, target_id__in=[t.pk for t in found]).order_by("step"):
        latest[snap.target_id] = snap  # the highest step wins
    followers = _Followers(workspace, period.start - timedelta(days=31), period.end + timedelta(days=31))
    rows = []
    for target in found:
        assert target.published_at is not None
        row = PostRow(
            target_id=target.pk,
            channel_id=target.channel_id,
            channel_name=target.channel.display_name,
            network=target.channel.network,
            text=target.text,
            published_at=target.published_at,
            kind=content_kind(target),
            hashtags=hashtags(target.text),
        )
        found_snap = latest.get(target.pk)
        if found_snap is not None:
            _fill(row, found_snap, followers.at(target.channel_id, found_snap.taken_at.astimezone(zone).date()))
        rows.append(row)
    return rows


def _fill(row: PostRow, snap: PostSnapshot, followers: int | None) -> None:
    parts = {name: getattr(snap, name) for name in ENGAGEMENT_PARTS}
    row.step = snap.step
    row.engagements = formulas.engagements(parts).value
    row.impressions, row.reach, row.followers = snap.impressions, snap.reach, followers
    row.rate_impressions = formulas.engagement_rate_impressions(parts, snap.impressions).value
    row.rate_reach = formulas.engagement_rate_reach(parts, snap.reach).value
    row.rate_followers = formulas.engagement_rate_followers(parts, followers).value


@dataclass
class Totals:
    posts: int = 0
    engagements: float | None = None
    impressions: float | None = None
    reach: float | None = None
    rate_impressions: float | None = None
    rate_reach: float | None = None
    rate_followers: float | None = None
    engagements_per_post: float | None = None


def _pooled(rows: Sequence[PostRow], bottom: Callable[[PostRow], int | None]) -> float | None:
    pairs = [(r.engagements, bottom(r)) for r in rows if r.engagements is not None and bottom(r) is not None]
    below = sum(b for _, b in pairs if b is not None)
    if not pairs or not below:
        return None
    return sum(e for e, _ in pairs if e is not None) / below * 100


def _sum(values: Iterable[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(sum(known)) if known else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def totals(rows: Sequence[PostRow]) -> Totals:
    return Totals(
        posts=len(rows),
        engagements=_sum(r.engagements for r in rows),
        impressions=_sum(r.impressions for r in rows),
        reach=_sum(r.reach for r in rows),
        rate_impressions=_pooled(rows, lambda r: r.impressions),
        rate_reach=_pooled(rows, lambda r: r.reach),
        rate_followers=_mean(r.rate_followers for r in rows),
        engagements_per_post=_mean(r.engagements for r in rows),
    )


@dataclass(frozen=True, slots=True)
class Change:
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def percent(self) -> float | None:
        """Relative change in %; None when either side is missing or the previous value is 0."""
        if self.delta is None or not self.previous:
            return None
        return self.delta / abs(self.previous) * 100


COMPARED: tuple[str, ...] = (
    "posts",
    "engagements",
    "impressions",
    "reach",
    "rate_impressions",
    "rate_reach",
    "rate_followers",
    "engagements_per_post",
)


def compare(current: Totals, previous: Totals) -> dict[str, Change]:
    return {name: Change(getattr(current, name), getattr(previous, name)) for name in COMPARED}


@dataclass
class Group:
    key: str
    label: str
    rows: list[PostRow] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        return totals(self.rows)


def by_kind(rows: Iterable[PostRow]) -> list[Group]:
    groups = {kind: Group(kind, kind) for kind in KINDS}
    for row in rows:
        groups[row.kind].rows.append(row)
    return [g for g in groups.values() if g.rows]


def by_hashtag(rows: Iterable[PostRow]) -> list[Group]:
    """One group per hashtag (Persian-folded, so «#كتاب» and «#کتاب» are one), most posts first."""
    groups: dict[str, Group] = {}
    for row in rows:
        for key, written in row.hashtags:
            groups.setdefault(key, Group(key, written)).rows.append(row)
    return sorted(groups.values(), key=lambda g: (-len(g.rows), g.key))


def top_posts(rows: Iterable[PostRow], n: int = 10) -> list[PostRow]:
    known = [r for r in rows if r.engagements is not None]
    return sorted(known, key=lambda r: (-(r.engagements or 0), -r.target_id))[:n]


def axis_label(day: date, *, calendar: CalendarName, language: str) -> str:
    """A short day label for a chart axis: «۳۰ آبان», "21 Nov", "30 Aban"."""
    _, month, number = to_calendar(day, calendar)
    text = f"{number} {month_name(month, calendar=calendar, language=language, short=True)}"
    return to_persian_digits(text) if language.startswith("fa") else text
