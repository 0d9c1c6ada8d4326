"""Offline language detection for received messages.

Short social texts fool general detectors, Persian most of all (``langdetect`` calls many Persian
sentences Arabic), so the Arabic script is decided by letters first: Persian has letters Arabic
lacks (پ چ ژ گ and the Persian forms of ی and ک) and Arabic has letters Persian does not use
(ة, the Arabic ي and ك, ى). Everything else goes to ``langdetect`` (profiles ship in the package),
seeded so the same text always gets the same answer; an unsure guess is left empty, never made up.
"""

from __future__ import annotations

import functools
import re

import regex  # type: ignore[import-untyped]  # no types-regex in the venv

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"[@#][\w.\-]+")
_LETTER = regex.compile(r"\p{L}")
_ARABIC_SCRIPT = regex.compile(r"\p{Script=Arabic}")
_PERSIAN_ONLY = set("پچژگیک")  # U+067E U+0686 U+0698 U+06AF U+06CC U+06A9
_ARABIC_ONLY = set("ةيكىؤإأ")
_URDU_ONLY = set("ٹڈڑںےھ")
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.80


@functools.cache
def _seed() -> None:
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0  # langdetect samples at random; a fixed seed makes answers repeatable


def _langdetect(text: str) -> list[tuple[str, float]]:
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    _seed()
    try:
        return [(str(r.lang), float(r.prob)) for r in detect_langs(text)]
    except LangDetectException:
        return []


def detect_language(text: str) -> str:
    """An ISO 639-1 code (``fa``, ``en``, ``ar``…) or ``""`` when the text says too little."""
    bare = _HANDLE.sub(" ", _URL.sub(" ", text))
    letters = _LETTER.findall(bare)
    if len(letters) < MIN_LETTERS:
        return ""
    arabic = [c for c in letters if _ARABIC_SCRIPT.match(c)]
    if len(arabic) * 2 >= len(letters):
        persian = sum(c in _PERSIAN_ONLY for c in arabic)
        arabic_only = sum(c in _ARABIC_ONLY for c in arabic)
        urdu = sum(c in _URDU_ONLY for c in arabic)
        if urdu > max(persian, arabic_only):
            return "ur"
        if persian or arabic_only:
            return "fa" if persian >= arabic_only else "ar"
        # No telling letters (e.g. «سلام»): Persian, the product's audience, unless clearly Arabic.
        guesses = _langdetect(bare)
        return "ar" if guesses and guesses[0][0] == "ar" and guesses[0][1] >= 0.95 else "fa"
    guesses = _langdetect(bare)
    if guesses and guesses[0][1] >= MIN_CONFIDENCE:
        return guesses[0][0]
    return ""
