"""Training: multinomial logistic regression by SGD, in pure Python, deterministic for a seed."""

from __future__ import annotations

import csv
import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sokhan.sentiment.features import features
from sokhan.sentiment.model import LanguageModel

HELDOUT_PERCENT = 15


def load_tsv(path: Path) -> list[tuple[str, str]]:
    """``(text, label)`` rows of a ``text<TAB>label`` file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if header != ["text", "label"]:
            raise ValueError(f"{path}: expected the header 'text<TAB>label', found {header!r}")
        return [(row[0], row[1]) for row in reader if len(row) == 2]


def is_heldout(text: str) -> bool:
    """A stable hash of the text puts ``HELDOUT_PERCENT`` % of examples in the held-out split."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT


def split(rows: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    train: list[tuple[str, str]] = []
    heldout: list[tuple[str, str]] = []
    for row in rows:
        (heldout if is_heldout(row[0]) else train).append(row)
    return train, heldout


@dataclass(frozen=True)
class Settings:
    epochs: int = 12
    l2: float = 1e-5
    rate: float = 0.5
    min_df: int = 2
    seed: int = 20240601


def fit(
    rows: Sequence[tuple[str, str]], language: str, settings: Settings, classes: Sequence[str] | None = None
) -> LanguageModel:
    classes = tuple(classes or sorted({label for _, label in rows}))
    index = {c: k for k, c in enumerate(classes)}
    docs = [features(text, language) for text, _ in rows]
    df: Counter[str] = Counter(f for doc in docs for f in doc)
    vocab = sorted(f for f, n in df.items() if n >= settings.min_df)
    fid = {f: i for i, f in enumerate(vocab)}
    data = [
        ([fid[f] for f in doc if f in fid], 1.0 / math.sqrt(len(doc)) if doc else 0.0, index[label])
        for doc, (_, label) in zip(docs, rows, strict=True)
    ]
    size = len(classes)
    # weights[k][i] = scale × raw[k][i]: L2 shrinkage multiplies one shared scale instead of every weight.
    raw = [[0.0] * len(vocab) for _ in range(size)]
    bias = [0.0] * size
    scale = 1.0
    rng = random.Random(settings.seed)
    order = list(range(len(data)))
    step = 0
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for n in order:
            ids, value, gold = data[n]
            eta = settings.rate / (1.0 + settings.rate * settings.l2 * step)
            step += 1
            logits = list(bias)
            for k in range(size):
                row = raw[k]
                logits[k] += scale * value * sum(row[i] for i in ids)
            top = max(logits)
            exps = [math.exp(z - top) for z in logits]
            total = sum(exps)
            scale *= 1.0 - eta * settings.l2
            for k in range(size):
                grad = exps[k] / total - (1.0 if k == gold else 0.0)
                bias[k] -= eta * grad
                delta = eta * grad * value / scale
                row = raw[k]
                for i in ids:
                    row[i] -= delta
            if scale < 1e-6:
                for row in raw:
                    for i in range(len(row)):
                        row[i] *= scale
                scale = 1.0
    weights = {f: tuple(raw[k][i] * scale for k in range(size)) for i, f in enumerate(vocab)}
    return LanguageModel(classes=classes, bias=tuple(bias), weights=weights)
