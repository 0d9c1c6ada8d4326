"""Training: NB-scaled one-vs-rest logistic regressions (scikit-learn's liblinear), deterministic.

Used by ``scripts/train_sentiment.py``; the data is not shipped, so nothing here runs in production.
scikit-learn, SciPy and NumPy are development dependencies only (``.[dev]``), imported when training;
inference (``model.py``) is pure Python.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sokhan.sentiment.features import Vector, normalize, vectorize
from sokhan.sentiment.model import LanguageModel

HELDOUT_PERCENT = 15
LEXICON_PATH = Path(__file__).with_name("vader_lexicon.tsv.gz")
PERSIAN_LEXICON_PATH = Path(__file__).with_name("persian_lexicon.tsv")

Row = tuple[str, str]


def load_tsv(path: Path) -> list[Row]:
    """``(text, label)`` rows of a ``text<TAB>label`` file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != ["text", "label"]:
            raise ValueError(f"{path}: expected the header 'text<TAB>label', found {header!r}")
        return [(row[0], row[1]) for row in reader if len(row) == 2]


def _read_valences(lines: Iterable[str]) -> dict[str, float]:
    lexicon: dict[str, float] = {}
    for line in lines:
        if line.startswith("#") or "\t" not in line:
            continue
        token, valence = line.rstrip("\n").split("\t")[:2]
        lexicon[token] = float(valence)
    return lexicon


def load_lexicon(path: Path = LEXICON_PATH) -> dict[str, float]:
    """The vendored VADER lexicon: ``token<TAB>valence`` lines; ``#`` lines are the source and licence notice."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return _read_valences(handle)


def load_persian_lexicon(path: Path = PERSIAN_LEXICON_PATH) -> dict[str, float]:
    """The hand-written Persian lexicon, its words normalised as the model normalises text."""
    with path.open(encoding="utf-8") as handle:
        return {normalize(word, "fa"): valence for word, valence in _read_valences(handle).items()}


def emoji_valences(lexicon: Mapping[str, float]) -> dict[str, float]:
    """Emoji → valence: the sum of the VADER ``lexicon`` valences of the words of the emoji's description
    in vaderSentiment's ``emoji_utf8_lexicon.txt`` (VADER itself reads an emoji as its description),
    clipped to ±4; emoji whose description holds no sentiment word are left out. Needs vaderSentiment.
    """
    import vaderSentiment

    path = Path(vaderSentiment.__file__).with_name("emoji_utf8_lexicon.txt")
    valences: dict[str, float] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            emoji, _, description = line.rstrip("\n").partition("\t")
            emoji = emoji.replace("\ufe0f", "")  # "❤️" is "❤" and a variation selector, two tokens
            if len(emoji) != 1 or not description:
                continue  # sequences (flags, skin tones) reach the model as their first character anyway
            total = sum(lexicon.get(word, 0.0) for word in description.lower().split())
            if total:
                valences[emoji] = round(max(-4.0, min(4.0, total)), 2)
    return valences


def language_lexicon(language: str) -> dict[str, float]:
    """What the lexicon features of a language look up (training only; the model file embeds it).

    English: the VADER lexicon (words and emoticons) and emoji. Persian: the hand-written lexicon,
    VADER's emoticons (``:)``, ``:(``; not its English words) and emoji.
    """
    vader = load_lexicon()
    emoji = emoji_valences(vader)
    if language == "fa":
        emoticons = {token: v for token, v in vader.items() if len(token) > 1 and not token.isalnum()}
        return {**emoticons, **emoji, **load_persian_lexicon()}
    return {**vader, **emoji}


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
    """How one language's model is trained (``scripts/train_sentiment.py`` picks them by cross-validation)."""

    # Inverse strength of the L2 penalty of each logistic regression (liblinear's C).
    c: float = 5.0
    # Naive Bayes log-count ratios scale the features (NB-LR, Wang & Manning 2012) with this
    # add-alpha smoothing; 0 trains on the plain features.
    nb_alpha: float = 1.0
    # Weigh each class inversely to its frequency, so a rarer class is not under-predicted.
    balanced: bool = True
    min_df: int = 2
    lexicon_scale: float = 0.0
    # After training, features whose largest weight is below this are dropped to keep the file small.
    prune_below: float = 0.0


def fit(
    rows: Sequence[Row], language: str, settings: Settings, lexicon: dict[str, float] | None = None
) -> LanguageModel:
    """Train on ``rows``: one-vs-rest L2-regularised logistic regressions on NB-scaled features.

    With two classes one regression separates ``classes[1]`` from ``classes[0]`` and its logit is
    split ±½ between them, so the softmax of the model equals the regression's sigmoid. With more,
    one regression per class, and the model's softmax over their logits picks the same class as
    one-vs-rest does. The NB ratio of a feature is folded into its weights, so inference is the
    same sum of ``weight × value`` as for any other linear model.
    """
    lexicon = lexicon if settings.lexicon_scale else None
    vectors = [vectorize(text, language, lexicon, settings.lexicon_scale) for text, _ in rows]
    return fit_vectors(vectors, [label for _, label in rows], language, settings, lexicon)


def fit_vectors(
    vectors: Sequence[Vector],
    labels: Sequence[str],
    language: str,
    settings: Settings,
    lexicon: dict[str, float] | None = None,
) -> LanguageModel:
    """``fit`` on texts already turned into vectors (cross-validation reuses them across folds)."""
    import numpy as np
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    classes = tuple(sorted(set(labels)))
    df: Counter[str] = Counter(feature for vector in vectors for feature, _ in vector)
    vocab = sorted(f for f, n in df.items() if n >= settings.min_df or f.startswith("x"))
    fid = {f: i for i, f in enumerate(vocab)}
    indptr, indices, values = [0], [], []
    for vector in vectors:
        for feature, value in vector:
            j = fid.get(feature)
            if j is not None:
                indices.append(j)
                values.append(value)
        indptr.append(len(indices))
    matrix = sparse.csr_matrix((values, indices, indptr), shape=(len(vectors), len(vocab)), dtype=np.float64)
    present = (matrix != 0).astype(np.float64)
    gold = np.array(labels)
    targets = classes[1:] if len(classes) == 2 else classes
    rows: list[Any] = []
    intercepts: list[float] = []
    for target in targets:
        mask = gold == target
        if settings.nb_alpha:
            inside = np.asarray(present[mask].sum(axis=0)).ravel() + settings.nb_alpha
            outside = np.asarray(present[~mask].sum(axis=0)).ravel() + settings.nb_alpha
            ratio = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        else:
            ratio = np.ones(len(vocab))
        regression = LogisticRegression(
            C=settings.c, solver="liblinear", class_weight="balanced" if settings.balanced else None, max_iter=1000
        )
        regression.fit(matrix @ sparse.diags(ratio), mask.astype(np.int64))
        rows.append(regression.coef_[0] * ratio)
        intercepts.append(float(regression.intercept_[0]))
    bias: tuple[float, ...]
    if len(classes) == 2:
        weights = np.vstack([-rows[0] / 2, rows[0] / 2])
        bias = (-intercepts[0] / 2, intercepts[0] / 2)
    else:
        weights = np.vstack(rows)
        bias = tuple(intercepts)
    final: dict[str, tuple[float, ...]] = {}
    for i, feature in enumerate(vocab):
        column = tuple(float(w) for w in weights[:, i])
        if max(abs(w) for w in column) >= settings.prune_below:
            final[feature] = column
    return LanguageModel(
        language=language,
        classes=classes,
        bias=bias,
        weights=final,
        lexicon=dict(lexicon or {}),
        lexicon_scale=settings.lexicon_scale,
    )


def cross_validate(
    rows: Sequence[Row],
    language: str,
    grid: Sequence[Settings],
    lexicon: dict[str, float] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> list[tuple[Settings, list[float]]]:
    """Macro-F1 of each fold for each setting, on stratified folds of ``rows`` (the training split only)."""
    from sklearn.model_selection import StratifiedKFold

    labels = [label for _, label in rows]
    cached: dict[float, list[Vector]] = {}
    results = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split([text for text, _ in rows], labels))
    for settings in grid:
        scale = settings.lexicon_scale if lexicon else 0.0
        if scale not in cached:
            cached[scale] = [vectorize(text, language, lexicon if scale else None, scale) for text, _ in rows]
        vectors = cached[scale]
        scores = []
        for train_index, test_index in splits:
            model = fit_vectors(
                [vectors[i] for i in train_index],
                [labels[i] for i in train_index],
                language,
                settings,
                lexicon if scale else None,
            )
            predicted = [model.most_probable(rows[i][0]) for i in test_index]
            scores.append(evaluate(predicted, [labels[i] for i in test_index], model.classes).macro_f1)
        results.append((settings, scores))
    return results


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
