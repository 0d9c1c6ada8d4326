"""The metric registry and ``sokhan metrics list``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sokhan.cli import main
from sokhan.metrics import MetricDefinition, definitions, get, register

RESPONSE_METRICS = {
    "response_rate",
    "first_response_time",
    "first_response_time_business_hours",
    "average_response_time",
    "average_response_time_business_hours",
    "median_response_time",
    "median_response_time_business_hours",
}


def test_response_metrics_are_registered_sorted_and_versioned() -> None:
    items = definitions()
    names = [d.name for d in items]
    assert names == sorted(names)
    assert set(names) >= RESPONSE_METRICS
    for name in RESPONSE_METRICS:
        definition = get(name)
        assert definition.version == 1
        assert definition.formula and definition.description
        assert "Sprout Social" in definition.source or "Agorapulse" in definition.source
    assert get("response_rate").unit == "ratio"
    assert get("median_response_time").unit == "seconds"
    assert "Agorapulse" in get("average_response_time_business_hours").source
    assert "mean of the two middle values" in get("median_response_time").formula


def test_register_refuses_a_second_definition_under_one_name() -> None:
    same = get("response_rate")
    assert register(same) is same  # registering the identical definition again is harmless
    with pytest.raises(ValueError, match="already defined"):
        register(MetricDefinition("response_rate", 2, "x", "y", "ratio", "z"))
    with pytest.raises(ValueError, match="start at 1"):
        register(MetricDefinition("new_metric", 0, "x", "y", "count", "z"))


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("metrics", *args, stdout=out)
    return out.getvalue()


def test_metrics_list_json_is_one_line_of_name_version_formula_source() -> None:
    output = run("list", "--json")
    assert output.count("\n") == 1 and output.endswith("\n")
    data = json.loads(output)
    assert isinstance(data, list)
    assert [item["name"] for item in data] == [d.name for d in definitions()]
    for item in data:
        assert set(item) == {"name", "version", "formula", "source"}
        assert isinstance(item["version"], int)
    rate = next(item for item in data if item["name"] == "response_rate")
    assert rate["version"] == 1
    assert rate["formula"].startswith("answered ÷ received")  # not escaped: ensure_ascii is off


def test_metrics_list_text() -> None:
    output = run("list")
    assert "response_rate v1 [ratio]" in output
    assert "median_response_time_business_hours v1 [seconds]" in output


def test_metrics_needs_an_action() -> None:
    with pytest.raises(CommandError):
        call_command("metrics", stdout=io.StringIO(), stderr=io.StringIO())


def test_sokhan_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "list", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert {item["name"] for item in json.loads(lines[0])} >= RESPONSE_METRICS


SOCIAL_METRICS = {
    "engagements": ("count", "Buffer"),
    "engagement_rate_impressions": ("percent", "Buffer"),
    "engagement_rate_reach": ("percent", "Hootsuite"),
    "engagement_rate_followers": ("percent", "Hootsuite"),
    "follower_growth": ("count", "Keyhole"),
    "follower_growth_rate": ("percent", "Keyhole"),
    "amplification_rate": ("percent", "Kaushik"),
    "engagement_breakdown": ("percent", "Buffer"),
    "net_sentiment": ("ratio", "Talkwalker"),
    "share_of_voice": ("ratio", "Sprout Social"),
    "account_daily": ("count", "docs/analytics.md"),
}


def test_social_metrics_are_registered_with_unit_and_cited_source() -> None:
    for name, (unit, cited) in SOCIAL_METRICS.items():
        definition = get(name)
        assert definition.version == 1
        assert definition.unit == unit
        assert cited in definition.source
        assert "http" in definition.source or name == "account_daily"
        assert definition.formula and definition.description
    assert get("engagement_rate_impressions").formula == "engagements ÷ impressions × 100"
    assert get("net_sentiment").formula == "(positive − negative) ÷ (positive + negative)"


def test_metrics_list_json_includes_the_social_metrics() -> None:
    data = {item["name"]: item for item in json.loads(run("list", "--json"))}
    assert set(data) >= RESPONSE_METRICS | set(SOCIAL_METRICS)
    assert data["amplification_rate"]["formula"].startswith("shares ÷ followers × 100")
    assert "kaushik.net" in data["amplification_rate"]["source"]
