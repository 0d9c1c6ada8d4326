"""Persian-aware text helpers: normalisation for matching and dedupe, digit scripts, counting.

``normalize_fa`` produces a *comparison form*, not display text: it is what listening queries,
inbox rules and duplicate detection compare, so two spellings a Persian reader sees as the same
word must come out equal. Choices (also in ``docs/calendars-and-text.md``):

* Arabic letter forms become Persian ones: ي (U+064A) and ى (U+0649) → ی (U+06CC), ك → ک,
  ة (teh marbuta) → ه, ۀ (heh with yeh above) → ه, ھ (heh doachashmee) → ه, and the hamza/wasla
  alefs أ إ ٱ → ا. آ is kept: it is a distinct Persian letter. ؤ and ئ are kept: collapsing them
  changes words (مسئول vs مسیول is a misspelling, not a variant).
* Arabic presentation forms (U+FB50–U+FDFF, U+FE70–U+FEFF, e.g. the ligature ﻻ) get NFKC; this
  also spells out the Rial sign ﷼ as «ریال», so "۱۰ ﷼" matches "۱۰ ریال". NFKC is *not*
  applied to the whole text because it would also rewrite superscripts, full-width forms and
  ellipses; the rest of the text only gets NFC (canonical, always safe),
  which also composes a decomposed آ before diacritics are removed.
* Diacritics (harakat U+064B–U+065F, superscript alef U+0670) and tatweel (U+0640) are removed.
* Digits (Persian ۰–۹, Arabic-Indic ٠–٩, Latin 0–9) are unified to one script (``digits``).
* Invisible separators:
  - U+200C ZWNJ is the canonical half space. It is kept only where it changes rendering: after a
    letter that joins to the left and before an Arabic-script letter. Elsewhere (next to a space,
    at either end, after ا/د/ر/و…, before a digit or punctuation) it is removed; runs collapse.
  - U+200B zero-width space, U+200E LRM, U+200F RLM and U+061C ALM are half-space look-alikes:
    between two Arabic-script letters they become ZWNJ (then the rule above applies); elsewhere
    they are removed.
  - U+200D ZWJ next to an Arabic-script letter is removed (it only forces joining the letters do
    anyway); elsewhere it is kept because it glues emoji sequences such as 👨‍👩‍👧.
  - U+00AD soft hyphen, U+2060 word joiner and U+FEFF (BOM) are removed.
  - With ``zwnj="remove"`` every ZWNJ is dropped, so «کتاب‌خانه» equals «كتابخانه».
* Whitespace runs (including no-break and thin spaces, tabs and newlines) become one space and
  the ends are stripped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import accumulate
from typing import Literal

import regex  # type: ignore[import-untyped]  # no types-regex in the venv; used for \X only

ZWNJ = "\u200c"
ZWJ = "\u200d"

DigitScript = Literal["latin", "persian"]
ZwnjMode = Literal["keep", "remove"]

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_LATIN_DIGITS = "0123456789"

_TO_LATIN = str.maketrans(_PERSIAN_DIGITS + _ARABIC_DIGITS, _LATIN_DIGITS * 2)
_TO_PERSIAN = str.maketrans(_LATIN_DIGITS + _ARABIC_DIGITS, _PERSIAN_DIGITS * 2)

_LETTER_MAP = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي Arabic yeh
        "\u0649": "\u06cc",  # ى alef maksura
        "\u0643": "\u06a9",  # ك Arabic kaf
        "\u0629": "\u0647",  # ة teh marbuta: read as ه in Persian loanwords (e.g. «علامة» → «علامه»)
        "\u06c0": "\u0647",  # ۀ heh with yeh above: the ezafe mark is dropped for matching
        "\u06be": "\u0647",  # ھ heh doachashmee, produced by some Urdu/Arabic keyboards
        "\u0623": "\u0627",  # أ
        "\u0625": "\u0627",  # إ
        "\u0671": "\u0627",  # ٱ alef wasla
        "\u0640": None,  # tatweel (kashida) is pure stretching
        "\u00ad": None,  # soft hyphen
        "\u2060": None,  # word joiner
        "\ufeff": None,  # zero-width no-break space / BOM
    }
)

_PRESENTATION_FORMS = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]+")
_DIACRITICS = [*range(0x064B, 0x0660), 0x0670]  # harakat and superscript alef
# Arabic-script letters (not digits, punctuation or marks) — what a half space sits between.
_AR_LETTER = "\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff"
# Letters that do not join the following letter, so a ZWNJ after them changes nothing.
_RIGHT_JOINING = (
    "\u0621-\u0625\u0627\u0629\u062f-\u0632\u0648\u0671-\u0673\u0675-\u0677\u0688-\u0699"
    "\u06c0-\u06cb\u06cd\u06cf\u06d2\u06d3\u06d5\u06ee\u06ef"
)
_LOOKALIKE = re.compile(f"(?<=[{_AR_LETTER}])[\u200b\u200e\u200f\u061c{ZWNJ}]+(?=[{_AR_LETTER}])")
_STRAY_LOOKALIKE = re.compile("[\u200b\u200e\u200f\u061c]")
_ZWJ_NEAR_ARABIC = re.compile(f"(?<=[{_AR_LETTER}]){ZWJ}+|{ZWJ}+(?=[{_AR_LETTER}])")
_ZWNJ_RUN = re.compile(f"{ZWNJ}+")
# A ZWNJ survives only after a left-joining letter and before a letter.
_USELESS_ZWNJ = re.compile(f"(?<![{_AR_LETTER}]){ZWNJ}|(?<=[{_RIGHT_JOINING}]){ZWNJ}|{ZWNJ}(?![{_AR_LETTER}])")
_GRAPHEME = regex.compile(r"\X")


def to_latin_digits(value: object) -> str:
    """``str(value)`` with Persian and Arabic-Indic digits replaced by 0–9."""
    return str(value).translate(_TO_LATIN)


def to_persian_digits(value: object) -> str:
    """``str(value)`` with Latin and Arabic-Indic digits replaced by ۰–۹."""
    return str(value).translate(_TO_PERSIAN)


def _nfkc_presentation(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group(0))


def _fold_run(table: dict[int, str | None]) -> Callable[[re.Match[str]], str]:
    def fold(match: re.Match[str]) -> str:
        return match.group(0).translate(table)

    return fold


# Every per-character change (letter forms, digits, diacritics, tatweel and other invisible
# characters) is one map applied in one regex pass: ``str.translate`` with a dict costs ~150 ns a
# character, so it only runs on the (short) runs of characters that change.
_CHAR_MAPS: dict[DigitScript, dict[int, str | None]] = {
    "latin": {**_LETTER_MAP, **{code: chr(digit) for code, digit in _TO_LATIN.items()}},
    "persian": {**_LETTER_MAP, **{code: chr(digit) for code, digit in _TO_PERSIAN.items()}},
}
for _table in _CHAR_MAPS.values():
    _table.update(dict.fromkeys(_DIACRITICS))
_CHANGED_RUN = {
    script: re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(table)) + "]+")
    for script, table in _CHAR_MAPS.items()
}
_FOLD_RUN = {script: _fold_run(table) for script, table in _CHAR_MAPS.items()}


def _fold_chars(text: str, digits: DigitScript) -> str:
    """Everything ``normalize_fa`` does before it looks at separators and whitespace."""
    # Presentation forms are not NFKC-normal, so normal text skips the scan for them.
    if not unicodedata.is_normalized("NFKC", text):
        text = _PRESENTATION_FORMS.sub(_nfkc_presentation, text)
    text = unicodedata.normalize("NFC", text)
    return _CHANGED_RUN[digits].sub(_FOLD_RUN[digits], text)


def _fold_separators(text: str) -> str:
    """Look-alikes to ZWNJ (between letters) or nothing, ZWJ next to letters removed, ZWNJ runs collapsed."""
    if "\u200b" in text or "\u200e" in text or "\u200f" in text or "\u061c" in text:
        # Look-alikes between letters act as half spaces; anywhere else they are invisible noise.
        text = _LOOKALIKE.sub(ZWNJ, text)
        text = _STRAY_LOOKALIKE.sub("", text)
    if ZWJ in text:
        text = _ZWJ_NEAR_ARABIC.sub("", text)
    if ZWNJ + ZWNJ in text:
        text = _ZWNJ_RUN.sub(ZWNJ, text)
    return text


def normalize_fa(text: str, *, digits: DigitScript = "latin", zwnj: ZwnjMode = "keep") -> str:
    """Return the comparison form of ``text`` (see the module docstring for every choice)."""
    if digits == "latin" and text.isascii():  # nothing but whitespace to change: the common English case
        return " ".join(text.split())
    text = _fold_separators(_fold_chars(text, digits))
    if ZWNJ in text:
        text = _USELESS_ZWNJ.sub("", text) if zwnj == "keep" else text.replace(ZWNJ, "")
    # str.split() and re's \s agree on what whitespace is; join/split is 3x faster than a regex.
    return " ".join(text.split())


def fold_for_match(text: str) -> str:
    """Key for matching and dedupe: ``normalize_fa`` without ZWNJ, Latin digits, case-folded."""
    if text.isascii():
        return " ".join(text.split()).lower()  # casefold() is lower() on ASCII
    return normalize_fa(text, digits="latin", zwnj="remove").casefold()


_EDGE_ZWNJ = re.compile(f"^{ZWNJ}|{ZWNJ}$|(?<= ){ZWNJ}|{ZWNJ}(?= )")


def fold_with_joins(text: str) -> tuple[str, tuple[int, ...]]:
    """``fold_for_match(text)`` and where half spaces were removed from it.

    The second item holds, in order, each index ``i`` of the folded text such that a ZWNJ (or a look-alike
    between two Arabic-script letters, see ``normalize_fa``) stood between folded characters
    ``i - 1`` and ``i``; half spaces next to a space or at either end are not joins. Whole-word
    matching uses it: a match may *end* at a join («کتاب» in «کتاب‌ها») but not *start* at one.
    """
    if text.isascii():
        return " ".join(text.split()).lower(), _NO_JOINS
    text = _fold_separators(_fold_chars(text, "latin"))
    if ZWNJ not in text:
        return " ".join(text.split()).casefold(), _NO_JOINS
    text = " ".join(text.split())
    # Plain string tests: the regex alone (lookbehind, no literal prefix) costs more than all four.
    if text[0] == ZWNJ or text[-1] == ZWNJ or f" {ZWNJ}" in text or f"{ZWNJ} " in text:
        text = " ".join(_EDGE_ZWNJ.sub("", text).split())
    parts = text.casefold().split(ZWNJ)
    # A join is where each part but the last ends.
    return "".join(parts), tuple(accumulate(map(len, parts[:-1])))


_NO_JOINS: tuple[int, ...] = ()


def is_word_char(char: str) -> bool:
    """Letters, digits, ``_`` and combining marks: what a whole word is made of."""
    # The space test first: it is the usual neighbour and saves the category lookup.
    return char.isalnum() or (char != " " and (char == "_" or unicodedata.category(char)[0] == "M"))


def is_whole_word(text: str, start: int, end: int, *, joined_at_start: bool, joined_at_end: bool) -> bool:
    """Whether ``text[start:end]`` (folded text, non-empty) stands as whole words.

    The one rule brand rules, inbox rules and listening share: a match that begins (ends) with a
    word character needs a non-word character or the text's edge before (after) it, so «کار» is
    not in «کارخانه» and "apple" is not in "pineapple"; a match that begins or ends with
    punctuation ("#apple", "c++") needs nothing on that side. A half space (``joined_*``, see
    ``fold_with_joins``) ends a word but does not start one: «کتاب» is found in «کتاب‌ها» but not
    in «بی‌کتاب».
    """
    first_is_word = is_word_char(text[start])
    if start > 0 and first_is_word and (joined_at_start or is_word_char(text[start - 1])):
        return False
    return end == len(text) or joined_at_end or not (is_word_char(text[end - 1]) and is_word_char(text[end]))


def count_graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters, UAX #29).

    An emoji ZWJ family, a flag, an emoji with a skin tone or a letter with combining marks each
    count once; a ZWNJ belongs to the letter before it.
    """
    return len(_GRAPHEME.findall(text))


def count_code_points(text: str) -> int:
    """Unicode code points, the unit some networks (e.g. Mastodon) count."""
    return len(text)


def truncate_graphemes(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` graphemes (ellipsis included) without splitting one."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    clusters = _GRAPHEME.findall(text)
    if len(clusters) <= limit:
        return text
    keep = max(limit - count_graphemes(ellipsis), 0)
    return ("".join(clusters[:keep]).rstrip() + ellipsis) if limit else ""
