"""Find hashtags, @mentions, cashtags and URLs in post text, Persian-aware.

Every entity carries two kinds of position, end exclusive:

* ``start``/``end`` — code-point offsets (Python string indices);
* ``byte_start``/``byte_end`` — UTF-8 byte offsets, what Bluesky rich-text facets use, so the
  Bluesky connector can build facets from the same result.

Rules (also in ``docs/composer-rules.md``):

* URLs are found with twitter-text's rules (``publishing.twitter_text.extract_urls``: with or
  without ``http(s)://``, known TLDs only). Nothing else is reported inside a URL or an e-mail
  address, so ``https://example.com/#top`` and ``info@example.com`` yield no hashtag or mention.
* A hashtag is ``#`` (or full-width ``＃``) at the start of the text or after a character that is
  not a letter, digit, ``_`` or ``&``, followed by letters, digits (Latin, Persian or Arabic-Indic),
  ``_`` and combining marks, with ZWNJ allowed *between* letters (``#کتاب‌خانه`` is one tag; a
  trailing ZWNJ is not part of the tag). A tag made only of digits (``#۱۴۰۴``) is not a hashtag.
* A mention is ``@`` after a non-word character, then a handle of Latin letters, digits, ``_``,
  and inner ``.``/``-`` (Bluesky handles such as ``@alice.bsky.social``), optionally followed by
  ``@domain`` (Mastodon's ``@user@instance.social``).
* A cashtag is ``$`` after whitespace (or at the start) and 1–6 Latin letters, optionally
  ``.``/``_`` and 1–2 more (``$TSLA``, ``$BRK.A``); ``$100`` is not one.

``normalized`` is the matching form: hashtags use ``core.text.fold_for_match`` (Arabic ي/ك →
Persian, digits to Latin, no ZWNJ, case-folded), so ``#كتاب‌خانه`` and ``#کتابخانه`` compare equal;
mentions are lower-cased, cashtags upper-cased, URLs are kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sokhan.core.text import fold_for_match
from sokhan.publishing.twitter_text import extract_urls as _twitter_urls

EntityKind = Literal["hashtag", "mention", "cashtag", "url"]

_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
_TAG_CHAR = rf"[\w{_MARKS}]"
_HASHTAG = re.compile(rf"(?<![\w&{_MARKS}\u200c])[#＃]((?:{_TAG_CHAR}|\u200c(?={_TAG_CHAR}))+)(?!:/)")
_MENTION = re.compile(
    r"(?<![\w@!#$%&*＠.])[@＠]([A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?"
    r"(?:@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?\.[A-Za-z]{2,})?)(?![\w@])"
)
_CASHTAG = re.compile(r"(?<!\S)\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)(?![\w$])")
_EMAIL = re.compile(r"(?<![\w.+\-@＠])[\w.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")


@dataclass(frozen=True, slots=True)
class TextEntity:
    kind: EntityKind
    text: str  # exactly as written, sigil included
    value: str  # without the sigil (the whole URL for urls)
    normalized: str  # matching form, see the module docstring
    start: int  # code-point offsets, end exclusive
    end: int
    byte_start: int  # UTF-8 byte offsets, end exclusive
    byte_end: int


class _ByteOffsets:
    """Code-point → UTF-8 byte offsets, computed once per text."""

    def __init__(self, text: str) -> None:
        self._table = [0] * (len(text) + 1)
        total = 0
        for index, char in enumerate(text):
            self._table[index] = total
            total += len(char.encode("utf-8", "surrogatepass"))
        self._table[len(text)] = total

    def __call__(self, index: int) -> int:
        return self._table[index]


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < span_end and span_start < end for span_start, span_end in spans)


def extract_entities(text: str) -> list[TextEntity]:
    """All hashtags, mentions, cashtags and URLs in ``text``, in text order."""
    offsets = _ByteOffsets(text)

    def make(kind: EntityKind, start: int, end: int, value: str, normalized: str) -> TextEntity:
        return TextEntity(kind, text[start:end], value, normalized, start, end, offsets(start), offsets(end))

    found: list[TextEntity] = []
    protected: list[tuple[int, int]] = []
    for url in _twitter_urls(text):
        found.append(make("url", url.start, url.end, url.text, url.text))
        protected.append((url.start, url.end))
    protected.extend(match.span() for match in _EMAIL.finditer(text))

    for match in _HASHTAG.finditer(text):
        body = match.group(1)
        if _overlaps(match.start(), match.end(), protected) or body.replace("_", "").isdigit():
            continue
        if all(char.isdigit() or char in "_\u200c" for char in body):
            continue
        found.append(make("hashtag", match.start(), match.end(), body, fold_for_match(body)))
    for match in _MENTION.finditer(text):
        if _overlaps(match.start(), match.end(), protected):
            continue
        body = match.group(1)
        found.append(make("mention", match.start(), match.end(), body, body.lower()))
    for match in _CASHTAG.finditer(text):
        if _overlaps(match.start(), match.end(), protected):
            continue
        body = match.group(1)
        found.append(make("cashtag", match.start(), match.end(), body, body.upper()))
    found.sort(key=lambda entity: entity.start)
    return found


def _of_kind(text: str, kind: EntityKind) -> list[TextEntity]:
    return [entity for entity in extract_entities(text) if entity.kind == kind]


def extract_hashtags(text: str) -> list[TextEntity]:
    return _of_kind(text, "hashtag")


def extract_mentions(text: str) -> list[TextEntity]:
    return _of_kind(text, "mention")


def extract_cashtags(text: str) -> list[TextEntity]:
    return _of_kind(text, "cashtag")


def extract_urls(text: str) -> list[TextEntity]:
    return _of_kind(text, "url")
