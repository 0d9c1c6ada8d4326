"""X (Twitter) weighted text length, implemented from the twitter-text v3 rules.

How X counts a post (``parse_tweet``):

1. The text is NFC-normalised (a decomposed ``Á`` is one character, ``שּׁ`` becomes three).
2. URLs are found with twitter-text's rules (with or without ``http(s)://``, known TLDs only,
   punycode, IDN hosts whose labels stay within 63 characters once punycode-encoded, at most
   4096 characters long). Each one weighs ``transformed_url_length`` (23), whatever its length.
3. With emoji parsing on, each emoji sequence (a ZWJ family, a flag, a keycap, an emoji with a
   skin tone, a tag sequence) weighs ``default_weight`` (2 characters) as a whole.
4. Every other code point weighs the weight of the range it falls into (Latin, Arabic, Persian,
   Hebrew, most punctuation: 1 character), or ``default_weight`` (CJK, other emoji: 2).
5. The sum divided by ``scale`` is the weighted length; at most ``max_weighted_length`` (280)
   and more than 0, with no U+FFFE, U+FEFF or U+FFFF, is valid.

Ranges in the result are UTF-16 code unit offsets into the text as given (not normalised), as in
twitter-text, so a browser can use them directly.

The configuration values ship in ``twitter_text_v3.json``; the TLD list in
``twitter_text_tlds.json`` comes from twitter-text's ``tlds.yml``. See
``docs/composer-validation.md``.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass, replace
from importlib.resources import files
from typing import Any

import regex  # type: ignore[import-untyped]  # no types-regex in the venv

MAX_URL_LENGTH = 4096
MAX_DOMAIN_LABEL_LENGTH = 63
MAX_TCO_SLUG_LENGTH = 40
DEFAULT_PROTOCOL = "https://"


@dataclass(frozen=True)
class WeightRange:
    start: int
    end: int  # inclusive
    weight: int


@dataclass(frozen=True)
class TwitterTextConfig:
    version: int
    max_weighted_length: int
    scale: int
    default_weight: int
    transformed_url_length: int
    ranges: tuple[WeightRange, ...]
    emoji_parsing_enabled: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TwitterTextConfig:
        return cls(
            version=int(data["version"]),
            max_weighted_length=int(data["maxWeightedTweetLength"]),
            scale=int(data["scale"]),
            default_weight=int(data["defaultWeight"]),
            transformed_url_length=int(data["transformedURLLength"]),
            ranges=tuple(WeightRange(int(r["start"]), int(r["end"]), int(r["weight"])) for r in data["ranges"]),
            emoji_parsing_enabled=bool(data.get("emojiParsingEnabled", False)),
        )

    def weight(self, code_point: int) -> int:
        for item in self.ranges:
            if item.start <= code_point <= item.end:
                return item.weight
        return self.default_weight


def _load_v3() -> TwitterTextConfig:
    text = files("sokhan.publishing").joinpath("twitter_text_v3.json").read_text(encoding="utf-8")
    return TwitterTextConfig.from_json(json.loads(text))


V3 = _load_v3()
"""What X uses today: 280 weighted characters, emoji sequences weigh 2."""
V2 = replace(V3, version=2, emoji_parsing_enabled=False)
"""twitter-text v2: as v3 but each code point of an emoji sequence is weighed on its own."""
V1 = replace(V3, version=1, max_weighted_length=140, scale=1, default_weight=1, ranges=())
"""twitter-text v1 (until 2017): 140 code points, URLs count 23."""


@dataclass(frozen=True)
class TwitterLength:
    weighted_length: int
    valid: bool
    permillage: int  # weighted length per mille of the maximum (1000 = exactly full)
    display_range_start: int
    display_range_end: int  # UTF-16 offsets, inclusive
    valid_range_start: int
    valid_range_end: int  # last UTF-16 offset that still fits
    has_invalid_characters: bool = False


@dataclass(frozen=True)
class Entity:
    text: str
    start: int  # code point offsets into the text searched, end exclusive
    end: int


# --- URLs -----------------------------------------------------------------------------------------
#
# twitter-text describes a URL as one regular expression: a preceding character, an optional
# protocol, a domain (labels, then a known TLD), an optional port, path and query. A regular
# expression engine backtracks through the labels and tries ~1,500 TLDs at every step, which is
# quadratic or worse on pasted text such as "a.a.a.a…". The domain part is therefore matched by
# a small scanner with the same rules (greedy labels, then the longest known TLD), memoised per
# position so that the whole text is scanned in linear time; port, path and query stay regular
# expressions anchored after the domain.

_INVALID_CHARS = "\ufffe\ufeff\uffff"
_DIRECTIONAL = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_SPACES = "\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = re.escape(string.punctuation)
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268\u026f"
    "\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"

# Characters of a domain label, and runs of them with the separators a label may hold inside.
_DOMAIN_CHAR = re.compile(f"[^{_PUNCT}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL}]")
_DOMAIN_RUN = re.compile(f"(?:[_-]|[^{_PUNCT}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL}])+")
_ASCII_RUN = re.compile(f"[\\-a-z0-9{_LATIN_ACCENTS}]+", re.IGNORECASE)
_PUNYCODE_TLD = re.compile("xn--[-0-9a-z]+", re.IGNORECASE)
_TLD_FOLLOWER = re.compile("[0-9a-z@+\\-]", re.IGNORECASE)  # a TLD must not run on into these

_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
_PATH_END = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_PARENS})"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = "[a-z0-9!?*'@();:&=+$/%#\\[\\]\\-_.,~|]"
_QUERY_END = "[a-z0-9\\-_&=#/]"
_AFTER_DOMAIN = re.compile(
    f"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:\\?{_QUERY_CHAR}*{_QUERY_END})?",
    re.IGNORECASE,
)
_NOT_BEFORE_URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@＠$#＃" + _INVALID_CHARS)
_NOT_BEFORE_BARE_DOMAIN = frozenset("-_./")
_TCO = re.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)


def _load_tlds() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Generic and country TLDs, indexed by first character, longest first."""
    text = files("sokhan.publishing").joinpath("twitter_text_tlds.json").read_text(encoding="utf-8")
    data = json.loads(text)
    indexes: list[dict[str, list[str]]] = []
    for kind in ("generic", "country"):
        index: dict[str, list[str]] = {}
        for name in sorted({str(n).lower() for n in data[kind]}, key=lambda n: (-len(n), n)):
            index.setdefault(name[0], []).append(name)
        indexes.append(index)
    return indexes[0], indexes[1]


_GENERIC_TLDS, _COUNTRY_TLDS = _load_tlds()


def _tld_end(text: str, start: int) -> int | None:
    """End of the known TLD at ``start`` (generic, then country, then punycode), if any."""
    if start >= len(text):
        return None
    first = text[start].lower()
    for index in (_GENERIC_TLDS, _COUNTRY_TLDS):
        for name in index.get(first, ()):
            end = start + len(name)
            if text[start:end].lower() == name and (end == len(text) or not _TLD_FOLLOWER.match(text[end])):
                return end
    match = _PUNYCODE_TLD.match(text, start)
    return match.end() if match else None


class _DomainScanner:
    """Finds ``label. … label. TLD`` domains starting at a position, memoised per position.

    ``ascii_only`` selects twitter-text's ASCII domain rule (labels of ``[-a-z0-9]`` and Latin
    letters with accents), used for URLs written without a protocol. Otherwise labels are runs of
    any characters but punctuation, spaces and directional marks, may hold ``-`` and ``_`` inside,
    and the label right before the TLD may not hold ``_``.
    """

    def __init__(self, text: str, *, ascii_only: bool) -> None:
        self.text = text
        self.ascii_only = ascii_only
        self.run_end: dict[int, int] = {}
        self.underscores: list[int] = [0]
        for ch in text:
            self.underscores.append(self.underscores[-1] + (ch == "_"))
        for run in (_ASCII_RUN if ascii_only else _DOMAIN_RUN).finditer(text):
            for position in range(run.start(), run.end()):
                self.run_end[position] = run.end()
        self.best: dict[int, int | None] = {}

    def _label_end(self, start: int) -> int | None:
        """Position after ``label.`` at ``start``, if a label starts there."""
        text = self.text
        end = self.run_end.get(start)
        if end is None or end >= len(text) or text[end] != ".":
            return None
        if not self.ascii_only and (not _DOMAIN_CHAR.match(text[start]) or text[end - 1] in "_-"):
            return None
        return end + 1

    def _may_precede_tld(self, start: int, dot: int) -> bool:
        return self.ascii_only or self.underscores[dot] == self.underscores[start]

    def domain_end(self, start: int) -> int | None:
        """End of the longest domain starting at ``start`` (the most labels before a TLD)."""
        chain: list[tuple[int, int]] = []
        position = start
        while position not in self.best:
            after = self._label_end(position)
            if after is None:
                self.best[position] = None
                break
            chain.append((position, after))
            position = after
        for label_start, after in reversed(chain):
            longer = self.best.get(after)
            if longer is not None:
                self.best[label_start] = longer
            elif self._may_precede_tld(label_start, after - 1):
                self.best[label_start] = _tld_end(self.text, after)
            else:
                self.best[label_start] = None
        return self.best[start]


def _punycode_length(domain: str) -> int | None:
    """Length of ``domain`` in ASCII (punycode) form, or None when a label is empty or too long."""
    total = 0
    labels = domain.split(".")
    for label in labels:
        if label.isascii():
            encoded = len(label)
        elif label[:4].lower() == "xn--":  # an A-label (punycode) must be ASCII already
            return None
        else:
            try:
                encoded = len("xn--") + len(label.encode("punycode"))
            except UnicodeError:
                return None
        if encoded < 1 or encoded > MAX_DOMAIN_LABEL_LENGTH:
            return None
        total += encoded
    return total + len(labels) - 1


def _valid_url_length(url: str, protocol: str, domain: str) -> bool:
    ascii_domain_length = _punycode_length(domain)
    if ascii_domain_length is None:
        return False
    url_length = len(url) + ascii_domain_length - len(domain)
    return len(protocol) + url_length <= MAX_URL_LENGTH


@dataclass(frozen=True)
class _Candidate:
    start: int
    protocol: str
    domain_start: int
    domain_end: int
    end: int
    has_path: bool


def _candidate_at(text: str, start: int, scanner: _DomainScanner) -> _Candidate | None:
    """The URL twitter-text's expression matches at ``start``, before any validity checks."""
    lowered = text[start : start + 8].lower()
    protocols = [p for p in ("https://", "http://") if lowered.startswith(p)] + [""]
    for protocol in protocols:
        domain_start = start + len(protocol)
        domain_end = scanner.domain_end(domain_start)
        if domain_end is not None:
            tail = _AFTER_DOMAIN.match(text, domain_end)
            assert tail is not None  # every part of it is optional
            return _Candidate(start, protocol, domain_start, domain_end, tail.end(), tail["path"] is not None)
    return None


def _candidates(text: str) -> list[tuple[str, _Candidate]]:
    """Every (preceding character, match) pair, scanning left to right like a global regex."""
    scanner = _DomainScanner(text, ascii_only=False)
    found: list[tuple[str, _Candidate]] = []
    position = 0
    while position <= len(text):
        candidate = None
        before = ""
        if position < len(text) and text[position] not in _NOT_BEFORE_URL:
            before = text[position]
            candidate = _candidate_at(text, position + 1, scanner)
        if candidate is None and position == 0:
            before = ""
            candidate = _candidate_at(text, 0, scanner)
        if candidate is None:
            position += 1
            continue
        found.append((before, candidate))
        position = candidate.end
    return found


def extract_urls(text: str) -> list[Entity]:
    """URLs as twitter-text finds them, with and without a protocol, in text order."""
    if "." not in text:
        return []
    found: list[Entity] = []
    for before, match in _candidates(text):
        url = text[match.start : match.end]
        domain = text[match.domain_start : match.domain_end]
        if not _valid_url_length(url, match.protocol or DEFAULT_PROTOCOL, domain):
            continue
        if not match.protocol:
            if before in _NOT_BEFORE_BARE_DOMAIN:
                continue
            # Without a protocol only ASCII domains count: "twitter.comこれは" yields "twitter.com".
            bare = [Entity(text[s:e], s, e) for s, e in _ascii_domains(text, match.domain_start, match.domain_end)]
            if bare and match.has_path:
                bare[-1] = Entity(text[bare[-1].start : match.end], bare[-1].start, match.end)
            found.extend(bare)
            continue
        end = match.end
        tco = _TCO.match(url)
        if tco:
            if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                continue
            url = tco.group()
            end = match.start + len(url)
        found.append(Entity(url, match.start, end))
    return found


def _ascii_domains(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """ASCII domains inside ``text[start:end]``, as offsets into ``text``."""
    domain = text[start:end]
    scanner = _DomainScanner(domain, ascii_only=True)
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(domain):
        found_end = scanner.domain_end(position)
        if found_end is None:
            position += 1
            continue
        spans.append((start + position, start + found_end))
        position = found_end
    return spans


# --- Emoji ----------------------------------------------------------------------------------------

_EMOJI_CHAR = r"(?:(?![0-9#*])\p{Emoji})"  # digits, # and * are Emoji=Yes but text by default
_MODIFIED = r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier})"
_PRESENTED = rf"(?:{_MODIFIED}|{_EMOJI_CHAR}\uFE0F|\p{{Emoji_Presentation}}\uFE0F?)"
_ZWJ_ELEMENT = rf"(?:{_MODIFIED}|{_EMOJI_CHAR}\uFE0F?|\p{{Extended_Pictographic}}\uFE0F?)"
_EMOJI = regex.compile(
    "(?:"
    r"[0-9#*]\uFE0F?\u20E3"  # keycap
    r"|\p{Regional_Indicator}{2}"  # flag
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"  # subdivision flag (tag sequence)
    rf"|(?:{_PRESENTED}|{_ZWJ_ELEMENT}(?=\u200D{_ZWJ_ELEMENT}))(?:\u200D{_ZWJ_ELEMENT})*"  # ZWJ sequence
    ")",
    regex.VERSION1,
)


def extract_emoji(text: str) -> list[Entity]:
    """Emoji sequences (each one counts as one unit), in text order."""
    return [Entity(m.group(), m.start(), m.end()) for m in _EMOJI.finditer(text)]


# --- Length ---------------------------------------------------------------------------------------


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def parse_tweet(text: str, config: TwitterTextConfig = V3) -> TwitterLength:
    """Weighted length, validity and ranges of ``text`` as X computes them."""
    normalized = unicodedata.normalize("NFC", text)
    urls = {e.start: e.end for e in extract_urls(normalized)}
    emoji = {e.start: e.end for e in extract_emoji(normalized)} if config.emoji_parsing_enabled else {}
    limit = config.max_weighted_length * config.scale
    total = 0
    valid = True
    units = 0  # UTF-16 units consumed so far
    valid_index = 0
    index = 0
    while index < len(normalized):
        if index in urls:
            end = urls[index]
            total += config.transformed_url_length * config.scale
        elif index in emoji:
            end = emoji[index]
            total += config.default_weight
        else:
            end = index + 1
            total += config.weight(ord(normalized[index]))
            if valid and normalized[index] in _INVALID_CHARS:
                valid = False
        units += _utf16_units(normalized[index:end])
        if valid and total <= limit:
            valid_index = units - 1
        index = end
    original_units = _utf16_units(text)
    weighted_length = -(-total // config.scale)  # round up: never report less than X counts
    return TwitterLength(
        weighted_length=weighted_length,
        valid=valid and 0 < total <= limit,
        permillage=total * 1000 // limit,
        display_range_start=0,
        display_range_end=max(original_units - 1, 0),
        valid_range_start=0,
        valid_range_end=valid_index + original_units - units,
        has_invalid_characters=not valid,
    )
