"""What every sentiment backend shares: the result type, the labels, the backend interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.core.exceptions import ImproperlyConfigured

LABELS = ("positive", "neutral", "negative")
# A model without a neutral class (the shipped Persian one, a two-class transformer) says neutral
# only when |P(positive) - P(negative)| is below this: it abstains where it is unsure.
PERSIAN_NEUTRAL_BAND = 0.05


@dataclass(frozen=True)
class Sentiment:
    label: str
    score: float


NEUTRAL = Sentiment("neutral", 0.0)


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


@runtime_checkable
class SentimentBackend(Protocol):
    """Labels texts. ``SOKHAN_SENTIMENT_BACKEND`` names the class (docs/sentiment.md).

    ``analyze_many`` returns one ``Sentiment`` per text, in order: ``label`` one of ``LABELS``,
    ``score`` in [-1, 1] (P(positive) - P(negative) for a probabilistic model). ``language`` is an
    ISO code hint that applies to every text, or ``""``; a backend may ignore it. A blank text
    should come out ``Sentiment("neutral", 0.0)``. The backend is built once per process and may
    be called from several threads.
    """

    def analyze_many(self, texts: Sequence[str], language: str = "") -> list[Sentiment]: ...


class SentimentConfigError(ImproperlyConfigured):
    """The configured backend cannot be used; the message names the setting to fix."""
