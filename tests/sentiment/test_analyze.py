"""``sokhan.sentiment.analyze``: labels, score range, obvious cases, language choice, Persian normalisation."""

from __future__ import annotations

import pytest

from sokhan.sentiment import LABELS, PERSIAN_NEUTRAL_BAND, Sentiment, analyze, analyze_many, decide, load_models
from sokhan.sentiment.features import detect_language, normalize

TEXTS = [
    "خیلی بد بود، دیگه سفارش نمیدم",
    "عالی بود ممنون",
    "I love this, thank you!",
    "worst service ever",
    "",
    "   ",
    "سلام",
    "The meeting is at 5pm in room 204.",
    "😍😍😍",
    "@user https://example.com/x?y=1 #tag",
    "غذا سرد بود but the driver was nice",
    "x" * 5000,
]


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("خیلی بد بود، دیگه سفارش نمیدم", "", "negative"),
        ("عالی بود ممنون", "", "positive"),
        ("عالی بود ممنون", "fa", "positive"),
        ("I love this, thank you!", "", "positive"),
        ("I love this, thank you!", "en-US", "positive"),
        ("worst service ever", "", "negative"),
        ("غذا سرد و بی‌کیفیت بود و خیلی دیر رسید", "", "negative"),
        ("پیک خیلی مودب بود و غذا داغ و خوشمزه", "", "positive"),
        ("This is terrible, I hate it", "", "negative"),
    ],
)
def test_obvious_cases(text: str, language: str, label: str) -> None:
    result = analyze(text, language)
    assert result.label == label, result
    assert (result.score > 0) if label == "positive" else (result.score < 0)


@pytest.mark.parametrize("text", TEXTS)
def test_labels_and_score_range(text: str) -> None:
    result = analyze(text)
    assert isinstance(result, Sentiment)
    assert result.label in LABELS
    assert -1.0 <= result.score <= 1.0


def test_sentiment_is_frozen() -> None:
    result = analyze("عالی بود ممنون")
    with pytest.raises(AttributeError):
        result.label = "negative"  # type: ignore[misc]


def test_empty_text_is_neutral_in_both_languages() -> None:
    for language in ("fa", "en", ""):
        assert analyze("", language).label == "neutral"


def test_analyze_many_matches_analyze() -> None:
    assert analyze_many(TEXTS) == [analyze(text) for text in TEXTS]


def test_score_is_positive_minus_negative_probability() -> None:
    model = load_models()["en"]
    probabilities = model.probabilities("worst service ever")
    result = analyze("worst service ever", "en")
    assert result.score == pytest.approx(probabilities["positive"] - probabilities["negative"])


def test_persian_neutral_band() -> None:
    assert decide({"negative": 0.52, "positive": 0.48}).label == "neutral"
    assert decide({"negative": 0.2, "positive": 0.8}) == Sentiment("positive", pytest.approx(0.6))
    edge = 0.5 + PERSIAN_NEUTRAL_BAND / 2 + 0.01
    assert decide({"negative": 1 - edge, "positive": edge}).label == "positive"
    # A three-class model takes the most probable class even when the score is near zero.
    assert decide({"negative": 0.3, "neutral": 0.4, "positive": 0.3}) == Sentiment("neutral", 0.0)


def test_models_are_loaded_once() -> None:
    assert load_models() is load_models()
    assert set(load_models()) == {"fa", "en"}
    assert load_models()["fa"].classes == ("negative", "positive")
    assert load_models()["en"].classes == ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        ("سلام دنیا", "", "fa"),
        ("hello world", "", "en"),
        ("سفارشم با snappfood دیر رسید", "", "fa"),
        ("I ordered from رستوران yesterday and it was late", "", "en"),
        ("hello", "fa", "fa"),
        ("سلام", "en", "en"),
        ("سلام", "fa-IR", "fa"),
        ("hello", "de", "en"),
        ("مرحبا", "ar", "fa"),
        ("12345 !!!", "", "en"),
    ],
)
def test_language_choice(text: str, hint: str, language: str) -> None:
    assert detect_language(text, hint) == language


@pytest.mark.parametrize(
    ("persian", "arabic_forms"),
    [
        ("خیلی بد بود، دیگه سفارش نمیدم", "خيلي بد بود، ديگه سفارش نميدم"),
        ("کیک تازه و خوشمزه بود", "كيك تازه و خوشمزه بود"),
        ("پیک خیلی دیر رسید", "پيك خيلي دير رسيد"),
        ("می‌خواستم دوباره سفارش بدم", "میخواستم دوباره سفارش بدم"),
        ("۲ ساعت طول کشید", "2 ساعت طول كشيد"),
    ],
)
def test_persian_normalisation_invariance(persian: str, arabic_forms: str) -> None:
    assert normalize(persian, "fa") == normalize(arabic_forms, "fa")
    assert analyze(persian) == analyze(arabic_forms)
    assert analyze(persian, "fa") == analyze(arabic_forms, "fa")


def test_english_normalisation() -> None:
    assert normalize("@someone LOVED it sooooo much https://t.co/abc &amp; more", "en") == (
        "@user loved it soo much httpurl & more"
    )
    assert analyze("@alice I LOVE this!!!") == analyze("@bob i love this!!!!!!")
