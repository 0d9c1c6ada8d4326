"""``normalize_fa`` / ``fold_for_match`` / ``fold_with_joins`` against a plain reference pipeline.

The module applies its steps with shortcuts (one regex pass for every per-character map, ASCII and
"nothing to do" fast paths) because listening folds every post; this is the pipeline written
step by step, as the module docstring describes it, and the shortcuts must agree with it.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from sokhan.core import text as T

_LOOKALIKE = re.compile(f"(?<=[{T._AR_LETTER}])[\u200b\u200e\u200f\u061c\u200c]+(?=[{T._AR_LETTER}])")


def reference(text: str, digits: T.DigitScript = "latin", zwnj: T.ZwnjMode = "keep") -> str:
    text = re.sub("[\ufb50-\ufdff\ufe70-\ufeff]+", lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = unicodedata.normalize("NFC", text)
    text = re.sub("[\u064b-\u065f\u0670]", "", text)
    text = text.translate(T._LETTER_MAP)
    text = text.translate(T._TO_LATIN if digits == "latin" else T._TO_PERSIAN)
    text = _LOOKALIKE.sub("\u200c", text)
    text = re.sub("[\u200b\u200e\u200f\u061c]", "", text)
    text = T._ZWJ_NEAR_ARABIC.sub("", text)
    text = re.sub("\u200c+", "\u200c", text)
    text = T._USELESS_ZWNJ.sub("", text) if zwnj == "keep" else text.replace("\u200c", "")
    return re.sub(r"\s+", " ", text).strip()


ALPHABET = list(
    "abAB ßİ\t\n_.#@-1۱١كکيیىةۀھأإٱآاءئؤبتخنهرود"
    "\u0640\u00ad\u2060\ufeff\u200b\u200c\u200d\u200e\u200f\u061c\u064b\u0650\u0653\u0654\u0670"
    "\ufefb\ufe91\ufdfc\u00a0\u2009😀\u0301e²"
)


@settings(max_examples=3000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(ALPHABET), max_size=14),
    st.sampled_from(["latin", "persian"]),
    st.sampled_from(["keep", "remove"]),
)
def test_normalize_fa_equals_the_reference(text: str, digits: T.DigitScript, zwnj: T.ZwnjMode) -> None:
    assert T.normalize_fa(text, digits=digits, zwnj=zwnj) == reference(text, digits, zwnj)
    folded = reference(text, "latin", "remove").casefold()
    assert T.fold_for_match(text) == folded
    assert T.fold_with_joins(text)[0] == folded


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_any_text(text: str) -> None:
    assert T.normalize_fa(text) == reference(text)
    assert T.fold_with_joins(text)[0] == T.fold_for_match(text) == reference(text, zwnj="remove").casefold()
