"""The training code on small made-up data: deterministic, learns, and agrees with inference."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sokhan.sentiment import MODEL_PATH, load_models, read_models
from sokhan.sentiment.features import lexicon_features, normalize, tokenize
from sokhan.sentiment.model import LanguageModel, softmax
from sokhan.sentiment.train import (
    Settings,
    cross_validate,
    evaluate,
    fit,
    is_heldout,
    language_lexicon,
    load_lexicon,
    load_persian_lexicon,
    load_tsv,
    split,
)

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
    settings = Settings(c=10.0, min_df=1, lexicon_scale=0.3)
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


@pytest.mark.parametrize("nb_alpha", [0.0, 1.0])
def test_two_classes_make_one_regression_split_both_ways(nb_alpha: float) -> None:
    rows = [(text, label) for text, label in TOY if label != "neutral"]
    model = fit(rows, "en", Settings(nb_alpha=nb_alpha, min_df=1))
    assert model.classes == ("negative", "positive")
    # The one regression's logit is split ±½, so softmax = its sigmoid and the rows are mirrored.
    assert model.bias[0] == -model.bias[1]
    assert all(row[0] == -row[1] for row in model.weights.values())
    assert model.most_probable("great, thank you") == "positive"
    assert model.most_probable("cold and awful") == "negative"


def test_nb_scaling_is_folded_into_the_weights() -> None:
    # With NB ratios a feature seen only in one class weighs more towards it than without them.
    rows = [(text, label) for text, label in TOY if label != "neutral"]
    plain = fit(rows, "en", Settings(nb_alpha=0.0, min_df=1))
    scaled = fit(rows, "en", Settings(nb_alpha=1.0, min_df=1))
    assert scaled.weights["wawful"][1] < 0 and plain.weights["wawful"][1] < 0
    assert scaled.weights != plain.weights


def test_cross_validate_reports_every_fold() -> None:
    grid = [Settings(c=1.0, min_df=1), Settings(c=10.0, nb_alpha=0.0, min_df=1)]
    results = cross_validate(TOY * 2, "en", grid, folds=3)
    assert [settings for settings, _ in results] == grid
    assert all(len(scores) == 3 and all(0.0 <= f1 <= 1.0 for f1 in scores) for _, scores in results)
    assert min(min(scores) for _, scores in results) > 0.5


def test_json_round_trip_keeps_scores(tmp_path: Path) -> None:
    model = fit(TOY, "en", Settings(min_df=1, lexicon_scale=0.3), load_lexicon())
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


def test_persian_lexicon_is_normalised_and_negation_follows_the_word() -> None:
    persian = load_persian_lexicon()
    assert persian[normalize("بی‌کیفیت", "fa")] < 0 and "بیکیفیت" in persian
    assert all(key == normalize(key, "fa") for key in persian)
    tokens = tokenize(normalize("غذا خوب نبود", "fa"))
    assert lexicon_features("غذا خوب نبود", tokens, persian, "fa") == {"L-1", "S-1", "P0", "N1", "Z-"}
    tokens = tokenize(normalize("غذا خوب بود", "fa"))
    assert lexicon_features("غذا خوب بود", tokens, persian, "fa") == {"L+2", "S+2", "P1", "N0", "Z+"}


def test_language_lexicons_share_emoji() -> None:
    english, persian = language_lexicon("en"), language_lexicon("fa")
    assert english["😍"] == persian["😍"] > 0 and english["❤"] > 0
    assert persian[":)"] > 0 and "good" not in persian and english["good"] > 0
    # A lone emoji counts once (as a token), an emoticon from the raw text.
    tokens = tokenize(normalize("عالی 😍 :)", "fa"))
    assert lexicon_features("عالی 😍 :)", tokens, persian, "fa") >= {"P3", "N0"}
    assert lexicon_features("😍", tokenize("😍"), persian, "fa") == {"L+2", "S+2", "P1", "N0", "Z+"}
