"""X's weighted length on Persian text, emoji sequences and URLs (beyond the conformance data)."""

from __future__ import annotations

import time

import pytest

from sokhan.publishing.twitter_text import V3, extract_emoji, extract_urls, parse_tweet

ZWNJ = "\u200c"


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("سلام دنیا", 9),  # Arabic script is in the 0–4351 range: weight 1
        (f"می{ZWNJ}خواهم", 8),  # ZWNJ (U+200C) is in the 8192–8205 range: weight 1
        ("۱۴۰۳/۰۱/۰۱", 10),  # Persian digits
        ("ا\u0653", 1),  # a decomposed آ is one character after NFC
        ("ببینید https://example.com/fa", 30),  # a link weighs 23
        ("http://foobar.ایران", 23),  # an IDN TLD
        ("https://fa.wikipedia.org/wiki/ایران", 28),  # Persian letters end a URL path, as in twitter-text
        ("sokhan.ir", 23),  # a URL without protocol
        ("file.txt", 8),  # .txt is no TLD
        ("سلام 👋", 7),
        ("«خبر فوری» 🔥🔥", 15),
    ],
)
def test_persian_weighted_lengths(text: str, weighted: int) -> None:
    assert parse_tweet(text).weighted_length == weighted


@pytest.mark.parametrize(
    "emoji",
    [
        "😀",
        "🇮🇷",  # flag: two regional indicators
        "👍🏽",  # skin tone
        "❤️",  # text-default character with VS16
        "1️⃣",
        "#️⃣",
        "1⃣",  # keycap without VS16
        "👨‍👩‍👧‍👦",  # ZWJ family
        "🏳️‍🌈",
        "🧑🏽‍💻",  # ZWJ with a skin tone
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # subdivision flag (tag sequence)
    ],
)
def test_each_emoji_sequence_weighs_two(emoji: str) -> None:
    assert [e.text for e in extract_emoji(emoji)] == [emoji]
    assert parse_tweet(emoji).weighted_length == 2
    assert parse_tweet(f"سلام{emoji}").weighted_length == 6


def test_text_default_characters_are_not_emoji() -> None:
    assert parse_tweet("©").weighted_length == 1
    assert parse_tweet("© 2025").weighted_length == 6
    assert parse_tweet("©️").weighted_length == 2
    assert extract_emoji("1 # *") == []


def test_persian_limit_is_280_letters_and_140_emoji() -> None:
    assert parse_tweet("ب" * 280).valid
    over = parse_tweet("ب" * 281)
    assert not over.valid and over.weighted_length == 281 and over.valid_range_end == 279
    assert parse_tweet("🌷" * 140).valid
    assert not parse_tweet("🌷" * 141).valid
    assert parse_tweet("🌷" * 140).permillage == 1000


def test_empty_and_invalid_characters() -> None:
    empty = parse_tweet("")
    assert (empty.weighted_length, empty.valid, empty.display_range_end) == (0, False, 0)
    bom = parse_tweet("\ufeffسلام")
    assert bom.has_invalid_characters and not bom.valid
    assert parse_tweet("\u202bسلام\u202c").valid  # directional marks are fine


def test_url_entities_and_offsets() -> None:
    text = "ببینید: https://sokhan.ir/fa?x=1 و t.co/abc"
    urls = [(e.text, e.start, e.end) for e in extract_urls(text)]
    assert urls == [("https://sokhan.ir/fa?x=1", 8, 32), ("t.co/abc", 35, 43)]


def test_domain_labels_over_63_characters_are_not_links() -> None:
    assert extract_urls("a" * 63 + ".com") != []
    assert extract_urls("a" * 64 + ".com") == []
    assert parse_tweet("http://" + "a" * 64 + ".com").weighted_length == 75


@pytest.mark.parametrize(
    "text",
    ["a." * 20000, "あ" * 20000 + ".zz", "ab-" * 10000 + ".com", "あ." * 10000, "http://a.com/" + "(a" * 5000],
    ids=["dotted", "cjk-run", "hyphens", "cjk-dotted", "parens"],
)
def test_pathological_text_is_linear(text: str) -> None:
    started = time.perf_counter()
    parse_tweet(text)
    assert time.perf_counter() - started < 2


def test_config_values() -> None:
    assert V3.weight(ord("a")) == 100
    assert V3.weight(ord("ی")) == 100
    assert V3.weight(0x200C) == 100
    assert V3.weight(ord("中")) == 200
