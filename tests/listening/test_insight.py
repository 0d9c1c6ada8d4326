"""Insight computations against hand-computed values: net sentiment, share of voice, the trend
score and trending terms, the day cut, and every figure of ``insight_for`` on a small workspace."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from tests.listening.mention_rows import mention, topic

from sokhan.core.models import Workspace
from sokhan.listening.insight import (
    Period,
    Sentiments,
    insight_for,
    net_sentiment,
    share_of_voice,
)
from sokhan.listening.insight_charts import Segment, Series, line_chart, nice_max, stacked_bars
from sokhan.listening.insight_terms import term_stats, tokens, trend_score
from sokhan.listening.mention_filters import day_start
from sokhan.listening.models import TopicKind

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TEHRAN)


def test_net_sentiment_and_share_of_voice() -> None:
    assert net_sentiment(3, 1) == 0.5
    assert net_sentiment(0, 2) == -1.0
    assert net_sentiment(0, 0) is None
    assert share_of_voice(3, 1) == 0.75
    assert share_of_voice(3, 0) == 1.0
    assert share_of_voice(0, 0) is None
    assert Sentiments(positive=3, neutral=4, negative=1).net == 0.5


def test_trend_score() -> None:
    # 4 of the period's 4 mentions against 1 of the baseline's 2: the baseline predicts 2.
    assert trend_score(4, 1, 4, 2) == pytest.approx(math.log2(5 / 3))
    assert trend_score(2, 0, 4, 2) == pytest.approx(math.log2(3))
    assert trend_score(2, 0, 4, 0) == pytest.approx(math.log2(3))  # no baseline at all
    assert trend_score(2, 2, 4, 2) < 0  # half as frequent as before


def test_tokens_fold_persian_and_drop_stopwords_links_and_accounts() -> None:
    found = list(tokens("قيمت‌ها و كتاب #یلدا @acme https://x.com/a ۱۴۰۴ the Coffee a#b"))
    assert found == [("قیمتها", "قیمت‌ها"), ("کتاب", "کتاب"), ("#یلدا", "#یلدا"), ("coffee", "coffee")]


def test_term_stats_by_hand() -> None:
    period = [
        "قیمت دیجی‌کالا بالا رفت #یلدا",
        "قيمت ها بالاست #یلدا",
        "ارسال سریع بود",
        "قیمت‌ها؟ ارسال کند #یلدا",
    ]
    baseline = ["ارسال کند بود", "ارسال خوب"]
    found = term_stats(period, baseline, exclude={"دیجیکالا"})
    # «قیمت» is in three mentions (the matcher lets a word end at a half space: «قیمت‌ها»), none
    # before: log2((3 + 1) / (0 + 1)) = 2. «ارسال»: 2 now, 2 of 2 before → expected 4 → negative.
    assert [(t.text, t.count, t.baseline, t.score) for t in found.words] == [("قیمت", 3, 0, 2.0)]
    assert [(t.text, t.count, t.query) for t in found.hashtags] == [("#یلدا", 3, "#یلدا")]
    assert found.words[0].query == '"قیمت"'
    cloud = [(w.term.text, w.term.count, w.step) for w in found.cloud]
    assert cloud == [
        ("#یلدا", 3, 6),
        ("قیمت", 3, 6),
        ("ارسال", 2, 4),
        ("بالا", 1, 1),
        ("بالاست", 1, 1),
        ("رفت", 1, 1),
        ("سریع", 1, 1),
        ("قیمت‌ها", 1, 1),
    ]
    assert "دیجیکالا" not in {w.term.key for w in found.cloud}  # the topic's own word
    assert (found.period_total, found.baseline_total) == (4, 2)


def test_day_start_is_the_first_whole_utc_hour_of_the_local_day() -> None:
    # Tehran is UTC+03:30: midnight is 20:30 UTC, so the day's first hour bucket starts at 21:00 UTC.
    assert day_start(date(2026, 3, 21), TEHRAN) == datetime(2026, 3, 20, 21, tzinfo=UTC)
    assert day_start(date(2026, 3, 21), ZoneInfo("UTC")) == datetime(2026, 3, 21, tzinfo=UTC)
    assert day_start(date(2026, 3, 21), ZoneInfo("Europe/Berlin")) == datetime(2026, 3, 20, 23, tzinfo=UTC)


@pytest.fixture
def world(workspace: Workspace) -> dict[str, object]:
    brand = topic(workspace, "Acme", "acme OR آکمه", TopicKind.BRAND)
    rival = topic(workspace, "Rival", "rival", TopicKind.COMPETITOR)
    beans = topic(workspace, "Beans", "beans", TopicKind.PRODUCT)
    rows = {
        "m1": mention(workspace, "acme خوب", tehran(21, 9), [brand], sentiment="positive", handle="a", followers=100),
        "m2": mention(
            workspace,
            "acme بد",
            tehran(21, 10),
            [brand],
            sentiment="negative",
            corrected="positive",
            handle="b",
            followers=5000,
        ),
        "m3": mention(
            workspace,
            "acme vs rival",
            tehran(22, 12),
            [brand, rival],
            sentiment="negative",
            handle="a",
            followers=150,
            language="en",
        ),
        "m4": mention(workspace, "rival ok", tehran(22, 13), [rival], sentiment="neutral", handle="c", language="en"),
        "m5": mention(workspace, "acme later", tehran(23, 12), [brand], sentiment="positive"),
        "m6": mention(workspace, "acme before", tehran(20, 12), [brand], sentiment="positive"),
        "m7": mention(workspace, "beans", tehran(21, 11), [beans], sentiment="positive", handle="d", followers=10),
        # 00:10 Tehran on the 21st is 20:40 UTC on the 20th: its hour bucket begins on the 20th.
        "edge": mention(workspace, "acme edge", tehran(21, 0, 10), [brand], sentiment="positive"),
    }
    return {"brand": brand, "rival": rival, "beans": beans, **rows}


def test_insight_figures_by_hand(workspace: Workspace, world: dict[str, object]) -> None:
    brand, rival, beans = world["brand"], world["rival"], world["beans"]
    period = Period(date(2026, 3, 21), date(2026, 3, 22), TEHRAN)
    found = insight_for(workspace, [brand, rival, beans], period, "day")  # type: ignore[list-item]

    assert found.buckets == [date(2026, 3, 21), date(2026, 3, 22)]
    rows = {row.topic.name: row for row in found.rows}
    assert (rows["Acme"].volume, rows["Acme"].series) == (3, [2, 1])
    assert (rows["Rival"].volume, rows["Rival"].series) == (2, [0, 2])
    assert (rows["Beans"].volume, rows["Beans"].series) == (1, [1, 0])
    # Share of voice: brand 3 ÷ (brand 3 + competitor 2); the product topic is not part of it.
    assert found.share_of_voice == pytest.approx(0.6)
    assert (found.brand_volume, found.competitor_volume) == (3, 2)
    assert rows["Acme"].share == pytest.approx(0.6)
    assert rows["Rival"].share == pytest.approx(0.4)
    assert rows["Beans"].share is None

    # Distinct mentions m1, m2, m3, m4, m7 with the label that counts (m2 corrected to positive).
    assert found.sentiments == Sentiments(positive=3, neutral=1, negative=1)
    assert found.sentiments.net == 0.5
    assert found.sentiment_series == [Sentiments(positive=3), Sentiments(neutral=1, negative=1)]
    assert rows["Acme"].sentiments == Sentiments(positive=2, negative=1)
    assert rows["Rival"].sentiments == Sentiments(neutral=1, negative=1)

    assert [(a.handle, a.reach, a.mentions) for a in found.authors] == [
        ("b", 5000, 1),
        ("a", 150, 2),
        ("d", 10, 1),
        ("c", None, 1),
    ]
    assert found.languages == [("fa", 3), ("en", 2)]
    assert (found.corrections.total, found.corrections.agreed) == (1, 0)
    assert found.corrections.changes == [("negative", "positive", 1)]


def test_insight_by_hour_and_an_empty_choice(workspace: Workspace, world: dict[str, object]) -> None:
    period = Period(date(2026, 3, 21), date(2026, 3, 21), TEHRAN)
    found = insight_for(workspace, [world["brand"]], period, "hour")  # type: ignore[list-item]
    assert len(found.buckets) == 24
    assert found.buckets[0] == datetime(2026, 3, 20, 21, tzinfo=UTC)
    series = found.rows[0].series
    assert sum(series) == 2
    # 09:00 and 10:00 Tehran are 05:30 and 06:30 UTC: the buckets of 05:00 and 06:00 UTC.
    assert series[8] == 1 and series[9] == 1
    assert found.sentiment_series[8] == Sentiments(positive=1)

    nothing = insight_for(workspace, [], period, "day")
    assert nothing.sentiments.total == 0 and nothing.share_of_voice is None and nothing.rows == []


def test_charts_mirror_time_in_rtl_and_round_the_axis() -> None:
    assert [nice_max(v) for v in (0, 1, 7, 11, 50, 51)] == [1, 1, 10, 20, 50, 100]
    series = [Series("Acme", "series-0", [1, 3, 2], ["/a", "/b", "/c"])]
    ltr = line_chart(["d1", "d2", "d3"], series, rtl=False, digits=str)
    rtl = line_chart(["d1", "d2", "d3"], series, rtl=True, digits=str)
    xs = [float(m.x) for m in ltr.lines[0].marks]
    assert xs[0] < xs[1] < xs[2]
    xs = [float(m.x) for m in rtl.lines[0].marks]
    assert xs[0] > xs[1] > xs[2]
    assert [m.href for m in rtl.lines[0].marks] == ["/a", "/b", "/c"]
    assert [t.label for t in ltr.value_ticks] == ["0", "2", "5"]  # the axis' top is 5, its middle 2
    bars = stacked_bars(
        ["d1"],
        [[Segment(2, "p", "/p", "P"), Segment(0, "n", "/n", "N"), Segment(1, "x", "/x", "X")]],
        rtl=False,
        digits=str,
    )
    assert [b.href for b in bars.bars] == ["/p", "/x"]  # empty segments draw nothing
    heights = [float(b.height) for b in bars.bars]
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)
