"""The response metrics as pure functions, against the hand-computed scenario (tests/metrics/scenario.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from tests.metrics.scenario import END, REZA, SARA, START, TEHRAN, at, rows

from sokhan.core.calendars import IRANIAN_WEEK_START
from sokhan.metrics.business_hours import BusinessHours, default_for
from sokhan.metrics.response import (
    Received,
    Stats,
    bucket_start,
    compute,
    median,
)

PERSIAN = default_for("fa")


def run(group_by: str = "total", *, business: bool = False, **kwargs: object) -> dict[object, Stats]:
    options: dict[object, object] = {"zone": TEHRAN, "week_start": IRANIAN_WEEK_START, "calendar": "gregorian"}
    options.update(kwargs)
    result = compute(
        rows(),
        start=START,
        end=END,
        group_by=group_by,  # type: ignore[arg-type]
        hours=PERSIAN if business else None,
        **options,  # type: ignore[arg-type]
    )
    return dict(result)


def test_totals_all_hours() -> None:
    # Times of m1…m6 (m5 unanswered): 3 600, 1 800, 165 600, 66 600, 4 500.
    assert run()[None] == Stats(
        received=6,
        answered=5,
        response_rate=5 / 6,
        conversations=4,  # 100 (first: m1), 200 (m3), 300 (m4), 400 (m6); m0 is before the period
        first_responses=4,
        first_response_time=(3600 + 165600 + 66600 + 4500) / 4,  # 60 075
        average_response_time=242100 / 5,  # 48 420
        median_response_time=4500,
    )


def test_totals_business_hours() -> None:
    # Business times: 3 600, 1 800, 7 200 (Thu 12–13 + Sat 9–10), 1 800 (Fri closed, Sat 9–9:30), 900.
    assert run(business=True)[None] == Stats(
        received=6,
        answered=5,
        response_rate=5 / 6,  # the rate does not depend on the clock
        conversations=4,
        first_responses=4,
        first_response_time=(3600 + 7200 + 1800 + 900) / 4,  # 3 375
        average_response_time=15300 / 5,  # 3 060
        median_response_time=1800,
    )


def test_per_channel() -> None:
    all_hours, business = run("channel"), run("channel", business=True)
    assert list(all_hours) == [1, 2]
    assert all_hours[1] == Stats(3, 3, 1.0, 2, 2, (3600 + 4500) / 2, 9900 / 3, 3600)
    assert business[1] == Stats(3, 3, 1.0, 2, 2, (3600 + 900) / 2, 6300 / 3, 1800)
    # Channel 2 has an even number of answered messages: the median is the mean of the middle two.
    assert all_hours[2] == Stats(3, 2, 2 / 3, 2, 2, 116100, 116100, (165600 + 66600) / 2)
    assert business[2] == Stats(3, 2, 2 / 3, 2, 2, 4500, 4500, (7200 + 1800) / 2)


def test_per_agent() -> None:
    all_hours, business = run("agent"), run("agent", business=True)
    assert list(all_hours) == [SARA, REZA]
    # Sara answered m1, m2, m4 and the first messages of conversations 100 and 300.
    assert all_hours[SARA] == Stats(3, 3, None, 2, 2, (3600 + 66600) / 2, 72000 / 3, 3600)
    assert business[SARA] == Stats(3, 3, None, 2, 2, (3600 + 1800) / 2, 7200 / 3, 1800)
    # Reza answered m3 and m6 (200 and 400); two values: the median is their mean.
    assert all_hours[REZA] == Stats(2, 2, None, 2, 2, 85050, 85050, (165600 + 4500) / 2)
    assert business[REZA] == Stats(2, 2, None, 2, 2, 4050, 4050, (7200 + 900) / 2)


def test_agent_rows_leave_out_unanswered_and_keep_unknown_answerers_last() -> None:
    extra = Received(9, 900, 1, at(24, 10), at(24, 11), None)  # answered on the network itself
    result = dict(compute([*rows(), extra], start=START, end=END, group_by="agent"))
    assert list(result) == [SARA, REZA, None]
    assert result[None] == Stats(1, 1, None, 1, 1, 3600, 3600, 3600)
    assert sum(s.received for s in result.values()) == 6  # m5 (unanswered) is in no agent row


def test_per_iranian_week() -> None:
    all_hours, business = run("week"), run("week", business=True)
    assert list(all_hours) == [date(2025, 11, 15), date(2025, 11, 22)]  # Saturdays
    first, second = all_hours[date(2025, 11, 15)], all_hours[date(2025, 11, 22)]
    # m1–m4; four values, median (3 600 + 66 600) / 2.
    assert first == Stats(4, 4, 1.0, 3, 3, 235800 / 3, 237600 / 4, 35100)
    # m5 and m6; conversation 300 started in the first week, so only 400 is a first response here.
    assert second == Stats(2, 1, 0.5, 1, 1, 4500, 4500, 4500)
    assert business[date(2025, 11, 15)] == Stats(4, 4, 1.0, 3, 3, 12600 / 3, 14400 / 4, (1800 + 3600) / 2)
    assert business[date(2025, 11, 22)] == Stats(2, 1, 0.5, 1, 1, 900, 900, 900)


def test_iso_weeks_start_on_monday() -> None:
    weeks = run("week", week_start=0)
    assert list(weeks) == [date(2025, 11, 10), date(2025, 11, 17), date(2025, 11, 24)]
    assert [s.received for s in weeks.values()] == [2, 4, 0]


def test_per_day_includes_empty_days() -> None:
    days = run("day")
    assert list(days) == [date(2025, 11, d) for d in range(15, 29)]
    assert days[date(2025, 11, 16)] == Stats(0, 0, None, 0, 0, None, None, None)
    assert days[date(2025, 11, 20)].average_response_time == 165600
    assert days[date(2025, 11, 22)] == Stats(1, 0, 0.0, 0, 0, None, None, None)  # m5 only


def test_per_month_gregorian_and_jalali() -> None:
    gregorian = run("month")
    assert list(gregorian) == [date(2025, 11, 1)]
    assert gregorian[date(2025, 11, 1)] == run()[None]
    # 1 Azar 1404 is 22 November 2025: m1–m4 fall in Aban, m5 and m6 in Azar.
    jalali = run("month", calendar="jalali")
    assert list(jalali) == [date(2025, 10, 23), date(2025, 11, 22)]
    assert [s.received for s in jalali.values()] == [4, 2]


def test_buckets_are_cut_in_the_workspace_zone() -> None:
    late = datetime(2025, 11, 19, 22, 0, tzinfo=UTC)  # 01:30 on 20 November in Tehran
    assert bucket_start(late, "day", zone=TEHRAN) == date(2025, 11, 20)
    assert bucket_start(late, "day", zone="UTC") == date(2025, 11, 19)
    assert bucket_start(late, "week", zone=TEHRAN, week_start=IRANIAN_WEEK_START) == date(2025, 11, 15)
    assert bucket_start(late, "month", zone=TEHRAN, calendar="jalali") == date(2025, 10, 23)


def test_period_is_half_open() -> None:
    edge = [
        Received(1, 1, 1, START, START, SARA),  # at the start: in
        Received(2, 2, 1, END, END, SARA),  # at the end: out
    ]
    assert run_rows(edge).received == 1


def run_rows(items: list[Received], hours: BusinessHours | None = None) -> Stats:
    return compute(items, start=START, end=END, hours=hours)[0][1]


def test_empty_period() -> None:
    assert run_rows([]) == Stats(0, 0, None, 0, 0, None, None, None)


def test_first_response_uses_the_first_message_of_the_conversation_in_the_period() -> None:
    # Conversation 7: the first message waits 2 h, the second (answered by the same reply) 1 h.
    items = [Received(1, 7, 1, at(16, 9), at(16, 11), SARA), Received(2, 7, 1, at(16, 10), at(16, 11), SARA)]
    result = run_rows(items)
    assert (result.conversations, result.first_response_time, result.average_response_time) == (1, 7200, 5400)
    # An unanswered first message: the conversation counts, but has no first response time.
    items = [Received(1, 7, 1, at(16, 9), None, None), Received(2, 7, 1, at(16, 10), at(16, 11), SARA)]
    result = run_rows(items)
    assert (result.conversations, result.first_responses, result.first_response_time) == (1, 0, None)


def test_reply_stamped_before_the_message_counts_as_instant() -> None:
    assert run_rows([Received(1, 1, 1, at(16, 10), at(16, 9, 59), SARA)]).average_response_time == 0


def test_dst_zone_all_hours_vs_business_hours() -> None:
    # Berlin, across the March 2026 change: Friday 16:00 CET → Monday 10:00 CEST.
    berlin = ZoneInfo("Europe/Berlin")
    start, end = datetime(2026, 3, 23, tzinfo=berlin), datetime(2026, 4, 6, tzinfo=berlin)
    item = Received(1, 1, 1, datetime(2026, 3, 27, 16, tzinfo=berlin), datetime(2026, 3, 30, 10, tzinfo=berlin), 1)
    assert compute([item], start=start, end=end)[0][1].average_response_time == 65 * 3600
    hours = default_for("en", "Europe/Berlin")
    assert compute([item], start=start, end=end, hours=hours)[0][1].average_response_time == 2 * 3600


def test_median_definition() -> None:
    assert median([]) is None
    assert median([5.0]) == 5
    assert median([4.0, 1.0, 3.0]) == 3
    assert median([1.0, 2.0, 10.0, 4.0]) == 3  # (2 + 4) / 2


def test_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="unknown grouping"):
        compute([], start=START, end=END, group_by="year")  # type: ignore[arg-type]
