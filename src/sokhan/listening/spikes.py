"""Spike detection: was this hour of a topic improbably busy, or improbably negative, for its hour
of the week? Pure functions over hourly counts: no database, no clock, deterministic.

The model (docs/listening-crisis.md has the reasoning and the benchmark):

* **Seasonal baseline.** Each hour belongs to a *slot*: its hour of the week in the workspace's
  time zone (168 slots), because people post by local wall-clock time and the Iranian week is not
  the European one. A slot's value is the interquartile mean of that slot over the last ``weeks``
  weeks (a past spike or a holiday is one of the trimmed values), smoothed with its neighbouring
  hours (¼, ½, ¼). Shorter histories fall back: at least 3 days → hour of the day (24 slots); at
  least a day → one value for every hour; less → no verdict at all.
* **Level.** Growth makes last month's hour too low for today: the expectation is multiplied by
  the median ratio of the last 7 days' volume to their baseline, clipped to [1, ``level_cap``].
  Never below 1, so that a quiet holiday week (Nowruz) does not make the return to normal volume
  look like a spike.
* **Volume.** Counts are negative binomial with mean ``expected`` and variance ``μ + α·μ²``.
  α adds two parts measured on the history: hour-to-hour noise around each day's own level
  (method of moments; hours that would themselves have alerted left out, they are past spikes,
  not noise) and day-to-day variation (a robust variance of the changes between consecutive
  days, which a trend or a holiday fortnight barely moves); then it is widened for the
  uncertainty of a baseline built from a few weeks. An alert needs P(X ≥ observed) ≤
  ``probability`` **and** at least ``min_count`` mentions **and** at least ``min_ratio`` × the
  expectation: significance alone would flag a busy topic for a few extra mentions.
* **Negative share.** The hour's negative count is beta-binomial over the hour's mentions with
  the baseline share (pooled over the history's days, the most negative tenth of days left out)
  and an overdispersion ρ estimated like α, shrunk towards 0.02 for topics with few mentions. An
  alert needs P(Y ≥ negatives) ≤ ``probability``, at least ``min_negative`` negative mentions
  and a share at least ``min_share_lift`` above the baseline.

Counts are whole mentions; hours missing from the history count as zero between ``start`` (the
first hour the topic was observed) and ``end``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from statistics import median
from typing import Literal
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
WEEK_HOURS = 168
Tier = Literal["week", "day", "flat", "none"]
Kind = Literal["volume", "negative"]
_Row = tuple[float, float]


@dataclass(frozen=True)
class Thresholds:
    """What makes an hour alert-worthy; the defaults are the ones the benchmark measured."""

    weeks: int = 8  # history the baseline reads
    probability: float = 3e-4  # P(at least what was observed | a normal hour)
    min_count: int = 10  # mentions, for a volume alert
    min_ratio: float = 1.5  # observed ÷ expected, for a volume alert
    min_negative: int = 5  # negative mentions, for a negative-share alert
    min_share_lift: float = 0.10  # observed share − baseline share
    expected_floor: float = 0.5  # a quiet hour still expects half a mention
    dispersion_floor: float = 0.02  # α never below this: days are never quite Poisson
    share_dispersion_floor: float = 0.005
    level_cap: float = 4.0


DEFAULT = Thresholds()


@dataclass(frozen=True)
class Count:
    total: int
    negative: int = 0


@dataclass(frozen=True)
class Baseline:
    tier: Tier
    profile: tuple[float, ...]  # expected mentions per slot (168, 24 or 1 slots)
    samples: int  # observations behind a slot (weeks, days or hours)
    level: float
    dispersion: float  # α: variance = μ + α·μ²
    negative_share: float
    share_dispersion: float  # ρ of the beta-binomial
    zone: str

    def slot(self, hour: datetime) -> int:
        return slot_of(hour, _zone(self.zone), self.tier)

    def expected(self, hour: datetime, thresholds: Thresholds = DEFAULT) -> float:
        if self.tier == "none":
            return 0.0
        return max(self.profile[self.slot(hour)] * self.level, thresholds.expected_floor)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    hour: datetime
    observed: float  # mentions (volume) or the negative share (negative)
    expected: float  # the same quantity in a normal hour
    probability: float


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def slot_of(hour: datetime, zone: ZoneInfo, tier: Tier) -> int:
    local = hour.astimezone(zone)
    if tier == "week":
        return local.weekday() * 24 + local.hour
    if tier == "day":
        return local.hour
    return 0


# ------------------------------------------------------------------------------ robust statistics


def trimmed_mean(values: Sequence[float]) -> float:
    """The interquartile mean: a quarter dropped at each end (one value from three on); the mean of
    one or two values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    cut = max(1, round(n / 4)) if n >= 3 else 0
    kept = ordered[cut : n - cut]
    return sum(kept) / len(kept)


def _smooth(raw: Sequence[float]) -> tuple[float, ...]:
    """¼, ½, ¼ over neighbouring slots, around the circle (Sunday night touches Monday morning)."""
    n = len(raw)
    if n < 3:
        return tuple(raw)
    return tuple(0.25 * raw[i - 1] + 0.5 * raw[i] + 0.25 * raw[(i + 1) % n] for i in range(n))


def _trim_top(rows: list[_Row], score: list[float], share: float = 0.01) -> list[_Row]:
    """``rows`` without the ``share`` with the highest ``score`` (at least one once there are 20)."""
    drop = int(len(rows) * share) if len(rows) >= 100 else (1 if len(rows) >= 20 else 0)
    if not drop:
        return rows
    order = sorted(range(len(rows)), key=lambda i: score[i])
    return [rows[i] for i in order[: len(rows) - drop]]


# Hours further above their expectation than this many standard deviations (about P < 1e-3 for a
# normal residual) are left out when the noise is measured: past spikes are not noise.
OUTLIER_SD = 3.1


# ------------------------------------------------------------------------------ the baseline


def baseline(
    history: Mapping[datetime, Count],
    *,
    start: datetime,
    end: datetime,
    zone: str = "UTC",
    thresholds: Thresholds = DEFAULT,
) -> Baseline:
    """The baseline from the hours in [``start``, ``end``) (UTC hours; missing hours are zero)."""
    end = floor_hour(end)
    start = max(floor_hour(start), end - thresholds.weeks * WEEK_HOURS * HOUR)
    span = max(0, int((end - start) / HOUR))
    tz = _zone(zone)
    if span < 24:
        return Baseline("none", (), 0, 1.0, 0.0, 0.0, 0.0, zone)
    tier: Tier = "week" if span >= 2 * WEEK_HOURS else "day" if span >= 72 else "flat"
    hours = [start + i * HOUR for i in range(span)]
    counts = [history.get(h) or Count(0, 0) for h in hours]
    slots = [slot_of(h, tz, tier) for h in hours]
    size = {"week": WEEK_HOURS, "day": 24, "flat": 1}[tier]

    groups: list[list[float]] = [[] for _ in range(size)]
    for slot, count in zip(slots, counts, strict=True):
        groups[slot].append(count.total)
    overall = trimmed_mean([c.total for c in counts])
    raw = [trimmed_mean(g) if g else overall for g in groups]
    profile = _smooth(raw) if tier != "flat" else tuple(raw)
    samples = min((len(g) for g in groups if g), default=1)

    fitted = [profile[s] for s in slots]
    level = _level(counts, fitted, thresholds)
    dispersion = _dispersion(counts, fitted, samples)
    share = _negative_share(counts)
    rho = _share_dispersion(counts, share)
    return Baseline(tier, profile, samples, level, dispersion, share, rho, zone)


def _level(counts: Sequence[Count], fitted: Sequence[float], thresholds: Thresholds) -> float:
    """Median ratio of each of the last 7 days' volume to its baseline, in [1, level_cap]."""
    ratios: list[float] = []
    for day in range(7):
        stop = len(counts) - day * 24
        begin = stop - 24
        if begin < 0:
            break
        expected = sum(fitted[begin:stop])
        if expected >= 1:
            ratios.append(sum(c.total for c in counts[begin:stop]) / expected)
    if not ratios:
        return 1.0
    return min(max(median(ratios), 1.0), thresholds.level_cap)


def _moments(rows: Sequence[_Row]) -> float:
    """α by the method of moments from (count, mean) rows: Σ((x−μ)² − μ) / Σμ²."""
    numerator = sum((x - mu) ** 2 - mu for x, mu in rows)
    denominator = sum(mu * mu for _x, mu in rows)
    return max(numerator / denominator, 0.0) if denominator else 0.0


def _dispersion(counts: Sequence[Count], fitted: Sequence[float], samples: int) -> float:
    """α of one hour: the hour-to-hour overdispersion within a day plus the day-to-day variance.

    Within a day, each hour is compared with its baseline scaled to that day's own volume, so a
    holiday or a busy day does not count as noise of every one of its hours; by the method of
    moments, first without the most extreme 1 % of hours, then twice without the hours more than
    ``OUTLIER_SD`` standard deviations (at the previous estimate) above their expectation: a past
    spike would otherwise weigh as much as a thousand ordinary hours. Between days: see
    ``_day_variance``. The baseline was fitted on these same hours, which shrinks residuals by
    about (n−1)/n.
    """
    days: list[tuple[float, float]] = []  # (volume, baseline) of whole 24-hour blocks
    rows: list[_Row] = []
    for begin in range(len(counts) % 24, len(counts), 24):
        xs = [float(c.total) for c in counts[begin : begin + 24]]
        mus = fitted[begin : begin + 24]
        volume, expected = sum(xs), sum(mus)
        if expected <= 0:
            continue
        days.append((volume, expected))
        ratio = volume / expected
        rows += [(x, mu * ratio) for x, mu in zip(xs, mus, strict=True) if mu * ratio > 0]
    if not rows:
        return 0.0
    within = _moments(_trim_top(rows, [(x - mu) / math.sqrt(mu + 1) for x, mu in rows]))
    for _pass in range(2):
        limit = within
        within = _moments([(x, mu) for x, mu in rows if x - mu <= OUTLIER_SD * math.sqrt(mu + limit * mu * mu)])
    within *= 24 / 23 * (samples / (samples - 1) if samples >= 2 else 1.0)
    return min(within + _day_variance(days, within), 2.0)


def _day_variance(days: Sequence[tuple[float, float]], within: float) -> float:
    """Variance of a day's level beyond its hours' noise, from the changes between consecutive
    days' log(volume ÷ baseline): a robust (MAD) variance of those changes is twice the day
    variance, and a trend or a holiday fortnight only adds a couple of outlying changes. Less the
    variance the hours' own noise gives such a log ratio; 0 below 5 days."""
    usable = [(v, e) for v, e in days if e >= 5]
    if len(usable) < 5:
        return 0.0
    logs = [math.log((v + 0.5) / (e + 0.5)) for v, e in usable]
    changes = [b - a for a, b in itertools.pairwise(logs)]
    centre = median(changes)
    mad = 1.4826 * median(abs(x - centre) for x in changes)
    noise = sum(1 / e + within / 24 for _v, e in usable) / len(usable)
    return max(mad * mad / 2 - noise, 0.0)


def _negative_share(counts: Sequence[Count]) -> float:
    """The pooled negative share of the history's days, the most negative tenth of days left out
    (past crises), with one pseudo-mention each way so that it is never 0 or 1."""
    days: list[tuple[int, int]] = []
    for begin in range(len(counts) % 24, len(counts), 24):
        block = counts[begin : begin + 24]
        total = sum(c.total for c in block)
        if total:
            days.append((sum(c.negative for c in block), total))
    if not days:
        return 0.5 / 2  # no opinion yet: a quarter, so that only a clear majority of complaints alerts
    days.sort(key=lambda d: d[0] / d[1])
    kept = days[: max(1, len(days) - len(days) // 10)]
    negative = sum(d[0] for d in kept)
    total = sum(d[1] for d in kept)
    return (negative + 1) / (total + 2)


SHARE_DISPERSION_PRIOR = 0.02  # ρ before any history: hours cluster a little (threads, replies)
SHARE_PRIOR_WEIGHT = 2000.0  # in units of Σ n(n−1)p(1−p): a few weeks of a busy topic


def _share_dispersion(counts: Sequence[Count], share: float) -> float:
    """ρ of the beta-binomial by the method of moments over hours with at least two mentions,
    Σ((y − np)² − np(1−p)) / Σ n(n−1)p(1−p), past bursts left out as for α, then shrunk towards
    ``SHARE_DISPERSION_PRIOR``: with a few mentions an hour the estimate is mostly noise."""
    pq = share * (1 - share)
    rows = [(float(c.negative), float(c.total)) for c in counts if c.total >= 2]
    if not rows or pq <= 0:
        return SHARE_DISPERSION_PRIOR

    def moments(items: Sequence[_Row]) -> float:
        numerator = sum((y - n * share) ** 2 - n * pq for y, n in items)
        denominator = sum(n * (n - 1) * pq for _y, n in items)
        return max(numerator / denominator, 0.0) if denominator else 0.0

    rho = moments(_trim_top(rows, [(y - n * share) / math.sqrt(n * pq) for y, n in rows]))
    for _pass in range(2):
        limit = rho
        kept = [(y, n) for y, n in rows if y - n * share <= OUTLIER_SD * math.sqrt(n * pq * (1 + (n - 1) * limit))]
        rho = moments(kept)
    weight = sum(n * (n - 1) * pq for _y, n in kept)
    rho = (weight * rho + SHARE_PRIOR_WEIGHT * SHARE_DISPERSION_PRIOR) / (weight + SHARE_PRIOR_WEIGHT)
    return min(rho, 0.5)


# ------------------------------------------------------------------------------ verdicts


def evaluate(base: Baseline, hour: datetime, count: Count, thresholds: Thresholds = DEFAULT) -> list[Finding]:
    """The alerts ``count`` (what was seen in ``hour`` so far) deserves against ``base``."""
    if base.tier == "none":
        return []
    hour = floor_hour(hour)
    found: list[Finding] = []
    mu = base.expected(hour, thresholds)
    x = count.total
    if x >= thresholds.min_count and x >= thresholds.min_ratio * mu:
        probability = nb_sf(x, mu, predictive_dispersion(base, mu, thresholds))
        if probability <= thresholds.probability:
            found.append(Finding("volume", hour, float(x), mu, probability))
    y, n, p0 = count.negative, count.total, base.negative_share
    if n and y >= thresholds.min_negative and y / n >= p0 + thresholds.min_share_lift:
        rho = max(base.share_dispersion, thresholds.share_dispersion_floor)
        probability = betabinom_sf(y, n, p0, rho)
        if probability <= thresholds.probability:
            found.append(Finding("negative", hour, y / n, p0, probability))
    return found


def predictive_dispersion(base: Baseline, mu: float, thresholds: Thresholds = DEFAULT) -> float:
    """α for one new hour: the history's α, widened because the baseline itself is an estimate from
    ``samples`` observations (its variance, about 1.5·μ/samples, is added to the count's)."""
    widen = 1.5 / max(base.samples, 1)
    return max(thresholds.dispersion_floor, base.dispersion * (1 + widen) + widen / mu)


def detect(
    history: Mapping[datetime, Count],
    hours: Iterable[datetime],
    *,
    start: datetime,
    end: datetime,
    zone: str = "UTC",
    thresholds: Thresholds = DEFAULT,
) -> list[Finding]:
    """Evaluate ``hours`` (counts from ``history``) against the baseline of [``start``, ``end``)."""
    base = baseline(history, start=start, end=end, zone=zone, thresholds=thresholds)
    found: list[Finding] = []
    for hour in hours:
        found += evaluate(base, hour, history.get(floor_hour(hour)) or Count(0, 0), thresholds)
    return found


# ------------------------------------------------------------------------------ tail probabilities

_TAIL_EPSILON = 1e-16
_MAX_TERMS = 200_000


def nb_sf(x: int, mu: float, alpha: float) -> float:
    """P(X ≥ x) for a negative binomial with mean ``mu`` and variance ``mu + alpha·mu²``
    (Poisson when ``alpha`` is 0)."""
    if x <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    if alpha < 1e-9:  # Poisson: term(k+1)/term(k) = μ/(k+1)
        log_zero, mode = -mu, math.floor(mu)

        def ratio(k: int) -> float:
            return mu / (k + 1)

        def log_term(k: int) -> float:
            return k * math.log(mu) - mu - math.lgamma(k + 1)

    else:  # r = 1/α failures, success probability r/(r+μ): term(k+1)/term(k) = (k+r)/(k+1)·q
        r = 1.0 / alpha
        q = mu / (r + mu)
        log_zero, mode = r * math.log1p(-q), max(0, math.floor((r - 1) * q / (1 - q)))

        def ratio(k: int) -> float:
            return (k + r) / (k + 1) * q

        def log_term(k: int) -> float:
            return math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log1p(-q) + k * math.log(q)

    if x <= mode:  # the tail holds at least about half: 1 − P(X < x) loses nothing
        below, term = 0.0, math.exp(log_zero)
        for k in range(x):
            below += term
            term *= ratio(k)
        return min(1.0, max(0.0, 1.0 - below))
    # Past the mode the terms only shrink: add them up until they stop mattering.
    total, term, k = 0.0, math.exp(log_term(x)), x
    for _ in range(_MAX_TERMS):
        total += term
        if term <= total * _TAIL_EPSILON:
            break
        term *= ratio(k)
        k += 1
    return min(1.0, total)


def betabinom_sf(y: int, n: int, p: float, rho: float) -> float:
    """P(Y ≥ y) for a beta-binomial with ``n`` trials, mean share ``p`` and intra-class correlation
    ``rho`` (binomial when ``rho`` is 0)."""
    if y <= 0:
        return 1.0
    if y > n:
        return 0.0
    p = min(max(p, 1e-6), 1 - 1e-6)
    if rho < 1e-9:

        def log_pmf(k: int) -> float:
            return _log_choose(n, k) + k * math.log(p) + (n - k) * math.log1p(-p)

    else:
        a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
        log_norm = _log_beta(a, b)

        def log_pmf(k: int) -> float:
            return _log_choose(n, k) + _log_beta(k + a, n - k + b) - log_norm

    total = 0.0
    for k in range(y, n + 1):
        term = math.exp(log_pmf(k))
        total += term
        if k > y and term <= total * _TAIL_EPSILON:
            break
    return min(1.0, total)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
