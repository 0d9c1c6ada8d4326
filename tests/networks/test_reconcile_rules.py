"""The shared reconcile rules: the time window and the text comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sokhan.networks import registry
from sokhan.networks.errors import OutcomeUnknown
from sokhan.networks.reconcile import CLOCK_SKEW, DEFAULT_WINDOW, find, needs_text, normalise, window_start
from sokhan.networks.types import Capability, PublishRequest

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def test_window_starts_at_not_before_less_the_clock_skew() -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    request = PublishRequest(text="t", idempotency_key="k", not_before=datetime(2026, 1, 10, 12, 30, tzinfo=tehran))
    assert window_start(request, NOW) == datetime(2026, 1, 10, 9, 0, tzinfo=UTC) - CLOCK_SKEW
    naive = PublishRequest(text="t", idempotency_key="k", not_before=datetime(2026, 1, 10, 9, 0))
    assert window_start(naive, NOW) == datetime(2026, 1, 10, 9, 0, tzinfo=UTC) - CLOCK_SKEW


def test_without_not_before_the_default_window_applies() -> None:
    assert window_start(PublishRequest(text="t", idempotency_key="k"), NOW) == NOW - DEFAULT_WINDOW


def test_text_is_compared_after_nfc_and_whitespace_collapsing() -> None:
    assert normalise("  سلام\u200c دنیا \r\n\t!  ") == "سلام\u200c دنیا !"
    assert normalise("e\u0301") == normalise("\u00e9")
    with pytest.raises(OutcomeUnknown):
        needs_text(PublishRequest(text=" \n ", idempotency_key="k"), "x")


def test_find_takes_the_oldest_match_inside_the_window() -> None:
    posts = [
        ("late", NOW + timedelta(minutes=5), "hello  world"),
        ("early", NOW + timedelta(minutes=1), "hello world"),
        ("before", NOW - timedelta(minutes=1), "hello world"),
        ("other", NOW, "hello"),
    ]
    found = find(posts, "hello world", start=NOW, created=lambda p: p[1], text=lambda p: p[2])
    assert found is not None and found[0] == "early"
    assert find(posts, "bye", start=NOW, created=lambda p: p[1], text=lambda p: p[2]) is None


def test_reconciling_connectors_are_the_documented_ones() -> None:
    builtin = [c for c in registry.all_connectors() if c.__module__.startswith("sokhan.networks.connectors.")]
    reconciling = {c.key for c in builtin if c.has(Capability.RECONCILE)}
    assert reconciling == {"x", "facebook", "instagram", "threads", "linkedin", "pinterest", "youtube"}
    assert not any(c.has(Capability.RECONCILE) and c.idempotent_publish for c in builtin)
