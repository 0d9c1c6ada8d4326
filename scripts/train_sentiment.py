"""Train the shipped sentiment models and write ``src/sokhan/sentiment/model.json.gz``.

Usage: .venv/bin/python scripts/train_sentiment.py [DATA_DIR] [--output PATH] [--dry-run]

DATA_DIR (default ``../shared/data/sentiment`` beside the repository) holds ``fa-snappfood.tsv``
and ``en-tweeteval.tsv``. Each file is split 85/15 by a stable hash of the text; the model is
trained on the 85 % only and the held-out scores printed here are the ones in docs/sentiment.md.
Same data, same code → byte-identical model file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sokhan.sentiment import MODEL_PATH, PERSIAN_NEUTRAL_BAND, decide  # noqa: E402
from sokhan.sentiment.model import LanguageModel  # noqa: E402
from sokhan.sentiment.train import (  # noqa: E402
    HELDOUT_PERCENT,
    Evaluation,
    Settings,
    evaluate,
    fit,
    load_lexicon,
    load_tsv,
    split,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"
SOURCES = {"fa": "fa-snappfood.tsv", "en": "en-tweeteval.tsv"}
SETTINGS = {
    "fa": Settings(epochs=10, rate=0.5, min_df=2, prune_below=0.02),
    "en": Settings(epochs=10, rate=0.5, min_df=2, lexicon_scale=0.3, prune_below=0.02),
}
NOTICES = [
    "Persian model trained on SnappFood food-delivery comments (HooshvareLab SnappFood sentiment set, "
    "via shadmehrkhalili/snappfood-parsbert2), distributed for research use.",
    "English model trained on TweetEval sentiment (cardiffnlp/tweeteval; SemEval-2017 Task 4 tweets), "
    "subject to the SemEval terms and Twitter's rules.",
    "The English model embeds the VADER sentiment lexicon (vaderSentiment 3.3.2), Copyright (c) 2016 C.J. Hutto, "
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


def train_language(language: str, path: Path, lexicon: dict[str, float]) -> tuple[LanguageModel, dict[str, Any]]:
    rows = load_tsv(path)
    train, heldout = split(rows)
    settings = SETTINGS[language]
    started = time.monotonic()
    model = fit(train, language, settings, lexicon)
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
        print(f"  held-out as analyze() labels them (neutral counted wrong): accuracy {shipped.accuracy:.4f}")
        summary["accuracy_with_neutral_band"] = round(shipped.accuracy, 4)
    return model, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the Persian and English sentiment models.")
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help=f"default: {DEFAULT_DATA}")
    parser.add_argument("--output", type=Path, default=MODEL_PATH, help=f"default: {MODEL_PATH}")
    parser.add_argument("--dry-run", action="store_true", help="Train and evaluate, write nothing.")
    args = parser.parse_args(argv)
    missing = [name for name in SOURCES.values() if not (args.data / name).is_file()]
    if missing:
        parser.error(f"{args.data} lacks {', '.join(missing)}")
    lexicon = load_lexicon()
    languages: dict[str, Any] = {}
    heldout: dict[str, Any] = {}
    print(f"Held-out split: {HELDOUT_PERCENT} % of each file by SHA-256 of the text.")
    for language, name in SOURCES.items():
        model, summary = train_language(language, args.data / name, lexicon)
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
