"""The training code on small made-up data: deterministic, learns, and agrees with inference."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sokhan.sentiment import MODEL_PATH, load_models, read_models
from sokhan.sentiment.model import LanguageModel, softmax
from sokhan.sentiment.train import Settings, evaluate, fit, is_heldout, load_lexicon, load_tsv, split

TOY = [
    ("great food, thank you", "positive"),
    ("loved it, great", "positive"),
    ("thank you so much, lovely", "positive"),
    ("awful and cold food", "negative"),
    ("cold, late and awful", "negative"),
    ("never again, awful", "negative"),
    ("the shop opens at nine", "neutral"),
    ("the order is at nine", "neutral"),
    ("opens at ten tomorrow", "neutral"),
] * 3


def test_fit_is_deterministic_and_learns() -> None:
    settings = Settings(epochs=8, min_df=1, lexicon_scale=0.3)
    lexicon = load_lexicon()
    first = fit(TOY, "en", settings, lexicon)
    second = fit(TOY, "en", settings, lexicon)
    assert first == second
    assert first.classes == ("negative", "neutral", "positive")
    predicted = []
    for text in ("great, thank you", "awful and late", "opens at nine"):
        probabilities = first.probabilities(text)
        predicted.append(max(probabilities, key=probabilities.__getitem__))
    assert predicted == ["positive", "negative", "neutral"]


def test_json_round_trip_keeps_scores(tmp_path: Path) -> None:
    model = fit(TOY, "en", Settings(epochs=3, min_df=1, lexicon_scale=0.3), load_lexicon())
    again = LanguageModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.classes == model.classes
    for text in ("great food", "cold"):
        assert again.probabilities(text) == pytest.approx(model.probabilities(text), abs=1e-3)
    path = tmp_path / "model.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"languages": {"en": again.to_json()}}).encode()))
    assert read_models(path)["en"].probabilities("great food") == again.probabilities("great food")


@pytest.mark.parametrize("language", ["fa", "en"])
def test_fast_scoring_matches_training_vector(language: str) -> None:
    # probabilities() sums per group; training sees vector(); both must give the same numbers.
    model = load_models()[language]
    for text in ("خیلی بد بود، دیگه سفارش نمیدم", "عالی بود 😍", "I don't like it :(", "not bad at all @user"):
        vector = model.vector(text)
        assert vector == sorted(vector)
        logits = [
            bias + sum(model.weights[f][k] * v for f, v in vector if f in model.weights)
            for k, bias in enumerate(model.bias)
        ]
        expected = dict(zip(model.classes, softmax(logits), strict=True))
        assert model.probabilities(text) == pytest.approx(expected, abs=1e-12)


def test_split_is_stable_and_about_15_percent() -> None:
    texts = [f"text number {i}" for i in range(4000)]
    share = sum(map(is_heldout, texts)) / len(texts)
    assert 0.13 < share < 0.17
    assert [is_heldout(t) for t in texts[:50]] == [is_heldout(t) for t in texts[:50]]
    train, heldout = split((t, "neutral") for t in texts)
    assert len(train) + len(heldout) == len(texts)
    assert all(is_heldout(t) for t, _ in heldout) and not any(is_heldout(t) for t, _ in train)


def test_load_tsv_checks_header(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text('text\tlabel\n"quoted" text\tpositive\nbroken line\n', encoding="utf-8")
    assert load_tsv(good) == [('"quoted" text', "positive")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("sentence\tlabel\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        load_tsv(bad)


def test_evaluate() -> None:
    result = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert result.accuracy == 0.75
    scores = {s.label: s for s in result.classes}
    assert (scores["a"].precision, scores["a"].recall) == (0.5, 1.0)
    assert (scores["b"].precision, scores["b"].recall) == (1.0, pytest.approx(2 / 3))
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_shipped_model_file_is_compact_and_credits_its_sources() -> None:
    assert MODEL_PATH.stat().st_size < 3_000_000
    with gzip.open(MODEL_PATH, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    notices = " ".join(document["notices"])
    assert "SnappFood" in notices and "TweetEval" in notices and "MIT License" in notices
    assert set(document["heldout"]) == {"fa", "en"}
