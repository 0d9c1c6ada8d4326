from __future__ import annotations

import pytest

from sokhan.publishing.rules import BrandRules, RuleConfigError, check, find_word, has_blocking


def test_arabic_letters_match_persian() -> None:
    assert find_word("كتاب", "این کتاب خوب است") == [(4, 8)]
    assert find_word("کتاب", "این كتاب خوب است") == [(4, 8)]


def test_whole_words_only() -> None:
    assert find_word("کار", "کارخانه بزرگ") == []
    assert find_word("ad", "adidas AD") == [(7, 9)]


def test_zwnj_suffix_matches_but_prefix_does_not() -> None:
    assert find_word("کتاب", "کتاب‌ها را بخوان") == [(0, 4)]
    assert find_word("کتاب", "بی‌کتاب") == []
    assert find_word("کتابخانه", "کتاب‌خانه") == [(0, 9)]


def test_diacritics_digits_and_spaces() -> None:
    assert find_word("کتاب", "کِتاب") == [(0, 5)]
    assert find_word("قیمت 100", "قیمت  ۱۰۰ تومان") == [(0, 9)]


def test_check_messages_and_severities() -> None:
    rules = BrandRules(banned_words=["Bad"], required_disclosure=["#تبلیغ", "#ad"], max_hashtags=1,
                       blocking=frozenset({"banned_word"}))  # fmt: skip
    text = "first line\nso bad #a #b"
    findings = check(text, rules, sponsored=True)
    kinds = [(f.kind, f.severity) for f in findings]
    assert kinds == [("banned_word", "error"), ("too_many_hashtags", "warning"), ("missing_disclosure", "warning")]
    assert "“Bad”" in findings[0].message and "line 2, column 4" in findings[0].message
    start, end = findings[0].start, findings[0].end
    assert start is not None and end is not None and text[start:end] == "bad"
    assert has_blocking(findings)


def test_disclosure_rules() -> None:
    rules = BrandRules(required_disclosure=["#تبلیغ", "#ad"])
    assert check("محصول جدید #تبلیغ", rules, sponsored=True) == []
    assert check("new #AD", rules, sponsored=True) == []
    assert check("محصول #تبلیغات", rules, sponsored=True)[0].kind == "missing_disclosure"
    assert check("no ad here", rules, sponsored=False) == []
    always = BrandRules(required_disclosure=["#ad"], disclosure_applies_to_sponsored=False)
    assert [f.kind for f in check("plain", always, sponsored=False)] == ["missing_disclosure"]


def test_config_validation_and_json_round_trip() -> None:
    with pytest.raises(RuleConfigError):
        BrandRules(blocking=frozenset({"nope"}))
    with pytest.raises(RuleConfigError):
        BrandRules(banned_words=["  "])
    rules = BrandRules(banned_words=["x"], max_hashtags=3)
    assert BrandRules.from_json(rules.as_json()) == rules
