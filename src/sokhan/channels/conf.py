"""Channel settings: each from Django settings if set there, else the environment, else a default.

| Setting / environment variable | Default | Meaning |
| --- | --- | --- |
| ``SOKHAN_CHANNELS_REFRESH_WINDOW_MINUTES`` | 120 | refresh tokens expiring within this window |
| ``SOKHAN_CHANNELS_EXPIRY_WARNING_DAYS`` | 7 | warn about credentials that will expire and cannot be refreshed |
| ``SOKHAN_CHANNELS_PREFLIGHT_MINUTES`` | 30 | how long before a scheduled post its channel is verified |
| ``SOKHAN_CHANNELS_PREFLIGHT_FRESH_MINUTES`` | 10 | a successful check this recent makes a preflight skip the network |
| ``SOKHAN_CHANNELS_OAUTH_MINUTES`` | 15 | how long an OAuth round trip may take |
| ``SOKHAN_CHANNELS_RATE`` | ``{}`` | JSON, see below |
| ``SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS`` | 5 | ``call()`` sleeps this long at most for a token |

``SOKHAN_CHANNELS_RATE`` maps a network key (or ``*`` for all) to its buckets and concurrency:
``{"mastodon": {"account": [300, 300], "app": [1000, 300], "concurrency": 4}}`` means 300 calls per
300 seconds per account, 1000 per 300 seconds for the app, 4 calls at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings


def _raw(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is not None:
        return str(value) if not isinstance(value, dict) else json.dumps(value)
    return os.environ.get(name, default)


def _number(name: str, default: float) -> float:
    try:
        return float(_raw(name, str(default)))
    except ValueError:
        return default


def refresh_window() -> timedelta:
    return timedelta(minutes=_number("SOKHAN_CHANNELS_REFRESH_WINDOW_MINUTES", 120))


def expiry_warning() -> timedelta:
    return timedelta(days=_number("SOKHAN_CHANNELS_EXPIRY_WARNING_DAYS", 7))


def preflight_lead() -> timedelta:
    return timedelta(minutes=_number("SOKHAN_CHANNELS_PREFLIGHT_MINUTES", 30))


def preflight_fresh() -> timedelta:
    return timedelta(minutes=_number("SOKHAN_CHANNELS_PREFLIGHT_FRESH_MINUTES", 10))


def oauth_lifetime() -> timedelta:
    return timedelta(minutes=_number("SOKHAN_CHANNELS_OAUTH_MINUTES", 15))


def max_inline_wait() -> float:
    return _number("SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS", 5)


@dataclass(frozen=True)
class Rate:
    capacity: float
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.capacity / self.per_seconds


@dataclass(frozen=True)
class NetworkRates:
    account: Rate
    app: Rate
    concurrency: int


DEFAULT_RATES = NetworkRates(account=Rate(60, 60), app=Rate(300, 60), concurrency=8)


def _rate(value: Any, fallback: Rate) -> Rate:
    if isinstance(value, list | tuple) and len(value) == 2 and float(value[0]) > 0 and float(value[1]) > 0:
        return Rate(float(value[0]), float(value[1]))
    return fallback


def network_rates(network: str) -> NetworkRates:
    try:
        table = json.loads(_raw("SOKHAN_CHANNELS_RATE", "{}") or "{}")
    except ValueError:
        table = {}
    if not isinstance(table, dict):
        table = {}
    merged: dict[str, Any] = {**(table.get("*") or {}), **(table.get(network) or {})}
    concurrency = merged.get("concurrency", DEFAULT_RATES.concurrency)
    return NetworkRates(
        account=_rate(merged.get("account"), DEFAULT_RATES.account),
        app=_rate(merged.get("app"), DEFAULT_RATES.app),
        concurrency=max(1, int(concurrency)) if isinstance(concurrency, int | float) else DEFAULT_RATES.concurrency,
    )


def redis_url() -> str:
    return str(getattr(settings, "REDIS_URL", "") or "")
