"""Spike detection precision and recall on injected spikes over a realistic background.

Run from the repository root (``bench/listening-spikes.md`` explains the method; results go in
``bench/RESULTS.md``)::

    .venv/bin/python bench/listening_spikes.py

It simulates hourly mention counts (total and negative) for ``--topics`` topics over
``--warmup-weeks`` + ``--weeks`` weeks in Asia/Tehran: daily and weekly seasonality (Friday is the
weekend), a growth or decline trend per topic, a Nowruz-like fortnight at about half volume and a
few one-day holidays, day-to-day swings, and hour-to-hour noise with overdispersion (gamma-Poisson;
beta-binomial negative share). Into the evaluated weeks it injects volume spikes and negative
spikes (a burst of negative posts, or the share turning negative at the same volume) of varying
size and length, then runs the product's detector (``sokhan.listening.spikes``) on every evaluated
hour exactly as the worker does for a finished hour: the baseline from the hours before it, then a
verdict. It prints one JSON object: precision, recall, recall by size, false alarms per topic-week.
Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sokhan.listening.spikes import DEFAULT, Count, Finding, Thresholds, baseline, evaluate  # noqa: E402

ZONE = "Asia/Tehran"
TEHRAN = ZoneInfo(ZONE)
HOUR = timedelta(hours=1)
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; 8 weeks later the evaluation covers Nowruz
# Share of a day's mentions per local hour: quiet nights, a midday and a late-evening peak.
DAILY = [
    0.45, 0.28, 0.18, 0.12, 0.10, 0.12, 0.25, 0.50, 0.80, 1.00, 1.10, 1.20,
    1.30, 1.25, 1.15, 1.10, 1.10, 1.15, 1.25, 1.40, 1.55, 1.65, 1.45, 0.95,
]  # fmt: skip
WEEKLY = {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.92, 4: 0.70, 5: 1.05, 6: 1.02}  # Thursday, Friday: the weekend
NOWRUZ = (datetime(2026, 3, 20, tzinfo=TEHRAN), datetime(2026, 4, 3, tzinfo=TEHRAN))
ONE_DAY_HOLIDAYS = [datetime(2026, 1, 22, tzinfo=TEHRAN), datetime(2026, 2, 11, tzinfo=TEHRAN),
                    datetime(2026, 4, 1, tzinfo=TEHRAN), datetime(2026, 4, 24, tzinfo=TEHRAN)]  # fmt: skip


@dataclass
class Spike:
    topic: int
    kind: str  # volume | burst (negative posts) | share (negative share at the same volume)
    hours: list[datetime]
    size: float  # volume: extra ÷ expected; burst: negative extra ÷ expected; share: share lift
    detected: bool = False  # an alert of either kind in one of its hours
    detected_as_kind: bool = False  # … of its own kind (volume for a volume spike, else negative)


@dataclass
class Topic:
    index: int
    rate: float  # mean mentions per hour at a daily weight of 1
    growth: float  # relative change over the whole period
    alpha: float  # hourly overdispersion
    negative: float  # usual negative share
    counts: dict[datetime, Count] = field(default_factory=dict)
    means: dict[datetime, float] = field(default_factory=dict)


def gamma_poisson(rng: random.Random, mean: float, alpha: float) -> int:
    if mean <= 0:
        return 0
    lam = rng.gammavariate(1 / alpha, mean * alpha) if alpha > 0 else mean
    return poisson(rng, lam)


def poisson(rng: random.Random, lam: float) -> int:
    if lam < 30:
        limit, k, product = math.exp(-lam), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n < 50:
        return sum(1 for _ in range(n) if rng.random() < p)
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def holiday_factor(local: datetime) -> float:
    if NOWRUZ[0] <= local < NOWRUZ[1]:
        return 0.42 if local < NOWRUZ[0] + timedelta(days=4) else 0.58
    if any(day.date() == local.date() for day in ONE_DAY_HOLIDAYS):
        return 0.72
    return 1.0


def simulate(rng: random.Random, topic: Topic, hours: list[datetime]) -> None:
    """Background counts: seasonality × trend × holidays × a day's swing, then hourly noise."""
    day_swing: dict[object, float] = {}
    day_share: dict[object, float] = {}
    for i, hour in enumerate(hours):
        local = hour.astimezone(TEHRAN)
        day = local.date()
        if day not in day_swing:
            day_swing[day] = math.exp(rng.gauss(0, 0.10))
            logit = math.log(topic.negative / (1 - topic.negative)) + rng.gauss(0, 0.20)
            day_share[day] = 1 / (1 + math.exp(-logit))
        trend = 1 + topic.growth * i / len(hours)
        mean = topic.rate * DAILY[local.hour] * WEEKLY[local.weekday()] * trend * holiday_factor(local)
        mean *= day_swing[day]
        total = gamma_poisson(rng, mean, topic.alpha)
        share = day_share[day]
        if total:  # beta-binomial: the hour's own share varies a little around the day's
            share = rng.betavariate(share * 60, (1 - share) * 60)
        topic.counts[hour] = Count(total, binomial(rng, total, share))
        topic.means[hour] = mean


# What is injected into each topic: headline spikes, and smaller ones reported apart (recall at the
# detection limit); alerts inside either are true alerts.
SPIKE_MIX = ["volume"] * 4 + ["burst"] * 2 + ["share"] * 2 + ["small volume", "small burst"]
SIZES = {  # log-uniform ranges
    "volume": (2.5, 10.0),  # extra mentions ÷ the hour's usual volume
    "burst": (1.0, 3.0),  # extra negative mentions ÷ the hour's usual volume
    "share": (0.3, 0.6),  # negative share lift at the same volume
    "small volume": (1.0, 2.5),
    "small burst": (0.4, 1.0),
}
HEADLINE = ("volume", "burst", "share")


def inject(rng: random.Random, topic: Topic, evaluated: list[datetime]) -> list[Spike]:
    """Spikes at random hours of the evaluated weeks, at least two days apart, 1–3 hours long."""
    spikes: list[Spike] = []
    taken: list[datetime] = []
    for kind in SPIKE_MIX:
        for _try in range(1000):
            first = rng.choice(evaluated[:-4])
            if all(abs((first - t).total_seconds()) > 48 * 3600 for t in taken):
                break
        taken.append(first)
        hours = [first + i * HOUR for i in range(rng.choice([1, 1, 2, 3]))]
        if kind == "share" and min(topic.means[h] for h in hours) < 25:
            kind = "burst"  # a share turning at a few mentions an hour is not an event anyone could see
        low, high = SIZES[kind]
        size = math.exp(rng.uniform(math.log(low), math.log(high)))
        for h in hours:
            before, mean = topic.counts[h], topic.means[h]
            if kind.endswith("volume"):
                extra = max(15, round(size * mean))
                topic.counts[h] = Count(before.total + extra, before.negative + binomial(rng, extra, topic.negative))
            elif kind.endswith("burst"):
                extra = max(10, round(size * mean))
                topic.counts[h] = Count(before.total + extra, before.negative + binomial(rng, extra, 0.85))
            else:
                turned = binomial(rng, before.total - before.negative, size / (1 - topic.negative))
                topic.counts[h] = Count(before.total, before.negative + turned)
        spikes.append(Spike(topic.index, kind, hours, size))
    return spikes


def hours_between(start: datetime, end: datetime) -> Iterator[datetime]:
    hour = start
    while hour < end:
        yield hour
        hour += HOUR


def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible simulation, not a secret
    warmup_end = START + timedelta(weeks=args.warmup_weeks)
    end = warmup_end + timedelta(weeks=args.weeks)
    all_hours = list(hours_between(START, end))
    evaluated = list(hours_between(warmup_end, end))
    topics = [
        Topic(
            index=i,
            rate=math.exp(rng.uniform(math.log(args.min_rate), math.log(args.max_rate))),
            growth=rng.uniform(-0.15, 0.6),
            alpha=rng.uniform(0.03, 0.15),
            negative=rng.uniform(0.06, 0.30),
        )
        for i in range(args.topics)
    ]
    spikes: list[Spike] = []
    for topic in topics:
        simulate(rng, topic, all_hours)
        spikes += inject(rng, topic, evaluated)

    thresholds = Thresholds(probability=args.probability)
    started = time.perf_counter()
    alerts: list[tuple[int, Finding]] = []
    for topic in topics:
        for hour in evaluated:
            base = baseline(topic.counts, start=START, end=hour, zone=ZONE, thresholds=thresholds)
            alerts += [(topic.index, f) for f in evaluate(base, hour, topic.counts[hour], thresholds)]
    seconds = time.perf_counter() - started
    return score(args, topics, spikes, alerts, len(evaluated), seconds)


def score(
    args: argparse.Namespace,
    topics: list[Topic],
    spikes: list[Spike],
    alerts: list[tuple[int, Finding]],
    evaluated_hours: int,
    seconds: float,
) -> dict[str, object]:
    spike_hours = {(s.topic, h): s for s in spikes for h in s.hours}
    true_alerts = 0
    false_alerts: list[dict[str, object]] = []
    for topic, finding in alerts:
        spike = spike_hours.get((topic, finding.hour))
        if spike is None:
            false_alerts.append(
                {
                    "topic": topic,
                    "kind": finding.kind,
                    "hour": finding.hour.astimezone(TEHRAN).isoformat(),
                    "observed": round(finding.observed, 3),
                    "expected": round(finding.expected, 3),
                    "p": f"{finding.probability:.1e}",
                }
            )
            continue
        true_alerts += 1
        spike.detected = True
        if finding.kind == ("volume" if spike.kind.endswith("volume") else "negative"):
            spike.detected_as_kind = True
    # Episodes: an alert, or a run of a topic's alerts in consecutive hours, is one notification.
    episodes = {(t, f.hour) for t, f in alerts}
    starts = [(t, h) for t, h in episodes if (t, h - HOUR) not in episodes]
    true_episodes = sum(1 for t, h in starts if (t, h) in spike_hours)

    def recall(selected: list[Spike], *, own_kind: bool = False) -> float | None:
        if not selected:
            return None
        found = sum(s.detected_as_kind if own_kind else s.detected for s in selected)
        return round(found / len(selected), 4)

    headline = [s for s in spikes if s.kind in HEADLINE]
    small = [s for s in spikes if s.kind not in HEADLINE]
    by_kind = {kind: [s for s in spikes if s.kind == kind] for kind in SIZES}
    topic_weeks = len(topics) * args.weeks
    return {
        "seed": args.seed,
        "topics": len(topics),
        "weeks": args.weeks,
        "warmup_weeks": args.warmup_weeks,
        "rates_per_hour": [round(t.rate, 1) for t in topics],
        "evaluated_hours": evaluated_hours * len(topics),
        "spikes": len(headline),
        "alerts": len(alerts),
        "precision": round(true_alerts / len(alerts), 4) if alerts else None,
        "recall": recall(headline),
        "precision_episodes": round(true_episodes / len(starts), 4) if starts else None,
        "recall_own_kind": recall(headline, own_kind=True),
        "recall_by_kind": {kind: recall(items) for kind, items in by_kind.items()},
        "recall_own_kind_by_kind": {kind: recall(items, own_kind=True) for kind, items in by_kind.items()},
        "spikes_by_kind": {kind: len(items) for kind, items in by_kind.items()},
        "sizes": {kind: list(size) for kind, size in SIZES.items()},
        "small_spikes": len(small),
        "recall_small": recall(small),
        "false_alarms": len(false_alerts),
        "false_alarms_per_topic_week": round(len(false_alerts) / topic_weeks, 3),
        "false_alarm_examples": false_alerts[:10],
        "missed_examples": [
            {
                "topic": s.topic,
                "kind": s.kind,
                "size": round(s.size, 2),
                "hours": len(s.hours),
                "first": s.hours[0].astimezone(TEHRAN).isoformat(),
                "rate": round(topics[s.topic].rate, 1),
            }
            for s in headline
            if not s.detected
        ][:10],
        "thresholds": {
            "probability": args.probability,
            "min_count": DEFAULT.min_count,
            "min_ratio": DEFAULT.min_ratio,
            "min_negative": DEFAULT.min_negative,
            "min_share_lift": DEFAULT.min_share_lift,
            "weeks": DEFAULT.weeks,
        },
        "detector_seconds": round(seconds, 1),
        "verdicts_per_second": round(evaluated_hours * len(topics) / seconds) if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument("--topics", type=int, default=16)
    parser.add_argument("--weeks", type=int, default=8, help="evaluated weeks (after the warm-up)")
    parser.add_argument("--warmup-weeks", type=int, default=8)
    parser.add_argument("--min-rate", type=float, default=1.5, help="smallest topic's mean mentions an hour")
    parser.add_argument("--max-rate", type=float, default=300.0, help="largest topic's mean mentions an hour")
    parser.add_argument(
        "--probability", type=float, default=DEFAULT.probability, help="alert threshold (the product's default)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args), ensure_ascii=False))


if __name__ == "__main__":
    main()
