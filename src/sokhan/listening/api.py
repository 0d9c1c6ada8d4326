"""Listening over the API: topics (list, create, read, change, delete), the query check and tester,
the mentions list (the page's filters, keyset paging), a mention's sentiment correction, and the
insight figures. See docs/listening-insight.md.

Reads need ``listening.view``, changes ``listening.manage``. Every id is looked up inside the
workspace of the URL, so another workspace's topic or mention is a 404. Days are cut in the
workspace's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm
from sokhan.listening import services
from sokhan.listening.forms import InsightForm
from sokhan.listening.insight import Insight, Sentiments, insight_for
from sokhan.listening.insight_terms import TermCount
from sokhan.listening.mention_filters import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    mentions_for,
    page_of,
    parse_filters,
    parse_text_query,
)
from sokhan.listening.mentions_page import Viewer
from sokhan.listening.models import Mention, MentionTopic, Topic
from sokhan.listening.query import QuerySyntaxError, parse

router = Router(tags=["listening"])

BASE = "/workspaces/{ws}/listening"
_LIST = "Comma-separated or repeated."


# ----------------------------------------------------------------------------- schemas


class TopicOut(Schema):
    id: int
    name: str
    kind: str = Field(description="`brand`, `product`, `competitor` or `campaign`.")
    query: str = Field(description="As written.")
    canonical: str = Field(
        description="How the query was understood (docs/listening.md); empty if it no longer parses."
    )
    enabled: bool
    route_to_inbox: bool
    created_at: datetime
    updated_at: datetime


class TopicPage(PageMeta):
    results: list[TopicOut]


class TopicIn(Schema):
    name: str
    kind: str = "brand"
    query: str
    enabled: bool = True
    route_to_inbox: bool = False


class TopicPatch(Schema):
    name: str | None = None
    kind: str | None = None
    query: str | None = None
    enabled: bool | None = None
    route_to_inbox: bool | None = None


class QueryCheckIn(Schema):
    query: str
    texts: list[str] = Field(default_factory=list, description="Texts to test the query on (at most 200).")
    lang: str = Field("", description="The texts' language, for `lang:`.")
    channel: str = Field("", description="The texts' network key, for `channel:`.")


class QueryErrorOut(Schema):
    position: int = Field(description="0-based, in characters.")
    column: int = Field(description="1-based.")
    expected: str
    found: str
    message: str


class LineOut(Schema):
    text: str
    matched: bool


class QueryCheckOut(Schema):
    ok: bool
    canonical: str
    error: QueryErrorOut | None
    results: list[LineOut]


class FiltersQuery(Schema):
    """The mentions filters, as on the page (and in the insight page's links)."""

    topic: list[str] | None = Field(None, description=f"Topic ids. {_LIST}")
    sentiment: list[str] | None = Field(
        None, description=f"`positive`, `neutral`, `negative`, `none`: the label that counts. {_LIST}"
    )
    language: list[str] | None = Field(None, description=f"Language codes, `unknown` for none. {_LIST}")
    network: list[str] | None = Field(None, description=f"Network keys. {_LIST}")
    author: str | None = Field(None, description="An author's handle.")
    since: str | None = Field(None, description="From this day (YYYY-MM-DD or a Jalali 1405/01/01; also `from`).")
    until: str | None = Field(None, description="To this day, inclusive (also `to`).")
    hour: str | None = Field(None, description="One UTC hour, e.g. 2026-03-21T08:00Z.")
    q: str | None = Field(None, description="A listening query the text must match.")
    corrected: str | None = Field(None, description="`yes`, `agreed` (kept the model's label) or `changed`.")


class MentionPageQuery(Schema):
    before: str = Field("", description="The `next` of the previous page.")
    size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"Mentions per page, 1–{MAX_PAGE_SIZE}.")


class MentionOut(Schema):
    id: int
    network: str
    url: str
    author_handle: str
    author_name: str
    author_followers: int | None
    language: str
    text: str
    published_at: datetime
    sentiment: str = Field(description="The model's label.")
    corrected_sentiment: str = Field(description="A person's label, or empty.")
    label: str = Field(description="The label that counts: the correction if there is one.")
    corrected_at: datetime | None
    topics: list[int]


class MentionPage(Schema):
    results: list[MentionOut]
    next: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


class CorrectionIn(Schema):
    label: str = Field(description="`positive`, `neutral` or `negative`.")


class InsightQuery(Schema):
    since: str | None = Field(None, description="First day (default: 29 days before `until`); also `from`.")
    until: str | None = Field(None, description="Last day, inclusive (default: today); also `to`.")
    by: str | None = Field(None, description="`day` or `hour` (at most 14 days); default: hours up to 2 days.")
    topics: list[int] | None = Field(None, description="Topic ids (default: the topics that are on).")


class SentimentsOut(Schema):
    positive: int
    neutral: int
    negative: int
    unlabelled: int
    net_sentiment: float | None = Field(description="(positive − negative) / (positive + negative).")


class TopicFigures(Schema):
    id: int
    name: str
    kind: str
    volume: int = Field(description="Mentions of the topic in the period, from the hourly counts.")
    series: list[int] = Field(description="Volume per bucket.")
    sentiments: SentimentsOut
    share_of_voice: float | None = Field(description="Of brand + competitor volume, for those kinds.")


class AuthorOut(Schema):
    network: str
    handle: str
    name: str
    reach: int | None = Field(description="The largest follower count among their mentions.")
    mentions: int


class TermOut(Schema):
    term: str
    query: str = Field(description="The mentions list's `q` that finds the mentions counted.")
    count: int
    baseline: int
    score: float


class InsightOut(Schema):
    since: date
    until: date
    baseline_since: date
    baseline_until: date
    time_zone: str
    by: str
    buckets: list[str] = Field(description="Days (YYYY-MM-DD) or UTC hours (ISO 8601).")
    mentions: SentimentsOut = Field(description="The distinct mentions of the chosen topics.")
    sentiment_series: list[SentimentsOut]
    share_of_voice: float | None = Field(description="Brand volume ÷ (brand + competitor volume).")
    brand_volume: int
    competitor_volume: int
    topics: list[TopicFigures]
    top_authors: list[AuthorOut]
    languages: dict[str, int] = Field(description="Mentions per language code (empty: unknown).")
    corrections: int
    corrections_agreed: int = Field(description="Corrections that kept the model's label.")
    trending_terms: list[TermOut]
    trending_hashtags: list[TermOut]


# ----------------------------------------------------------------------------- shapes


def _membership(request: HttpRequest) -> Membership:
    return access_of(request).workspace_membership


def _canonical(query: str) -> str:
    try:
        return str(parse(query))
    except QuerySyntaxError:
        return ""


def topic_out(topic: Topic) -> dict[str, Any]:
    return {
        "id": topic.pk,
        "name": topic.name,
        "kind": topic.kind,
        "query": topic.query,
        "canonical": _canonical(topic.query),
        "enabled": topic.enabled,
        "route_to_inbox": topic.route_to_inbox,
        "created_at": topic.created_at,
        "updated_at": topic.updated_at,
    }


def mention_out(mention: Mention, topic_ids: list[int]) -> dict[str, Any]:
    return {
        "id": mention.pk,
        "network": mention.network,
        "url": mention.url,
        "author_handle": mention.author_handle,
        "author_name": mention.author_name,
        "author_followers": mention.author_followers,
        "language": mention.language,
        "text": mention.text,
        "published_at": mention.published_at,
        "sentiment": mention.sentiment,
        "corrected_sentiment": mention.corrected_sentiment,
        "label": mention.label,
        "corrected_at": mention.corrected_at,
        "topics": topic_ids,
    }


def _sentiments(s: Sentiments) -> dict[str, Any]:
    return {
        "positive": s.positive,
        "neutral": s.neutral,
        "negative": s.negative,
        "unlabelled": s.unlabelled,
        "net_sentiment": s.net,
    }


def _term(t: TermCount) -> dict[str, Any]:
    return {"term": t.text, "query": t.query, "count": t.count, "baseline": t.baseline, "score": round(t.score, 4)}


def insight_out(found: Insight, zone_name: str) -> dict[str, Any]:
    before = found.period.baseline()
    return {
        "since": found.period.first,
        "until": found.period.last,
        "baseline_since": before.first,
        "baseline_until": before.last,
        "time_zone": zone_name,
        "by": found.by,
        "buckets": [b.isoformat() for b in found.buckets],
        "mentions": _sentiments(found.sentiments),
        "sentiment_series": [_sentiments(s) for s in found.sentiment_series],
        "share_of_voice": found.share_of_voice,
        "brand_volume": found.brand_volume,
        "competitor_volume": found.competitor_volume,
        "topics": [
            {
                "id": row.topic.pk,
                "name": row.topic.name,
                "kind": row.topic.kind,
                "volume": row.volume,
                "series": row.series,
                "sentiments": _sentiments(row.sentiments),
                "share_of_voice": row.share,
            }
            for row in found.rows
        ],
        "top_authors": [
            {"network": a.network, "handle": a.handle, "name": a.name, "reach": a.reach, "mentions": a.mentions}
            for a in found.authors
        ],
        "languages": dict(found.languages),
        "corrections": found.corrections.total,
        "corrections_agreed": found.corrections.agreed,
        "trending_terms": [_term(t) for t in found.terms.words],
        "trending_hashtags": [_term(t) for t in found.terms.hashtags],
    }


def _zone(workspace: Workspace) -> tuple[tzinfo, str]:
    name = workspace.timezone or "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), "UTC"


# ----------------------------------------------------------------------------- topics


@router.get(f"{BASE}/topics", response={200: TopicPage, **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def topics_list(request: HttpRequest, ws: str, page: Query[PageParams]) -> dict[str, Any]:
    workspace = _membership(request).workspace
    return paginate(request, Topic.objects.filter(workspace=workspace).order_by("name", "pk"), page, topic_out)


@router.post(f"{BASE}/topics", response={201: TopicOut, **ERRORS}, auth=access(Perm.LISTENING_MANAGE, Scope.WRITE))
def topics_create(request: HttpRequest, ws: str, payload: TopicIn) -> Status[dict[str, Any]]:
    """Create a topic. A query with a syntax error is a 400 (code `query_syntax`) whose message
    gives the column and what was expected; `POST …/query-check` gives the details."""
    topic = services.topic_create(actor=_membership(request), ip=client_ip(request), **payload.dict())
    return Status(201, topic_out(topic))


@router.get(f"{BASE}/topics/{{topic_id}}", response={200: TopicOut, **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def topics_get(request: HttpRequest, ws: str, topic_id: int) -> dict[str, Any]:
    return topic_out(services.topic_get(_membership(request).workspace, topic_id))


@router.patch(
    f"{BASE}/topics/{{topic_id}}",
    response={200: TopicOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def topics_update(request: HttpRequest, ws: str, topic_id: int, payload: TopicPatch) -> dict[str, Any]:
    """Change the fields given; `enabled: false` stops matching new mentions."""
    topic = services.topic_update(
        actor=_membership(request), topic_id=topic_id, ip=client_ip(request), **payload.dict(exclude_unset=True)
    )
    return topic_out(topic)


@router.delete(
    f"{BASE}/topics/{{topic_id}}", response={204: None, **ERRORS}, auth=access(Perm.LISTENING_MANAGE, Scope.WRITE)
)
def topics_delete(request: HttpRequest, ws: str, topic_id: int) -> Status[None]:
    """Delete a topic with its matches, hourly counts and alerts; the mentions stay."""
    services.topic_delete(actor=_membership(request), topic_id=topic_id, ip=client_ip(request))
    return Status(204, None)


@router.post(
    f"{BASE}/query-check",
    response={200: QueryCheckOut, **ERRORS},
    auth=access(Perm.LISTENING_VIEW, Scope.READ),
)
def query_check(request: HttpRequest, ws: str, payload: QueryCheckIn) -> dict[str, Any]:
    """Parse a query: its canonical form, or where and why it does not parse; with `texts`, which
    of them it matches (the same matcher as ingest and `sokhan listening match`). Changes nothing."""
    try:
        parsed = services.check_query(payload.query)
    except services.TopicQueryError as error:
        syntax = error.syntax
        found = {"position": syntax.position, "column": syntax.column, "expected": syntax.expected}
        return {
            "ok": False,
            "canonical": "",
            "error": {**found, "found": syntax.found, "message": error.message},
            "results": [],
        }
    lines = services.match_lines(parsed, payload.texts, lang=payload.lang, channel=payload.channel)
    return {
        "ok": True,
        "canonical": str(parsed),
        "error": None,
        "results": [{"text": line.text, "matched": line.matched} for line in lines],
    }


# ----------------------------------------------------------------------------- mentions


@router.get(f"{BASE}/mentions", response={200: MentionPage, **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def mentions_list(
    request: HttpRequest, ws: str, filters: Query[FiltersQuery], page: Query[MentionPageQuery]
) -> dict[str, Any]:
    """Mentions matching the filters, newest first, a page at a time (keyset: ask again with
    `before` = `next`). With `q`, a page may hold fewer rows than `size` and still have a `next`:
    the text search reads at most 5,000 mentions per request."""
    workspace = _membership(request).workspace
    # The raw query string, not ``filters``: it keeps repeated and comma-separated values.
    parsed = parse_filters(request.GET)
    zone, _name = _zone(workspace)
    rows = mentions_for(workspace, parsed, zone)
    items, cursor = page_of(rows, before=page.before, size=page.size, text=parse_text_query(parsed.text))
    links: dict[int, list[int]] = {m.pk: [] for m in items}
    for mention_id, topic_id in MentionTopic.objects.filter(mention_id__in=list(links)).values_list(
        "mention_id", "topic_id"
    ):
        links[mention_id].append(topic_id)
    return {"results": [mention_out(m, sorted(links[m.pk])) for m in items], "next": cursor or None}


@router.post(
    f"{BASE}/mentions/{{mention_id}}/sentiment",
    response={200: MentionOut, **ERRORS},
    auth=access(Perm.LISTENING_MANAGE, Scope.WRITE),
)
def mentions_correct(request: HttpRequest, ws: str, mention_id: int, payload: CorrectionIn) -> dict[str, Any]:
    """Set a person's sentiment label; it becomes the label that counts and is kept for retraining."""
    membership = _membership(request)
    mention = services.mention_correct(
        actor=membership, mention_id=mention_id, label=payload.label, ip=client_ip(request)
    )
    topics = sorted(mention.topics.values_list("pk", flat=True))
    return mention_out(mention, topics)


# ----------------------------------------------------------------------------- insight


@router.get(f"{BASE}/insight", response={200: InsightOut, **ERRORS}, auth=access(Perm.LISTENING_VIEW))
def insight(request: HttpRequest, ws: str, params: Query[InsightQuery]) -> dict[str, Any]:
    """Every insight figure for a period and topics (definitions in docs/listening-insight.md)."""
    workspace = _membership(request).workspace
    zone, zone_name = _zone(workspace)
    data = QueryDict(mutable=True)
    data.update({"from": params.since or request.GET.get("from", ""), "to": params.until or request.GET.get("to", "")})
    data["by"] = params.by or ""
    data.setlist("topics", [str(t) for t in params.topics or []])
    topics = list(Topic.objects.filter(workspace=workspace).order_by("name"))
    form = InsightForm(data, topics=topics, viewer=Viewer("gregorian", "en", zone))
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        field = {"from": "since", "to": "until"}.get(name, name)
        raise DomainError(str(errors[0]) if errors else _("Invalid input."), fields={field: "invalid"})
    choice = form.choice()
    return insight_out(insight_for(workspace, choice.topics, choice.period, choice.by), zone_name)
