"""The C engine (``sokhan.listening._scan``) gives exactly what the pure-Python matcher gives.

Folding is compared with ``sokhan.core.text.fold_with_joins`` (both the single-pass shortcut and
the separate passes), term hits and query matches with a pure-Python ``Matcher`` built the same
way, on generated mixed Persian/Arabic/Latin text with digits of three scripts, ZWNJ and its
look-alikes, ZWJ, diacritics, tatweel, presentation forms, emoji, hashtags, mentions and case
folding traps. The hard-coded tables of ``_scan.c`` are checked against ``unicodedata``.
"""

from __future__ import annotations

import gc
import os
import unicodedata
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sokhan.core.text import fold_for_match, fold_with_joins
from sokhan.listening.matcher import PURE_PYTHON_ENV, Item, Matcher, c_engine_available
from sokhan.listening.query import And, Field, Node, Not, Or, Term, parse

pytestmark = pytest.mark.skipif(not c_engine_available(), reason="the C extension is not built")

if c_engine_available():
    from sokhan.listening import _scan

CHANNELS = ("telegram", "x", "mastodon")

# Characters that exercise every rule of the fold, the boundaries and the fast path's bail-outs.
PERSIAN = list("کتابخانهیرسلمدوپچژگفقعغصضطظحجشذزثآائؤءهة")
ARABIC_FORMS = list("يىكةۀھأإٱ")
DIGITS = list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
LATIN = list("abcdefxyzABCDEFXYZ")
CASE_TRAPS = ["ß", "ẞ", "İ", "ı", "Σ", "ς", "σ", "ſ", "K", "Å", "ﬁ", "ŉ", "ǰ", "µ", "Ꭰ", "ꭰ", "Ⅻ", "Ⓐ"]
MARKS = ["\u064b", "\u064e", "\u0650", "\u0651", "\u0652", "\u0653", "\u0654", "\u0655", "\u0670", "\u0301", "\u0308"]
INVISIBLE = ["\u200c", "\u200c", "\u200d", "\u200b", "\u200e", "\u200f", "\u061c", "\u0640", "\u00ad", "\u2060"]
INVISIBLE += ["\ufeff"]
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u2000", "\u2003", "\u2028", "\u3000", "\x1c", "\x85"]
PRESENTATION = ["\ufefb", "\ufdf2", "\ufb8e", "\ufe8d", "\ufee9", "\ufd3e"]
SYMBOLS = list("#@._-&!*$%+()«»،؟،:/")
EMOJI = ["👍", "🔥", "😂", "🇮🇷", "✅", "\u2764\ufe0f", "👨\u200d👩\u200d👧", "👍🏽"]
ASTRAL = ["𐐀", "𐐨", "𝐀", "𝟙", "𑂺", "\U0001e900"]
OTHER = ["e\u0301", "ا\u0653", "ی\u0654", "\u1100\u1161", "é", "ñ", "Ǆ", "ǅ", "Ω", "Ω", "\u0958", "٪", "…"]

ALPHABET = (
    PERSIAN * 3 + ARABIC_FORMS + DIGITS + LATIN * 2 + CASE_TRAPS + MARKS + INVISIBLE * 2 + SPACES * 3
    + PRESENTATION + SYMBOLS + EMOJI + ASTRAL + OTHER
)  # fmt: skip

WORDS = [
    "کتاب", "خانه", "کتابخانه", "كتاب", "کار", "یک", "يك", "ایران", "قیمت", "خرید", "apple", "Apple",
    "PIE", "pineapple", "sokhan", "SOKHAN", "straße", "STRASSE", "c++", "e-mail", "x1", "۱۴۰۴", "1404",
    "١٤٠٤", "iphone", "آیفون", "نیکی", "kelvin", "σας", "ΣΑΣ",
]  # fmt: skip


@contextmanager
def _engine(pure: bool) -> Iterator[None]:
    """Matchers made inside use the pure-Python engine or the C one (through the public switch,
    whatever the environment of the test run says)."""
    old = os.environ.pop(PURE_PYTHON_ENV, None)
    if pure:
        os.environ[PURE_PYTHON_ENV] = "1"
    try:
        yield
    finally:
        os.environ.pop(PURE_PYTHON_ENV, None)
        if old is not None:
            os.environ[PURE_PYTHON_ENV] = old


def _pair() -> tuple[Matcher[int], Matcher[int]]:
    with _engine(pure=False):
        fast: Matcher[int] = Matcher(channels=CHANNELS)
    with _engine(pure=True):
        slow: Matcher[int] = Matcher(channels=CHANNELS)
    assert (fast.engine, slow.engine) == ("c", "python")
    return fast, slow


# --- strategies ---------------------------------------------------------------------------------

chars = st.sampled_from(ALPHABET)
raw_texts = st.lists(chars, max_size=60).map("".join)


@st.composite
def _decorated_word(draw: st.DrawFn) -> str:
    """A vocabulary word, perhaps with an Arabic letter form, a mark, a ZWNJ suffix, a sigil."""
    word = draw(st.sampled_from(WORDS))
    if draw(st.booleans()):
        position = draw(st.integers(0, len(word)))
        word = word[:position] + draw(st.sampled_from(MARKS + INVISIBLE)) + word[position:]
    prefix = draw(st.sampled_from(["", "", "", "#", "@", "(", "«", "&", "a", "_", "\u200c", "."]))
    suffix = draw(st.sampled_from(["", "", "", "\u200cها", "ها", "!", ".", ".x", "-x", "_x", "@x.y", "s", "😂"]))
    return prefix + word + suffix


word_texts = st.lists(
    st.tuples(_decorated_word(), st.sampled_from([*SPACES, "", ", ", "."])), min_size=1, max_size=12
).map(lambda parts: "".join(word + separator for word, separator in parts))
texts = st.one_of(word_texts, raw_texts, st.text(max_size=40))


@st.composite
def _terms(draw: st.DrawFn) -> Term:
    kind = draw(st.sampled_from(["word", "word", "phrase", "hashtag", "account"]))
    if kind == "phrase":
        text = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=3)))
    elif kind == "word":
        text = draw(st.one_of(st.sampled_from(WORDS), st.lists(chars, min_size=1, max_size=4).map("".join)))
    else:
        text = ("#" if kind == "hashtag" else "@") + draw(st.sampled_from(WORDS))
    return Term(kind, fold_for_match(text), text)  # type: ignore[arg-type]


@st.composite
def _queries(draw: st.DrawFn, depth: int = 0) -> Node:
    """An AST with at least one term that must appear (operands first, then a few wrappers)."""
    anchor: Node = draw(_terms())
    if depth >= 2 or draw(st.booleans()):
        return anchor
    others: list[Node] = [anchor]
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            others.append(Not(draw(_terms())))
        elif choice == 1:
            others.append(Field("lang", draw(st.sampled_from(["fa", "en"]))))
        elif choice == 2:
            others.append(Field("channel", draw(st.sampled_from(CHANNELS))))
        else:
            others.append(draw(_queries(depth + 1)))
    if draw(st.booleans()):
        return And(tuple(others))
    return Or(tuple(node for node in others if not isinstance(node, Not | Field)) or (anchor,))


# --- the hard-coded tables ------------------------------------------------------------------------


def _composition_seconds() -> set[int]:
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V and T jamo
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    return seconds


def test_nfc_safe_ranges_are_nfc_inert() -> None:
    seconds = _composition_seconds()
    ranges = [(0, 0x2FF), *_scan.nfc_safe_ranges()]
    for first, last in ranges:
        for code in range(first, last + 1):
            char = chr(code)
            assert unicodedata.combining(char) == 0, hex(code)
            assert unicodedata.normalize("NFC", char) == char, hex(code)
            assert code not in seconds, hex(code)


def test_emoji_blocks_have_no_case_marks_or_spaces() -> None:
    for code in range(0x1F000, 0x1FC00):
        char = chr(code)
        assert char.casefold() == char and not char.isspace(), hex(code)
        assert unicodedata.category(char)[0] != "M" and unicodedata.combining(char) == 0, hex(code)


def test_no_bmp_character_folds_outside_the_bmp() -> None:
    assert all(ord(c) < 0x10000 for code in range(0x10000) for c in chr(code).casefold())


# --- folding --------------------------------------------------------------------------------------


def _check_fold(text: str) -> None:
    expected = fold_with_joins(text)
    assert _scan.fold(text, fold_with_joins) == expected, text
    assert _scan.fold_passes(text, fold_with_joins) == expected, text
    plain = _scan.fold(text)
    assert plain is None or plain == expected
    assert expected[0] == fold_for_match(text)


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_fold_equals_fold_with_joins(text: str) -> None:
    _check_fold(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\u200c",
        " \u200cکتاب\u200c ",
        "کتاب\u200c\u200cخانه",
        "ب\u200bپ",
        "ب\u200b\u200dپ",
        "ب\u200d\u200bپ",
        "a\u200bb",
        "ب\u200e\u200c\u200fپ",
        "👨\u200d👩\u200d👧 ب\u200d",
        "\u200dب",
        "ﻻ سلام",
        "\ufeffabc",
        "e\u0301 ا\u0653 ی\u0654 ه\u0654",
        "Straße İstanbul ΣΑΣ ς ﬁ",
        "𐐀 x 𝐀",
        "\u2000a\u2001b\u3000c",
        "a\u0650\u064eb",
        "a\u064e\u0650b",
    ],
)
def test_fold_edge_cases(text: str) -> None:
    _check_fold(text)


def test_presentation_forms_go_to_the_fallback() -> None:
    assert _scan.fold("ﻻ") is None
    assert _scan.fold("ﻻ", fold_with_joins) == fold_with_joins("ﻻ") == ("لا", ())


# --- hits and matches -----------------------------------------------------------------------------


def _vary(text: str, data: st.DataObject) -> str:
    """The text as a post might spell it: Arabic letter forms, other digits, case, marks, glue."""
    out = []
    for char in text:
        roll = data.draw(st.integers(0, 9))
        if roll == 0 and char in "یک":
            char = {"ی": "ي", "ک": "ك"}[char]
        elif roll == 1 and char.isdigit():
            char = "۰۱۲۳۴۵۶۷۸۹"[int(char)] if char.isascii() else char
        elif roll == 2:
            char = char.swapcase()
        out.append(char)
        if roll == 3:
            out.append(data.draw(st.sampled_from(MARKS + INVISIBLE)))
    before = data.draw(st.sampled_from(["", " ", "#", "@", "a", "\u200c", "(", "&"]))
    after = data.draw(st.sampled_from(["", " ", "\u200cها", "x", ".", ".a", "-a", "@a", "_", "😂"]))
    return before + "".join(out) + after


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_terms(), min_size=1, max_size=12), st.lists(texts, min_size=1, max_size=6), st.data())
def test_term_hits_are_the_same(terms: list[Term], posts: list[str], data: st.DataObject) -> None:
    fast, slow = _pair()
    for index, term in enumerate(terms):
        fast.set(index, term)
        slow.set(index, term)
    # Posts made of the terms themselves, spelled differently, so that most of them hit.
    for _ in range(3):
        chosen = data.draw(st.lists(st.sampled_from(terms), min_size=1, max_size=4))
        posts.append(data.draw(st.sampled_from([" ", "", "  ", "\u200c"])).join(_vary(t.text, data) for t in chosen))
    for text in posts:
        assert fast.hits(text) == slow.hits(text), (text, [t.key for t in terms])
    # Each term is its own query: match_lines (the UTF-8 path, on one and on several threads)
    # must find the same hits as match on the str path.
    lines = [text.replace("\n", " ").replace("\r", " ") for text in posts]
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if all(c < "\ud800" or c > "\udfff" for c in "".join(lines)):  # lone surrogates are not UTF-8
        expected = [(n, frozenset(slow.match(line))) for n, line in enumerate(lines) if slow.match(line)]
        assert slow.match_lines(data) == expected
        assert fast.match_lines(data) == expected, lines
        assert fast.match_lines(data * 40, threads=3) == slow.match_lines(data * 40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_queries(), min_size=1, max_size=8),
    st.lists(
        st.tuples(texts, st.sampled_from(["", "fa", "FA_ir", " en "]), st.sampled_from(["", *CHANNELS])), max_size=6
    ),
)
def test_matches_are_the_same(queries: list[Node], posts: list[tuple[str, str, str]]) -> None:
    fast, slow = _pair()
    for index, query in enumerate(queries):
        fast.set(index, query)
        slow.set(index, query)
    for text, lang, channel in posts:
        assert fast.match(text, lang=lang, channel=channel) == slow.match(text, lang=lang, channel=channel), text
    items = [Item(text, lang, channel) for text, lang, channel in posts]
    assert list(fast.match_many(items)) == list(slow.match_many(items))
    data = "\n".join(text.replace("\n", " ").replace("\r", " ") for text, _, _ in posts).encode()
    langs = [lang for _, lang, _ in posts]
    channels = [channel for _, _, channel in posts]
    expected = slow.match_lines(data, langs=langs, channels=channels)
    assert fast.match_lines(data, langs=langs, channels=channels) == expected
    assert fast.match_lines(data, langs=langs, channels=channels, threads=3) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(st.none(), _queries())), max_size=20), texts)
def test_changes_keep_both_engines_equal(changes: list[tuple[int, Node | None]], text: str) -> None:
    fast, slow = _pair()
    for step, (query_id, query) in enumerate(changes):
        if query is None:
            assert fast.remove(query_id) == slow.remove(query_id)
        else:
            fast.set(query_id, query)
            slow.set(query_id, query)
        if step % 3 == 0:
            assert fast.match(text, lang="fa") == slow.match(text, lang="fa")
            assert fast.hits(text) == slow.hits(text)
    assert fast.match(text, lang="fa") == slow.match(text, lang="fa")
    assert fast.rebuilds == slow.rebuilds and fast.term_count == slow.term_count


def test_threads_split_a_big_buffer_like_one_thread() -> None:
    fast, slow = _pair()
    queries = ["apple OR سیب", "(کتاب OR book) -jobs", "#sokhan OR @sokhan", '"apple pie" lang:en', "1404 channel:x"]
    for index, query in enumerate(queries):
        fast.set(index, query)
        slow.set(index, query)
    lines = ["apple pie is good", "کتاب\u200cها را خواندم", "book jobs", "#Sokhan rocks", "@sokhan.", "", "نو ۱۴۰۴"]
    lines += ["ﻻ سیب", "e\u0301 apple", "𐐀 apple 𐐀"]  # lines the worker threads leave for the main thread
    data = "\n".join(lines[i % len(lines)] for i in range(20000)).encode()
    langs = ["en" if i % 3 else "fa" for i in range(20000)]
    channels = ["x" if i % 2 else "telegram" for i in range(20000)]
    expected = slow.match_lines(data, langs=langs, channels=channels)
    for threads in (1, 2, 4, 7):
        assert fast.match_lines(data, langs=langs, channels=channels, threads=threads) == expected


def test_match_lines_edges() -> None:
    fast, slow = _pair()
    for matcher in (fast, slow):
        matcher.set(1, "apple")
    for data in [b"", b"\n", b"apple", b"apple\n", b"\napple\n\n", b"x\r\napple\r\n", "سیب apple".encode()]:
        assert fast.match_lines(data) == slow.match_lines(data), data
    for bad in [b"apple\n\xff apple", b"\xed\xa0\x80", b"\xc0\xaf", b"ok\n\xf4\x90\x80\x80"]:
        with pytest.raises(UnicodeDecodeError):
            slow.match_lines(bad)
        with pytest.raises(UnicodeDecodeError):
            fast.match_lines(bad)


def test_match_many_notices_changes_made_while_iterating() -> None:
    fast, slow = _pair()
    outputs = []
    for matcher in (fast, slow):
        matcher.set(1, "apple")
        seen = []
        for index, result in enumerate(matcher.match_many(["apple pear"] * 600)):
            seen.append(result)
            if index == 300:
                matcher.set(1, "pear")
            if index == 400:
                matcher.set(2, "apple")
        outputs.append(seen)
    assert outputs[0] == outputs[1]
    assert outputs[0][300] == {1} and outputs[0][301] == {1} and outputs[0][401] == {1, 2}


def test_fields_with_unusual_metadata() -> None:
    fast, slow = _pair()
    for matcher in (fast, slow):
        matcher.set(1, "apple lang:fa")
        matcher.set(2, "apple -channel:x")
    for lang in ["", "fa", " FA ", "fa_IR", "fa-ir", "fas", "en", None]:
        for channel in ["", "x", " X ", "telegram", None]:
            got = fast.match("apple", lang=lang, channel=channel)  # type: ignore[arg-type]
            assert got == slow.match("apple", lang=lang, channel=channel), (lang, channel)  # type: ignore[arg-type]


def test_hand_built_terms_with_odd_keys() -> None:
    fast, slow = _pair()
    odd = [Term("word", "", ""), Term("word", " x", " x"), Term("phrase", "-x", "-x"), Term("word", "é", "é")]
    for index, term in enumerate(odd):
        fast.set(index, term)
        slow.set(index, term)
    for text in ["a x", " x", "a-x", "-x", "é", "e\u0301", "", "xé"]:
        assert fast.hits(text) == slow.hits(text), text
        assert fast.match(text) == slow.match(text), text


# --- the engine's own contract ---------------------------------------------------------------------


def test_engine_is_not_reentrant() -> None:
    engine = _scan.Engine(fold_with_joins)
    engine.set_terms([("apple", 1, 0)])

    class Sneaky:
        def __getitem__(self, index: int) -> str:
            engine.set_terms([])  # changing the engine from inside a match
            return "fa"

    engine.set_query("q", (1,), (4, (1, (1, "fa"))))
    with pytest.raises(RuntimeError, match="re-entered"):
        engine.match_lines(b"apple", "", "", Sneaky(), None)
    assert engine.match("apple", "fa", "") == {"q"}  # and it still works


def test_engine_releases_its_keys() -> None:
    class Key:
        def __hash__(self) -> int:
            return 7

    key: Any = Key()
    ref = weakref.ref(key)
    engine = _scan.Engine(fold_with_joins)
    engine.set_terms([("apple", 1, 0)])
    engine.set_query(key, (1,), None)
    assert engine.match("apple", "", "") == {key}
    assert engine.remove_query(key) and not engine.remove_query(key)
    del key
    gc.collect()
    assert ref() is None


def test_engine_in_a_reference_cycle_is_collected() -> None:
    class Holder:
        engine: Any

    holder = Holder()
    holder.engine = _scan.Engine(fold_with_joins)
    holder.engine.set_terms([("apple", 1, 0)])
    holder.engine.set_query(holder, (1,), None)  # the engine holds its owner as a key
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_bad_arguments_are_refused() -> None:
    engine = _scan.Engine(fold_with_joins)
    with pytest.raises(TypeError):
        engine.set_terms([("apple", "1", 0)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="kind"):
        engine.set_terms([("apple", 1, 9)])
    with pytest.raises(TypeError):
        engine.set_query("q", [1], None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="operator"):
        engine.set_query("q", (1,), (9, 1))
    with pytest.raises(TypeError):
        engine.match(b"apple", "", "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads"):
        engine.match_lines(b"", "", "", None, None, 0)
    assert engine.match("apple", "", "") == set()  # nothing was half-changed


def test_matcher_reports_its_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PURE_PYTHON_ENV, raising=False)
    assert Matcher().engine == "c"
    monkeypatch.setenv(PURE_PYTHON_ENV, "1")
    assert Matcher().engine == "python"
    monkeypatch.setenv(PURE_PYTHON_ENV, "")
    assert Matcher().engine == "c"
    assert parse("apple") == parse("APPLE")  # parsing does not depend on the engine
