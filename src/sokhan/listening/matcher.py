"""Many listening queries matched against many posts with one Aho-Corasick automaton.

``Matcher`` holds compiled queries under opaque ids (a topic id, say). For each post it folds the
text once (``sokhan.core.text.fold_with_joins``), runs the one automaton over it once, keeps the
hits that stand as whole words (``is_whole_word`` for words and phrases, the hashtag and account
rules below), and evaluates only the queries that had a hit on one of their *anchors*: terms one of
which must occur for the query to be true (the parser refuses a query that could be true without
any term, so every query has anchors). A query that is an OR of plain terms (most topics) matches
on an anchor hit without evaluating anything.

Hashtags and accounts (also in ``docs/listening.md``):

* ``#tag`` matches the hashtag ``#tag`` exactly (case-insensitive, folded like words): not
  ``#tags``, not ``#tag_line``, not ``a#tag``; a ZWNJ inside a hashtag is part of it, so ``#کتاب``
  does not match ``#کتاب‌خوانی``.
* ``@name`` matches that account: the ``@`` must not follow a letter, digit or one of ``@!#$%&*.``
  (so not ``info@name.com``), and the handle must end there (not ``@name.bsky.social``,
  ``@name@mastodon.social`` or ``@name_2``).
* A plain word is a word wherever it stands, including as the whole text of a hashtag or handle:
  ``apple`` matches ``#apple`` and ``@apple`` (``#`` and ``@`` are not word characters), but not
  ``#applepie``. Write ``#apple`` to find only the hashtag.

"Recompiled incrementally": ``set``/``remove`` compile only the query that changed and keep a
reference count per distinct term; the automaton (or the C engine's trie) is rebuilt from the term
table lazily, once, at the next ``match`` after one or more changes that added a term (removing a
term only leaves an entry that no query reads until the next rebuild). pyahocorasick cannot add
words to a finished automaton, and a rebuild is cheap (1–2 ms for 1,000 topics with 3,300 terms in
C, 5–20 ms with pyahocorasick, measured by ``bench/listening_match.py``), so a batch of changes
costs one rebuild.

Speed: when the C extension ``sokhan.listening._scan`` is importable (it is built by ``pip install``),
a ``Matcher`` hands the per-post work to it: folding, finding the terms, the boundary rules and the
evaluation of the queries, with the same results (``tests/listening/test_scan_equivalence.py``);
the Python side keeps the bookkeeping (term ids and reference counts, anchors, compiling queries)
and mirrors it into the engine (``_scan.Engine.set_terms`` / ``set_query`` / ``remove_query``). The
Python code below is the reference and the fallback: it is used when the extension cannot be
imported, or for every new ``Matcher`` while the environment variable
``SOKHAN_LISTENING_PURE_PYTHON`` is set to a non-empty value. ``Matcher().engine`` says which one a
matcher uses. For bulk work, ``match_lines`` matches a whole UTF-8 buffer in one call.

Not thread-safe: use one ``Matcher`` per thread (or a lock around ``set``/``remove``/``match``).
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Buffer, Callable, Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import batched
from typing import Any, Literal

import ahocorasick

from sokhan.core.text import fold_with_joins, is_whole_word, is_word_char
from sokhan.listening.query import And, Field, Node, Not, Or, Term, parse

try:
    from sokhan.listening import _scan
except ImportError:  # pragma: no cover - only where the extension could not be built
    _scan = None  # type: ignore[assignment]

PURE_PYTHON_ENV = "SOKHAN_LISTENING_PURE_PYTHON"

# How a hit's edges are checked; words and phrases share the whole-word rule.
Boundary = Literal["text", "hashtag", "account"]
_BOUNDARY: dict[str, Boundary] = {"word": "text", "phrase": "text", "hashtag": "hashtag", "account": "account"}
_NOT_BEFORE_ACCOUNT = frozenset("@!#$%&*.")
_HANDLE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_KIND: dict[Boundary, int] = {"text": 0, "hashtag": 1, "account": 2}  # _scan's term kinds
_BATCH = 256  # match_many hands the C engine this many items at a time

# hits (term ids), item language, item channel
Evaluator = Callable[[set[int], str, str], bool]
# A query for the C engine: a term id, or (1, lang) / (2, channel) / (3, NOT operand) /
# (4, AND operands) / (5, OR operands).
Program = int | tuple[int, Any]


@dataclass(slots=True)
class _TermEntry:
    term_id: int
    boundary: Boundary
    key: str
    references: int = 0


@dataclass(frozen=True, slots=True)
class _Compiled:
    ast: Node
    term_keys: tuple[tuple[Boundary, str], ...]  # every distinct term the query reads
    anchors: frozenset[int]  # : terms one of which must hit for the query to be true
    evaluate: Evaluator | None  # None: an OR of positive terms, true on any positive hit
    program: Program | None  # the same for the C engine (None when evaluate is None)


@dataclass(frozen=True, slots=True)
class Item:
    """A post to match: its text and, for ``lang:``/``channel:``, its metadata."""

    text: str
    lang: str = ""
    channel: str = ""


def _hashtag_ends(text: str, start: int, end: int) -> bool:
    # Like extract.py: "#" after a non-word character other than "&"; the tag runs to the first
    # non-word character (a ZWNJ inside it was folded away, so joins do not end it).
    if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] == "&"):
        return False
    return end == len(text) or not is_word_char(text[end])


def _account_ends(text: str, start: int, end: int) -> bool:
    if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] in _NOT_BEFORE_ACCOUNT):
        return False
    if end == len(text):
        return True
    after = text[end]
    if is_word_char(after) or after == "@":
        return False
    # "@name.bsky.social" and "@name-x" are other handles; "@name." ends a sentence.
    return not (after in ".-" and end + 1 < len(text) and text[end + 1] in _HANDLE_CHARS)


def _normal_lang(lang: str) -> str:
    return lang.strip().lower().replace("_", "-")


def c_engine_available() -> bool:
    """Whether the C extension was imported (``Matcher().engine`` also honours the env variable)."""
    return _scan is not None


def _use_c_engine() -> bool:
    return _scan is not None and not os.environ.get(PURE_PYTHON_ENV)


def _program(node: Node, seen: dict[tuple[Boundary, str], int]) -> Program:
    match node:
        case Term():
            return seen[(_BOUNDARY[node.kind], node.key)]
        case Field(name="lang", value=value):
            return (1, value)
        case Field(value=value):
            return (2, value)
        case Not(operand):
            return (3, _program(operand, seen))
        case And(operands):
            return (4, tuple(_program(operand, seen) for operand in operands))
        case Or(operands):
            return (5, tuple(_program(operand, seen) for operand in operands))
        case _:  # pragma: no cover - Node is closed
            raise TypeError(node)


class Matcher[K: Hashable]:
    """Queries under ids of type ``K``; ``match`` returns the ids of those a post matches."""

    def __init__(self, *, channels: Collection[str] | None = None) -> None:
        self._channels = channels  # valid channel: values for queries given as text
        self._queries: dict[K, _Compiled] = {}
        self._terms: dict[tuple[Boundary, str], _TermEntry] = {}
        self._next_term_id = 0
        self._key_length: dict[int, int] = {}
        self._by_anchor: dict[int, list[K]] = {}
        self._automaton: Any = None
        self._engine = _scan.Engine(fold_with_joins) if _use_c_engine() else None
        self._dirty = False
        self._changes = 0  # counts set/remove, so match_many notices changes made while it runs
        self.rebuilds = 0
        self.last_rebuild_seconds = 0.0

    @property
    def engine(self) -> Literal["c", "python"]:
        """Which implementation matches: the C extension or the pure-Python reference."""
        return "c" if self._engine is not None else "python"

    # --- changing queries ----------------------------------------------------------------------

    def set(self, query_id: K, query: str | Node) -> Node:
        """Add or replace the query ``query_id``; returns its AST. Raises ``QuerySyntaxError``
        for a bad query text, ``ValueError`` for an AST that needs no term (and then changes nothing)."""
        ast = parse(query, channels=self._channels) if isinstance(query, str) else query
        compiled = self._compile(ast)
        if self._engine is not None:
            try:
                self._engine.set_query(query_id, tuple(compiled.anchors), compiled.program)
            except BaseException:
                self._release(compiled.term_keys)
                raise
        self._changes += 1
        old = self._queries.get(query_id)
        self._queries[query_id] = compiled
        if old is not None:
            self._unindex(query_id, old)
        for term_id in compiled.anchors:
            self._by_anchor.setdefault(term_id, []).append(query_id)
        return ast

    def remove(self, query_id: K) -> bool:
        """Forget the query ``query_id``; False when there was none."""
        old = self._queries.pop(query_id, None)
        if old is None:
            return False
        if self._engine is not None:
            self._engine.remove_query(query_id)
        self._changes += 1
        self._unindex(query_id, old)
        return True

    def __contains__(self, query_id: object) -> bool:
        return query_id in self._queries

    def __len__(self) -> int:
        return len(self._queries)

    def query(self, query_id: K) -> Node:
        return self._queries[query_id].ast

    @property
    def term_count(self) -> int:
        return len(self._terms)

    def _unindex(self, query_id: K, compiled: _Compiled) -> None:
        for term_id in compiled.anchors:
            users = self._by_anchor[term_id]
            users.remove(query_id)
            if not users:
                del self._by_anchor[term_id]
        self._release(compiled.term_keys)

    def _release(self, keys: Iterable[tuple[Boundary, str]]) -> None:
        for key in keys:
            entry = self._terms[key]
            entry.references -= 1
            if entry.references == 0:
                # The automaton may still report the key until the next rebuild; no query reads
                # that id any more, so it costs a dictionary lookup and nothing else.
                del self._terms[key]
                del self._key_length[entry.term_id]

    def _term_id(self, term: Term, seen: dict[tuple[Boundary, str], int]) -> int:
        key = (_BOUNDARY[term.kind], term.key)
        if key in seen:
            return seen[key]
        entry = self._terms.get(key)
        if entry is None:
            entry = self._terms[key] = _TermEntry(self._next_term_id, key[0], key[1])
            self._key_length[entry.term_id] = len(key[1])
            self._next_term_id += 1
            self._dirty = True
        entry.references += 1
        seen[key] = entry.term_id
        return entry.term_id

    def _compile(self, ast: Node) -> _Compiled:
        seen: dict[tuple[Boundary, str], int] = {}
        evaluate = self._evaluator(ast, seen)
        anchors = self._anchors(ast, seen)
        if anchors is None:  # only for an AST built by hand, not by parse()
            self._release(seen)  # give back the references the evaluator took
            raise ValueError(f"“{ast}” can match without any of its terms; see query.parse")
        anchor_ids = frozenset(anchors)
        simple = isinstance(ast, Term) or (isinstance(ast, Or) and all(isinstance(op, Term) for op in ast.operands))
        if simple:
            return _Compiled(ast, tuple(seen), anchor_ids, None, None)
        return _Compiled(ast, tuple(seen), anchor_ids, evaluate, _program(ast, seen))

    def _anchors(self, node: Node, seen: dict[tuple[Boundary, str], int]) -> list[int] | None:
        """Terms one of which must hit for ``node`` to be true, or None when it can be true
        without any (a NOT, a field). The parser guarantees a whole query has anchors.

        An OR needs every alternative anchored and takes them all; an AND needs only one
        anchored operand, and takes the one with the fewest, longest terms: in ``(Shigi OR
        شیگی) (price OR قیمت)`` a post that says «قیمت» is not even looked at unless it also
        names the brand, which keeps common words from waking hundreds of queries per post.
        """
        match node:
            case Term():
                return [seen[(_BOUNDARY[node.kind], node.key)]]
            case Field() | Not():
                return None
            case Or(operands):
                found: list[int] = []
                for operand in operands:
                    anchors = self._anchors(operand, seen)
                    if anchors is None:
                        return None
                    found.extend(anchors)
                return found
            case And(operands):
                choices = [anchors for operand in operands if (anchors := self._anchors(operand, seen)) is not None]
                if not choices:
                    return None
                return min(choices, key=lambda ids: (len(set(ids)), -min(self._key_length[i] for i in ids)))

    def _evaluator(self, node: Node, seen: dict[tuple[Boundary, str], int]) -> Evaluator:
        match node:
            case Term():
                term_id = self._term_id(node, seen)
                return lambda hits, lang, channel: term_id in hits
            case Field(name="lang", value=value):
                prefix = value + "-"
                return lambda hits, lang, channel: lang == value or lang.startswith(prefix)
            case Field(value=value):
                return lambda hits, lang, channel: channel == value
            case Not(operand):
                inner = self._evaluator(operand, seen)
                return lambda hits, lang, channel: not inner(hits, lang, channel)
            case And(operands) | Or(operands):
                return self._combination(isinstance(node, And), operands, seen)
            case _:  # pragma: no cover - Node is closed
                raise TypeError(node)

    def _combination(
        self, is_and: bool, operands: tuple[Node, ...], seen: dict[tuple[Boundary, str], int]
    ) -> Evaluator:
        # Plain terms are tested together with one set operation; only the rest are called.
        ids = frozenset(self._term_id(operand, seen) for operand in operands if isinstance(operand, Term))
        rest = tuple(self._evaluator(operand, seen) for operand in operands if not isinstance(operand, Term))
        if is_and:
            if not rest:
                return lambda hits, lang, channel: ids <= hits
            if len(rest) == 1:
                only = rest[0]
                return lambda hits, lang, channel: ids <= hits and only(hits, lang, channel)
            return lambda hits, lang, channel: ids <= hits and all(part(hits, lang, channel) for part in rest)
        if not rest:
            return lambda hits, lang, channel: not ids.isdisjoint(hits)
        if len(rest) == 1:
            only = rest[0]
            return lambda hits, lang, channel: not ids.isdisjoint(hits) or only(hits, lang, channel)
        return lambda hits, lang, channel: not ids.isdisjoint(hits) or any(part(hits, lang, channel) for part in rest)

    # --- the automaton -------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Build the automaton from the current terms now (``match`` does it when needed)."""
        started = time.perf_counter()
        if self._engine is not None:
            self._engine.set_terms(
                [(entry.key, entry.term_id, _KIND[entry.boundary]) for entry in self._terms.values()]
            )
            self._dirty = False
            self.rebuilds += 1
            self.last_rebuild_seconds = time.perf_counter() - started
            return
        automaton = ahocorasick.Automaton()
        by_key: dict[str, list[tuple[int, Boundary]]] = {}
        for entry in self._terms.values():
            if entry.key:  # an empty key (only from a hand-built AST) never hits
                by_key.setdefault(entry.key, []).append((entry.term_id, entry.boundary))
        for key, entries in by_key.items():
            # The value: the key's length (to find where a hit starts) and who wants it.
            automaton.add_word(key, (len(key), tuple(entries)))
        if by_key:
            automaton.make_automaton()
            self._automaton = automaton
        else:
            self._automaton = None
        self._dirty = False
        self.rebuilds += 1
        self.last_rebuild_seconds = time.perf_counter() - started

    def hits(self, text: str) -> builtins.set[int]:
        """Ids of the terms that occur in ``text`` as whole words (hashtags, accounts: exactly)."""
        if self._dirty:
            self.rebuild()
        if self._engine is not None:
            return self._engine.hits(text)
        found: builtins.set[int] = builtins.set()
        if self._automaton is None:
            return found
        folded, joins = fold_with_joins(text)
        for last, (length, entries) in self._automaton.iter(folded):
            end = last + 1
            start = end - length
            for term_id, boundary in entries:
                if term_id in found:
                    continue
                if boundary == "text":
                    ok = is_whole_word(folded, start, end, joined_at_start=start in joins, joined_at_end=end in joins)
                elif boundary == "hashtag":
                    ok = _hashtag_ends(folded, start, end)
                else:
                    ok = _account_ends(folded, start, end)
                if ok:
                    found.add(term_id)
        return found

    def match(self, text: str, *, lang: str = "", channel: str = "") -> builtins.set[K]:
        """Ids of the queries ``text`` matches. ``lang`` and ``channel`` are the item's language
        code (``fa``, ``fa-IR``; empty when unknown) and network key, for ``lang:``/``channel:``."""
        if self._engine is not None:
            if self._dirty:
                self.rebuild()
            return self._engine.match(text, lang, channel)
        hits = self.hits(text)
        matched: builtins.set[K] = builtins.set()
        if not hits:
            return matched
        lang = _normal_lang(lang) if lang else ""
        channel = channel.strip().lower() if channel else ""
        queries = self._queries
        by_term = self._by_anchor
        evaluated: builtins.set[K] = builtins.set()
        for term_id in hits:
            for query_id in by_term.get(term_id, ()):
                if query_id in evaluated:
                    continue
                evaluated.add(query_id)
                evaluate = queries[query_id].evaluate
                if evaluate is None or evaluate(hits, lang, channel):
                    matched.add(query_id)
        return matched

    def match_many(self, items: Iterable[Item | str]) -> Iterator[builtins.set[K]]:
        """``match`` for each item (a plain string is a text without metadata), in order.

        With the C engine, items are read (and matched) up to 256 at a time."""
        if self._engine is None:
            for item in items:
                yield self._match_item(item)
            return
        for chunk in batched(items, _BATCH):
            if self._dirty:
                self.rebuild()
            changes = self._changes
            results: list[builtins.set[K]] = self._engine.match_items(chunk)
            for index, result in enumerate(results):
                if self._changes != changes:  # the queries changed while we were yielding
                    for item in chunk[index:]:
                        yield self._match_item(item)
                    break
                yield result

    def _match_item(self, item: Item | str) -> builtins.set[K]:
        if isinstance(item, str):
            return self.match(item)
        return self.match(item.text, lang=item.lang, channel=item.channel)

    def match_lines(
        self,
        data: Buffer,
        *,
        lang: str = "",
        channel: str = "",
        langs: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
        threads: int = 1,
    ) -> list[tuple[int, frozenset[K]]]:
        """Match every line of a UTF-8 buffer (a file's bytes) in one call; return
        ``[(line number, frozenset of ids), ...]`` for the lines that match any query, in order.

        Lines end with ``b"\\n"`` (a last line without one counts; a ``\\r`` before it is
        whitespace). Line ``i``'s language and channel are ``langs[i]`` / ``channels[i]`` when those
        are given (read only when a ``lang:`` / ``channel:`` query has to be evaluated for that line,
        so they can be lazy), else ``lang`` / ``channel``. Raises ``UnicodeDecodeError`` for a line
        that is not UTF-8. With the C engine and ``threads`` > 1, folding and scanning run on that
        many threads without the GIL (the queries are still evaluated on this thread, in order); the
        pure-Python engine ignores ``threads``."""
        if self._dirty:
            self.rebuild()
        if self._engine is not None:
            return self._engine.match_lines(data, lang, channel, langs, channels, threads)
        lines = bytes(data).split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        found: list[tuple[int, frozenset[K]]] = []
        for number, line in enumerate(lines):
            text = line.decode("utf-8")
            line_lang = langs[number] if langs is not None else lang
            line_channel = channels[number] if channels is not None else channel
            if matched := self.match(text, lang=line_lang, channel=line_channel):
                found.append((number, frozenset(matched)))
        return found


def matches(query: str | Node, text: str, *, lang: str = "", channel: str = "") -> bool:
    """Whether ``text`` matches one query: a ``Matcher`` with that query alone."""
    matcher: Matcher[int] = Matcher()
    matcher.set(0, query)
    return bool(matcher.match(text, lang=lang, channel=channel))
