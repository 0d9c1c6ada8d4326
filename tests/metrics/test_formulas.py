"""The social metrics against values computed by hand from the definitions they cite, including the
edge cases: a zero denominator gives no value (``zero_denominator``), a missing input gives no value
(``missing``), and a part the network does not give is never counted as zero."""

from __future__ import annotations

import pytest

from sokhan.metrics import formulas as f
from sokhan.metrics.definitions import get
from sokhan.metrics.formulas import Reason

# A post: 30 likes, 10 comments, 5 shares, 5 saves, no clicks given (e.g. Instagram) → 50 engagements.
POST = {"likes": 30, "comments": 10, "shares": 5, "saves": 5, "clicks": None}


def test_values_name_their_definition_and_version() -> None:
    value = f.engagement_rate_impressions(POST, 1000)
    assert (value.name, value.version, value.reason) == ("engagement_rate_impressions", 1, None)
    assert value.version == get(value.name).version


def test_engagements_add_up_the_given_parts_only() -> None:
    assert f.engagements(POST).value == 50
    assert f.engagements({"likes": 0, "comments": 0}).value == 0  # real zeros: 0 engagements
    empty = f.engagements({"likes": None, "comments": None})
    assert (empty.value, empty.reason) == (None, Reason.MISSING)
    assert f.engagements({}).reason is Reason.MISSING


def test_engagement_rate_by_impressions_buffer() -> None:
    # Buffer: "the percentage of impressions that resulted in an engagement": 50 ÷ 2 000 × 100 = 2.5 %.
    assert f.engagement_rate_impressions(POST, 2000).value == pytest.approx(2.5)
    # Buffer's X example shape: likes 12 + replies 3 + reposts 4 + quotes 1 + clicks 20 = 40 over 1 600.
    x = {"likes": 12, "comments": 3, "shares": 4 + 1, "clicks": 20}
    assert f.engagement_rate_impressions(x, 1600).value == pytest.approx(2.5)
    zero = f.engagement_rate_impressions(POST, 0)
    assert (zero.value, zero.reason) == (None, Reason.ZERO_DENOMINATOR)
    missing = f.engagement_rate_impressions(POST, None)  # Mastodon gives no impressions
    assert (missing.value, missing.reason) == (None, Reason.MISSING)
    none = f.engagement_rate_impressions({"likes": None}, 2000)
    assert none.reason is Reason.MISSING


def test_engagement_rate_by_reach_hootsuite() -> None:
    # ERR = engagements ÷ reach × 100: 50 ÷ 800 × 100 = 6.25 %.
    assert f.engagement_rate_reach(POST, 800).value == pytest.approx(6.25)
    assert f.engagement_rate_reach(POST, 0).reason is Reason.ZERO_DENOMINATOR
    assert f.engagement_rate_reach(POST, None).reason is Reason.MISSING


def test_engagement_rate_by_followers_hootsuite() -> None:
    # ER post = engagements ÷ followers × 100: 50 ÷ 12 500 × 100 = 0.4 %.
    assert f.engagement_rate_followers(POST, 12_500).value == pytest.approx(0.4)
    # A new account with no followers yet: undefined, not infinite.
    assert f.engagement_rate_followers(POST, 0).reason is Reason.ZERO_DENOMINATOR
    assert f.engagement_rate_followers(POST, None).reason is Reason.MISSING


def test_amplification_rate_kaushik() -> None:
    # Shares per post over followers: 5 ÷ 12 500 × 100 = 0.04 %.
    assert f.amplification_rate(5, 12_500).value == pytest.approx(0.04)
    assert f.amplification_rate(0, 12_500).value == 0  # never shared (a real 0)
    assert f.amplification_rate(None, 12_500).reason is Reason.MISSING  # shares not given
    assert f.amplification_rate(5, 0).reason is Reason.ZERO_DENOMINATOR


def test_engagement_breakdown_shares_add_up_to_100() -> None:
    parts = f.engagement_breakdown(POST)
    assert {k: v.value for k, v in parts.items()} == {
        "likes": pytest.approx(60.0),  # 30 ÷ 50
        "comments": pytest.approx(20.0),
        "shares": pytest.approx(10.0),
        "saves": pytest.approx(10.0),
        "clicks": None,
    }
    assert parts["clicks"].reason is Reason.MISSING
    assert sum(v.value for v in parts.values() if v.value is not None) == pytest.approx(100.0)
    nothing = f.engagement_breakdown({"likes": 0, "comments": 0, "shares": 0})
    assert nothing["likes"].reason is Reason.ZERO_DENOMINATOR  # no engagements to divide
    assert nothing["saves"].reason is Reason.MISSING


def test_follower_growth_absolute_and_percent() -> None:
    # Keyhole: 1 000 at the start, 1 100 at the end → +100, 10 %.
    assert f.follower_growth(1000, 1100).value == 100
    assert f.follower_growth_rate(1000, 1100).value == pytest.approx(10.0)
    # Losing followers is negative growth: 10 000 → 9 850 is −150, −1.5 %.
    assert f.follower_growth(10_000, 9_850).value == -150
    assert f.follower_growth_rate(10_000, 9_850).value == pytest.approx(-1.5)
    # Growth from an empty account has no percentage.
    assert f.follower_growth(0, 40).value == 40
    assert f.follower_growth_rate(0, 40).reason is Reason.ZERO_DENOMINATOR
    assert f.follower_growth(None, 40).reason is Reason.MISSING
    assert f.follower_growth_rate(1000, None).reason is Reason.MISSING


def test_net_sentiment_talkwalker() -> None:
    # Talkwalker's own worked example: (255 − 513) ÷ (255 + 513) = −258 ÷ 768 = −0.3359375.
    assert f.net_sentiment(255, 513).value == pytest.approx(-0.3359375)
    # And its time-bucket example: (3 − 2) ÷ (3 + 2) = 0.2.
    assert f.net_sentiment(3, 2).value == pytest.approx(0.2)
    assert f.net_sentiment(7, 0).value == 1.0
    assert f.net_sentiment(0, 0).reason is Reason.ZERO_DENOMINATOR  # only neutral mentions
    assert f.net_sentiment(None, 3).reason is Reason.MISSING


def test_share_of_voice() -> None:
    # 20 brand mentions, competitors 30 + 50: 20 ÷ (20 + 80) = 0.2.
    assert f.share_of_voice(20, 30 + 50).value == pytest.approx(0.2)
    assert f.share_of_voice(0, 80).value == 0.0
    assert f.share_of_voice(5, 0).value == 1.0  # no competitor was mentioned
    assert f.share_of_voice(0, 0).reason is Reason.ZERO_DENOMINATOR
    assert f.share_of_voice(5, None).reason is Reason.MISSING
