"""Writing a batch of mentions in three statements' worth of round trips, the same SQL on SQLite and
PostgreSQL (both have ``INSERT … ON CONFLICT`` and ``RETURNING``):

1. ``INSERT INTO mention … ON CONFLICT (workspace, dedupe_key) DO NOTHING RETURNING id, dedupe_key``:
   only the rows that are really new come back, so a mention another worker (or an earlier run)
   stored is neither linked nor counted again;
2. ``INSERT INTO mentiontopic`` for the new mentions;
3. ``INSERT INTO hourlycount … ON CONFLICT (topic, hour) DO UPDATE SET total = total + excluded.total,
   …``: counts aggregated per (topic, hour) in Python, then *added* in the database, so concurrent
   batches never overwrite each other's counts (Django's ``bulk_create(update_conflicts=True)``
   can only overwrite).

Rows are written in a fixed order (mentions by dedupe key, counts by topic and hour) so two
PostgreSQL transactions wait for each other instead of deadlocking. The caller wraps the three in
one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model

from sokhan.listening.models import HourlyCount, Mention, MentionTopic

MENTION_COLUMNS = (
    "workspace_id",
    "source_id",
    "dedupe_key",
    "network",
    "remote_id",
    "url",
    "author_handle",
    "author_name",
    "author_followers",
    "language",
    "text",
    "published_at",
    "sentiment",
    "sentiment_score",
    "corrected_sentiment",
    "created_at",
)
# PostgreSQL takes a batch as one array per column (``unnest``): a handful of parameters instead of
# one per value, which the driver would otherwise spend most of the statement's time on.
_PG_TYPES = (
    "bigint", "bigint", "text", "text", "text", "text", "text", "text", "integer", "text", "text",
    "timestamptz", "text", "float8", "text", "timestamptz",
)  # fmt: skip
MAX_ROWS = 500  # rows per INSERT; fewer when the backend allows fewer parameters
LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class MentionRow:
    """A mention to insert, in ``MENTION_COLUMNS`` order after the workspace and source."""

    dedupe_key: str
    network: str
    remote_id: str
    url: str
    author_handle: str
    author_name: str
    author_followers: int | None
    language: str
    text: str
    published_at: datetime
    sentiment: str
    sentiment_score: float | None


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _chunks[T](rows: Sequence[T], columns: int) -> Iterable[Sequence[T]]:
    limit = connection.features.max_query_params or 65535
    size = max(1, min(MAX_ROWS, limit // columns))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _when(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def insert_mentions(
    workspace_id: int, source_id: int | None, rows: Sequence[MentionRow], *, now: datetime
) -> dict[str, int]:
    """Insert the rows that are new; ``{dedupe_key: id}`` of those inserted."""
    columns = ", ".join(connection.ops.quote_name(c) for c in MENTION_COLUMNS)
    conflict = f"{connection.ops.quote_name('workspace_id')}, {connection.ops.quote_name('dedupe_key')}"
    created = _when(now)
    one = "(" + ", ".join(["%s"] * len(MENTION_COLUMNS)) + ")"
    inserted: dict[str, int] = {}
    ordered = sorted(rows, key=lambda row: row.dedupe_key)
    if connection.vendor == "postgresql":
        values: list[list[Any]] = [[workspace_id] * len(ordered), [source_id] * len(ordered)]
        for name in MENTION_COLUMNS[2:-2]:
            values.append([getattr(row, name) for row in ordered])
        values += [[""] * len(ordered), [now] * len(ordered)]
        casts = ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_table(Mention)} ({columns}) SELECT * FROM unnest({casts}) "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO NOTHING RETURNING id, dedupe_key",
                values,
            )
            return {key: pk for pk, key in cursor.fetchall()}
    with connection.cursor() as cursor:
        for chunk in _chunks(ordered, len(MENTION_COLUMNS)):
            params: list[Any] = []
            for r in chunk:
                params += [
                    workspace_id, source_id, r.dedupe_key, r.network, r.remote_id, r.url, r.author_handle,
                    r.author_name, r.author_followers, r.language, r.text, _when(r.published_at), r.sentiment,
                    r.sentiment_score, "", created,
                ]  # fmt: skip
            # Only quoted identifiers and placeholders are formatted in; values go as parameters.
            sql = (
                f"INSERT INTO {_table(Mention)} ({columns}) VALUES {', '.join([one] * len(chunk))} "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO NOTHING RETURNING id, dedupe_key"
            )
            cursor.execute(sql, params)
            inserted.update((key, pk) for pk, key in cursor.fetchall())
    return inserted


def insert_links(links: Sequence[tuple[int, int, datetime]]) -> None:
    """``(mention id, topic id, published_at)`` rows of new mentions."""
    columns = "mention_id, topic_id, published_at"
    if connection.vendor == "postgresql":
        arrays = [list(column) for column in zip(*links, strict=True)] if links else [[], [], []]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_table(MentionTopic)} ({columns}) "  # noqa: S608
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[])",
                arrays,
            )
        return
    with connection.cursor() as cursor:
        for chunk in _chunks(links, 3):
            params: list[Any] = []
            for mention_id, topic_id, published_at in chunk:
                params += [mention_id, topic_id, _when(published_at)]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(f"INSERT INTO {_table(MentionTopic)} ({columns}) VALUES {values}", params)  # noqa: S608


def add_hourly(counts: dict[tuple[int, datetime], list[int]]) -> None:
    """Add ``{(topic id, UTC hour): [total, positive, neutral, negative]}`` to the stored counts."""
    table = _table(HourlyCount)
    rows = sorted(counts.items())
    update = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in ("total", *LABELS))
    if connection.vendor == "postgresql":
        arrays: list[list[Any]] = [[topic for (topic, _), _ in rows], [hour for (_, hour), _ in rows]]
        arrays += [[numbers[index] for _, numbers in rows] for index in range(4)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (topic_id, hour, total, positive, neutral, negative) "  # noqa: S608
                "SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::int[], %s::int[], %s::int[]) "
                f"ON CONFLICT (topic_id, hour) DO UPDATE SET {update}",
                arrays,
            )
        return
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 6):
            params: list[Any] = []
            for (topic_id, hour), numbers in chunk:
                params += [topic_id, _when(hour), *numbers]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
            sql = (
                f"INSERT INTO {table} (topic_id, hour, total, positive, neutral, negative) VALUES {values} "  # noqa: S608
                f"ON CONFLICT (topic_id, hour) DO UPDATE SET {update}"
            )
            cursor.execute(sql, params)
