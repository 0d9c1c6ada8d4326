"""Dashboard computations against hand-computed values: rates, totals, period over period, content
types and hashtags."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from tests.analytics.helpers import mastodon_channel
from tests.analytics.pagedata import daily, post

from sokhan.analytics.dashboard import (
    Change,
    Period,
    axis_label,
    by_hashtag,
    by_kind,
    compare,
    content_kind,
    post_rows,
    top_posts,
    totals,
)
from sokhan.core.models import Workspace
from sokhan.publishing.models import PostTarget

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 11, day, hour, tzinfo=TEHRAN)


def test_period_and_previous_equal_period() -> None:
    period = Period.ending(date(2025, 11, 30), 7)
    assert (period.start, period.days) == (date(2025, 11, 24), 7)
    assert period.previous() == Period(date(2025, 11, 17), date(2025, 11, 23))


def test_totals_and_period_over_period(workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    daily(channel, date(2025, 11, 18), 800)
    daily(channel, date(2025, 11, 25), 800)
    daily(channel, date(2025, 11, 27), 1000)
    a = post(channel, at(25), text="#قهوه سلام", likes=10, comments=5, shares=5, impressions=400)
    post(channel, at(25), step=0, likes=1)  # another target: only one step each
    post(channel, at(27), text="#قهوه #كتاب", likes=30)  # no impressions: missing, not 0
    post(channel, at(20), likes=20, impressions=1000)  # the previous period
    post(channel, at(23, 23), likes=99)  # 23 Nov, previous period too (local day)

    period = Period.ending(date(2025, 11, 30), 7)
    rows = post_rows(workspace, period)
    assert len(rows) == 3
    row_a = next(r for r in rows if r.target_id == a.pk)
    assert (row_a.engagements, row_a.rate_impressions, row_a.followers, row_a.rate_followers) == (20, 5.0, 800, 2.5)
    current = totals(rows)
    assert current.posts == 3
    assert current.engagements == 51
    assert current.impressions == 400
    assert current.rate_impressions == pytest.approx(5.0)  # 20 / 400: only posts with impressions
    # mean of 2.5 (a), 3.0 (30 / 1000) and 0.125 (1 / 800)
    assert current.rate_followers == pytest.approx((2.5 + 3.0 + 0.125) / 3)

    previous = totals(post_rows(workspace, period.previous()))
    assert (previous.posts, previous.engagements, previous.rate_impressions) == (2, 119, 2.0)
    changes = compare(current, previous)
    assert changes["rate_impressions"].delta == pytest.approx(3.0)
    assert changes["rate_impressions"].percent == pytest.approx(150.0)
    assert changes["posts"].percent == pytest.approx(50.0)
    assert [r.target_id for r in top_posts(rows, 1)] == [rows[0].target_id]  # 30 engagements


def test_change_without_a_previous_value_is_missing() -> None:
    assert Change(5.0, None).percent is None
    assert Change(5.0, 0.0).percent is None
    assert Change(5.0, 0.0).delta == 5.0


def test_content_kinds_and_hashtags(workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    kinds = {
        "thread": post(channel, at(25), thread=[{"text": "۲"}]),
        "video": post(channel, at(25), media=[{"mime_type": "image/png"}, {"mime_type": "video/mp4"}]),
        "image": post(channel, at(25), media=[{"mime_type": "image/jpeg"}]),
        "link": post(channel, at(25), text="ببینید https://example.com/a"),
        "text": post(channel, at(25), text="#کتاب فقط متن", likes=4),
    }
    for kind, target in kinds.items():
        assert content_kind(PostTarget.objects.get(pk=target.pk)) == kind
    post(channel, at(26), text="#كتاب با کاف عربی", likes=2)
    rows = post_rows(workspace, Period.ending(date(2025, 11, 30), 7))
    assert {g.key: len(g.rows) for g in by_kind(rows)} == {"text": 2, "image": 1, "video": 1, "link": 1, "thread": 1}
    [book] = by_hashtag(rows)
    assert len(book.rows) == 2  # Arabic and Persian kaf fold to one tag
    assert book.totals.engagements == 6


def test_axis_labels_in_jalali_with_persian_digits() -> None:
    assert axis_label(date(2025, 11, 21), calendar="jalali", language="fa") == "۳۰ آبان"
    assert axis_label(date(2025, 11, 21), calendar="gregorian", language="en") == "21 Nov"
