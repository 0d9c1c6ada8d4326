"""The linear model of one language: softmax over classes of ``bias + Σ weight × feature value``."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sokhan.sentiment.features import Vector, feature_groups, group_values, vectorize

MODEL_PATH = Path(__file__).with_name("model.json.gz")


def softmax(logits: list[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True)
class LanguageModel:
    """``weights[feature][k]`` belongs to ``classes[k]``; absent features weigh nothing."""

    language: str
    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    lexicon: dict[str, float] = field(default_factory=dict)
    lexicon_scale: float = 0.0

    def vector(self, text: str) -> Vector:
        return vectorize(text, self.language, self.lexicon, self.lexicon_scale)

    def probabilities(self, text: str) -> dict[str, float]:
        """Class probabilities of ``text``: the same sum as over ``vector(text)``, computed faster.

        Each group's features share one value, so rows are summed first (column by column) and
        scaled once; ``fsum`` is exact, so the result does not depend on the (hash-seeded) order of
        the sets.
        """
        grams, hits = feature_groups(text, self.language, self.lexicon if self.lexicon_scale else None)
        gram_value, hit_value = group_values(grams, hits, self.lexicon_scale)
        known = self.weights
        none = (0.0,) * len(self.bias)
        gram_rows = [row for row in map(known.get, grams) if row is not None] or [none]
        hit_rows = [row for row in map(known.get, hits) if row is not None] or [none]
        gram_columns = zip(*gram_rows, strict=True)
        hit_columns = zip(*hit_rows, strict=True)
        logits = [
            bias + gram_value * math.fsum(gram_column) + hit_value * math.fsum(hit_column)
            for bias, gram_column, hit_column in zip(self.bias, gram_columns, hit_columns, strict=True)
        ]
        return dict(zip(self.classes, softmax(logits), strict=True))

    def most_probable(self, text: str) -> str:
        probabilities = self.probabilities(text)
        return max(probabilities, key=probabilities.__getitem__)

    def to_json(self, digits: int = 4) -> dict[str, Any]:
        return {
            "language": self.language,
            "classes": list(self.classes),
            "bias": [round(b, digits) for b in self.bias],
            "lexicon_scale": self.lexicon_scale,
            "lexicon": dict(sorted(self.lexicon.items())),
            "weights": {f: [round(w, digits) for w in row] for f, row in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LanguageModel:
        return cls(
            language=str(data["language"]),
            classes=tuple(str(c) for c in data["classes"]),
            bias=tuple(float(b) for b in data["bias"]),
            weights={str(f): tuple(float(w) for w in row) for f, row in data["weights"].items()},
            lexicon={str(k): float(v) for k, v in data.get("lexicon", {}).items()},
            lexicon_scale=float(data.get("lexicon_scale", 0.0)),
        )


def read_models(path: Path) -> dict[str, LanguageModel]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return {language: LanguageModel.from_json(model) for language, model in data["languages"].items()}


@cache
def load_models() -> dict[str, LanguageModel]:
    """The shipped models by language, read once per process."""
    return read_models(MODEL_PATH)
