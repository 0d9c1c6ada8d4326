"""Offline sentiment of short Persian and English texts (see ``docs/sentiment.md``).

``analyze(text, language="")`` returns ``Sentiment(label, score)``: ``label`` is ``"positive"``,
``"neutral"`` or ``"negative"``; ``score`` is P(positive) - P(negative), in [-1, 1].

The texts go to the configured backend (``SOKHAN_SENTIMENT_BACKEND``, :mod:`sokhan.sentiment.backends`),
by default the two linear models shipped in ``model.json.gz`` (trained by
``scripts/train_sentiment.py``): Persian, trained on food-delivery comments labelled only
positive/negative, and English, trained on tweets labelled positive/neutral/negative. The Persian
model cannot *learn* neutral, so a Persian text is called neutral only when the model is unsure:
``|score| < PERSIAN_NEUTRAL_BAND``, i.e. P(positive) between 0.475 and 0.525 (an empty text, a text
with no evidence either way). It is an abstention, not a trained neutral class: a greeting or a
plain statement in Persian usually still comes out positive or negative, because the model only
ever saw opinions about food orders.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.core.signals import setting_changed

from sokhan.sentiment.base import (
    LABELS,
    PERSIAN_NEUTRAL_BAND,
    Sentiment,
    SentimentBackend,
    SentimentConfigError,
    decide,
)
from sokhan.sentiment.model import MODEL_PATH, load_models, read_models

__all__ = [
    "LABELS",
    "MODEL_PATH",
    "PERSIAN_NEUTRAL_BAND",
    "Sentiment",
    "SentimentBackend",
    "SentimentConfigError",
    "analyze",
    "analyze_many",
    "decide",
    "get_backend",
    "load_models",
    "read_models",
]


def configured_backend() -> tuple[str, dict[str, Any]]:
    """``(backend, options)`` from Django's settings, or from the environment when Django is not set up."""
    from django.conf import settings

    from sokhan.sentiment.backends import options_from_environ

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        backend = str(getattr(settings, "SENTIMENT_BACKEND", "") or "builtin")
        return backend, dict(getattr(settings, "SENTIMENT_OPTIONS", {}))
    return options_from_environ()


@cache
def get_backend() -> SentimentBackend:
    """The configured backend, built once per process (again after its settings change in tests)."""
    from sokhan.sentiment.backends import load_backend

    return load_backend(*configured_backend())


def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting in {"SENTIMENT_BACKEND", "SENTIMENT_OPTIONS"}:
        get_backend.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="sokhan.sentiment.backend")


def analyze(text: str, language: str = "") -> Sentiment:
    """Sentiment of ``text``. ``language`` is an ISO code hint; without one the script decides."""
    return get_backend().analyze_many([text], language)[0]


def analyze_many(texts: Iterable[str], language: str = "") -> list[Sentiment]:
    """``analyze`` for each text, in one call to the backend (a transformer batches them)."""
    return get_backend().analyze_many(list(texts), language)
