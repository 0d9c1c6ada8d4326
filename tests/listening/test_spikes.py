"""The spike detector's statistics (``sokhan.listening.spikes``): tail probabilities against closed
forms, baselines computed by hand, the fallbacks for short histories, and the verdicts."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sokhan.listening.spikes import (
    HOUR,
    Count,
    Thresholds,
    baseline,
    betabinom_sf,
    detect,
    evaluate,
    nb_sf,
    predictive_dispersion,
    slot_of,
    trimmed_mean,
)

TEHRAN = "Asia/Tehran"
END = datetime(2026, 3, 30, tzinfo=UTC)  # a Monday, 03:30 in Tehran


def flat(weeks: int, total: int = 10, negative: int = 2) -> tuple[dict[datetime, Count], datetime]:
    start = END - timedelta(weeks=weeks)
    return {start + i * HOUR: Count(total, negative) for i in range(weeks * 168)}, start


def nb_tail_by_hand(x: int, mu: float, alpha: float) -> float:
    """1 − Σ_{k<x} C(k+r−1, k) p^r (1−p)^k with r = 1/α, p = r/(r+μ)."""
    r = 1 / alpha
    p = r / (r + mu)
    below = sum(
        math.exp(math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1)) * p**r * (1 - p) ** k for k in range(x)
    )
    return 1 - below


# ----------------------------------------------------------------------------- tail probabilities


def test_negative_binomial_tails_match_closed_forms() -> None:
    # α = 1, μ = 1 is the geometric distribution with q = ½: P(X ≥ 5) = ½⁵.
    assert nb_sf(5, 1.0, 1.0) == pytest.approx(1 / 32, rel=1e-12)
    # α = 0 is Poisson: P(X ≥ 3 | 2) = 1 − e⁻²(1 + 2 + 2).
    assert nb_sf(3, 2.0, 0.0) == pytest.approx(1 - 5 * math.exp(-2), rel=1e-12)
    assert nb_sf(0, 4.0, 0.1) == 1.0
    assert nb_sf(1, 0.0, 0.1) == 0.0
    # Far in the tail (summed upwards) and below the mode (1 − the lower sum) agree with the pmf.
    assert nb_sf(30, 10.0, 0.0375) == pytest.approx(nb_tail_by_hand(30, 10.0, 0.0375), rel=1e-9)
    assert nb_sf(8, 10.0, 0.3) == pytest.approx(nb_tail_by_hand(8, 10.0, 0.3), rel=1e-12)


def test_beta_binomial_tails_match_closed_forms() -> None:
    # p = ½ with ρ = ⅓ is Beta(1, 1): every count of 0..n is equally likely.
    assert betabinom_sf(7, 10, 0.5, 1 / 3) == pytest.approx(4 / 11, rel=1e-12)
    # ρ = 0 is binomial: two heads of two.
    assert betabinom_sf(2, 2, 0.5, 0.0) == pytest.approx(0.25, rel=1e-12)
    assert betabinom_sf(0, 5, 0.2, 0.01) == 1.0
    assert betabinom_sf(6, 5, 0.2, 0.01) == 0.0


def test_trimmed_mean_drops_a_quarter_each_end() -> None:
    assert trimmed_mean([5]) == 5
    assert trimmed_mean([4, 6]) == 5
    assert trimmed_mean([1, 2, 300]) == 2  # three values: the median
    assert trimmed_mean([1, 2, 3, 100]) == 2.5
    assert trimmed_mean([0, 1, 2, 3, 4, 5, 6, 100]) == 3.5  # the middle four
    assert trimmed_mean([]) == 0


# ----------------------------------------------------------------------------- the baseline


def test_slots_are_hours_of_the_week_on_the_workspace_clock() -> None:
    monday_5_utc = datetime(2026, 3, 2, 5, tzinfo=UTC)  # 08:30 in Tehran
    assert slot_of(monday_5_utc, ZoneInfo(TEHRAN), "week") == 8
    assert slot_of(monday_5_utc, ZoneInfo("UTC"), "week") == 5
    assert slot_of(monday_5_utc + timedelta(days=4), ZoneInfo(TEHRAN), "week") == 4 * 24 + 8  # Friday
    assert slot_of(monday_5_utc, ZoneInfo(TEHRAN), "day") == 8


def test_baseline_by_hand_one_slot_with_a_past_spike() -> None:
    """Three weeks of 4 an hour, but one hour of the week saw 4, 10 and 100: its value is the middle
    one (the past spike is trimmed), smoothed ¼·4 + ½·10 + ¼·4 = 7; its neighbours ¼·10 + ½·4 + ¼·4."""
    history, start = flat(3, total=4, negative=0)
    slot_hours = sorted(h for h in history if slot_of(h, ZoneInfo(TEHRAN), "week") == 10)
    assert len(slot_hours) == 3
    for hour, value in zip(slot_hours, (4, 10, 100), strict=True):
        history[hour] = Count(value, 0)
    base = baseline(history, start=start, end=END, zone=TEHRAN)
    assert (base.tier, base.samples, base.level) == ("week", 3, 1.0)
    next_week = slot_hours[-1] + timedelta(weeks=1)
    assert base.expected(next_week) == pytest.approx(7.0)
    assert base.expected(next_week + HOUR) == pytest.approx(5.5)
    assert base.expected(next_week - HOUR) == pytest.approx(5.5)
    assert base.expected(next_week + 5 * HOUR) == pytest.approx(4.0)


def test_a_steady_history_gives_the_widening_for_a_baseline_of_few_weeks() -> None:
    """No noise at all: α is 0, so one hour's α is only the estimate's own uncertainty,
    1.5 / (4 weeks × 10 mentions)."""
    history, start = flat(4)
    base = baseline(history, start=start, end=END, zone=TEHRAN)
    assert (base.tier, base.samples, base.dispersion) == ("week", 4, 0.0)
    # 28 days, the most negative tenth (2) left out, one pseudo-mention each way.
    assert base.negative_share == pytest.approx((26 * 24 * 2 + 1) / (26 * 24 * 10 + 2))
    assert base.expected(END) == 10
    assert predictive_dispersion(base, 10.0) == pytest.approx(0.0375)


def test_growth_raises_the_expectation_but_a_quiet_week_does_not_lower_it() -> None:
    history, start = flat(4)
    for hour in list(history)[-7 * 24 :]:
        history[hour] = Count(15, 3)  # the last week is half as busy again
    assert baseline(history, start=start, end=END, zone=TEHRAN).level == pytest.approx(1.5)
    for hour in list(history)[-7 * 24 :]:
        history[hour] = Count(5, 1)  # a holiday week
    assert baseline(history, start=start, end=END, zone=TEHRAN).level == 1.0


def test_short_histories_fall_back_and_a_day_is_the_least() -> None:
    for hours, tier, slots in ((5 * 24, "day", 24), (30, "flat", 1), (10, "none", 0)):
        start = END - hours * HOUR
        history = {start + i * HOUR: Count(3, 1) for i in range(hours)}
        base = baseline(history, start=start, end=END, zone=TEHRAN)
        assert (base.tier, len(base.profile)) == (tier, slots)
    assert evaluate(base, END, Count(500, 400)) == []  # no verdict without a day of history


def test_missing_hours_count_as_zero_and_the_expectation_has_a_floor() -> None:
    start = END - timedelta(weeks=3)
    base = baseline({}, start=start, end=END, zone=TEHRAN)
    assert base.tier == "week" and set(base.profile) == {0.0}
    assert base.expected(END) == 0.5
    assert [f.kind for f in evaluate(base, END, Count(12, 0))] == ["volume"]
    assert evaluate(base, END, Count(9, 0)) == []  # improbable, but fewer than min_count mentions


# ----------------------------------------------------------------------------- verdicts


def test_volume_alert_when_improbable_by_the_hand_computed_tail() -> None:
    history, start = flat(4)
    base = baseline(history, start=start, end=END, zone=TEHRAN)
    [finding] = evaluate(base, END, Count(30, 6))
    assert (finding.kind, finding.observed, finding.expected) == ("volume", 30.0, 10.0)
    assert finding.probability == pytest.approx(nb_tail_by_hand(30, 10.0, 0.0375), rel=1e-9)
    assert finding.probability < 3e-4 < nb_tail_by_hand(25, 10.0, 0.0375)
    assert evaluate(base, END, Count(25, 5)) == []
    # A looser threshold lets 25 through; a stricter ratio stops 30.
    assert evaluate(base, END, Count(25, 5), Thresholds(probability=1e-3))
    assert evaluate(base, END, Count(30, 6), Thresholds(min_ratio=3.5)) == []


def test_negative_share_alert() -> None:
    history, start = flat(4)
    base = baseline(history, start=start, end=END, zone=TEHRAN)
    [finding] = evaluate(base, END, Count(20, 14))
    assert finding.kind == "negative"
    assert finding.observed == pytest.approx(0.7)
    assert finding.expected == pytest.approx(base.negative_share)
    assert finding.probability == pytest.approx(betabinom_sf(14, 20, base.negative_share, 0.005))
    assert evaluate(base, END, Count(20, 7)) == []  # 35 %: not improbable enough
    assert evaluate(base, END, Count(6, 4)) == []  # fewer than five negative mentions


def test_detect_is_deterministic_and_sees_each_hour() -> None:
    history, start = flat(4)
    history[END] = Count(40, 30)
    history[END + HOUR] = Count(10, 2)
    kwargs = {"start": start, "end": END, "zone": TEHRAN}
    first = detect(history, [END, END + HOUR], **kwargs)  # type: ignore[arg-type]
    assert [f.kind for f in first] == ["volume", "negative"]
    assert detect(history, [END, END + HOUR], **kwargs) == first  # type: ignore[arg-type]
