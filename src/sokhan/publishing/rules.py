"""Brand rules of a workspace, checked against a post's text before it is scheduled.

Rules are plain data (``BrandRules``, JSON-friendly through ``from_json``/``as_json``); ``check``
is a pure function returning ``RuleFinding``s the composer shows next to the text.

Matching (see ``docs/composer-rules.md``): both the rule's words and the post are folded the same
way, character by character, so positions still point into the text as written:

* Arabic letter forms become Persian (ي ى → ی, ك → ک, ة ۀ ھ → ه, أ إ ٱ → ا), Arabic presentation
  forms get NFKC, Persian/Arabic-Indic digits become Latin, diacritics, tatweel, soft hyphens and
  zero-width joiners are ignored, Latin letters are case-folded, whitespace runs are one space;
* whole words only: «کار» does not match «کارخانه», "ad" does not match "adidas";
* a suffix joined with ZWNJ (or a look-alike such as U+200B) still matches: «کتاب» matches
  «کتاب‌ها»; a ZWNJ-joined prefix does not («کتاب» is not found in «بی‌کتاب»'s second part);
* ZWNJ inside the rule's word is optional in the text: «کتابخانه» matches «کتاب‌خانه».
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from django.utils.translation import gettext as _

from sokhan.core.text import is_whole_word
from sokhan.publishing.extract import extract_hashtags

RuleKind = Literal["banned_word", "missing_disclosure", "too_many_hashtags"]
Severity = Literal["error", "warning"]
RULE_KINDS: frozenset[str] = frozenset(get_args(RuleKind))

_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",
        "\u0649": "\u06cc",
        "\u0643": "\u06a9",
        "\u0629": "\u0647",
        "\u06c0": "\u0647",
        "\u06be": "\u0647",
        "\u0623": "\u0627",
        "\u0625": "\u0627",
        "\u0671": "\u0627",
    }
)
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2)
_IGNORED = frozenset("\u0640\u00ad\u2060\ufeff\u200d")
_HALF_SPACES = frozenset("\u200c\u200b\u200e\u200f\u061c")


class RuleConfigError(ValueError):
    """Brand rules that cannot be used; the message names the field."""


@dataclass(frozen=True, slots=True)
class BrandRules:
    """A workspace's brand rules.

    ``required_disclosure`` lists alternatives: any one of them in the post satisfies the rule
    (e.g. «#تبلیغ» for Persian posts, "#ad" for English ones). With
    ``disclosure_applies_to_sponsored`` True it is required on sponsored posts only; with False
    on every post. ``blocking`` holds the rule kinds whose findings are errors (they stop
    scheduling); findings of the other kinds are warnings.
    """

    banned_words: list[str] = field(default_factory=list)
    required_disclosure: list[str] = field(default_factory=list)
    disclosure_applies_to_sponsored: bool = True
    max_hashtags: int | None = None
    blocking: frozenset[str] = frozenset({"banned_word", "missing_disclosure"})

    def __post_init__(self) -> None:
        unknown = set(self.blocking) - RULE_KINDS
        if unknown:
            raise RuleConfigError(
                _("blocking: unknown rule kind(s) %(kinds)s; use %(known)s.")
                % {"kinds": ", ".join(sorted(unknown)), "known": ", ".join(sorted(RULE_KINDS))}
            )
        if self.max_hashtags is not None and self.max_hashtags < 0:
            raise RuleConfigError(_("max_hashtags must be 0 or more."))
        for name, words in (("banned_words", self.banned_words), ("required_disclosure", self.required_disclosure)):
            if any(not fold_with_offsets(word)[0].strip() for word in words):
                raise RuleConfigError(_("%(field)s contains an empty entry.") % {"field": name})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BrandRules:
        max_hashtags = data.get("max_hashtags")
        return cls(
            banned_words=[str(word) for word in data.get("banned_words", [])],
            required_disclosure=[str(word) for word in data.get("required_disclosure", [])],
            disclosure_applies_to_sponsored=bool(data.get("disclosure_applies_to_sponsored", True)),
            max_hashtags=None if max_hashtags is None else int(max_hashtags),
            blocking=frozenset(str(kind) for kind in data.get("blocking", ("banned_word", "missing_disclosure"))),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "banned_words": list(self.banned_words),
            "required_disclosure": list(self.required_disclosure),
            "disclosure_applies_to_sponsored": self.disclosure_applies_to_sponsored,
            "max_hashtags": self.max_hashtags,
            "blocking": sorted(self.blocking),
        }


@dataclass(frozen=True, slots=True)
class RuleFinding:
    kind: RuleKind
    severity: Severity
    message: str
    start: int | None  # code-point offsets into the checked text; None when the whole post is meant
    end: int | None


def _fold_char(char: str) -> str:
    if "\ufb50" <= char <= "\ufdff" or "\ufe70" <= char <= "\ufefe":
        char = unicodedata.normalize("NFKC", char)
    if unicodedata.category(char) == "Mn" and ("\u0610" <= char <= "\u06ed"):
        return ""
    return char.translate(_LETTERS).translate(_DIGITS).casefold()


def fold_with_offsets(text: str) -> tuple[str, list[int], list[int], list[bool]]:
    """Folded text, and for each folded character its start and end in ``text`` and whether a
    half space came right before it. The one whole-word matcher: brand rules and inbox rules use it."""
    folded: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    joined: list[bool] = []
    pending_half_space = False
    for index, raw in enumerate(text):
        if raw in _HALF_SPACES:
            pending_half_space = True
            continue
        if raw in _IGNORED:
            continue
        if raw.isspace():
            if folded and folded[-1] != " ":
                folded.append(" ")
                starts.append(index)
                ends.append(index + 1)
                joined.append(False)
            pending_half_space = False
            continue
        chars = _fold_char(raw)
        if not chars:  # a diacritic: it belongs to the letter before it
            if ends:
                ends[-1] = index + 1
            continue
        for char in chars:
            folded.append(char)
            starts.append(index)
            ends.append(index + 1)
            joined.append(pending_half_space)
            pending_half_space = False
    return "".join(folded), starts, ends, joined


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int


def find_phrase(needle: str, haystack: tuple[str, list[int], list[int], list[bool]]) -> list[_Match]:
    folded_needle = fold_with_offsets(needle)[0].strip()
    text, starts, ends, joined = haystack
    found: list[_Match] = []
    if not folded_needle:
        return found
    position = text.find(folded_needle)
    while position != -1:
        after = position + len(folded_needle)
        joined_at_end = after < len(text) and joined[after]
        if is_whole_word(text, position, after, joined_at_start=joined[position], joined_at_end=joined_at_end):
            found.append(_Match(starts[position], ends[after - 1]))
        position = text.find(folded_needle, position + 1)
    return found


def find_word(word: str, text: str) -> list[tuple[int, int]]:
    """Where ``word`` occurs in ``text`` as a whole word (code-point spans, end exclusive)."""
    return [(match.start, match.end) for match in find_phrase(word, fold_with_offsets(text))]


def _where(text: str, start: int) -> dict[str, int]:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return {"line": line, "column": column}


def check(text: str, rules: BrandRules, *, sponsored: bool) -> list[RuleFinding]:
    """Every brand-rule problem in ``text``, in text order (whole-post findings last)."""
    findings: list[RuleFinding] = []

    def severity(kind: RuleKind) -> Severity:
        return "error" if kind in rules.blocking else "warning"

    haystack = fold_with_offsets(text)
    for word in _unique(rules.banned_words):
        for match in find_phrase(word, haystack):
            findings.append(
                RuleFinding(
                    "banned_word",
                    severity("banned_word"),
                    _("“%(word)s” is a banned word (found “%(found)s” on line %(line)s, column %(column)s).")
                    % {"word": word, "found": text[match.start : match.end], **_where(text, match.start)},
                    match.start,
                    match.end,
                )
            )
    findings.sort(key=lambda finding: (finding.start or 0, finding.end or 0))

    if rules.max_hashtags is not None:
        hashtags = extract_hashtags(text)
        if len(hashtags) > rules.max_hashtags:
            first_extra = hashtags[rules.max_hashtags]
            findings.append(
                RuleFinding(
                    "too_many_hashtags",
                    severity("too_many_hashtags"),
                    _(
                        "The post has %(count)s hashtags; the brand limit is %(limit)s. "
                        "Remove %(extra)s, from “%(first)s” (line %(line)s, column %(column)s) on."
                    )
                    % {
                        "count": len(hashtags),
                        "limit": rules.max_hashtags,
                        "extra": len(hashtags) - rules.max_hashtags,
                        "first": first_extra.text,
                        **_where(text, first_extra.start),
                    },
                    first_extra.start,
                    hashtags[-1].end,
                )
            )

    needs_disclosure = bool(rules.required_disclosure) and (sponsored or not rules.disclosure_applies_to_sponsored)
    if needs_disclosure and not any(find_phrase(word, haystack) for word in rules.required_disclosure):
        options = _(" or ").join(f"“{word}”" for word in rules.required_disclosure)
        message = (
            _("This is a sponsored post: add the disclosure %(options)s.")
            if sponsored
            else _("Every post must carry the disclosure %(options)s.")
        ) % {"options": options}
        findings.append(RuleFinding("missing_disclosure", severity("missing_disclosure"), message, None, None))
    return findings


def has_blocking(findings: Iterable[RuleFinding]) -> bool:
    return any(finding.severity == "error" for finding in findings)


def _unique(words: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for word in words:
        key = fold_with_offsets(word)[0].strip()
        if key not in seen:
            seen.add(key)
            result.append(word)
    return result
