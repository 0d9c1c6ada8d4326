"""twitter-text's own conformance cases, every one of them, against ``sokhan.publishing.twitter_text``.

Sections and the configuration twitter-text runs each with:

* ``tweets`` (validity): v1, the legacy 140-character rule the cases were written for;
* ``WeightedTweetsCounterTest``: v2 (weights, no emoji parsing);
* ``WeightedTweetsWithDiscountedEmojiCounterTest`` and ``UnicodeDirectionalMarkerCounterTest``: v3;
* ``urls_without_protocol`` (validate.yml), the URL sections of extract.yml and tlds.yml: URL finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sokhan.publishing import twitter_text
from sokhan.publishing.twitter_text import V1, V2, V3, TwitterTextConfig, extract_urls, parse_tweet

DATA = Path(__file__).parent / "conformance" / "twitter-text"


def _load(name: str) -> dict[str, list[dict[str, Any]]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(handle)["tests"]
    return tests


VALIDATE = _load("validate.yml")
EXTRACT = _load("extract.yml")
TLDS = _load("tlds.yml")

WEIGHTED_SECTIONS = {
    "WeightedTweetsCounterTest": V2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": V3,
    "UnicodeDirectionalMarkerCounterTest": V3,
}
FIELDS = {
    "weightedLength": "weighted_length",
    "valid": "valid",
    "permillage": "permillage",
    "displayRangeStart": "display_range_start",
    "displayRangeEnd": "display_range_end",
    "validRangeStart": "valid_range_start",
    "validRangeEnd": "valid_range_end",
}


def _cases(sections: dict[str, list[dict[str, Any]]], names: list[str]) -> list[Any]:
    return [
        pytest.param(name, case, id=f"{name}[{index}] {case['description'][:60]}")
        for name in names
        for index, case in enumerate(sections[name])
    ]


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_every_section_in_use_is_there() -> None:
    assert len(VALIDATE["tweets"]) == 8
    assert len(VALIDATE["WeightedTweetsCounterTest"]) == 20
    assert len(VALIDATE["WeightedTweetsWithDiscountedEmojiCounterTest"]) == 22
    assert len(VALIDATE["UnicodeDirectionalMarkerCounterTest"]) == 2


@pytest.mark.parametrize(("section", "case"), _cases(VALIDATE, list(WEIGHTED_SECTIONS)))
def test_weighted_length(section: str, case: dict[str, Any]) -> None:
    result = parse_tweet(case["text"], WEIGHTED_SECTIONS[section])
    assert {key: getattr(result, attr) for key, attr in FIELDS.items()} == case["expected"]


@pytest.mark.parametrize(("section", "case"), _cases(VALIDATE, ["tweets"]))
def test_tweet_validity(section: str, case: dict[str, Any]) -> None:
    assert parse_tweet(case["text"], V1).valid is case["expected"]


@pytest.mark.parametrize(("section", "case"), _cases(VALIDATE, ["urls_without_protocol"]))
def test_url_without_protocol(section: str, case: dict[str, Any]) -> None:
    assert ([e.text for e in extract_urls(case["text"])] == [case["text"]]) is case["expected"]


@pytest.mark.parametrize(("section", "case"), _cases(EXTRACT, ["urls", "tco_urls_with_params"]))
def test_extract_urls(section: str, case: dict[str, Any]) -> None:
    assert [e.text for e in extract_urls(case["text"])] == case["expected"]


@pytest.mark.parametrize(("section", "case"), _cases(EXTRACT, ["urls_with_indices", "urls_with_directional_markers"]))
def test_extract_urls_with_indices(section: str, case: dict[str, Any]) -> None:
    text = case["text"]
    found = [{"url": e.text, "indices": [_utf16(text[: e.start]), _utf16(text[: e.end])]} for e in extract_urls(text)]
    assert found == case["expected"]


@pytest.mark.parametrize("kind", ["country", "generic"])
def test_every_known_tld_is_found(kind: str) -> None:
    missed = [c["text"] for c in TLDS[kind] if [e.text for e in extract_urls(c["text"])] != c["expected"]]
    assert missed == []
    assert len(TLDS[kind]) > 300


def test_shipped_config_is_v3() -> None:
    shipped = Path(twitter_text.__file__).with_name("twitter_text_v3.json")
    conformance = json.loads((DATA / "v3.json").read_text(encoding="utf-8"))
    assert json.loads(shipped.read_text(encoding="utf-8")) == conformance
    assert TwitterTextConfig.from_json(conformance) == V3
    assert (V3.max_weighted_length, V3.scale, V3.default_weight, V3.transformed_url_length) == (280, 100, 200, 23)
    assert V3.emoji_parsing_enabled


def test_shipped_tld_list_matches_tlds_yml() -> None:
    shipped = json.loads(Path(twitter_text.__file__).with_name("twitter_text_tlds.json").read_text(encoding="utf-8"))
    for kind in ("country", "generic"):
        assert shipped[kind] == [c["text"].removeprefix("https://twitter.") for c in TLDS[kind]]
