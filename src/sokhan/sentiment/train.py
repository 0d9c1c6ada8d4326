"""Training: multinomial logistic regression by averaged SGD, in pure Python, deterministic for a seed.

Used by ``scripts/train_sentiment.py``; the data is not shipped, so nothing here runs in production.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sokhan.sentiment.features import vectorize
from sokhan.sentiment.model import LanguageModel

HELDOUT_PERCENT = 15
LEXICON_PATH = Path(__file__).with_name("vader_lexicon.tsv.gz")

Row = tuple[str, str]


def load_tsv(path: Path) -> list[Row]:
    """``(text, label)`` rows of a ``text<TAB>label`` file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["text", "label"]:
            raise ValueError(f"{path}: expected the header 'text<TAB>label', found {header!r}")
        return [(row[0], row[1]) for row in reader if len(row) == 2]


def load_lexicon(path: Path = LEXICON_PATH) -> dict[str, float]:
    """``token<TAB>valence`` lines; ``#`` lines are the source and licence notice."""
    lexicon: dict[str, float] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or "\t" not in line:
                continue
            token, valence = line.rstrip("\n").split("\t")[:2]
            lexicon[token] = float(valence)
    return lexicon


def is_heldout(text: str) -> bool:
    """A stable hash of the text (not of its position) puts ``HELDOUT_PERCENT`` % of rows in held-out."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT


def split(rows: Iterable[Row]) -> tuple[list[Row], list[Row]]:
    """``(train, heldout)``."""
    train: list[Row] = []
    heldout: list[Row] = []
    for row in rows:
        (heldout if is_heldout(row[0]) else train).append(row)
    return train, heldout


@dataclass(frozen=True)
class Settings:
    epochs: int = 10
    rate: float = 0.5
    min_df: int = 2
    lexicon_scale: float = 0.0
    # After training, features whose largest weight is below this are dropped to keep the file small.
    prune_below: float = 0.0
    seed: int = 20240601


def fit(
    rows: Sequence[Row], language: str, settings: Settings, lexicon: dict[str, float] | None = None
) -> LanguageModel:
    """Train on ``rows``. Averaging the SGD iterates regularises enough that no L2 term is needed."""
    lexicon = lexicon if settings.lexicon_scale else None
    classes = tuple(sorted({label for _, label in rows}))
    index = {c: k for k, c in enumerate(classes)}
    vectors = [vectorize(text, language, lexicon, settings.lexicon_scale) for text, _ in rows]
    df: Counter[str] = Counter(feature for vector in vectors for feature, _ in vector)
    vocab = sorted(f for f, n in df.items() if n >= settings.min_df or f.startswith("x"))
    fid = {f: i for i, f in enumerate(vocab)}
    data = [
        ([(fid[f], v) for f, v in vector if f in fid], index[label])
        for vector, (_, label) in zip(vectors, rows, strict=True)
    ]
    size = len(classes)
    weights = [[0.0] * len(vocab) for _ in range(size)]
    bias = [0.0] * size
    # Averaged SGD the lazy way: ``summed`` collects step × update, and the mean of all iterates is
    # ``weights - summed / steps``, so no pass over the whole vocabulary is needed per step.
    summed = [[0.0] * len(vocab) for _ in range(size)]
    summed_bias = [0.0] * size
    rng = random.Random(settings.seed)  # noqa: S311  # shuffling examples, not secrets
    order = list(range(len(data)))
    step = 0
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for n in order:
            pairs, gold = data[n]
            step += 1
            logits = [bias[k] + sum(weights[k][i] * v for i, v in pairs) for k in range(size)]
            top = max(logits)
            exps = [math.exp(z - top) for z in logits]
            total = sum(exps)
            for k in range(size):
                change = settings.rate * (exps[k] / total - (1.0 if k == gold else 0.0))
                bias[k] -= change
                summed_bias[k] -= step * change
                later = step * change
                row, acc = weights[k], summed[k]
                for i, v in pairs:
                    row[i] -= change * v
                    acc[i] -= later * v
    final_bias = tuple(bias[k] - summed_bias[k] / step for k in range(size))
    final: dict[str, tuple[float, ...]] = {}
    for i, feature in enumerate(vocab):
        averaged = tuple(weights[k][i] - summed[k][i] / step for k in range(size))
        if max(abs(w) for w in averaged) >= settings.prune_below:
            final[feature] = averaged
    return LanguageModel(
        language=language,
        classes=classes,
        bias=final_bias,
        weights=final,
        lexicon=dict(lexicon or {}),
        lexicon_scale=settings.lexicon_scale,
    )


@dataclass(frozen=True)
class ClassScores:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    macro_f1: float
    classes: tuple[ClassScores, ...]
    count: int


def evaluate(predicted: Sequence[str], gold: Sequence[str], labels: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1 over ``labels`` and per-class precision/recall/F1."""
    pairs = list(zip(predicted, gold, strict=True))
    scores = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in pairs)
        predicted_n = sum(p == label for p, _ in pairs)
        support = sum(g == label for _, g in pairs)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(ClassScores(label, precision, recall, f1, support))
    accuracy = sum(p == g for p, g in pairs) / len(pairs) if pairs else 0.0
    macro = sum(s.f1 for s in scores) / len(scores) if scores else 0.0
    return Evaluation(accuracy, macro, tuple(scores), len(pairs))
