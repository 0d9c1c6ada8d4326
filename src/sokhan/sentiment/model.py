"""The linear model: per language, a softmax over classes of ``bias + Σ weight × feature value``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LanguageModel:
    """Weights of one language. ``weights[feature][k]`` belongs to ``classes[k]``."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    def probabilities(self, feats: Sequence[str]) -> list[float]:
        """Class probabilities, in the order of ``classes``."""
        logits = list(self.bias)
        if feats:
            value = 1.0 / math.sqrt(len(feats))
            known = self.weights
            size = len(logits)
            for feat in feats:
                row = known.get(feat)
                if row is not None:
                    for k in range(size):
                        logits[k] += row[k] * value
        top = max(logits)
        exps = [math.exp(z - top) for z in logits]
        total = sum(exps)
        return [e / total for e in exps]

    def to_json(self, digits: int = 4) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "bias": [round(b, digits) for b in self.bias],
            "weights": {f: [round(w, digits) for w in row] for f, row in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LanguageModel:
        return cls(
            classes=tuple(data["classes"]),
            bias=tuple(float(b) for b in data["bias"]),
            weights={f: tuple(float(w) for w in row) for f, row in data["weights"].items()},
        )
