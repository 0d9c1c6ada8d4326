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
_DIACRITICS = re.compile("[\u064b-\u065f\u0670]")
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
_WHITESPACE = re.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")


def to_latin_digits(value: object) -> str:
    """``str(value)`` with Persian and Arabic-Indic digits replaced by 0–9."""
    return str(value).translate(_TO_LATIN)


def to_persian_digits(value: object) -> str:
    """``str(value)`` with Latin and Arabic-Indic digits replaced by ۰–۹."""
    return str(value).translate(_TO_PERSIAN)


def _nfkc_presentation(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group(0))


def normalize_fa(text: str, *, digits: DigitScript = "latin", zwnj: ZwnjMode = "keep") -> str:
    """Return the comparison form of ``text`` (see the module docstring for every choice)."""
    text = _PRESENTATION_FORMS.sub(_nfkc_presentation, text)
    text = unicodedata.normalize("NFC", text)
    text = _DIACRITICS.sub("", text)
    text = text.translate(_LETTER_MAP)
    text = text.translate(_TO_LATIN if digits == "latin" else _TO_PERSIAN)
    # Look-alikes between letters act as half spaces; anywhere else they are invisible noise.
    text = _LOOKALIKE.sub(ZWNJ, text)
    text = _STRAY_LOOKALIKE.sub("", text)
    text = _ZWJ_NEAR_ARABIC.sub("", text)
    text = _ZWNJ_RUN.sub(ZWNJ, text)
    text = _USELESS_ZWNJ.sub("", text) if zwnj == "keep" else text.replace(ZWNJ, "")
    return _WHITESPACE.sub(" ", text).strip()


def fold_for_match(text: str) -> str:
    """Key for matching and dedupe: ``normalize_fa`` without ZWNJ, Latin digits, case-folded."""
    return normalize_fa(text, digits="latin", zwnj="remove").casefold()


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
