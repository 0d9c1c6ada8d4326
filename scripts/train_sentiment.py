"""Train the shipped sentiment models and write ``src/sokhan/sentiment/model.json.gz``.

Usage: .venv/bin/python scripts/train_sentiment.py [DATA_DIR] [--output PATH] [--dry-run] [--cv]

DATA_DIR (default ``../shared/data/sentiment`` beside the repository) holds ``fa-snappfood.tsv``
and ``en-tweeteval.tsv``. Each file is split 85/15 by a stable hash of the text; the model is
trained on the 85 % only and the held-out scores printed here are the ones in docs/sentiment.md,
next to VADER's (vaderSentiment, the usual ±0.05 compound thresholds) on the same held-out texts.
``--cv`` instead prints 5-fold cross-validated macro-F1 of the settings grid on the training split
only (how ``SETTINGS`` were chosen) and writes nothing. Same data, same code → byte-identical model file.
Needs the development dependencies (``pip install -e '.[dev]'``: scikit-learn, vaderSentiment).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sokhan.sentiment import MODEL_PATH, PERSIAN_NEUTRAL_BAND, decide  # noqa: E402
from sokhan.sentiment.model import LanguageModel  # noqa: E402
from sokhan.sentiment.train import (  # noqa: E402
    HELDOUT_PERCENT,
    Evaluation,
    Row,
    Settings,
    cross_validate,
    emoji_valences,
    evaluate,
    fit,
    language_lexicon,
    load_lexicon,
    load_persian_lexicon,
    load_tsv,
    split,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"
SOURCES = {"fa": "fa-snappfood.tsv", "en": "en-tweeteval.tsv"}
# Chosen by --cv (5-fold cross-validation of the training split; docs/sentiment.md has the table).
SETTINGS = {
    "fa": Settings(c=5.0, nb_alpha=0.5, balanced=True, min_df=2, lexicon_scale=0.0, prune_below=0.02),
    "en": Settings(c=10.0, nb_alpha=1.0, balanced=True, min_df=2, lexicon_scale=0.3, prune_below=0.02),
}
# What --cv compares: plain and NB-scaled logistic regression over C, NB smoothing, class weighting,
# lexicon scale (0 = no lexicon features).
GRID = {
    "fa": [
        *(Settings(c=c, nb_alpha=0.0) for c in (1.0, 3.0, 10.0)),
        *(Settings(c=c, nb_alpha=1.0) for c in (2.0, 5.0, 10.0)),
        Settings(c=5.0, nb_alpha=1.0, balanced=False),
        Settings(c=5.0, nb_alpha=0.5),
        *(Settings(c=5.0, nb_alpha=0.5, lexicon_scale=scale) for scale in (0.3, 0.6)),
    ],
    "en": [
        *(Settings(c=c, nb_alpha=0.0, lexicon_scale=0.3) for c in (1.0, 3.0, 10.0)),
        *(Settings(c=c, nb_alpha=1.0, lexicon_scale=0.3) for c in (2.0, 5.0, 10.0)),
        Settings(c=5.0, nb_alpha=1.0, balanced=False, lexicon_scale=0.3),
        Settings(c=5.0, nb_alpha=0.5, lexicon_scale=0.3),
        *(Settings(c=10.0, nb_alpha=1.0, lexicon_scale=scale) for scale in (0.0, 0.6)),
    ],
}
NOTICES = [
    "Persian model trained on SnappFood food-delivery comments (HooshvareLab SnappFood sentiment set, "
    "via shadmehrkhalili/snappfood-parsbert2), distributed for research use.",
    "English model trained on TweetEval sentiment (cardiffnlp/tweeteval; SemEval-2017 Task 4 tweets), "
    "subject to the SemEval terms and Twitter's rules.",
    "The English model embeds the VADER sentiment lexicon (vader_lexicon.txt of vaderSentiment 3.3.2) and emoji "
    "valences derived from its emoji_utf8_lexicon.txt, Copyright (c) 2016 C.J. Hutto, "
    "MIT License: Permission is hereby granted, free of charge, to any person obtaining a copy of this software "
    'and associated documentation files (the "Software"), to deal in the Software without restriction, including '
    "without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell "
    "copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the "
    "following conditions: The above copyright notice and this permission notice shall be included in all copies "
    'or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, '
    "EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR "
    "PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, "
    "DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN "
    "CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
]


def report(title: str, result: Evaluation) -> None:
    print(f"  {title}: accuracy {result.accuracy:.4f}, macro-F1 {result.macro_f1:.4f} (n={result.count})")
    for scores in result.classes:
        print(
            f"    {scores.label:<8} precision {scores.precision:.4f}  recall {scores.recall:.4f}  "
            f"F1 {scores.f1:.4f}  support {scores.support}"
        )


def train_language(language: str, path: Path) -> tuple[LanguageModel, dict[str, Any]]:
    rows = load_tsv(path)
    train, heldout = split(rows)
    settings = SETTINGS[language]
    started = time.monotonic()
    model = fit(train, language, settings, language_lexicon(language))
    print(
        f"{language}: {path.name}, {len(train)} train / {len(heldout)} held-out, {len(model.weights)} features, "
        f"trained in {time.monotonic() - started:.0f} s"
    )
    gold = [label for _, label in heldout]
    probabilities = [model.probabilities(text) for text, _ in heldout]
    argmax = [max(p, key=p.__getitem__) for p in probabilities]
    result = evaluate(argmax, gold, model.classes)
    report("held-out, most probable class", result)
    summary: dict[str, Any] = {"accuracy": round(result.accuracy, 4), "macro_f1": round(result.macro_f1, 4)}
    if "neutral" not in model.classes:
        # What analyze() returns: the neutral band counts as wrong against two-class gold labels.
        labels = [decide(p).label for p in probabilities]
        banded = sum(label == "neutral" for label in labels)
        inside = [g == a for label, g, a in zip(labels, gold, argmax, strict=True) if label == "neutral"]
        shipped = evaluate(labels, gold, model.classes)
        print(
            f"  neutral band |score| < {PERSIAN_NEUTRAL_BAND}: {banded} of {len(gold)} held-out texts "
            f"({banded / len(gold):.1%}); the most probable class would be right for {sum(inside)} of them"
        )
        print(
            f"  held-out as analyze() labels them (neutral counted wrong): accuracy {shipped.accuracy:.4f}, "
            f"macro-F1 {shipped.macro_f1:.4f}"
        )
        summary["accuracy_with_neutral_band"] = round(shipped.accuracy, 4)
        summary["macro_f1_with_neutral_band"] = round(shipped.macro_f1, 4)
    summary["vader"] = vader_baseline(heldout, model.classes)
    summary["margin_over_vader"] = round(result.macro_f1 - summary["vader"]["macro_f1"], 4)
    print(f"  our macro-F1 - VADER's: {summary['margin_over_vader']:+.4f}")
    return model, summary


def vader_label(compound: float) -> str:
    """VADER's usual reading of the compound score."""
    return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"


def vader_baseline(heldout: list[Row], classes: tuple[str, ...]) -> dict[str, Any]:
    """VADER (the vaderSentiment package) on the same held-out texts, macro-F1 over ``classes``.

    For a two-class language (Persian) VADER's neutral is scored two ways: counted wrong (strict)
    and given to the side of the compound's sign, 0.0 (no lexicon word) to positive, which suits
    VADER slightly better here than negative, the training split's (slight) majority (lenient).
    The lenient one is the baseline to beat.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    compounds = [analyzer.polarity_scores(text)["compound"] for text, _ in heldout]
    gold = [label for _, label in heldout]
    strict = evaluate([vader_label(c) for c in compounds], gold, classes)
    report("VADER on the same texts (compound >= 0.05 positive, <= -0.05 negative, else neutral)", strict)
    summary: dict[str, Any] = {"accuracy": round(strict.accuracy, 4), "macro_f1": round(strict.macro_f1, 4)}
    if "neutral" not in classes:
        neutral = sum(vader_label(c) == "neutral" for c in compounds)
        lenient = evaluate(["negative" if c < 0 else "positive" for c in compounds], gold, classes)
        print(
            f"  VADER said neutral for {neutral} of {len(gold)}: counted wrong above; by the compound's sign "
            f"(0 → positive): accuracy {lenient.accuracy:.4f}, macro-F1 {lenient.macro_f1:.4f}"
        )
        summary = {
            "accuracy": round(lenient.accuracy, 4),
            "macro_f1": round(lenient.macro_f1, 4),
            "strict_macro_f1": round(strict.macro_f1, 4),
            "neutral": neutral,
        }
    return summary


def cross_validation(data: Path) -> None:
    """Print 5-fold CV macro-F1 of the ``GRID`` on each language's training split (held-out untouched).

    Last, one row with a plainer lexicon: English ``SETTINGS`` without the emoji, Persian with the
    lexicon of hand-written words only (no emoji, no emoticons).
    """
    emoji = emoji_valences(load_lexicon())
    for language, name in SOURCES.items():
        train, _ = split(load_tsv(data / name))
        print(f"{language}: 5-fold cross-validation on the {len(train)} training rows (macro-F1, mean ± sd)")
        started = time.monotonic()
        lexicon = language_lexicon(language)
        rows = [("", settings, scores) for settings, scores in cross_validate(train, language, GRID[language], lexicon)]
        if language == "fa":
            plainer, note = load_persian_lexicon(), " (hand-written words only)"
            settings = Settings(c=5.0, nb_alpha=0.5, lexicon_scale=0.3)
        else:
            plainer, note = {token: v for token, v in lexicon.items() if token not in emoji}, " (no emoji)"
            settings = replace(SETTINGS[language], prune_below=0.0)
        rows += [(note, s, scores) for s, scores in cross_validate(train, language, [settings], plainer)]
        for note, settings, scores in rows:
            if not note and replace(settings, prune_below=SETTINGS[language].prune_below) == SETTINGS[language]:
                note = " <- SETTINGS"
            print(
                f"  C={settings.c:<5g} nb_alpha={settings.nb_alpha:<4g} balanced={settings.balanced!s:<5} "
                f"lexicon={settings.lexicon_scale:<4g} {statistics.fmean(scores):.4f} ± "
                f"{statistics.stdev(scores):.4f}{note}",
                flush=True,
            )
        print(f"  ({time.monotonic() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the Persian and English sentiment models.")
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help=f"default: {DEFAULT_DATA}")
    parser.add_argument("--output", type=Path, default=MODEL_PATH, help=f"default: {MODEL_PATH}")
    parser.add_argument("--dry-run", action="store_true", help="Train and evaluate, write nothing.")
    parser.add_argument("--cv", action="store_true", help="Cross-validate the settings grid, write nothing.")
    args = parser.parse_args(argv)
    missing = [name for name in SOURCES.values() if not (args.data / name).is_file()]
    if missing:
        parser.error(f"{args.data} lacks {', '.join(missing)}")
    if args.cv:
        cross_validation(args.data)
        return 0
    languages: dict[str, Any] = {}
    heldout: dict[str, Any] = {}
    print(f"Held-out split: {HELDOUT_PERCENT} % of each file by SHA-256 of the text.")
    for language, name in SOURCES.items():
        model, summary = train_language(language, args.data / name)
        languages[language] = model.to_json()
        heldout[language] = summary
    document = {
        "format": 1,
        "heldout": heldout,
        "settings": {language: asdict(settings) for language, settings in SETTINGS.items()},
        "notices": NOTICES,
        "languages": languages,
    }
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 keeps the file byte-identical between runs on the same data.
    packed = gzip.compress(payload, compresslevel=9, mtime=0)
    print(f"Model: {len(payload) / 1e6:.2f} MB JSON, {len(packed) / 1e6:.2f} MB gzip")
    if not args.dry_run:
        args.output.write_bytes(packed)
        print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
