"""Text → sparse feature vector, shared by training and inference so both see exactly the same features.

A text becomes two groups of binary features, each L2-normalised on its own:

* n-grams: word unigrams (prefix ``w``), word bigrams with sentence ends (``b``) and character
  2–5-grams (``c``) of the normalised text. Each gets ``1 / sqrt(n)`` where *n* counts every
  generated n-gram, not only those the model knows, so pruning rare or weak features after
  training changes nothing else in the score.
* lexicon: the valence of sentiment words, emoticons and emoji (English: the VADER lexicon and
  emoji valences from VADER's emoji descriptions; Persian could use the hand-written
  ``persian_lexicon.tsv``, but the shipped Persian model has no lexicon group: it did not help),
  negation-flipped (English: a negator before the word; Persian: a negated verb after it),
  bucketed into a few features (``L+2``, sum ``S-1``, counts ``P1``/``N0``, last hit ``Z+``).
  They carry prior knowledge about words too rare in the training texts to get a weight of
  their own. This group gets ``lexicon_scale / sqrt(k)``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping

from sokhan.core.text import fold_for_match

# Arabic-script letters (Arabic blocks and their supplements, presentation forms).
_ARABIC_LETTER = re.compile(
    "[\u0620-\u064a\u066e-\u06d3\u06d5\u06ee-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]"
)
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
# Three or more repeats of a character are one spelling ("soooo" = "sooooooo"), so cap them at two.
_REPEAT = re.compile(r"(.)\1{2,}")
# Words (with an inner apostrophe, "don't"), or any single non-space symbol: "!", "?", an emoji.
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_SPACE = re.compile(r"\s+")

# Every link and mention becomes one placeholder word: which link or who is not sentiment.
URL_WORD = "httpurl"
USER_WORD = "@user"
CHAR_MIN = 2
CHAR_MAX = 5

# A lexicon word within this many tokens after a negator has its valence flipped and damped
# (VADER's own factor, -0.74).
NEGATION_WINDOW = 3
NEGATION_FACTOR = -0.74
# Persian negates the verb after the word ("خوب نبود", "بد نیست"): a lexicon word followed within
# this many tokens by one of these (normalised) forms is flipped the same way.
PERSIAN_NEGATION_WINDOW = 2
PERSIAN_NEGATED = frozenset(
    {
        *("نبود", "نبوده", "نبودن", "نبودند", "نیست", "نیستن", "نیستند", "نیس", "نشد", "نشده", "نمیشه", "نمیشد"),
        *("نداشت", "نداره", "نداشتن", "نداشتند", "نه"),
    }
)
NEGATORS = frozenset(
    {
        *("not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "cannot", "without"),
        *("dont", "cant", "wont", "isnt", "arent", "wasnt", "werent", "doesnt", "didnt", "hasnt", "havent"),
        *("hadnt", "couldnt", "shouldnt", "wouldnt", "aint"),
    }
)

Vector = list[tuple[str, float]]


def detect_language(text: str, hint: str = "") -> str:
    """``"fa"`` or ``"en"``: the hint when it names one of them, else the script most letters use.

    Any other hint (``"de"``, ``"ar"``) is ignored, because only these two models exist and the
    script is the better guide to which of them fits.
    """
    primary = hint.strip().lower().replace("_", "-").split("-")[0]
    if primary in {"fa", "fas", "per"}:
        return "fa"
    if primary in {"en", "eng"}:
        return "en"
    arabic = len(_ARABIC_LETTER.findall(text))
    return "fa" if arabic and arabic >= len(_LATIN_LETTER.findall(text)) else "en"


def normalize(text: str, language: str) -> str:
    """The form n-grams come from: links and mentions as tokens, Persian through ``fold_for_match``."""
    text = html.unescape(text)
    text = _URL.sub(f" {URL_WORD} ", text)
    text = _MENTION.sub(f" {USER_WORD} ", text)
    text = fold_for_match(text) if language == "fa" else text.casefold()
    text = _REPEAT.sub(r"\1\1", text)
    return _SPACE.sub(" ", text).strip()


def tokenize(normalized: str) -> list[str]:
    return _TOKEN.findall(normalized)


def ngrams(tokens: list[str]) -> set[str]:
    found = {"w" + token for token in tokens}
    found.update(f"b{a} {b}" for a, b in zip(["<s>", *tokens], [*tokens, "</s>"], strict=True))
    padded = f" {' '.join(tokens)} "
    size = len(padded)
    for n in range(CHAR_MIN, CHAR_MAX + 1):
        found.update("c" + padded[i : i + n] for i in range(size - n + 1))
    found.discard("c  ")
    return found


def _negated(tokens: list[str], position: int) -> bool:
    for token in tokens[max(0, position - NEGATION_WINDOW) : position]:
        if token in NEGATORS or token.endswith(("n't", "n’t")):
            return True
    return False


def _negated_after(tokens: list[str], position: int) -> bool:
    return any(token in PERSIAN_NEGATED for token in tokens[position + 1 : position + 1 + PERSIAN_NEGATION_WINDOW])


def lexicon_features(text: str, tokens: list[str], lexicon: Mapping[str, float], language: str = "en") -> set[str]:
    """Bucketed lexicon evidence of the normalised ``tokens`` (words, and emoji: one token each).

    Emoticons (``:)``, ``</3``) are looked up in the raw ``text``, where they are intact; a piece of
    one character is left to the tokens, so a lone emoji counts once.
    """
    valences = [lexicon[piece] for piece in text.split() if len(piece) > 1 and piece in lexicon and not piece.isalnum()]
    negated = _negated_after if language == "fa" else _negated
    for position, token in enumerate(tokens):
        valence = lexicon.get(token)
        if valence is not None:
            valences.append(valence * NEGATION_FACTOR if negated(tokens, position) else valence)
    if not valences:
        return {"L0"}
    found = {f"L{max(-4, min(4, round(v))):+d}" for v in valences}
    found.add(f"S{max(-5, min(5, round(sum(valences)))):+d}")
    found.add(f"P{min(3, sum(v > 0 for v in valences))}")
    found.add(f"N{min(3, sum(v < 0 for v in valences))}")
    found.add("Z+" if valences[-1] > 0 else "Z-" if valences[-1] < 0 else "Z0")
    return found


def feature_groups(text: str, language: str, lexicon: Mapping[str, float] | None = None) -> tuple[set[str], set[str]]:
    """``(n-grams, lexicon features)`` of ``text`` for a language already decided (``"fa"``/``"en"``)."""
    tokens = tokenize(normalize(text, language))
    hits = {"x" + f for f in lexicon_features(html.unescape(text), tokens, lexicon, language)} if lexicon else set()
    return ngrams(tokens), hits


def group_values(grams: set[str], hits: set[str], lexicon_scale: float) -> tuple[float, float]:
    """The value every feature of each group gets: each group is L2-normalised on its own."""
    gram_value = 1.0 / math.sqrt(len(grams)) if grams else 0.0
    hit_value = lexicon_scale / math.sqrt(len(hits)) if hits and lexicon_scale else 0.0
    return gram_value, hit_value


def vectorize(
    text: str, language: str, lexicon: Mapping[str, float] | None = None, lexicon_scale: float = 0.0
) -> Vector:
    """Sorted ``(feature, value)`` pairs of ``text``, as training sees it."""
    grams, hits = feature_groups(text, language, lexicon if lexicon_scale else None)
    gram_value, hit_value = group_values(grams, hits, lexicon_scale)
    vector = [(feature, gram_value) for feature in grams]
    vector.extend((feature, hit_value) for feature in hits)
    vector.sort()
    return vector
