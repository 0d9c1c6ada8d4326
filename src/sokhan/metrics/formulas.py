"""The social metrics as pure functions over plain numbers, so every value can be checked by hand
against the definition it cites (``sokhan.metrics.definitions``; docs/metrics.md).

Every function returns a :class:`Value`: the number, or ``None`` with the reason there is none —
``missing`` (an input the network did not give: never guessed as zero) or ``zero_denominator``
(the rate is undefined, e.g. engagements over 0 impressions) — and the definition's name and
version, so whatever stores or shows it can say which formula produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sokhan.metrics.definitions import (
    AMPLIFICATION_RATE,
    ENGAGEMENT_BREAKDOWN,
    ENGAGEMENT_PARTS,
    ENGAGEMENT_RATE_FOLLOWERS,
    ENGAGEMENT_RATE_IMPRESSIONS,
    ENGAGEMENT_RATE_REACH,
    ENGAGEMENTS,
    FOLLOWER_GROWTH,
    FOLLOWER_GROWTH_RATE,
    NET_SENTIMENT,
    SHARE_OF_VOICE,
    MetricDefinition,
)


class Reason(StrEnum):
    """Why a metric has no value."""

    MISSING = "missing"  # an input was not given by the network (or not collected)
    ZERO_DENOMINATOR = "zero_denominator"  # the ratio is undefined: its denominator is 0


@dataclass(frozen=True, slots=True)
class Value:
    value: float | None
    name: str
    version: int
    reason: Reason | None = None  # set exactly when value is None

    @property
    def known(self) -> bool:
        return self.value is not None


def _value(definition: MetricDefinition, value: float | None, reason: Reason | None = None) -> Value:
    return Value(value, definition.name, definition.version, reason if value is None else None)


def _ratio(definition: MetricDefinition, top: float | None, bottom: float | None, *, scale: float) -> Value:
    if top is None or bottom is None:
        return _value(definition, None, Reason.MISSING)
    if bottom == 0:
        return _value(definition, None, Reason.ZERO_DENOMINATOR)
    return _value(definition, top / bottom * scale)


def engagements(parts: Mapping[str, int | None]) -> Value:
    """likes + comments + shares + saves + clicks over the parts given (None: not given)."""
    given = [parts[name] for name in ENGAGEMENT_PARTS if parts.get(name) is not None]
    if not given:
        return _value(ENGAGEMENTS, None, Reason.MISSING)
    return _value(ENGAGEMENTS, float(sum(v for v in given if v is not None)))


def engagement_rate_impressions(parts: Mapping[str, int | None], impressions: int | None) -> Value:
    """Buffer: engagements ÷ impressions × 100."""
    return _ratio(ENGAGEMENT_RATE_IMPRESSIONS, engagements(parts).value, impressions, scale=100)


def engagement_rate_reach(parts: Mapping[str, int | None], reach: int | None) -> Value:
    """Hootsuite ERR: engagements ÷ reach × 100."""
    return _ratio(ENGAGEMENT_RATE_REACH, engagements(parts).value, reach, scale=100)


def engagement_rate_followers(parts: Mapping[str, int | None], followers: int | None) -> Value:
    """Hootsuite ER post: engagements ÷ followers (at the time of the snapshot) × 100."""
    return _ratio(ENGAGEMENT_RATE_FOLLOWERS, engagements(parts).value, followers, scale=100)


def amplification_rate(shares: int | None, followers: int | None) -> Value:
    """Kaushik: shares ÷ followers × 100."""
    return _ratio(AMPLIFICATION_RATE, shares, followers, scale=100)


def engagement_breakdown(parts: Mapping[str, int | None]) -> dict[str, Value]:
    """Each part's share of the engagements, in percent (the given parts add up to 100)."""
    total = engagements(parts).value
    return {name: _ratio(ENGAGEMENT_BREAKDOWN, parts.get(name), total, scale=100) for name in ENGAGEMENT_PARTS}


def follower_growth(start: int | None, end: int | None) -> Value:
    """Followers at the end − at the start of the period."""
    if start is None or end is None:
        return _value(FOLLOWER_GROWTH, None, Reason.MISSING)
    return _value(FOLLOWER_GROWTH, float(end - start))


def follower_growth_rate(start: int | None, end: int | None) -> Value:
    """(end − start) ÷ start × 100."""
    change = None if start is None or end is None else end - start
    return _ratio(FOLLOWER_GROWTH_RATE, change, start, scale=100)


def net_sentiment(positive: int | None, negative: int | None) -> Value:
    """Talkwalker: (positive − negative) ÷ (positive + negative); neutral mentions are left out."""
    if positive is None or negative is None:
        return _value(NET_SENTIMENT, None, Reason.MISSING)
    return _ratio(NET_SENTIMENT, positive - negative, positive + negative, scale=1)


def share_of_voice(brand: int | None, competitors: int | None) -> Value:
    """brand ÷ (brand + competitors); ``competitors`` is the sum over every competitor."""
    if brand is None or competitors is None:
        return _value(SHARE_OF_VOICE, None, Reason.MISSING)
    return _ratio(SHARE_OF_VOICE, brand, brand + competitors, scale=1)
