"""The linear model of one language: softmax over classes of ``bias + Σ weight × feature value``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sokhan.sentiment.features import Vector, feature_groups, group_values, vectorize


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

        Each group's features share one value, so rows are summed first and scaled once; ``fsum``
        is exact, so the result does not depend on the (hash-seeded) order of the sets.
        """
        grams, hits = feature_groups(text, self.language, self.lexicon if self.lexicon_scale else None)
        gram_value, hit_value = group_values(grams, hits, self.lexicon_scale)
        known = self.weights
        gram_rows = [row for row in map(known.get, grams) if row is not None]
        hit_rows = [row for row in map(known.get, hits) if row is not None]
        logits = [
            bias
            + gram_value * math.fsum(row[k] for row in gram_rows)
            + hit_value * math.fsum(row[k] for row in hit_rows)
            for k, bias in enumerate(self.bias)
        ]
        return dict(zip(self.classes, softmax(logits), strict=True))

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
