"""Listening's ingest: normalised items from any source become deduplicated, matched, rated mentions.

Every source (network search and hashtag timelines, a bot's chats, feeds, file imports) hands
``ingest`` :class:`IncomingItem` objects. Per batch of ``BATCH_SIZE``:

1. **normalise** each item (text, language code, URL, times in UTC; a time in the future is taken as
   now) and give it its **dedupe key**: ``<network>:<remote id>``, or the one the source chose (a
   feed item's canonical link, ``url:<host/path?query>``), or the canonical link, or a hash of the
   content; the same post seen by two sources (a search and an import of X's export, two feeds
   carrying one article) is one mention of the workspace;
2. **match** it against the workspace's enabled topics through the one process-wide matcher
   (``engine.ENGINE``: all workspaces' topics, synced with the table once per batch; its results
   are cut to this workspace's topics);
3. **drop what matches no topic**: listening stores what belongs to a topic; a topic added later
   does not see older posts (re-import a file to fill it). Duplicates of stored mentions are
   dropped here too, before the slow steps;
4. **detect the language** where the source gave none (``sokhan.inbox.language``; only for
   mentions kept, or earlier when a ``lang:`` topic needs it) and **rate sentiment** in one call per
   language (``sokhan.sentiment.analyze_many``);
5. **store** in one transaction: the mentions (``INSERT … ON CONFLICT DO NOTHING RETURNING``), their
   topic links, and the hourly counts per topic, UTC hour and sentiment (an upsert that adds), and
   route the ones that need a person to the inbox (``routing.py``).

Because the mentions, their links and the counts commit together and only rows really inserted
are linked and counted, a crash mid-batch loses nothing (the source's cursor did not move, or the
import is run again) and counts nothing twice (the re-run finds the mentions stored).
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from sokhan.core.models import Workspace
from sokhan.inbox.language import detect_language
from sokhan.listening import store
from sokhan.listening.engine import ENGINE, Engine
from sokhan.listening.models import Incident, IncidentStatus, Mention, Source, Topic
from sokhan.listening.routing import Routable, route

BATCH_SIZE = 1000
KEY_MAX = 300  # Mention.dedupe_key
INT_MAX = 2**31 - 1
STAGES = ("normalise_match", "language", "sentiment", "store")
_TRACKING = ("utm_", "fbclid", "gclid", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "yclid")


@dataclass(frozen=True, slots=True)
class IncomingItem:
    """One post, message or article as a source saw it."""

    network: str  # a connector key (``mastodon``, ``telegram``…), ``rss`` for feeds, or as imported
    remote_id: str  # the network's id ("" when there is none)
    text: str
    published_at: datetime
    url: str = ""
    author_handle: str = ""
    author_name: str = ""
    author_followers: int | None = None  # the reach proxy
    language: str = ""  # ISO 639 code; detected when empty
    author_id: str = ""  # the network's account id: the inbox threads DMs and spots our own posts by it
    in_reply_to: str = ""
    root_id: str = ""
    dedupe_key: str = ""  # set by sources with their own identity rule (feeds); else derived


@dataclass
class IngestResult:
    received: int = 0
    duplicates: int = 0  # stored before, or twice in what was given
    unmatched: int = 0  # matched no enabled topic of the workspace: not stored
    stored: int = 0
    links: int = 0  # (mention, topic) pairs stored
    routed: int = 0  # held by the inbox
    mention_ids: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # wall time
    cpu_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def created(self) -> int:
        return self.stored

    def add(self, other: IngestResult) -> None:
        for name in ("received", "duplicates", "unmatched", "stored", "links", "routed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mention_ids += other.mention_ids
        for stage in STAGES:
            self.seconds[stage] += other.seconds[stage]
            self.cpu_seconds[stage] += other.cpu_seconds[stage]


# --- normalising -------------------------------------------------------------------------------


def normal_language(code: str) -> str:
    """The primary subtag in lower case (``fa-IR`` → ``fa``), or "" for none/undetermined."""
    primary = code.strip().lower().replace("_", "-").partition("-")[0]
    return primary if 2 <= len(primary) <= 3 and primary.isalpha() and primary != "und" else ""


def canonical_url(url: str) -> str:
    """``host/path?query`` in a comparable form: scheme and fragment dropped, host lower-cased
    without its default port, tracking parameters (``utm_*``, ``fbclid``…) removed. "" when it
    is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower() + (f":{port}" if port and port not in (80, 443) else "")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING)]
    path = parts.path or "/"
    return host + path + (f"?{urlencode(query)}" if query else "")


def _bounded(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    return key[: KEY_MAX - 65] + "#" + hashlib.sha256(key.encode()).hexdigest()


def dedupe_key(item: IncomingItem) -> str:
    network = item.network.strip().lower()
    if item.dedupe_key:
        return _bounded(item.dedupe_key)
    if item.remote_id.strip():
        return _bounded(f"{network}:{item.remote_id.strip()}")
    link = canonical_url(item.url)
    if link:
        return _bounded(f"url:{link}")
    content = "\x1f".join([network, item.author_handle, item.published_at.isoformat(), item.text])
    return f"text:{hashlib.sha256(content.encode()).hexdigest()}"


def clean_text(text: str) -> str:
    # PostgreSQL text cannot hold NUL; NFC so the same words typed on two keyboards store alike.
    return unicodedata.normalize("NFC", text.replace("\x00", "").replace("\r\n", "\n")).strip()


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: IncomingItem
    key: str
    network: str
    text: str
    published_at: datetime
    language: str
    topics: frozenset[int] = frozenset()
    sentiment: str = ""
    score: float | None = None


def _prepare(item: IncomingItem, now: datetime) -> _Prepared:
    published = item.published_at
    published = published.replace(tzinfo=UTC) if published.tzinfo is None else published.astimezone(UTC)
    return _Prepared(
        item=item,
        key=dedupe_key(item),
        network=item.network.strip().lower()[:32],
        text=clean_text(item.text),
        published_at=min(published, now),
        language=normal_language(item.language),
    )


def _row(p: _Prepared) -> store.MentionRow:
    item = p.item
    url = item.url.strip()
    followers = item.author_followers
    return store.MentionRow(
        dedupe_key=p.key,
        network=p.network,
        remote_id=item.remote_id.strip()[:300],
        url=url[:1000] if canonical_url(url) else "",
        author_handle=item.author_handle.strip()[:200],
        author_name=item.author_name.strip()[:200],
        author_followers=None if followers is None else max(0, min(int(followers), INT_MAX)),
        language=p.language,
        text=p.text,
        published_at=p.published_at,
        sentiment=p.sentiment,
        sentiment_score=p.score,
    )


# --- the pipeline ------------------------------------------------------------------------------


def ingest(
    workspace: Workspace,
    items: Iterable[IncomingItem],
    *,
    source: Source | None = None,
    now: datetime | None = None,
    engine: Engine = ENGINE,
) -> IngestResult:
    """Store the items that are new and match a topic of ``workspace``; one transaction per batch."""
    if source is not None and source.workspace_id != workspace.pk:
        raise ValueError(f"source {source.pk} belongs to another workspace")
    now = now or timezone.now()
    result = IngestResult()
    batch: list[IncomingItem] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            result.add(_batch_with_retry(workspace, batch, source, now, engine))
            batch = []
    if batch:
        result.add(_batch_with_retry(workspace, batch, source, now, engine))
    return result


def _retryable(error: Exception) -> bool:
    # A topic deleted while the batch was matched (a foreign key fails), or a PostgreSQL deadlock.
    return isinstance(error, IntegrityError) or getattr(error.__cause__, "sqlstate", None) == "40P01"


def _batch_with_retry(
    workspace: Workspace, items: Sequence[IncomingItem], source: Source | None, now: datetime, engine: Engine
) -> IngestResult:
    for attempt in range(3):
        try:
            return _batch(workspace, items, source, now, engine)
        except (IntegrityError, OperationalError) as error:
            if attempt == 2 or not _retryable(error):
                raise
            engine.sync(force=True)
    raise AssertionError("unreachable")


class _Clock:
    """Wall and CPU seconds per stage (``IngestResult.seconds`` / ``cpu_seconds``): the benchmark's
    split, which on a shared machine only CPU time shows truly."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.result.seconds[name] += time.perf_counter() - wall
            self.result.cpu_seconds[name] += time.process_time() - cpu

    def detect(self, text: str) -> str:
        with self.stage("language"):
            return normal_language(detect_language(text))


def _batch(
    workspace: Workspace, items: Sequence[IncomingItem], source: Source | None, now: datetime, engine: Engine
) -> IngestResult:
    result = IngestResult(received=len(items))
    clock = _Clock(result)
    with clock.stage("normalise_match"):
        matched = _match(workspace.pk, items, now, engine, clock, result)
        fresh = _unknown(workspace.pk, matched)
    for spent in (result.seconds, result.cpu_seconds):  # detection inside matching is its own stage
        spent["normalise_match"] -= spent["language"]
    result.duplicates += len(matched) - len(fresh)
    fresh = [p if p.language else replace(p, language=clock.detect(p.text)) for p in fresh]
    with clock.stage("sentiment"):
        fresh = _rate(fresh)
    if fresh:
        with clock.stage("store"), transaction.atomic():
            _store(workspace.pk, source, fresh, now, result)
    return result


def _match(
    workspace_id: int, items: Sequence[IncomingItem], now: datetime, engine: Engine, clock: _Clock, result: IngestResult
) -> list[_Prepared]:
    seen: set[str] = set()
    matched: list[_Prepared] = []
    detect: Callable[[str], str] = clock.detect
    with engine.matching():
        for item in items:
            prepared = _prepare(item, now)
            if prepared.key in seen:
                result.duplicates += 1
                continue
            seen.add(prepared.key)
            topics, language = engine.match(
                workspace_id, prepared.text, lang=prepared.language, channel=prepared.network, detect=detect
            )
            if not topics:
                result.unmatched += 1
                continue
            matched.append(replace(prepared, topics=frozenset(topics), language=language))
    return matched


def _unknown(workspace_id: int, prepared: list[_Prepared]) -> list[_Prepared]:
    """Those not stored yet (checked before the slow steps; the insert checks again)."""
    known: set[str] = set()
    keys = [p.key for p in prepared]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        known.update(
            Mention.objects.filter(workspace_id=workspace_id, dedupe_key__in=chunk).values_list("dedupe_key", flat=True)
        )
    return [p for p in prepared if p.key not in known]


def _rate(prepared: list[_Prepared]) -> list[_Prepared]:
    from sokhan.sentiment import analyze_many  # loads the models on first use

    by_language: dict[str, list[int]] = defaultdict(list)
    for index, p in enumerate(prepared):
        by_language[p.language].append(index)
    rated = list(prepared)
    for language, indexes in by_language.items():
        for index, found in zip(indexes, analyze_many([prepared[i].text for i in indexes], language), strict=True):
            rated[index] = replace(prepared[index], sentiment=found.label, score=round(found.score, 4))
    return rated


def _store(
    workspace_id: int, source: Source | None, fresh: list[_Prepared], now: datetime, result: IngestResult
) -> None:
    inserted = store.insert_mentions(workspace_id, source.pk if source else None, [_row(p) for p in fresh], now=now)
    result.duplicates += len(fresh) - len(inserted)  # stored by a concurrent batch meanwhile
    new = [p for p in fresh if p.key in inserted]
    links: list[tuple[int, int, datetime]] = []
    counts: dict[tuple[int, datetime], list[int]] = {}
    for p in new:
        hour = p.published_at.replace(minute=0, second=0, microsecond=0)
        for topic_id in sorted(p.topics):
            links.append((inserted[p.key], topic_id, p.published_at))
            numbers = counts.setdefault((topic_id, hour), [0, 0, 0, 0])
            numbers[0] += 1
            if p.sentiment in store.LABELS:
                numbers[1 + store.LABELS.index(p.sentiment)] += 1
    store.insert_links(links)
    store.add_hourly(counts)
    result.stored += len(new)
    result.links += len(links)
    result.mention_ids += [inserted[p.key] for p in new]
    result.routed += _route(workspace_id, source, new, now)


def _route(workspace_id: int, source: Source | None, new: list[_Prepared], now: datetime) -> int:
    channel = source.channel if source is not None and source.channel_id else None
    if channel is None or not new:
        return 0
    incident = Incident.objects.filter(workspace_id=workspace_id, status=IncidentStatus.OPEN).exists()
    topics = {topic for p in new for topic in p.topics}
    routed_topics = set(
        Topic.objects.filter(workspace_id=workspace_id, pk__in=topics, route_to_inbox=True).values_list("pk", flat=True)
    )
    chosen = [p for p in new if p.network == channel.network and (incident or not routed_topics.isdisjoint(p.topics))]
    if not chosen:
        return 0
    mentions = [
        Routable(
            remote_id=p.item.remote_id.strip(),
            text=p.text,
            author_id=p.item.author_id,
            author_handle=p.item.author_handle,
            author_name=p.item.author_name,
            author_followers=p.item.author_followers,
            published_at=p.published_at,
            url=p.item.url,
            language=p.language,
            in_reply_to=p.item.in_reply_to,
            root_id=p.item.root_id,
            urgent=incident,
        )
        for p in chosen
    ]
    return route(channel, mentions, now=now)
