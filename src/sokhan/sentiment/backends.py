"""Sentiment backends: the shipped offline model (default) and a local Hugging Face model.

``SOKHAN_SENTIMENT_BACKEND`` picks the class: ``builtin`` (the default), ``transformers``, or the
dotted path of any class with ``analyze_many(texts, language) -> list[Sentiment]``
(:class:`~sokhan.sentiment.base.SentimentBackend`). The class is called with the configured
options as keyword arguments (``model_dir``, ``labels``, ``batch_size``, ``max_length``: only those
that are set). See docs/sentiment.md.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sokhan.sentiment.base import LABELS, NEUTRAL, Sentiment, SentimentBackend, SentimentConfigError, decide
from sokhan.sentiment.features import detect_language
from sokhan.sentiment.model import MODEL_PATH, LanguageModel, load_models, read_models, softmax

BACKEND_SETTING = "SOKHAN_SENTIMENT_BACKEND"
# Option name → environment variable, for the messages and for use without Django settings.
OPTION_SETTINGS = {
    "model_dir": "SOKHAN_SENTIMENT_MODEL_DIR",
    "labels": "SOKHAN_SENTIMENT_LABELS",
    "batch_size": "SOKHAN_SENTIMENT_BATCH_SIZE",
    "max_length": "SOKHAN_SENTIMENT_MAX_LENGTH",
}
ALIASES = {
    "builtin": "sokhan.sentiment.backends.BuiltinBackend",
    "transformers": "sokhan.sentiment.backends.TransformersBackend",
}


def options_from_environ(environ: Mapping[str, str] = os.environ) -> tuple[str, dict[str, str]]:
    """``(backend, options)`` from the environment: what ``settings.py`` reads, for use without Django."""
    backend = environ.get(BACKEND_SETTING, "").strip() or "builtin"
    options = {name: environ[variable] for name, variable in OPTION_SETTINGS.items() if environ.get(variable)}
    return backend, options


def load_backend(path: str, options: Mapping[str, Any] | None = None) -> SentimentBackend:
    """An instance of the backend class named by ``path`` (an alias or a dotted path)."""
    dotted = ALIASES.get(path.strip(), path.strip())
    module_name, _, class_name = dotted.rpartition(".")
    if not module_name:
        raise SentimentConfigError(
            f"{BACKEND_SETTING}={path!r} is neither 'builtin', 'transformers' nor a dotted path to a class."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise SentimentConfigError(f"{BACKEND_SETTING}={path!r} cannot be imported: {error}") from error
    try:
        backend = cls(**dict(options or {}))
    except TypeError as error:
        raise SentimentConfigError(
            f"{BACKEND_SETTING}={path!r} cannot be created with the options {sorted(options or {})}: {error}"
        ) from error
    if not callable(getattr(backend, "analyze_many", None)):
        raise SentimentConfigError(f"{BACKEND_SETTING}={path!r} has no analyze_many(texts, language) method.")
    result: SentimentBackend = backend
    return result


class BuiltinBackend:
    """The two linear models shipped in ``model.json.gz``, pure Python, CPU, no download.

    ``model_dir`` may name a directory holding another ``model.json.gz`` of the same format (or
    that file itself), e.g. one written by ``scripts/train_sentiment.py DATA --output``; by
    default the shipped one is used.
    """

    def __init__(self, model_dir: str | os.PathLike[str] = "", **_ignored: Any) -> None:
        if model_dir:
            path = Path(model_dir).expanduser()
            if path.is_dir():
                path = path / MODEL_PATH.name
            if not path.is_file():
                raise SentimentConfigError(
                    f"{OPTION_SETTINGS['model_dir']}={str(model_dir)!r}: no {MODEL_PATH.name} there for the "
                    "builtin backend."
                )
            self.models: dict[str, LanguageModel] = read_models(path)
        else:
            self.models = load_models()

    def analyze(self, text: str, language: str = "") -> Sentiment:
        if not text.strip():
            # Nothing to judge: the model's bias alone would pick a side (Persian leans positive).
            return NEUTRAL
        return decide(self.models[detect_language(text, language)].probabilities(text))

    def analyze_many(self, texts: Sequence[str], language: str = "") -> list[Sentiment]:
        analyze = self.analyze
        return [analyze(text, language) for text in texts]


# --- a local Hugging Face model -------------------------------------------------------------

_STARS = re.compile(r"^([1-5])\s*stars?$")
_WORDS = {
    "positive": ("positive", "pos", "happy", "good", "recommended"),
    "negative": ("negative", "neg", "sad", "bad", "not_recommended", "not recommended"),
    "neutral": ("neutral", "neu", "none", "no_idea", "objective", "mixed"),
}


def parse_label_map(raw: str | Mapping[str, str]) -> dict[str, str]:
    """``"LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive"`` (or a mapping) → ``{model label: ours}``."""
    pairs = (
        raw.items()
        if isinstance(raw, Mapping)
        else (item.split("=", 1) if "=" in item else (item, "") for item in raw.split(",") if item.strip())
    )
    mapping: dict[str, str] = {}
    for key, value in pairs:
        ours = value.strip().lower()
        if ours not in LABELS or not key.strip():
            raise SentimentConfigError(
                f"{OPTION_SETTINGS['labels']}: {key.strip()}={value.strip()} is not 'model label=positive|neutral|"
                "negative'."
            )
        mapping[key.strip()] = ours
    return mapping


def map_model_labels(id2label: Mapping[int, str], explicit: Mapping[str, str]) -> list[str]:
    """Our label for each of the model's output indices, by the explicit map or by the label's name.

    Names are matched case-insensitively: positive/negative/neutral (and pos, neg, neu, happy, sad),
    and star ratings (1–2 stars negative, 3 neutral, 4–5 positive). Generic names such as ``LABEL_0``
    say nothing, so they need ``SOKHAN_SENTIMENT_LABELS``.
    """
    ours: list[str] = []
    for index in sorted(id2label):
        name = str(id2label[index])
        label = explicit.get(name) or explicit.get(str(index)) or _label_by_name(name)
        if label is None:
            raise SentimentConfigError(
                f"The model's label {name!r} (output {index}) has no meaning we know: set "
                f"{OPTION_SETTINGS['labels']}, e.g. 'LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive'."
            )
        ours.append(label)
    if "positive" not in ours or "negative" not in ours:
        raise SentimentConfigError(
            f"The model's labels {[id2label[i] for i in sorted(id2label)]} map to {ours}: a sentiment model needs "
            f"a positive and a negative output (set {OPTION_SETTINGS['labels']})."
        )
    return ours


def _label_by_name(name: str) -> str | None:
    folded = name.strip().lower()
    stars = _STARS.match(folded)
    if stars:
        return ("negative", "negative", "neutral", "positive", "positive")[int(stars.group(1)) - 1]
    for label, words in _WORDS.items():
        if folded in words:
            return label
    return None


def combine(probabilities: Sequence[float], labels: Sequence[str]) -> Sentiment:
    """One text's model probabilities (per output) → ``Sentiment``, summing outputs with the same label."""
    summed: dict[str, float] = {}
    for label, probability in zip(labels, probabilities, strict=True):
        summed[label] = summed.get(label, 0.0) + probability
    return decide(summed)


def _option_int(name: str, value: int | str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SentimentConfigError(f"{OPTION_SETTINGS[name]}={value!r} must be a whole number of at least 1.")
    return number


class TransformersBackend:
    """A sequence-classification model in a local directory, through ``transformers`` (and torch).

    Nothing is downloaded: the directory must hold the model and its tokenizer
    (``save_pretrained`` output), and loading uses ``local_files_only=True``. Its output labels are
    mapped to positive/neutral/negative by name or by ``labels``; a model without a neutral output
    says neutral only inside the same band as the shipped Persian model.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] = "",
        labels: str | Mapping[str, str] = "",
        batch_size: int | str = 32,
        max_length: int | str = 256,
        **_ignored: Any,
    ) -> None:
        setting = OPTION_SETTINGS["model_dir"]
        if not model_dir:
            raise SentimentConfigError(
                f"The transformers sentiment backend needs a local model directory: set {setting}."
            )
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise SentimentConfigError(f"{setting}={str(model_dir)!r} is not a directory.")
        if not (path / "config.json").is_file():
            raise SentimentConfigError(
                f"{setting}={str(model_dir)!r} has no config.json: point it at a directory written by "
                "save_pretrained() (model and tokenizer)."
            )
        self.batch_size = _option_int("batch_size", batch_size)
        self.max_length = _option_int("max_length", max_length)
        try:
            transformers = importlib.import_module("transformers")
            self._torch = importlib.import_module("torch")
        except ImportError as error:
            raise SentimentConfigError(
                f"{BACKEND_SETTING}=transformers needs the 'transformers' and 'torch' packages, which are not "
                f"installed ({error}); install them in Sokhan's environment or unset {BACKEND_SETTING}."
            ) from error
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as error:
            raise SentimentConfigError(f"{setting}={str(model_dir)!r} cannot be loaded: {error}") from error
        self.model.eval()
        id2label = {int(k): str(v) for k, v in dict(self.model.config.id2label).items()}
        self.labels = map_model_labels(id2label, parse_label_map(labels))

    def analyze_many(self, texts: Sequence[str], language: str = "") -> list[Sentiment]:
        results: list[Sentiment] = [NEUTRAL] * len(texts)
        todo = [i for i, text in enumerate(texts) if text.strip()]
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            for i, row in zip(chunk, self._probabilities([texts[i] for i in chunk]), strict=True):
                results[i] = combine(row, self.labels)
        return results

    def _probabilities(self, batch: list[str]) -> list[list[float]]:
        encoded = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with self._torch.inference_mode():
            logits = self.model(**encoded).logits
        rows: list[list[float]] = [[float(z) for z in row] for row in logits.tolist()]
        return [softmax(row) for row in rows]
