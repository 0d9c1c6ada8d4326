"""The registry of metric definitions: what every number Sokhan reports means, and which version of
its formula produced it. A change to what a metric counts bumps its version (never silently).

See docs/metrics.md for the full text of each definition and worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    name: str  # stable identifier, used in exports and the API
    version: int  # starts at 1; bumped whenever the formula or what it counts changes
    formula: str
    source: str  # the public definition this one follows (and where it differs, docs/metrics.md)
    unit: str  # "ratio" (0–1), "seconds", "count"…
    description: str


_REGISTRY: dict[str, MetricDefinition] = {}


def register(definition: MetricDefinition) -> MetricDefinition:
    """Add a definition; a second definition under the same name is a programming error."""
    if definition.version < 1:
        raise ValueError(f"metric {definition.name}: versions start at 1")
    if definition.name in _REGISTRY and _REGISTRY[definition.name] != definition:
        raise ValueError(f"metric {definition.name} is already defined")
    _REGISTRY[definition.name] = definition
    return definition


def definitions() -> list[MetricDefinition]:
    """Every registered definition, sorted by name."""
    return sorted(_REGISTRY.values(), key=lambda d: d.name)


def get(name: str) -> MetricDefinition:
    """The definition called ``name`` (``KeyError`` when there is none)."""
    return _REGISTRY[name]


# ---------------------------------------------------------------------------------------------
# Inbox response metrics (computed by sokhan.metrics.response)

SPROUT_TEAM = "Sprout Social, Inbox Team Report (https://support.sproutsocial.com/hc/en-us/articles/208762436)"
SPROUT_ACTIVITY = "Sprout Social, Inbox Activity Report (https://support.sproutsocial.com/hc/en-us/articles/202123288)"
AGORAPULSE_CM = "Agorapulse, Community Management Report (https://support.agorapulse.com/en/articles/10728067)"
AGORAPULSE_HOURS = "Agorapulse, Business Hours & Response Time (https://support.agorapulse.com/en/articles/9278382)"

# What every response metric counts; kept in one place so the descriptions agree.
_COUNTS = (
    "Received messages (comments, mentions, direct messages) with needs_response, written in the "
    "period [start, end). Automatic replies sent by rules are not answers."
)
_BUSINESS = (
    " Only time while the workspace is open counts (business hours in the inbox settings' time zone; "
    "default Saturday–Wednesday 09:00–17:00 and Thursday 09:00–13:00 in Asia/Tehran for Persian "
    "workspaces, Monday–Friday 09:00–17:00 otherwise)."
)

RESPONSE_RATE = register(
    MetricDefinition(
        name="response_rate",
        version=1,
        formula="answered ÷ received, over received messages needing a response written in the period",
        source=f"{SPROUT_ACTIVITY}; {AGORAPULSE_CM}",
        unit="ratio",
        description=(
            f"{_COUNTS} A message counts as answered if a person has answered it, at any time up to when "
            "the report is made; unanswered messages count against the rate. It does not depend on "
            "business hours, so it has no business-hours variant."
        ),
    )
)


def _time_metric(name: str, formula: str, source: str, description: str) -> tuple[MetricDefinition, ...]:
    """The all-hours definition and its ``_business_hours`` variant."""
    return (
        register(MetricDefinition(name, 1, formula + ", in elapsed seconds", source, "seconds", description)),
        register(
            MetricDefinition(
                f"{name}_business_hours",
                1,
                formula + ", counting only seconds while open (business hours)",
                f"{source}; {AGORAPULSE_HOURS}",
                "seconds",
                description + _BUSINESS,
            )
        ),
    )


FIRST_RESPONSE_TIME, FIRST_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "first_response_time",
    "mean over conversations of (first answer of the conversation's first received message needing "
    "a response in the period − that message's created_at)",
    SPROUT_TEAM,
    f"{_COUNTS} One value per conversation, from its first received message in the period to the first "
    "reply answering it; conversations whose first message is unanswered are left out.",
)
AVERAGE_RESPONSE_TIME, AVERAGE_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "average_response_time",
    "mean of (answered_at − created_at) over answered received messages needing a response",
    f"{SPROUT_TEAM}; {AGORAPULSE_CM}",
    f"{_COUNTS} One value per answered message; unanswered messages are left out.",
)
MEDIAN_RESPONSE_TIME, MEDIAN_RESPONSE_TIME_BUSINESS_HOURS = _time_metric(
    "median_response_time",
    "median of (answered_at − created_at) over answered received messages needing a response "
    "(mean of the two middle values for an even count)",
    SPROUT_TEAM,
    f"{_COUNTS} One value per answered message; unanswered messages are left out.",
)


# ---------------------------------------------------------------------------------------------
# Social metrics: engagement, audience, amplification (computed by sokhan.metrics.formulas over
# snapshots stored by sokhan.analytics) and listening (net sentiment, share of voice).

BUFFER_X = "Buffer, X/Twitter metric descriptions (https://support.buffer.com/article/522-twitter-metric-descriptions)"
BUFFER_FACEBOOK = (
    "Buffer, Facebook metric descriptions (https://support.buffer.com/article/520-facebook-metric-descriptions)"
)
HOOTSUITE_ER = "Hootsuite, How to calculate engagement rate (https://blog.hootsuite.com/calculate-engagement-rate/)"
KEYHOLE_GROWTH = (
    "Keyhole, How do I calculate follower growth rate? "
    "(https://keyhole.co/blog/how-do-i-calculate-follower-growth-rate/)"
)
KAUSHIK = (
    "Avinash Kaushik, Best Social Media Metrics: Conversation, Amplification, Applause, Economic Value "
    "(https://www.kaushik.net/avinash/best-social-media-metrics-conversation-amplification-applause-economic-value/)"
)
TALKWALKER_SENTIMENT = (
    "Talkwalker API guide, Sentiments: Net Sentiment "
    "(https://developer.talkwalker.com/guides/use-histogram-api/sentiment)"
)
SPROUT_SOV = "Sprout Social, Share of voice (https://sproutsocial.com/insights/share-of-voice/)"
MENTION_SOV = "Mention, Share of Voice calculator (https://mention.com/en/share-of-voice-calculator/)"
SOKHAN_ANALYTICS = "Sokhan, docs/analytics.md (how snapshots are rolled up per day)"

# What "engagements" adds up; kept in one place so every rate agrees.
ENGAGEMENT_PARTS = ("likes", "comments", "shares", "saves", "clicks")
_ENGAGEMENTS = (
    "Engagements are likes + comments + shares (reposts and quotes) + saves + clicks of one post snapshot, "
    "counting only the parts the network gives; a part it does not give is left out, never counted as zero, "
    "and with no part given there are no engagements (missing)."
)
_NONE = " Missing when an input is missing; no value (zero_denominator) when the denominator is 0."

ENGAGEMENTS = register(
    MetricDefinition(
        name="engagements",
        version=1,
        formula="likes + comments + shares + saves + clicks, over the parts the network gives",
        source=f"{BUFFER_X}; {BUFFER_FACEBOOK}",
        unit="count",
        description=_ENGAGEMENTS,
    )
)
ENGAGEMENT_RATE_IMPRESSIONS = register(
    MetricDefinition(
        name="engagement_rate_impressions",
        version=1,
        formula="engagements ÷ impressions × 100",
        source=f"{BUFFER_X}; {BUFFER_FACEBOOK}",
        unit="percent",
        description=f"The percentage of impressions that resulted in an engagement. {_ENGAGEMENTS}{_NONE}",
    )
)
ENGAGEMENT_RATE_REACH = register(
    MetricDefinition(
        name="engagement_rate_reach",
        version=1,
        formula="engagements ÷ reach × 100",
        source=HOOTSUITE_ER,
        unit="percent",
        description=f"Engagement rate by reach (ERR): engagements per unique account reached. {_ENGAGEMENTS}{_NONE}",
    )
)
ENGAGEMENT_RATE_FOLLOWERS = register(
    MetricDefinition(
        name="engagement_rate_followers",
        version=1,
        formula="engagements ÷ followers × 100, followers at the time of the post snapshot",
        source=HOOTSUITE_ER,
        unit="percent",
        description=(
            "Engagement rate by followers (ER post). Followers are the channel's latest account snapshot "
            f"with a follower count taken at or before the post snapshot. {_ENGAGEMENTS}{_NONE}"
        ),
    )
)
FOLLOWER_GROWTH = register(
    MetricDefinition(
        name="follower_growth",
        version=1,
        formula="followers at the end − followers at the start of the period",
        source=KEYHOLE_GROWTH,
        unit="count",
        description=(
            "Net follower change. Start and end are the first and the last follower counts known in the "
            "period (its first and last days with a value); with fewer than two such days it is missing."
        ),
    )
)
FOLLOWER_GROWTH_RATE = register(
    MetricDefinition(
        name="follower_growth_rate",
        version=1,
        formula="(followers at the end − followers at the start) ÷ followers at the start × 100",
        source=KEYHOLE_GROWTH,
        unit="percent",
        description=(
            "Follower growth relative to the audience at the start of the period (start and end as for "
            f"follower_growth).{_NONE}"
        ),
    )
)
AMPLIFICATION_RATE = register(
    MetricDefinition(
        name="amplification_rate",
        version=1,
        formula="shares ÷ followers × 100, followers at the time of the post snapshot",
        source=KAUSHIK,
        unit="percent",
        description=(
            "The rate at which followers pass a post on through their own networks: shares (reposts, "
            "retweets, quotes) per post over the channel's followers (as for engagement_rate_followers)."
            f"{_NONE}"
        ),
    )
)
ENGAGEMENT_BREAKDOWN = register(
    MetricDefinition(
        name="engagement_breakdown",
        version=1,
        formula="part ÷ engagements × 100, for each of likes, comments, shares, saves, clicks",
        source=f"{BUFFER_X}; {HOOTSUITE_ER}",
        unit="percent",
        description=(
            "Each kind of engagement's share of a post's engagements; the shares of the parts the network "
            f"gives add up to 100. A part the network does not give is missing. {_ENGAGEMENTS}{_NONE}"
        ),
    )
)
NET_SENTIMENT = register(
    MetricDefinition(
        name="net_sentiment",
        version=1,
        formula="(positive − negative) ÷ (positive + negative)",
        source=TALKWALKER_SENTIMENT,
        unit="ratio",
        description=(
            "Balance of positive over negative mentions, from −1 (all negative) to 1 (all positive); neutral "
            f"mentions are left out.{_NONE}"
        ),
    )
)
SHARE_OF_VOICE = register(
    MetricDefinition(
        name="share_of_voice",
        version=1,
        formula="brand mentions ÷ (brand mentions + competitors' mentions)",
        source=f"{SPROUT_SOV}; {MENTION_SOV}",
        unit="ratio",
        description=(
            "The brand's part of the conversation about it and its competitors in the same period and "
            f"sources, from 0 to 1.{_NONE}"
        ),
    )
)
ACCOUNT_DAILY = register(
    MetricDefinition(
        name="account_daily",
        version=1,
        formula="per field, the last value the network gave on the local day (workspace time zone)",
        source=SOKHAN_ANALYTICS,
        unit="count",
        description=(
            "The daily rollup of account snapshots (followers, following, posts, reach, impressions, views): "
            "each field's last non-missing value of the day; snapshots without it are counted as missing, "
            "and a field no snapshot of the day had stays missing."
        ),
    )
)
