"""Offline sentiment of short Persian and English texts (see ``docs/sentiment.md``).

``analyze(text, language="")`` returns ``Sentiment(label, score)``: ``label`` is ``"positive"``,
``"neutral"`` or ``"negative"``; ``score`` is P(positive) - P(negative), in [-1, 1].

Two linear models ship in ``model.json.gz`` (trained by ``scripts/train_sentiment.py``): Persian,
trained on food-delivery comments labelled only positive/negative, and English, trained on tweets
labelled positive/neutral/negative. The Persian model cannot *learn* neutral, so a Persian text is
called neutral only when the model is unsure: ``|score| < PERSIAN_NEUTRAL_BAND``, i.e. P(positive)
between 0.475 and 0.525 (an empty text, a text with no evidence either way). It is an abstention,
not a trained neutral class: a greeting or a plain statement in Persian usually still comes out
positive or negative, because the model only ever saw opinions about food orders.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sokhan.sentiment.features import detect_language
from sokhan.sentiment.model import LanguageModel

__all__ = ["LABELS", "PERSIAN_NEUTRAL_BAND", "Sentiment", "analyze", "analyze_many", "decide", "load_models"]

MODEL_PATH = Path(__file__).with_name("model.json.gz")
LABELS = ("positive", "neutral", "negative")
PERSIAN_NEUTRAL_BAND = 0.05


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float


def decide(probabilities: Mapping[str, float]) -> Sentiment:
    """The label and score for a model's class probabilities.

    A model with a neutral class takes the most probable label. A two-class model (Persian) says
    neutral inside the band around 0.5 where it is unsure.
    """
    score = probabilities.get("positive", 0.0) - probabilities.get("negative", 0.0)
    score = max(-1.0, min(1.0, score))
    if "neutral" not in probabilities and abs(score) < PERSIAN_NEUTRAL_BAND:
        return Sentiment("neutral", score)
    return Sentiment(max(probabilities, key=probabilities.__getitem__), score)


def read_models(path: Path) -> dict[str, LanguageModel]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return {language: LanguageModel.from_json(model) for language, model in data["languages"].items()}


@cache
def load_models() -> dict[str, LanguageModel]:
    """The shipped models by language, read once per process."""
    return read_models(MODEL_PATH)


def analyze(text: str, language: str = "") -> Sentiment:
    """Sentiment of ``text``. ``language`` is an ISO code hint; without one the script decides."""
    if not text.strip():
        # Nothing to judge: the model's bias alone would pick a side (Persian leans positive).
        return Sentiment("neutral", 0.0)
    model = load_models()[detect_language(text, language)]
    return decide(model.probabilities(text))


def analyze_many(texts: Iterable[str], language: str = "") -> list[Sentiment]:
    return [analyze(text, language) for text in texts]
