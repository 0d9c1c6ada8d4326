"""Pluggable sentiment backends: the setting picks the class, errors name the setting to fix."""

from __future__ import annotations

import json
import re
import runpy
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import sokhan.config.settings as settings_module
from sokhan.sentiment import (
    Sentiment,
    SentimentBackend,
    SentimentConfigError,
    analyze,
    analyze_many,
    get_backend,
)
from sokhan.sentiment.backends import (
    OPTION_SETTINGS,
    BuiltinBackend,
    TransformersBackend,
    combine,
    load_backend,
    map_model_labels,
    options_from_environ,
    parse_label_map,
)
from sokhan.sentiment.model import MODEL_PATH


class KeywordBackend:
    """A real (if simple) backend: positive when a text holds ``word``, else negative; counts its calls."""

    calls: list[tuple[list[str], str]] = []

    def __init__(self, word: str = "good") -> None:
        self.word = word

    def analyze_many(self, texts: Sequence[str], language: str = "") -> list[Sentiment]:
        KeywordBackend.calls.append((list(texts), language))
        return [Sentiment("positive", 1.0) if self.word in text else Sentiment("negative", -1.0) for text in texts]


class NotABackend:
    pass


@pytest.fixture
def keyword_backend(settings: Any) -> Iterator[None]:
    KeywordBackend.calls = []
    settings.SENTIMENT_BACKEND = f"{__name__}.KeywordBackend"
    settings.SENTIMENT_OPTIONS = {"word": "عالی"}
    yield
    KeywordBackend.calls = []


def test_default_backend_is_the_shipped_model() -> None:
    backend = get_backend()
    assert isinstance(backend, BuiltinBackend)
    assert isinstance(backend, SentimentBackend)
    assert get_backend() is backend
    assert analyze("عالی بود ممنون") == backend.analyze("عالی بود ممنون")


@pytest.mark.usefixtures("keyword_backend")
def test_setting_switches_backend_and_options() -> None:
    assert type(get_backend()).__name__ == "KeywordBackend"
    assert analyze("عالی بود", "fa") == Sentiment("positive", 1.0)
    assert analyze_many(["خیلی بد بود", "عالی"]) == [Sentiment("negative", -1.0), Sentiment("positive", 1.0)]
    # analyze_many hands the whole list to the backend in one call (a transformer batches it).
    assert KeywordBackend.calls == [(["عالی بود"], "fa"), (["خیلی بد بود", "عالی"], "")]


def test_backend_returns_to_builtin_after_the_setting(settings: Any) -> None:
    settings.SENTIMENT_BACKEND = f"{__name__}.KeywordBackend"
    settings.SENTIMENT_OPTIONS = {}
    assert type(get_backend()).__name__ == "KeywordBackend"
    settings.SENTIMENT_BACKEND = "builtin"
    assert isinstance(get_backend(), BuiltinBackend)


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        ("nothing", {}, "SOKHAN_SENTIMENT_BACKEND='nothing' is neither"),
        ("sokhan.sentiment.backends.NoSuchBackend", {}, "SOKHAN_SENTIMENT_BACKEND='sokhan.sentiment.backends.NoSuch"),
        ("no_such_module.Backend", {}, "cannot be imported"),
        (f"{__name__}.NotABackend", {}, "has no analyze_many"),
        (f"{__name__}.KeywordBackend", {"model_dir": "/x"}, "cannot be created with the options ['model_dir']"),
    ],
)
def test_bad_backend_setting(path: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(SentimentConfigError, match=re.escape(message)):
        load_backend(path, options)


def test_bad_setting_fails_analyze_with_the_setting_named(settings: Any) -> None:
    settings.SENTIMENT_BACKEND = "transformers"
    settings.SENTIMENT_OPTIONS = {}
    with pytest.raises(SentimentConfigError, match="SOKHAN_SENTIMENT_MODEL_DIR"):
        analyze("hello")


def test_options_from_environ() -> None:
    assert options_from_environ({}) == ("builtin", {})
    environ = {
        "SOKHAN_SENTIMENT_BACKEND": " transformers ",
        "SOKHAN_SENTIMENT_MODEL_DIR": "/models/x",
        "SOKHAN_SENTIMENT_LABELS": "LABEL_0=negative,LABEL_1=positive",
        "SOKHAN_SENTIMENT_BATCH_SIZE": "",
    }
    assert options_from_environ(environ) == (
        "transformers",
        {"model_dir": "/models/x", "labels": "LABEL_0=negative,LABEL_1=positive"},
    )


def test_settings_read_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # settings.py and options_from_environ (used without Django) must agree on names and defaults.
    def evaluated() -> tuple[str, dict[str, str]]:
        namespace = runpy.run_path(str(Path(settings_module.__file__)), run_name="settings_probe")
        return namespace["SENTIMENT_BACKEND"], namespace["SENTIMENT_OPTIONS"]

    for name in OPTION_SETTINGS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SOKHAN_SENTIMENT_BACKEND", raising=False)
    assert evaluated() == options_from_environ() == ("builtin", {})
    monkeypatch.setenv("SOKHAN_SENTIMENT_BACKEND", "transformers")
    monkeypatch.setenv("SOKHAN_SENTIMENT_MODEL_DIR", "/models/x")
    monkeypatch.setenv("SOKHAN_SENTIMENT_MAX_LENGTH", "128")
    monkeypatch.setenv("SOKHAN_SENTIMENT_LABELS", "")
    assert evaluated() == options_from_environ() == ("transformers", {"model_dir": "/models/x", "max_length": "128"})


def test_builtin_backend_with_another_model_file(tmp_path: Path) -> None:
    copy = tmp_path / "model.json.gz"
    copy.write_bytes(MODEL_PATH.read_bytes())
    backend = load_backend("builtin", {"model_dir": str(copy)})
    assert backend.analyze_many(["worst service ever", " "], "en") == [
        analyze("worst service ever", "en"),
        Sentiment("neutral", 0.0),
    ]
    # A directory holding model.json.gz does too.
    assert load_backend("builtin", {"model_dir": str(tmp_path)}).analyze_many(["عالی بود"]) == [analyze("عالی بود")]
    with pytest.raises(SentimentConfigError, match=r"SOKHAN_SENTIMENT_MODEL_DIR=.*no model\.json\.gz there"):
        BuiltinBackend(model_dir=tmp_path / "missing.json.gz")
    with pytest.raises(SentimentConfigError, match=r"no model\.json\.gz there"):
        BuiltinBackend(model_dir=tmp_path / "missing")


# --- TransformersBackend ----------------------------------------------------------------------


def test_transformers_backend_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SentimentConfigError, match="needs a local model directory: set SOKHAN_SENTIMENT_MODEL_DIR"):
        TransformersBackend()
    with pytest.raises(SentimentConfigError, match=r"SOKHAN_SENTIMENT_MODEL_DIR=.* is not a directory"):
        TransformersBackend(model_dir=tmp_path / "missing")
    with pytest.raises(SentimentConfigError, match=r"has no config\.json"):
        TransformersBackend(model_dir=tmp_path)


def test_transformers_backend_without_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails, installed or not
    with pytest.raises(SentimentConfigError, match="needs the 'transformers' and 'torch' packages"):
        TransformersBackend(model_dir=tmp_path)


@pytest.mark.parametrize(("name", "value"), [("batch_size", "0"), ("max_length", "many")])
def test_transformers_backend_checks_numbers(tmp_path: Path, name: str, value: str) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SentimentConfigError, match=f"SOKHAN_SENTIMENT_{name.upper()}='{value}'"):
        TransformersBackend(model_dir=tmp_path, **{name: value})


def test_label_names() -> None:
    assert map_model_labels({0: "NEGATIVE", 1: "POSITIVE"}, {}) == ["negative", "positive"]
    assert map_model_labels({0: "negative", 1: "neutral", 2: "positive"}, {}) == ["negative", "neutral", "positive"]
    assert map_model_labels({0: "SAD", 1: "HAPPY"}, {}) == ["negative", "positive"]
    stars = {i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}
    assert map_model_labels(stars, {}) == ["negative", "negative", "neutral", "positive", "positive"]
    explicit = parse_label_map("LABEL_0=negative, LABEL_1=Neutral ,LABEL_2=positive")
    assert explicit == {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    assert map_model_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, explicit) == [
        "negative",
        "neutral",
        "positive",
    ]
    # By output index too.
    assert map_model_labels({0: "a", 1: "b"}, parse_label_map({"0": "negative", "1": "positive"})) == [
        "negative",
        "positive",
    ]


def test_label_errors_name_the_setting() -> None:
    with pytest.raises(SentimentConfigError, match=r"'LABEL_0' .* set SOKHAN_SENTIMENT_LABELS"):
        map_model_labels({0: "LABEL_0", 1: "LABEL_1"}, {})
    with pytest.raises(SentimentConfigError, match="needs a positive and a negative output"):
        map_model_labels({0: "neutral", 1: "positive"}, {})
    with pytest.raises(SentimentConfigError, match="SOKHAN_SENTIMENT_LABELS: LABEL_0=good is not"):
        parse_label_map("LABEL_0=good")
    with pytest.raises(SentimentConfigError, match="SOKHAN_SENTIMENT_LABELS: LABEL_0= is not"):
        parse_label_map("LABEL_0")


def test_combine_sums_outputs_with_one_label() -> None:
    five = ["negative", "negative", "neutral", "positive", "positive"]
    assert combine([0.1, 0.1, 0.2, 0.3, 0.3], five) == Sentiment("positive", pytest.approx(0.4))
    # Without a neutral output, the same abstention band as the shipped Persian model.
    assert combine([0.49, 0.51], ["negative", "positive"]).label == "neutral"
    assert combine([0.2, 0.8], ["negative", "positive"]) == Sentiment("positive", pytest.approx(0.6))


class _Tensor:
    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows

    def tolist(self) -> list[list[float]]:
        return self.rows


def _stub_packages(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    """Stand-ins for ``transformers`` and ``torch`` with the few calls the backend makes."""

    class Tokenizer:
        @classmethod
        def from_pretrained(cls, path: Path, **kwargs: Any) -> Tokenizer:
            seen["tokenizer"] = (path, kwargs)
            return cls()

        def __call__(self, batch: list[str], **kwargs: Any) -> dict[str, list[str]]:
            seen.setdefault("batches", []).append((batch, kwargs))
            return {"texts": batch}

    class Model:
        config = types.SimpleNamespace(id2label={"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"})

        @classmethod
        def from_pretrained(cls, path: Path, **kwargs: Any) -> Model:
            seen["model"] = (path, kwargs)
            return cls()

        def eval(self) -> None:
            seen["eval"] = True

        def __call__(self, texts: list[str]) -> types.SimpleNamespace:
            # "good" → positive logits, "bad" → negative, else neutral.
            logits = {"good": [0.0, 0.0, 4.0], "bad": [4.0, 0.0, 0.0]}
            rows = [next((v for k, v in logits.items() if k in t), [0.0, 4.0, 0.0]) for t in texts]
            return types.SimpleNamespace(logits=_Tensor(rows))

    class InferenceMode:
        def __enter__(self) -> None:
            seen["inference_mode"] = seen.get("inference_mode", 0) + 1

        def __exit__(self, *exc: object) -> None:
            return None

    transformers = types.ModuleType("transformers")
    transformers.AutoTokenizer = Tokenizer  # type: ignore[attr-defined]
    transformers.AutoModelForSequenceClassification = Model  # type: ignore[attr-defined]
    torch = types.ModuleType("torch")
    torch.inference_mode = InferenceMode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transformers", transformers)
    monkeypatch.setitem(sys.modules, "torch", torch)


def test_transformers_backend_loads_locally_and_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"id2label": {}}))
    seen: dict[str, Any] = {}
    _stub_packages(monkeypatch, seen)
    settings.SENTIMENT_BACKEND = "transformers"
    settings.SENTIMENT_OPTIONS = {
        "model_dir": str(tmp_path),
        "labels": "LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive",
        "batch_size": "2",
        "max_length": "64",
    }
    results = analyze_many(["good food", "", "bad food", "the shop opens at nine", "good"])
    assert seen["tokenizer"] == (tmp_path, {"local_files_only": True})
    assert seen["model"] == (tmp_path, {"local_files_only": True})
    assert seen["eval"] is True
    # The blank text is not sent; the others go in batches of two, truncated to max_length.
    assert [batch for batch, _ in seen["batches"]] == [["good food", "bad food"], ["the shop opens at nine", "good"]]
    assert seen["batches"][0][1] == {"padding": True, "truncation": True, "max_length": 64, "return_tensors": "pt"}
    assert seen["inference_mode"] == 2
    assert [r.label for r in results] == ["positive", "neutral", "negative", "neutral", "positive"]
    assert results[1] == Sentiment("neutral", 0.0)
    assert results[0].score == pytest.approx(-results[2].score) and results[0].score > 0.9
