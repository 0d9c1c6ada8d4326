"""Persian normalisation for matching, digit scripts and character counting."""

from __future__ import annotations

import pytest

from sokhan.core.text import (
    ZWNJ,
    count_code_points,
    count_graphemes,
    fold_for_match,
    normalize_fa,
    to_latin_digits,
    to_persian_digits,
    truncate_graphemes,
)


def test_arabic_letters_become_persian() -> None:
    assert normalize_fa("علي") == "علی"
    assert normalize_fa("مصطفى") == "مصطفی"
    assert normalize_fa("كتاب") == "کتاب"
    assert normalize_fa("مدرسة") == "مدرسه"
    assert normalize_fa("خانۀ ما") == "خانه ما"
    assert normalize_fa("أحمد إسلام") == "احمد اسلام"
    # آ and the hamza seats ؤ ئ are real Persian letters, not variants.
    assert normalize_fa("آب مسئول مؤسسه") == "آب مسئول مؤسسه"


def test_library_spellings_match_when_zwnj_is_removed() -> None:
    arabic_typed, persian_typed = "كتابخانه", f"کتاب{ZWNJ}خانه"
    assert normalize_fa(arabic_typed) != normalize_fa(persian_typed)  # keep mode keeps the half space
    assert normalize_fa(arabic_typed, zwnj="remove") == normalize_fa(persian_typed, zwnj="remove")
    assert fold_for_match(arabic_typed) == fold_for_match(persian_typed)


def test_digits_are_unified() -> None:
    assert normalize_fa("۱۴۰۴") == normalize_fa("١٤٠٤") == normalize_fa("1404") == "1404"
    assert normalize_fa("سال 1404", digits="persian") == "سال ۱۴۰۴"
    assert normalize_fa("٣ و 3 و ۳", digits="persian") == "۳ و ۳ و ۳"
    assert to_latin_digits("۱٢3") == "123"
    assert to_persian_digits(2025) == "۲۰۲۵"
    assert to_persian_digits("v1.2 ٤") == "v۱.۲ ۴"


def test_tatweel_and_diacritics_are_removed() -> None:
    assert normalize_fa("مـــــن") == "من"
    assert normalize_fa("مِن") == "من"
    assert normalize_fa("كِتابٌ") == "کتاب"
    assert normalize_fa("رحمٰن") == "رحمن"  # superscript alef
    # A decomposed آ (alef + madda) survives: it is composed before marks are stripped.
    assert normalize_fa("\u0627\u0653ب") == "آب"


def test_presentation_forms_only_get_nfkc() -> None:
    assert normalize_fa("\ufefb") == "لا"  # the ﻻ ligature
    assert normalize_fa("\ufe91\ufe8e\ufe90") == "باب"  # isolated/initial/final forms
    # The Rial sign is a presentation-form ligature too, so it matches the spelled-out word.
    assert normalize_fa("۱۰ ﷼") == normalize_fa("۱۰ ريال") == "10 ریال"
    # The rest of the text is not NFKC-folded: superscripts, full-width letters, ellipses stay.
    assert normalize_fa("x² ＡＢ…") == "x² ＡＢ…"


def test_zwnj_rules() -> None:
    h = ZWNJ
    assert normalize_fa(f"می{h}{h}{h}روم") == f"می{h}روم"  # runs collapse
    assert normalize_fa(f"می{h} روم {h}") == "می روم"  # next to spaces and at the end
    assert normalize_fa(f"کار{h}ها") == "کارها"  # ر does not join left: the ZWNJ did nothing
    assert normalize_fa(f"سال{h}۱۴۰۴") == "سال1404"
    assert normalize_fa(f"می{h}روم", zwnj="remove") == "میروم"


@pytest.mark.parametrize("lookalike", ["\u200b", "\u200f", "\u200e", "\u061c"])
def test_half_space_lookalikes_become_zwnj_between_letters(lookalike: str) -> None:
    assert normalize_fa(f"می{lookalike}روم") == f"می{ZWNJ}روم"
    assert normalize_fa(f"hello{lookalike}world") == "helloworld"


def test_zwj_soft_hyphen_and_bom() -> None:
    assert normalize_fa("می\u200dروم") == "میروم"
    assert normalize_fa("کتاب\u00adخانه\ufeff") == "کتابخانه"
    family = "👨\u200d👩\u200d👧"
    assert normalize_fa(f"سلام {family}") == f"سلام {family}"  # emoji ZWJ survives


def test_whitespace_collapses() -> None:
    assert normalize_fa("  سلام\u00a0\u00a0دنیا\n\tخوبی؟ ") == "سلام دنیا خوبی؟"


def test_fold_for_match_casefolds_latin() -> None:
    assert fold_for_match("Sokhan  ۲۰۲۵") == fold_for_match("SOKHAN 2025") == "sokhan 2025"


@pytest.mark.parametrize(
    ("text", "graphemes", "code_points"),
    [
        ("👨\u200d👩\u200d👧", 1, 5),  # ZWJ family
        ("🇮🇷", 1, 2),  # flag: two regional indicators
        ("👍🏽", 1, 2),  # skin tone modifier
        ("e\u0301", 1, 2),  # combining acute
        ("مِن", 2, 3),  # kasra belongs to its letter
        (f"کتاب{ZWNJ}خانه", 8, 9),  # ZWNJ attaches to the preceding letter
        ("سلام 🇮🇷!", 7, 8),
        ("", 0, 0),
    ],
)
def test_counting(text: str, graphemes: int, code_points: int) -> None:
    assert count_graphemes(text) == graphemes
    assert count_code_points(text) == code_points


def test_truncate_never_splits_a_grapheme() -> None:
    text = "ab👨\u200d👩\u200d👧cd"
    assert truncate_graphemes(text, 5) == text
    assert truncate_graphemes(text, 4) == "ab👨\u200d👩\u200d👧…"
    assert truncate_graphemes(text, 3) == "ab…"
    assert truncate_graphemes(text, 3, ellipsis="") == "ab👨\u200d👩\u200d👧"
    assert truncate_graphemes(text, 0) == ""
    with pytest.raises(ValueError):
        truncate_graphemes(text, -1)
