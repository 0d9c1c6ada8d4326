"""Polling listening sources from where the last poll stopped, on the worker (``tasks.py``).

Like the inbox's polling (``sokhan.inbox.poll``): the network or feed is asked outside any
transaction; the new mentions and the source's advanced cursor are then stored in one transaction,
so a crash in between only means the same page is read again (and deduplicated), never a gap. A
failing source records its error on the row (``last_error``) and is tried again at its next turn;
it never stops the other sources.

Kinds: ``search`` and ``hashtag`` (``network.py``), ``chats`` (``chats.py``), ``feed``
(``sokhan.listening.feeds``). ``import`` sources are written once by ``sokhan.listening.imports``
and never polled. See ``docs/listening-sources.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sokhan.core.errors import DomainError
from sokhan.listening.ingest import IncomingItem, IngestResult, ingest
from sokhan.listening.models import Source, SourceKind
from sokhan.networks.errors import ConnectorError

logger = logging.getLogger("sokhan.listening")

POLLED_KINDS = (SourceKind.SEARCH, SourceKind.HASHTAG, SourceKind.CHATS, SourceKind.FEED)


class SourceError(Exception):
    """The source cannot be polled as it is (no usable channel, an unsupported network…); the
    message is for people and is stored on the source."""


def poll_interval(kind: str) -> timedelta:
    """Chats every minute (the inbox's share of the bot's updates comes through them, see
    ``chats.py``); the others every ``SOKHAN_LISTENING_POLL_SECONDS`` (default five minutes)."""
    if kind == SourceKind.CHATS:
        return timedelta(seconds=60)
    return timedelta(seconds=int(getattr(settings, "SOKHAN_LISTENING_POLL_SECONDS", 300)))


def claim_due(now: datetime) -> list[int]:
    """Ids of enabled sources whose turn has come, each marked as polled now so that the next
    minute's schedule does not enqueue it again while its job waits."""
    due: list[int] = []
    rows = Source.objects.filter(enabled=True, kind__in=POLLED_KINDS).values_list("pk", "kind", "last_polled_at")
    for pk, kind, last in rows:
        # A little early is on time: schedules fire each minute, polls take a moment.
        if last is not None and last > now - poll_interval(kind) + timedelta(seconds=5):
            continue
        claimed = Source.objects.filter(Q(last_polled_at=last) if last else Q(last_polled_at__isnull=True), pk=pk)
        if claimed.update(last_polled_at=now):
            due.append(pk)
    return due


@dataclass
class PollResult:
    result: IngestResult = field(default_factory=IngestResult)
    pages: int = 0
    error: str = ""


def store_page(
    source: Source,
    items: Sequence[IncomingItem],
    cursor: str,
    started_from: str,
    *,
    now: datetime,
    also: Callable[[], object] | None = None,
) -> IngestResult:
    """Ingest one page and move the source's cursor in one transaction. ``also`` runs inside it
    (the inbox's share of a bot's updates)."""
    with transaction.atomic():
        result = ingest(source.workspace, items, source=source, now=now)
        if also is not None:
            also()
        locked = Source.objects.select_for_update().get(pk=source.pk)
        # A poll that finished first may have moved the cursor on; never move it back.
        if locked.cursor == started_from and cursor:
            locked.cursor = cursor
        locked.last_polled_at, locked.last_error = now, ""
        locked.save(update_fields=["cursor", "last_polled_at", "last_error"])
    source.cursor, source.last_polled_at, source.last_error = locked.cursor, now, ""
    return result


def record_error(source: Source, message: str, *, now: datetime) -> None:
    source.last_error, source.last_polled_at = message[:2000], now
    Source.objects.filter(pk=source.pk).update(last_error=source.last_error, last_polled_at=now)


def poll_source(source: Source, *, now: datetime | None = None) -> PollResult:
    """Read the source once (up to a few pages) and store what is new. Never raises for a network,
    feed or configuration problem: it is stored on the source."""
    from sokhan.automation.fetch import FetchError
    from sokhan.listening.feeds import poll_feed
    from sokhan.listening.sources.chats import poll_chats
    from sokhan.listening.sources.network import poll_network

    now = now or timezone.now()
    pollers: dict[str, Callable[[Source, datetime, PollResult], None]] = {
        SourceKind.SEARCH: poll_network,
        SourceKind.HASHTAG: poll_network,
        SourceKind.CHATS: poll_chats,
        SourceKind.FEED: poll_feed,
    }
    outcome = PollResult()
    poller = pollers.get(source.kind)
    if poller is None:
        return outcome
    try:
        poller(source, now, outcome)
    except (ConnectorError, FetchError, SourceError) as exc:
        outcome.error = str(exc)
    except DomainError as exc:  # the channel is disconnected, its network unknown…
        outcome.error = exc.message
    if outcome.error:
        record_error(source, outcome.error, now=now)
        logger.warning("Listening source %s (%s) failed: %s", source.pk, source.kind, outcome.error)
    return outcome
