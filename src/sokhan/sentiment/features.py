"""Text → feature strings, shared by training and inference so both see exactly the same features.

A text becomes a *set* of strings: word unigrams (prefix ``w``), word bigrams (``b``) and character
n-grams (``c``) of the normalised text. The model gives every feature the value
``1 / sqrt(len(features))`` (binary, L2-normalised), counted over *all* generated features, not
only those the model knows, so pruning rare or weak features after training changes nothing
else in the score.
"""

from __future__ import annotations

import html
import re

from sokhan.core.text import fold_for_match

# Arabic-script letters (Persian and Arabic blocks and their supplements, presentation forms).
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
# Three or more repeats of a character are one spelling ("soooo" = "sooooooo"), so cap them at two.
_REPEAT = re.compile(r"(.)\1{2,}")
# Words (with an inner apostrophe, "don't"), or any single non-space symbol: "!", "?", an emoji.
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_SPACE = re.compile(r"\s+")

URL_TOKEN = "httpurl"
USER_TOKEN = "@user"

CHAR_MIN = 2
CHAR_MAX = 5


def detect_language(text: str, hint: str = "") -> str:
    """``"fa"`` or ``"en"``: the hint when it names one of them, else the script most letters use."""
    primary = hint.strip().lower().replace("_", "-").split("-")[0]
    if primary in {"fa", "fas", "per"}:
        return "fa"
    if primary in {"en", "eng"}:
        return "en"
    arabic = len(_ARABIC_LETTER.findall(text))
    if arabic and arabic >= len(_LATIN_LETTER.findall(text)):
        return "fa"
    return "en"


def normalize(text: str, language: str) -> str:
    """The form features are taken from: Persian goes through ``fold_for_match``; both lowercase."""
    text = html.unescape(text)
    text = _URL.sub(f" {URL_TOKEN} ", text)
    text = _MENTION.sub(f" {USER_TOKEN} ", text)
    text = fold_for_match(text) if language == "fa" else text.casefold()
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()


def features(text: str, language: str) -> list[str]:
    """Distinct feature strings of ``text`` (already a language decision: ``"fa"`` or ``"en"``)."""
    norm = normalize(text, language)
    tokens = _TOKEN.findall(norm)
    found = {"w" + token for token in tokens}
    found.update(f"b{a} {b}" for a, b in zip(["<s>", *tokens], [*tokens, "</s>"], strict=True))
    padded = f" {' '.join(tokens)} "
    size = len(padded)
    for n in range(CHAR_MIN, CHAR_MAX + 1):
        found.update("c" + padded[i : i + n] for i in range(size - n + 1))
    found.discard("c  ")
    return sorted(found)
