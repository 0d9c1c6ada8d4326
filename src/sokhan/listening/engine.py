"""The process-wide matcher: every workspace's enabled topics in one ``Matcher`` keyed by topic id,
kept in step with the ``Topic`` table.

``sync()`` runs once per ingest batch. It reads a one-row signature of the table (count, sum of
ids, newest ``updated_at``); only when that changed, or ``FULL_SYNC_SECONDS`` passed, it reads
``(id, workspace, query, enabled)`` of every topic and calls ``set``/``remove`` for the ones that
differ, so the matcher recompiles only those (and rebuilds its automaton once if a term is new).
Saving a topic bumps ``updated_at`` (``services.py`` does); the periodic full read catches an edit
committed with an older ``updated_at`` than one already seen (two editors racing).

A stored query that no longer parses (a stricter parser) is left out and logged; ``errors`` says why.

``Matcher`` is not thread-safe and ``sokhan serve`` runs web threads next to a worker thread, so
``sync`` and matching hold one lock (``matching()``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Count, Max, Sum

from sokhan.listening.matcher import Matcher
from sokhan.listening.models import Topic
from sokhan.listening.query import And, Field, Node, Not, Or, QuerySyntaxError

logger = logging.getLogger("sokhan.listening")

FULL_SYNC_SECONDS = 60.0


def reads_language(node: Node) -> bool:
    """Whether a query has a ``lang:`` field (its answer may change once the language is known)."""
    match node:
        case Field(name="lang"):
            return True
        case Not(operand):
            return reads_language(operand)
        case And(operands) | Or(operands):
            return any(reads_language(operand) for operand in operands)
        case _:
            return False


class Engine:
    """One ``Matcher[int]`` over all workspaces' enabled topics; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.matcher: Matcher[int] = Matcher()
        # The topics that read ``lang:`` again, alone: a hit here is what makes detecting the
        # language of an item that has none worth its cost before matching.
        self.language_matcher: Matcher[int] = Matcher()
        self._queries: dict[int, str] = {}  # topic id -> query text as compiled
        self._workspace_of: dict[int, int] = {}
        self._by_workspace: dict[int, set[int]] = {}
        self._reads_language: set[int] = set()
        self._signature: tuple[Any, ...] | None = None
        self._full_at = 0.0
        self.errors: dict[int, str] = {}
        self._failed_query: dict[int, str] = {}  # the bad query text, so it is not parsed again
        self.syncs = 0  # full reads, for tests and the benchmark

    @contextmanager
    def matching(self) -> Iterator[Engine]:
        """Synced and locked for one batch of ``match`` calls."""
        with self._lock:
            self.sync()
            yield self

    def sync(self, *, force: bool = False) -> bool:
        """Bring the matcher up to date with the table; True when it read every topic."""
        with self._lock:
            signature = tuple(Topic.objects.aggregate(n=Count("id"), ids=Sum("id"), latest=Max("updated_at")).values())
            stale = time.monotonic() - self._full_at > FULL_SYNC_SECONDS
            if not force and not stale and signature == self._signature:
                return False
            self._load()
            self._signature = signature
            self._full_at = time.monotonic()
            self.syncs += 1
            return True

    def _load(self) -> None:
        wanted: dict[int, tuple[int, str]] = {}
        for pk, workspace_id, query in Topic.objects.filter(enabled=True).values_list("id", "workspace_id", "query"):
            wanted[pk] = (workspace_id, query)
        for pk in [pk for pk in self._queries if pk not in wanted]:
            self._drop(pk)
        for pk in [pk for pk in self.errors if pk not in wanted]:
            del self.errors[pk], self._failed_query[pk]
        for pk, (workspace_id, query) in wanted.items():
            if self._queries.get(pk) == query or self._failed_query.get(pk) == query:
                continue  # unchanged (a bad query is not parsed and logged again either)
            try:
                ast = self.matcher.set(pk, query)
            except QuerySyntaxError as error:
                self._drop(pk)
                self.errors[pk] = str(error)
                self._failed_query[pk] = query
                logger.warning("Listening topic %s is left out: its query does not parse (%s)", pk, error)
                continue
            self.errors.pop(pk, None)
            self._failed_query.pop(pk, None)
            self._queries[pk] = query
            self._workspace_of[pk] = workspace_id
            self._by_workspace.setdefault(workspace_id, set()).add(pk)
            if reads_language(ast):
                self._reads_language.add(pk)
                self.language_matcher.set(pk, ast)
            elif pk in self._reads_language:
                self._reads_language.discard(pk)
                self.language_matcher.remove(pk)

    def _drop(self, pk: int) -> None:
        self.matcher.remove(pk)
        self.language_matcher.remove(pk)
        self._queries.pop(pk, None)
        self._reads_language.discard(pk)
        workspace_id = self._workspace_of.pop(pk, None)
        if workspace_id is not None:
            topics = self._by_workspace.get(workspace_id, set())
            topics.discard(pk)
            if not topics:
                self._by_workspace.pop(workspace_id, None)

    # --- matching (inside ``matching()``) -------------------------------------------------------

    def topics_of(self, workspace_id: int) -> frozenset[int]:
        return frozenset(self._by_workspace.get(workspace_id, ()))

    def match(
        self, workspace_id: int, text: str, *, lang: str, channel: str, detect: Callable[[str], str]
    ) -> tuple[set[int], str]:
        """The workspace's topics ``text`` matches, and the language used. ``detect(text)`` (the
        slow part of ingest) is called here only for an item without a language in which a term
        of a ``lang:`` topic of the workspace occurs; the caller detects the language of the
        items it keeps."""
        topics = self._by_workspace.get(workspace_id)
        if not topics:
            return set(), lang
        # A lang: topic can only be true when one of its terms occurs (every query has anchors).
        if not lang and not self._reads_language.isdisjoint(topics) and self.language_matcher.hits(text):
            lang = detect(text)
        return self.matcher.match(text, lang=lang, channel=channel) & topics, lang


ENGINE = Engine()
