"""The listening query language: tokenizer, recursive-descent parser and an immutable AST.

Grammar (``docs/listening.md`` has the full reference with examples)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*        adjacent terms are joined by an implicit AND
    unary   := ("NOT" | "-") unary | primary
    primary := "(" or ")" | word | "phrase" | «phrase» | “phrase” | #hashtag | @account | field:value

Precedence is NOT > AND (explicit or implicit) > OR, so ``a b OR c`` is ``(a AND b) OR c``.
Operators are the upper-case English words; ``and``, ``or``, ``not`` and Persian «و», «یا» are words.
``-`` right before a term (no space) excludes it, like ``NOT``. Fields are ``lang:`` (a language
code) and ``channel:`` (a network key); any other ``name:`` is an error, so a text with a colon in
it is written in quotes ("10:30" is a word, ``"https://x.com"`` needs the quotes).

Every term keeps both the text as written (for ``str()``, the canonical form shown back to the
user) and its matching key (``sokhan.core.text.fold_for_match``), and equality compares the keys,
so ``parse("كتاب") == parse("کتاب")``. Errors are ``QuerySyntaxError`` with a 0-based ``position``,
a 1-based ``column``, what was ``expected`` and what was ``found``.

A query must contain something that has to appear: a tree that could be true for a post in which
none of its words, phrases, hashtags or accounts occur (``NOT apple``, ``lang:fa``,
``apple OR -pie``) is rejected. That keeps "every post except …" queries out of a listening feed
and lets the matcher evaluate only queries that had a hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from sokhan.core.text import ZWNJ, fold_for_match, is_word_char

TermKind = Literal["word", "phrase", "hashtag", "account"]
FIELDS = ("channel", "lang")
MAX_QUERY_LENGTH = 4000
MAX_DEPTH = 50

# Opening quote → closing quote. Phones and word processors turn " into “ ”; Persian uses « ».
_QUOTES = {'"': '"', "«": "»", "“": "”"}
_LANG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_HANDLE = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?(?:@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?\.[A-Za-z]{2,})?"
)
_SOMETHING_THAT_MUST_APPEAR = 'a word, "phrase", #hashtag or @account'


class QuerySyntaxError(ValueError):
    """A query that cannot be used. ``str()`` is ``Column N: …``, ready to show."""

    def __init__(self, position: int, expected: str, found: str, detail: str = "") -> None:
        self.position = position  # 0-based offset in the query, in code points
        self.column = position + 1
        self.expected = expected
        self.found = found
        self.detail = detail or f"expected {expected}, found {found}"
        super().__init__(f"Column {self.column}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Term:
    kind: TermKind
    key: str  # the matching form: fold_for_match of the text, sigil included for #/@
    text: str = field(compare=False)  # as written, without quotes
    start: int = field(default=0, compare=False)

    def __str__(self) -> str:
        if self.kind != "phrase":
            return self.text
        # A phrase cannot contain its own closing quote; use the first style that fits.
        opening = next((quote for quote, closing in _QUOTES.items() if closing not in self.text), '"')
        return f"{opening}{self.text}{_QUOTES[opening]}"


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # one of FIELDS
    value: str  # lower case
    start: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    start: int = field(default=0, compare=False)

    def __str__(self) -> str:
        inner = str(self.operand)
        return f"NOT ({inner})" if isinstance(self.operand, And | Or) else f"NOT {inner}"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]  # two or more, none of them an And
    start: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return " AND ".join(f"({operand})" if isinstance(operand, Or) else str(operand) for operand in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]  # two or more, none of them an Or
    start: int = field(default=0, compare=False)

    def __str__(self) -> str:
        # AND binds tighter anyway; the parentheses show the reader how it was understood.
        return " OR ".join(f"({operand})" if isinstance(operand, And) else str(operand) for operand in self.operands)


Node = Term | Field | Not | And | Or


def terms(node: Node) -> list[Term]:
    """Every term of the tree, left to right (repeats included)."""
    match node:
        case Term():
            return [node]
        case Field():
            return []
        case Not(operand):
            return terms(operand)
        case And(operands) | Or(operands):
            return [term for operand in operands for term in terms(operand)]


@cache
def _registered_channels() -> frozenset[str]:
    from sokhan.networks.registry import all_connectors  # imported late: it loads every connector

    return frozenset(connector.key for connector in all_connectors())


# --- tokenizer ---------------------------------------------------------------------------------

TokenKind = Literal["(", ")", "AND", "OR", "NOT", "-", "term", "field", "end"]
_OPERATOR_TOKENS: dict[str, TokenKind] = {"AND": "AND", "OR": "OR", "NOT": "NOT"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    start: int
    end: int
    node: Term | Field | None = None

    def describe(self, query: str) -> str:
        if self.kind == "end":
            return "end of query"
        if self.kind in ("AND", "OR", "NOT"):
            return self.kind
        return f"“{query[self.start : self.end]}”"


def _is_delimiter(query: str, index: int) -> bool:
    return index >= len(query) or query[index].isspace() or query[index] in "()" or query[index] in _QUOTES


class _Lexer:
    def __init__(self, query: str, channels: Collection[str] | None) -> None:
        self.query = query
        self.channels = channels

    def tokens(self) -> list[_Token]:
        query, index, found = self.query, 0, []
        while True:
            while index < len(query) and query[index].isspace():
                index += 1
            if index >= len(query):
                found.append(_Token("end", index, index))
                return found
            char = query[index]
            if char in "()":
                found.append(_Token("(" if char == "(" else ")", index, index + 1))
                index += 1
            elif char in _QUOTES:
                token = self._phrase(index)
                found.append(token)
                index = token.end
            elif char == "-" and (index + 1 >= len(query) or query[index + 1].isspace() or query[index + 1] == ")"):
                found_after = "end of query" if index + 1 >= len(query) else f"“{query[index + 1]}”"
                raise QuerySyntaxError(index + 1, 'a term right after "-" (no space)', found_after)
            elif char == "-" and query[index + 1] != "-":
                found.append(_Token("-", index, index + 1))
                index += 1
            elif char == "#":
                token = self._hashtag(index)
                found.append(token)
                index = token.end
            elif char == "@":
                token = self._account(index)
                found.append(token)
                index = token.end
            else:
                token = self._word(index)
                found.append(token)
                index = token.end

    def _phrase(self, start: int) -> _Token:
        closing = _QUOTES[self.query[start]]
        end = self.query.find(closing, start + 1)
        if end == -1:
            raise QuerySyntaxError(
                len(self.query),
                f"{closing} to close the phrase opened at column {start + 1}",
                "end of query",
            )
        text = self.query[start + 1 : end]
        key = fold_for_match(text)
        if not key:
            raise QuerySyntaxError(
                start, "a phrase with some text in it", f"an empty phrase {self.query[start : end + 1]}"
            )
        return _Token("term", start, end + 1, Term("phrase", key, " ".join(text.split()), start))

    def _hashtag(self, start: int) -> _Token:
        query, end = self.query, start + 1
        while end < len(query) and (
            is_word_char(query[end]) or (query[end] == ZWNJ and end + 1 < len(query) and is_word_char(query[end + 1]))
        ):
            end += 1
        if end == start + 1:
            found = "end of query" if end >= len(query) else f"“{query[end]}”"
            raise QuerySyntaxError(end, "the hashtag's text after #", found)
        if not _is_delimiter(query, end):
            raise QuerySyntaxError(
                end,
                "the end of the hashtag",
                f"“{query[end]}”",
                f"a hashtag is made of letters, digits and _; found “{query[end]}” in {query[start : end + 1]}…",
            )
        text = query[start:end]
        return _Token("term", start, end, Term("hashtag", "#" + fold_for_match(text[1:]), text, start))

    def _account(self, start: int) -> _Token:
        query = self.query
        match = _HANDLE.match(query, start + 1)
        if match is None:
            found = "end of query" if start + 1 >= len(query) else f"“{query[start + 1]}”"
            raise QuerySyntaxError(start + 1, "an account name after @ (Latin letters, digits, _ . -)", found)
        end = match.end()
        if not _is_delimiter(query, end):
            raise QuerySyntaxError(
                end,
                "the end of the account name",
                f"“{query[end]}”",
                f"an account name is made of Latin letters, digits, _, . and -; found “{query[end]}” in "
                f"{query[start : end + 1]}…",
            )
        text = query[start:end]
        return _Token("term", start, end, Term("account", "@" + text[1:].lower(), text, start))

    def _word(self, start: int) -> _Token:
        query, end = self.query, start
        while not _is_delimiter(query, end):
            end += 1
        text = query[start:end]
        operator = _OPERATOR_TOKENS.get(text)
        if operator is not None:
            return _Token(operator, start, end)
        name, colon, value = text.partition(":")
        if colon and name.isascii() and name.isalpha():
            return _Token("field", start, end, self._field(start, name, value))
        key = fold_for_match(text)
        if not key:
            raise QuerySyntaxError(
                start, "a word with letters or digits", f"“{text}”", f"“{text}” has no letters or digits to match"
            )
        return _Token("term", start, end, Term("word", key, text, start))

    def _field(self, start: int, name: str, value: str) -> Field:
        lowered = name.lower()
        if lowered not in FIELDS:
            raise QuerySyntaxError(
                start,
                "a field (" + " or ".join(f"{known}:" for known in FIELDS) + ")",
                f"“{name}:”",
                f"unknown field “{name}:”; the fields are {' and '.join(f'{known}:' for known in FIELDS)} "
                f'(to search for the text, put it in quotes: "{name}:{value}")',
            )
        value_start = start + len(name) + 1
        lowered_value = value.lower().replace("_", "-")
        if lowered == "lang":
            if not _LANG.fullmatch(lowered_value):
                found = f"“{value}”" if value else "nothing"
                raise QuerySyntaxError(value_start, "a language code such as fa or en after lang:", found)
        else:
            channels = _registered_channels() if self.channels is None else self.channels
            if lowered_value not in channels:
                found = f"“{value}”" if value else "nothing"
                raise QuerySyntaxError(
                    value_start,
                    "a channel after channel:",
                    found,
                    f"expected a channel after channel: ({', '.join(sorted(channels))}), found {found}",
                )
        return Field(lowered, lowered_value, start)


# --- parser ------------------------------------------------------------------------------------

_STARTS_UNARY = frozenset({"(", "NOT", "-", "term", "field"})


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _at(self, kind: TokenKind) -> bool:
        return self.current.kind == kind

    def fail(self, expected: str) -> QuerySyntaxError:
        token = self.current
        return QuerySyntaxError(token.start, expected, token.describe(self.query))

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise QuerySyntaxError(
                0,
                _SOMETHING_THAT_MUST_APPEAR,
                "an empty query",
                f"the query is empty; expected {_SOMETHING_THAT_MUST_APPEAR}",
            )
        node = self.parse_or()
        token = self.current
        if token.kind == ")":
            raise QuerySyntaxError(token.start, "an operator or a term", "“)”", "“)” closes no open “(”")
        if token.kind != "end":  # unreachable: everything else continues an AND
            raise self.fail("end of query")
        return node

    def parse_or(self) -> Node:
        start = self.current.start
        operands = [self.parse_and(after=None)]
        while self.current.kind == "OR":
            self.index += 1
            operands.append(self.parse_and(after="OR"))
        return _combine(Or, operands, start)

    def parse_and(self, after: str | None) -> Node:
        start = self.current.start
        operands = [self.parse_unary(after)]
        while True:
            kind = self.current.kind
            if kind == "AND":
                self.index += 1
                operands.append(self.parse_unary("AND"))
            elif kind in _STARTS_UNARY:
                operands.append(self.parse_unary(None))
            else:
                return _combine(And, operands, start)

    def parse_unary(self, after: str | None) -> Node:
        # A loop, not recursion: "NOT NOT … x" cannot exhaust the stack.
        negations: list[_Token] = []
        while self.current.kind in ("NOT", "-"):
            negations.append(self.current)
            after = "NOT" if self.current.kind == "NOT" else '"-"'
            self.index += 1
        node = self.parse_primary(after)
        return Not(node, negations[0].start) if len(negations) % 2 else node  # NOT NOT x is x

    def parse_primary(self, after: str | None) -> Node:
        token = self.current
        if token.kind in ("term", "field"):
            self.index += 1
            assert token.node is not None
            return token.node
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(
                    token.start, "fewer nested parentheses", "“(”", f"parentheses nest more than {MAX_DEPTH} deep"
                )
            self.index += 1
            if self._at(")"):
                raise self.fail('a term inside "(" and ")"')
            node = self.parse_or()
            if not self._at(")"):
                raise self.fail(f'")" to close the "(" at column {token.start + 1}')
            self.index += 1
            self.depth -= 1
            return node
        suffix = f" after {after}" if after else ""
        raise self.fail(f'a term or "("{suffix}')


def _combine(kind: type[And] | type[Or], operands: list[Node], start: int) -> Node:
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat), start)


# --- "something must appear" -------------------------------------------------------------------


def _can_be_true_without_terms(node: Node) -> bool:
    """Whether ``node`` can be true for a post in which none of its terms occur (fields free)."""
    return True in _values_without_terms(node)


def _values_without_terms(node: Node) -> frozenset[bool]:
    match node:
        case Term():
            return frozenset({False})
        case Field():
            return frozenset({True, False})
        case Not(operand):
            return frozenset(not value for value in _values_without_terms(operand))
        case And(operands) | Or(operands):
            combine: Callable[[bool, bool], bool] = (
                (lambda a, b: a and b) if isinstance(node, And) else (lambda a, b: a or b)
            )
            values = _values_without_terms(operands[0])
            for operand in operands[1:]:
                other = _values_without_terms(operand)
                values = frozenset(combine(a, b) for a in values for b in other)
            return values


def _require_something_that_must_appear(root: Node) -> None:
    if not _can_be_true_without_terms(root):
        return
    # Every operand of an AND that can be true without terms can be; follow the first one down to
    # an OR (then blame its first such alternative) or to the NOT or field itself.
    node = root
    while isinstance(node, And):
        node = next(operand for operand in node.operands if _can_be_true_without_terms(operand))
    if isinstance(node, Or):
        alternative = next(operand for operand in node.operands if _can_be_true_without_terms(operand))
        raise QuerySyntaxError(
            alternative.start,
            f"{_SOMETHING_THAT_MUST_APPEAR} that must appear in every OR alternative",
            f"“{alternative}”",
            f"every OR alternative needs {_SOMETHING_THAT_MUST_APPEAR} that must appear; "
            f"“{alternative}” would match posts without any of them",
        )
    does = "only narrows a search" if isinstance(node, Field) else "only excludes"
    raise QuerySyntaxError(
        node.start,
        f"{_SOMETHING_THAT_MUST_APPEAR} that must appear",
        f"only “{node}”",
        f"the query needs {_SOMETHING_THAT_MUST_APPEAR} that must appear; “{node}” {does} (e.g. apple {node})",
    )


def parse(query: str, *, channels: Collection[str] | None = None) -> Node:
    """The AST of ``query``, or ``QuerySyntaxError``.

    ``channels`` is the set of valid ``channel:`` values (default: the registered connectors' keys).
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(
            MAX_QUERY_LENGTH,
            f"at most {MAX_QUERY_LENGTH:,} characters",
            f"{len(query):,}",
            f"the query is too long ({len(query):,} characters; at most {MAX_QUERY_LENGTH:,})",
        )
    tokens = _Lexer(query, channels).tokens()
    root = _Parser(query, tokens).parse()
    _require_something_that_must_appear(root)
    return root
