"""Matching: the issue's examples, the ZWNJ/hashtag/account rules and the many-query Matcher."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sokhan.core.text import ZWNJ, fold_for_match, fold_with_joins
from sokhan.listening.matcher import Item, Matcher, matches
from sokhan.listening.query import Node, QuerySyntaxError, Term, parse, terms
from sokhan.publishing.extract import extract_entities
from sokhan.publishing.rules import find_phrase, fold_with_offsets

CHANNELS = ("telegram", "x", "mastodon")
LIBRARY = ["کتاب\u200cخانه", "کتابخانه", "كتابخانه"]  # ZWNJ, no ZWNJ, Arabic kaf
YEAR = ["۱۴۰۴", "1404", "١٤٠٤"]  # Persian, Latin, Arabic-Indic digits


# --- the examples, literally ------------------------------------------------------------


@pytest.mark.parametrize(("query", "text"), list(itertools.product(LIBRARY, LIBRARY)))
def test_library_spellings_match_each_other(query: str, text: str) -> None:
    assert matches(query, f"امروز {text} باز است")


@pytest.mark.parametrize(("query", "text"), list(itertools.product(YEAR, YEAR)))
def test_digits_match_in_any_script(query: str, text: str) -> None:
    assert matches(query, f"سال {text} مبارک")


def test_latin_case_folding() -> None:
    assert matches("apple", "I love APPLE products")
    assert matches("APPLE", "apple pie")
    assert matches("Straße", "STRASSE")  # full case folding, not just lower()


def test_whole_words_only() -> None:
    assert not matches("apple", "pineapple juice")
    assert not matches("apple", "apples")
    assert not matches("کار", "کارخانه بزرگ")
    assert matches("کار", "کار خوب")
    assert matches("apple", "(apple), apple.")


def test_zwnj_joined_suffix_still_matches_its_word() -> None:
    assert matches("کتابخانه", "کتابخانه‌ها")
    assert matches("کتاب‌خانه", "کتاب‌خانه‌های شهر")
    assert matches("كتاب", "کتاب‌ها را بخوان")


def test_the_exact_zwnj_rule() -> None:
    # A ZWNJ in the text ends a word for matching (a suffix or the first part of a compound: no
    # dictionary tells them apart), but never starts one.
    assert matches("کتاب", "کتاب‌خانه")
    assert not matches("کتاب", "کتابخانه")  # no half space: one word
    assert not matches("خانه", "کتاب‌خانه")  # a match cannot start after a half space
    assert not matches("کتاب", "بی‌کتاب")
    # A ZWNJ inside the query's word is optional in the text, both ways.
    assert matches("کتاب‌خانه", "کتابخانه") and matches("کتابخانه", "کتاب‌خانه")
    # A look-alike (zero-width space) between letters acts as a half space.
    assert matches("کتاب", "کتاب\u200bها")


def test_hashtags_match_exactly_case_insensitively() -> None:
    assert matches("#Apple", "new #apple phone")
    assert matches("#apple", "#APPLE!")
    assert not matches("#Apple", "#applepie")
    assert not matches("#apple", "#apple_store")
    assert not matches("#apple", "apple pie")  # the hashtag query wants the hashtag
    assert not matches("#apple", "a#apple")  # not a hashtag
    assert not matches("#apple", "&#apple")
    assert matches("#کتابخانه", "#كتاب\u200cخانه")
    assert not matches("#کتاب", "#کتاب\u200cخوانی")  # the ZWNJ is inside the tag
    assert matches("#کتاب_خوانی", "#کتاب_خوانی")
    # A plain word also finds the hashtag of the same text (# is not a word character).
    assert matches("apple", "#apple")
    assert not matches("apple", "#applepie")


def test_accounts_match_exactly_case_insensitively() -> None:
    assert matches("@Sokhan", "thanks @sokhan!")
    assert matches("@sokhan", "(@SOKHAN)")
    assert matches("@sokhan", "cc @sokhan.")  # the sentence ends
    assert not matches("@sokhan", "@sokhan_app")
    assert not matches("@sokhan", "@sokhan.bsky.social")
    assert not matches("@sokhan", "@sokhan@mastodon.social")
    assert not matches("@sokhan", "info@sokhan.ir")  # an e-mail address
    assert matches("@sokhan.bsky.social", "by @Sokhan.bsky.social")
    assert matches("@sokhan@mastodon.social", "@sokhan@mastodon.social hi")
    assert matches("sokhan", "@sokhan")  # the word finds the handle of the same text


def test_phrases() -> None:
    assert matches('"apple pie"', "I like Apple   pie!")
    assert not matches('"apple pie"', "apple and pie")
    assert not matches('"apple pie"', "apple pies")
    assert matches("«کتاب خانه»", "این كتاب خانه")
    assert matches('"iPhone 16"', "iphone ۱۶ pro")


def test_boolean_logic() -> None:
    assert matches("apple pie", "pie made of apple")
    assert not matches("apple pie", "apple only")
    assert matches("apple OR pie", "just pie")
    assert not matches("apple -pie", "apple pie")
    assert matches("apple -pie", "apple tart")
    assert matches("(apple OR pear) -(pie OR tart)", "pear juice")
    assert not matches("(apple OR pear) -(pie OR tart)", "pear tart")
    assert matches("apple (NOT pie OR tart)", "apple tart pie")


def test_fields() -> None:
    assert matches("apple lang:fa", "apple", lang="fa")
    assert matches("apple lang:fa", "apple", lang="fa-IR")  # the primary subtag is enough
    assert matches("apple lang:fa", "apple", lang="FA_ir")
    assert not matches("apple lang:fa", "apple", lang="en")
    assert not matches("apple lang:fa", "apple")  # unknown language: not fa
    assert matches("apple -lang:fa", "apple")
    assert matches("apple channel:telegram", "apple", channel="telegram")
    assert not matches("apple channel:telegram", "apple", channel="x")
    assert matches("apple (lang:fa OR channel:x)", "apple", lang="en", channel="x")


# --- the Matcher: many queries, changes, batches ------------------------------------------------


def test_matcher_many_queries_and_incremental_changes() -> None:
    matcher: Matcher[str] = Matcher(channels=CHANNELS)
    matcher.set("brand", "sokhan OR سخن OR #sokhan OR @sokhan")
    matcher.set("rival", "(rival OR رقیب) -jobs")
    matcher.set("library", "کتابخانه lang:fa")
    assert matcher.match("I use Sokhan daily") == {"brand"}
    assert matcher.match("سخن و رقیب") == {"brand", "rival"}
    assert matcher.match("rival jobs") == set()
    assert matcher.match("كتابخانه‌ها", lang="fa") == {"library"}
    rebuilds = matcher.rebuilds

    # Changing a query to terms the automaton knows needs no rebuild.
    matcher.set("rival", "rival OR رقیب")
    assert matcher.match("rival jobs") == {"rival"}
    assert matcher.rebuilds == rebuilds
    # A new term: one rebuild, at the next match, however many changes came before it.
    matcher.set("rival", "rival OR competitor")
    matcher.set("new", "competitor -jobs")
    assert matcher.rebuilds == rebuilds
    assert matcher.match("a competitor") == {"rival", "new"}
    assert matcher.rebuilds == rebuilds + 1
    # Removing: the term lingers in the automaton until the next rebuild but matches nothing.
    assert matcher.remove("new") and not matcher.remove("new")
    matcher.set("rival", "rival")
    assert matcher.match("a competitor") == set()
    assert "new" not in matcher and len(matcher) == 3
    assert str(matcher.query("rival")) == "rival"


def test_matcher_rejects_a_bad_query_without_changing_anything() -> None:
    matcher: Matcher[int] = Matcher()
    matcher.set(1, "apple")
    with pytest.raises(QuerySyntaxError):
        matcher.set(1, "apple AND")
    assert matcher.match("apple") == {1}


def test_matcher_refuses_a_hand_built_tree_that_needs_no_term() -> None:
    from sokhan.listening.query import Not

    matcher: Matcher[int] = Matcher()
    with pytest.raises(ValueError, match="can match without any of its terms"):
        matcher.set(1, Not(Term("word", "apple", "apple")))
    assert len(matcher) == 0 and matcher.term_count == 0


def test_empty_matcher_and_match_many() -> None:
    matcher: Matcher[int] = Matcher(channels=CHANNELS)
    assert matcher.match("anything") == set()
    matcher.set(1, "apple lang:en")
    matcher.set(2, "#apple OR «سیب»")
    items = [Item("apple", lang="en"), "سیب", Item("#Apple apple", lang="fa"), "pear"]
    assert list(matcher.match_many(items)) == [{1}, {2}, {2}, set()]


# --- properties ---------------------------------------------------------------------------------

PERSIAN = ["کتاب", "خانه", "کتابخانه", "کار", "کارخانه", "یک", "ایران", "نیکی", "سال", "۱۴۰۴", "١٢٣", "99"]
LATIN = ["apple", "Apple", "PIE", "pineapple", "sokhan", "c++", "e-mail", "x1"]
TAGS = ["#apple", "#Apple", "#کتاب", "#کتاب_خوانی", "@sokhan", "@Sokhan_ir", "@sokhan.bsky.social"]
SEPARATORS = [" ", "  ", ", ", "! ", " (", ") ", "\n", " - ", "؟ "]


def _word_variants(word: str) -> st.SearchStrategy[str]:
    """Spellings of ``word`` a reader sees as the same: Arabic letters, other digits, marks."""

    def vary(rng: random.Random) -> str:
        out = []
        for char in word:
            if char == "ی" and rng.random() < 0.5:
                char = rng.choice("يى")
            elif char == "ک" and rng.random() < 0.5:
                char = "ك"
            elif char.isdigit():
                char = rng.choice([str(int(char)), "۰۱۲۳۴۵۶۷۸۹"[int(char)], "٠١٢٣٤٥٦٧٨٩"[int(char)]])
            elif char.isascii() and char.isalpha() and rng.random() < 0.3:
                char = char.swapcase()
            out.append(char)
            if "\u0600" <= char <= "\u06ff" and not char.isdigit() and rng.random() < 0.15:
                out.append(rng.choice(["\u0640", "\u064e", "\u0650", "\u0651"]))  # tatweel or a haraka
        return "".join(out)

    return st.randoms(use_true_random=False).map(vary)


def _texts() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(PERSIAN + LATIN + TAGS), min_size=1, max_size=8)


def _render(words: list[str], separators: list[str]) -> str:
    return "".join(word + separators[i % len(separators)] for i, word in enumerate(words)).strip()


QUERIES = [
    "کتاب",
    "کتابخانه OR apple",
    "کار -کارخانه",
    "#apple OR @sokhan",
    '"apple pie" OR «کتاب خانه»',
    "(ایران OR sokhan) ۱۴۰۴",
    "نیکی OR (c++ -e-mail)",
    "apple lang:fa",
    "#کتاب_خوانی OR @sokhan.bsky.social",
    "pineapple (PIE OR x1) -#Apple",
    "apple",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts(), st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3), st.data())
def test_matching_is_invariant_under_letter_digit_and_case_variants(
    words: list[str], separators: list[str], data: st.DataObject
) -> None:
    original = _render(words, separators)
    varied = _render([data.draw(_word_variants(word)) for word in words], separators)
    assert fold_for_match(original) == fold_for_match(varied)
    for query in QUERIES:
        assert matches(query, original, lang="fa") == matches(query, varied, lang="fa"), (query, original, varied)
        tokens = [
            token if token in ("AND", "OR", "NOT") else data.draw(_word_variants(token)) for token in query.split()
        ]
        query_variant = " ".join(tokens)
        assert parse(query_variant) == parse(query), query_variant
        assert matches(query_variant, original, lang="fa") == matches(query, original, lang="fa"), query_variant


def _reference_hit(term: Term, text: str) -> bool:
    """The same rules by other code: brand rules' matcher for words, extract.py for tags."""
    if term.kind in ("word", "phrase"):
        return bool(find_phrase(term.text, fold_with_offsets(text)))
    kind = "hashtag" if term.kind == "hashtag" else "mention"
    wanted = fold_for_match(term.text[1:])
    return any(e.kind == kind and fold_for_match(e.value) == wanted for e in extract_entities(text))


def _reference(node: Node, text: str, lang: str) -> bool:
    from sokhan.listening.query import And, Field, Not, Or

    match node:
        case Term():
            return _reference_hit(node, text)
        case Field():
            return lang == node.value
        case Not(operand):
            return not _reference(operand, text, lang)
        case And(operands):
            return all(_reference(operand, text, lang) for operand in operands)
        case Or(operands):
            return any(_reference(operand, text, lang) for operand in operands)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_texts(), min_size=1, max_size=6), st.sampled_from(["fa", "en"]))
def test_one_matcher_for_all_queries_equals_each_query_alone_and_the_reference(
    texts: list[list[str]], lang: str
) -> None:
    matcher: Matcher[int] = Matcher()
    for index, query in enumerate(QUERIES):
        matcher.set(index, query)
    for words in texts:
        text = " ".join(words)
        together = matcher.match(text, lang=lang)
        alone = {index for index, query in enumerate(QUERIES) if matches(query, text, lang=lang)}
        reference = {index for index, query in enumerate(QUERIES) if _reference(parse(query), text, lang)}
        assert together == alone == reference, text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([*QUERIES, None])), max_size=25), _texts())
def test_any_sequence_of_changes_matches_like_a_fresh_matcher(
    changes: list[tuple[int, str | None]], words: list[str]
) -> None:
    text = " ".join(words)
    changed: Matcher[int] = Matcher()
    current: dict[int, str] = {}
    for step, (query_id, query) in enumerate(changes):
        if query is None:
            assert changed.remove(query_id) == (query_id in current)
            current.pop(query_id, None)
        else:
            changed.set(query_id, query)
            current[query_id] = query
        if step % 3 == 0:
            changed.match(text)  # rebuild now and then, as matching between changes would
    fresh: Matcher[int] = Matcher()
    for query_id, query in current.items():
        fresh.set(query_id, query)
    assert changed.match(text, lang="fa") == fresh.match(text, lang="fa")
    assert (
        changed.term_count
        == fresh.term_count
        == len(
            {(term.kind in ("word", "phrase"), term.key) for query in current.values() for term in terms(parse(query))}
        )
    )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab کتابيك۱1 \u200c\u200b\u200d\u0640\u064e#@.\n")), max_size=20))
def test_fold_with_joins_is_fold_for_match_plus_join_positions(text: str) -> None:
    folded, joins = fold_with_joins(text)
    assert folded == fold_for_match(text)
    assert list(joins) == sorted(set(joins))
    assert all(0 < join < len(folded) and folded[join - 1] != " " and folded[join] != " " for join in joins)
    assert len(joins) <= text.count(ZWNJ) + text.count("\u200b")
