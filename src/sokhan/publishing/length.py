"""Text length as each network counts it (``Limits.counting``).

* ``graphemes``: user-perceived characters (an emoji family, a flag or a letter with its marks
  is one; a ZWNJ belongs to the letter before it).
* ``code_points``: Unicode code points (an emoji family is 7, a ZWNJ is 1).
* ``utf16``: UTF-16 code units, the unit of JavaScript and Telegram (emoji outside the BMP are 2).
* ``utf8_bytes``: bytes of UTF-8 (Persian letters are 2, ZWNJ 3, most emoji 4 each code point).
* ``twitter_weighted``: X's weighted length (see ``sokhan.publishing.twitter_text``).

Text is counted as given; only the X count normalises to NFC first, as X does.
"""

from __future__ import annotations

from sokhan.core.text import count_code_points, count_graphemes
from sokhan.networks.types import TextCounting
from sokhan.publishing.twitter_text import V3, TwitterLength, TwitterTextConfig, parse_tweet

__all__ = ["TwitterLength", "count_text", "twitter_weighted_length"]


def twitter_weighted_length(text: str, config: TwitterTextConfig = V3) -> TwitterLength:
    """X's weighted length of ``text``: URLs weigh 23, emoji and CJK 2, most other characters 1."""
    return parse_tweet(text, config)


def count_utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def count_utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def count_text(text: str, counting: TextCounting) -> int:
    """Length of ``text`` in the unit ``counting`` names."""
    match counting:
        case TextCounting.GRAPHEMES:
            return count_graphemes(text)
        case TextCounting.CODE_POINTS:
            return count_code_points(text)
        case TextCounting.UTF16:
            return count_utf16(text)
        case TextCounting.UTF8_BYTES:
            return count_utf8_bytes(text)
        case TextCounting.TWITTER_WEIGHTED:
            return twitter_weighted_length(text).weighted_length
    raise ValueError(f"unknown text counting {counting!r}")
