"""Listening insight for a workspace, a date range and a set of topics. Definitions (also in
docs/listening-insight.md):

- **Volume** of a topic: its mentions per day or hour, read from ``HourlyCount`` (kept by ingest).
  A mention that matches two topics counts for each.
- **Mentions**: the distinct mentions matching any selected topic in the range. Sentiment, net
  sentiment, authors, languages, terms and corrections read these rows, with the label that counts
  (a person's correction, else the model's), so a correction shows at once and every figure's
  link to the mentions list lists exactly the mentions behind it.
- **Net sentiment** = (positive − negative) / (positive + negative); none without either.
- **Share of voice** = brand volume ÷ (brand volume + competitor volume), where brand (competitor)
  volume is the summed volume of the selected brand (competitor) topics in the range. Product and
  campaign topics are not part of it. None without brand or competitor volume.
- **Top authors**: by reach, the largest follower count among their mentions, then by mentions.
- **Corrections**: corrected mentions in the range; "agreed" when the person chose the model's label.
- **Trending terms**: ``insight_terms`` against the baseline, the equally long period just before.

Days are cut as ``mention_filters`` says (the first whole UTC hour of the local day).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from django.db.models import Count, F, Max, QuerySet
from django.db.models.functions import TruncHour

from sokhan.core.models import Workspace
from sokhan.listening.insight_terms import Terms, term_stats
from sokhan.listening.mention_filters import (
    NO_LABEL,
    SENTIMENTS,
    MentionFilters,
    day_of_hour,
    day_start,
    effective_label,
    mentions_for,
)
from sokhan.listening.models import HourlyCount, Mention, MentionTopic, Topic, TopicKind
from sokhan.listening.query import QuerySyntaxError, parse, terms

Granularity = Literal["day", "hour"]
MAX_DAYS = 366
MAX_HOURLY_DAYS = 14
TOP_AUTHORS = 10
TEXT_SAMPLE = 5000  # newest mentions per period read for terms


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (inclusive) in ``zone``."""

    first: date
    last: date
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return day_start(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def baseline(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone)


def net_sentiment(positive: int, negative: int) -> float | None:
    return (positive - negative) / (positive + negative) if positive + negative else None


def share_of_voice(brand: int, competitors: int) -> float | None:
    return brand / (brand + competitors) if brand + competitors else None


def buckets(period: Period, by: Granularity) -> list[date] | list[datetime]:
    """The x axis: local days, or UTC hours."""
    if by == "day":
        return [period.first + timedelta(days=i) for i in range(period.days)]
    hours = int((period.end - period.start).total_seconds() // 3600)
    return [period.start + timedelta(hours=i) for i in range(hours)]


def bucket_of(hour: datetime, period: Period, by: Granularity) -> date | datetime:
    return day_of_hour(hour, period.zone) if by == "day" else hour.astimezone(UTC)


@dataclass(frozen=True)
class Sentiments:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unlabelled: int = 0

    @classmethod
    def of(cls, counts: Counter[str]) -> Sentiments:
        return cls(counts["positive"], counts["neutral"], counts["negative"], counts[NO_LABEL])

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative + self.unlabelled

    @property
    def net(self) -> float | None:
        return net_sentiment(self.positive, self.negative)


@dataclass(frozen=True)
class TopicRow:
    topic: Topic
    volume: int  # from hourly counts
    series: list[int]  # volume per bucket
    sentiments: Sentiments  # of its mentions
    share: float | None  # of brand + competitor volume, for those kinds


@dataclass(frozen=True)
class Author:
    network: str
    handle: str
    name: str
    reach: int | None
    mentions: int


@dataclass(frozen=True)
class Corrections:
    total: int
    agreed: int
    changes: list[tuple[str, str, int]]  # (model's label, person's label, mentions), most first


@dataclass
class Insight:
    period: Period
    by: Granularity
    topics: list[Topic]
    buckets: list[date] | list[datetime]
    rows: list[TopicRow]
    sentiment_series: list[Sentiments]  # per bucket, distinct mentions
    sentiments: Sentiments
    share_of_voice: float | None
    brand_volume: int
    competitor_volume: int
    authors: list[Author]
    languages: list[tuple[str, int]]
    corrections: Corrections
    terms: Terms
    sampled: bool = False  # terms read only the newest TEXT_SAMPLE mentions of a period
    filters: MentionFilters = field(default_factory=MentionFilters)


def _label(value: str) -> str:
    return value if value in SENTIMENTS else NO_LABEL


def volume_series(topics: Sequence[Topic], period: Period, by: Granularity) -> dict[int, tuple[int, list[int]]]:
    """Per topic: total volume and volume per bucket, from hourly counts."""
    axis = buckets(period, by)
    index = {key: i for i, key in enumerate(axis)}
    out = {topic.pk: (0, [0] * len(axis)) for topic in topics}
    rows = HourlyCount.objects.filter(topic__in=list(topics), hour__gte=period.start, hour__lt=period.end)
    for topic_id, hour, total in rows.values_list("topic_id", "hour", "total"):
        at = index.get(bucket_of(hour, period, by))
        if at is not None:  # an hour not on the UTC hour would be ingest's bug; skip it, don't fail
            out[topic_id][1][at] += total
    return {topic_id: (sum(series), series) for topic_id, (_zero, series) in out.items()}


def sentiment_series(mentions: QuerySet[Mention], period: Period, by: Granularity) -> list[Sentiments]:
    axis = buckets(period, by)
    index = {key: i for i, key in enumerate(axis)}
    counts: list[Counter[str]] = [Counter() for _ in axis]
    grouped = (
        mentions.order_by()
        .annotate(bucket_hour=TruncHour("published_at", tzinfo=UTC), effective=effective_label())
        .values("bucket_hour", "effective")
        .annotate(n=Count("id"))
    )
    for row in grouped:
        counts[index[bucket_of(row["bucket_hour"], period, by)]][_label(row["effective"])] += row["n"]
    return [Sentiments.of(c) for c in counts]


def topic_sentiments(topics: Sequence[Topic], period: Period) -> dict[int, Sentiments]:
    links = MentionTopic.objects.filter(
        topic__in=list(topics), published_at__gte=period.start, published_at__lt=period.end
    )
    grouped = (
        links.order_by()
        .annotate(effective=effective_label("mention__"))
        .values("topic_id", "effective")
        .annotate(n=Count("id"))
    )
    counts: dict[int, Counter[str]] = {topic.pk: Counter() for topic in topics}
    for row in grouped:
        counts[row["topic_id"]][_label(row["effective"])] += row["n"]
    return {topic_id: Sentiments.of(c) for topic_id, c in counts.items()}


def top_authors(mentions: QuerySet[Mention], limit: int = TOP_AUTHORS) -> list[Author]:
    grouped = (
        mentions.exclude(author_handle="")
        .order_by()
        .values("network", "author_handle")
        .annotate(reach=Max("author_followers"), n=Count("id"), name=Max("author_name"))
        .order_by(F("reach").desc(nulls_last=True), "-n", "author_handle")[:limit]
    )
    return [Author(r["network"], r["author_handle"], r["name"] or "", r["reach"], r["n"]) for r in grouped]


def language_split(mentions: QuerySet[Mention]) -> list[tuple[str, int]]:
    grouped = mentions.order_by().values("language").annotate(n=Count("id")).order_by("-n", "language")
    return [(row["language"], row["n"]) for row in grouped]


def corrections_of(mentions: QuerySet[Mention]) -> Corrections:
    corrected = mentions.exclude(corrected_sentiment="").order_by()
    pairs = corrected.values("sentiment", "corrected_sentiment").annotate(n=Count("id")).order_by("-n")
    changes = [(row["sentiment"] or NO_LABEL, row["corrected_sentiment"], row["n"]) for row in pairs]
    agreed = sum(n for model, person, n in changes if model == person)
    return Corrections(total=sum(n for *_labels, n in changes), agreed=agreed, changes=changes)


def query_terms(topics: Iterable[Topic]) -> set[str]:
    """The matching keys of the topics' own words, hashtags and accounts."""
    keys: set[str] = set()
    for topic in topics:
        try:
            keys.update(term.key for term in terms(parse(topic.query)))
        except QuerySyntaxError:  # saved before a grammar change; nothing to leave out
            continue
    return keys


def _texts(mentions: QuerySet[Mention]) -> list[str]:
    return list(mentions.order_by("-published_at", "-id").values_list("text", flat=True)[:TEXT_SAMPLE])


def insight_for(workspace: Workspace, topics: Sequence[Topic], period: Period, by: Granularity = "day") -> Insight:
    """Every figure of the insight page (the module docstring defines them)."""
    filters = MentionFilters(topics=tuple(t.pk for t in topics), since=period.first, until=period.last)
    mentions = mentions_for(workspace, filters, period.zone) if topics else Mention.objects.none()
    before = period.baseline()
    baseline_filters = MentionFilters(topics=filters.topics, since=before.first, until=before.last)
    baseline = mentions_for(workspace, baseline_filters, period.zone) if topics else Mention.objects.none()
    volumes = volume_series(topics, period, by)
    by_topic = topic_sentiments(topics, period)
    brand = sum(volumes[t.pk][0] for t in topics if t.kind == TopicKind.BRAND)
    competitors = sum(volumes[t.pk][0] for t in topics if t.kind == TopicKind.COMPETITOR)
    compared = brand + competitors
    rows = [
        TopicRow(
            topic=t,
            volume=volumes[t.pk][0],
            series=volumes[t.pk][1],
            sentiments=by_topic[t.pk],
            share=volumes[t.pk][0] / compared
            if compared and t.kind in (TopicKind.BRAND, TopicKind.COMPETITOR)
            else None,
        )
        for t in topics
    ]
    series = sentiment_series(mentions, period, by)
    period_texts, baseline_texts = _texts(mentions), _texts(baseline)
    return Insight(
        period=period,
        by=by,
        topics=list(topics),
        buckets=buckets(period, by),
        rows=rows,
        sentiment_series=series,
        sentiments=Sentiments(
            sum(s.positive for s in series),
            sum(s.neutral for s in series),
            sum(s.negative for s in series),
            sum(s.unlabelled for s in series),
        ),
        share_of_voice=share_of_voice(brand, competitors),
        brand_volume=brand,
        competitor_volume=competitors,
        authors=top_authors(mentions),
        languages=language_split(mentions),
        corrections=corrections_of(mentions),
        terms=term_stats(period_texts, baseline_texts, exclude=query_terms(topics)),
        sampled=len(period_texts) >= TEXT_SAMPLE or len(baseline_texts) >= TEXT_SAMPLE,
        filters=filters,
    )
