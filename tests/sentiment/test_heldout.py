"""The shipped model on the held-out split that ``scripts/train_sentiment.py`` kept out of training.

Thresholds sit a little below what the training run measured (docs/sentiment.md), so a broken
feature pipeline or a wrong model file fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sokhan.sentiment import analyze, load_models
from sokhan.sentiment.train import evaluate, load_tsv, split

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sentiment"

# language: (file, minimum accuracy, minimum macro-F1) of the most probable class. Measured:
# Persian 0.8673 / 0.8672, English 0.6777 / 0.6755; the targets are 0.86 and 0.66.
EXPECTED = {
    "fa": ("fa-snappfood.tsv", 0.86, 0.86),
    "en": ("en-tweeteval.tsv", 0.67, 0.665),
}


@pytest.mark.skipif(not DATA.is_dir(), reason=f"labelled data not found at {DATA} (only beside the repo checkout)")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_heldout_scores(language: str) -> None:
    name, min_accuracy, min_f1 = EXPECTED[language]
    train, heldout = split(load_tsv(DATA / name))
    assert len(heldout) > 1000 and len(train) > 5 * len(heldout)
    model = load_models()[language]
    predicted = [model.most_probable(text) for text, _ in heldout]
    result = evaluate(predicted, [label for _, label in heldout], model.classes)
    assert result.accuracy >= min_accuracy, result
    assert result.macro_f1 >= min_f1, result


@pytest.mark.skipif(not DATA.is_dir(), reason=f"labelled data not found at {DATA} (only beside the repo checkout)")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_at_least_ten_points_above_vader(language: str) -> None:
    # VADER (the vaderSentiment package, a development dependency) on the same held-out texts with
    # the usual thresholds; for two-class Persian its neutral goes to the compound's sign (0 → positive).
    vader = pytest.importorskip("vaderSentiment.vaderSentiment").SentimentIntensityAnalyzer()
    name = EXPECTED[language][0]
    _, heldout = split(load_tsv(DATA / name))
    model = load_models()[language]
    gold = [label for _, label in heldout]
    ours = evaluate([model.most_probable(text) for text, _ in heldout], gold, model.classes).macro_f1
    compounds = [vader.polarity_scores(text)["compound"] for text, _ in heldout]
    if "neutral" in model.classes:
        theirs = ["positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral" for c in compounds]
    else:
        theirs = ["negative" if c < 0 else "positive" for c in compounds]
    baseline = evaluate(theirs, gold, model.classes).macro_f1
    assert ours >= baseline + 0.10, (ours, baseline)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"labelled data not found at {DATA} (only beside the repo checkout)")
def test_heldout_through_public_api() -> None:
    # analyze() with no hint must pick the right model by script for (nearly) every row.
    for name, language in (("fa-snappfood.tsv", "fa"), ("en-tweeteval.tsv", "en")):
        _, heldout = split(load_tsv(DATA / name))
        sample = heldout[:300]
        hinted = [analyze(text, language) for text, _ in sample]
        guessed = [analyze(text) for text, _ in sample]
        same = sum(a == b for a, b in zip(hinted, guessed, strict=True))
        assert same >= 0.97 * len(sample), (name, same)
