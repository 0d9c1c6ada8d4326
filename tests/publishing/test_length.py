"""``count_text`` for every ``TextCounting`` on Persian, ZWNJ and emoji text."""

from __future__ import annotations

import pytest

from sokhan.networks.types import TextCounting
from sokhan.publishing.length import count_text, twitter_weighted_length

ZWNJ = "\u200c"
# «می‌خواهم» (7 letters + ZWNJ), a ZWJ family (4 emoji + 3 ZWJ) and the flag of Iran (2 regional indicators)
MIXED = f"می{ZWNJ}خواهم 👨‍👩‍👧‍👦 🇮🇷"


@pytest.mark.parametrize(
    ("counting", "expected"),
    [
        (TextCounting.GRAPHEMES, 11),  # 7 + space + family + space + flag
        (TextCounting.CODE_POINTS, 19),  # 8 + 1 + 7 + 1 + 2
        (TextCounting.UTF16, 25),  # 8 + 1 + (4×2 + 3) + 1 + 2×2
        (TextCounting.UTF8_BYTES, 52),  # (7×2 + 3) + 1 + (4×4 + 3×3) + 1 + 2×4
        (TextCounting.TWITTER_WEIGHTED, 14),  # 8 + 1 + 2 + 1 + 2
    ],
)
def test_mixed_persian_and_emoji(counting: TextCounting, expected: int) -> None:
    assert count_text(MIXED, counting) == expected


@pytest.mark.parametrize(
    ("text", "graphemes", "code_points", "utf16", "utf8", "weighted"),
    [
        ("", 0, 0, 0, 0, 0),
        ("سلام", 4, 4, 4, 8, 4),
        (f"کتاب{ZWNJ}خانه", 8, 9, 9, 19, 9),  # a ZWNJ belongs to the letter before it
        ("۱۴۰۳", 4, 4, 4, 8, 4),
        ("😀", 1, 1, 2, 4, 2),
        ("👍🏽", 1, 2, 4, 8, 2),
        ("❤️", 1, 2, 2, 6, 2),
        ("1️⃣", 1, 3, 3, 7, 2),
        ("ا\u0653", 1, 2, 2, 4, 1),  # decomposed آ: only the X count normalises
        ("https://example.com/a/very/long/path", 36, 36, 36, 36, 23),
    ],
)
def test_each_counting(text: str, graphemes: int, code_points: int, utf16: int, utf8: int, weighted: int) -> None:
    assert count_text(text, TextCounting.GRAPHEMES) == graphemes
    assert count_text(text, TextCounting.CODE_POINTS) == code_points
    assert count_text(text, TextCounting.UTF16) == utf16
    assert count_text(text, TextCounting.UTF8_BYTES) == utf8
    assert count_text(text, TextCounting.TWITTER_WEIGHTED) == weighted


def test_every_counting_is_handled() -> None:
    for counting in TextCounting:
        assert count_text("سلام 👋", counting) > 0


def test_lone_surrogates_do_not_crash() -> None:
    assert count_text("a\ud800", TextCounting.UTF16) == 2
    assert count_text("a\ud800", TextCounting.UTF8_BYTES) == 4


def test_twitter_weighted_length_result() -> None:
    result = twitter_weighted_length("سلام 👋 https://example.com")
    assert (result.weighted_length, result.valid, result.permillage) == (31, True, 110)  # 4 + 1 + 2 + 1 + 23
    assert (result.display_range_start, result.display_range_end) == (0, 26)  # UTF-16 offsets: the emoji is 2 units
