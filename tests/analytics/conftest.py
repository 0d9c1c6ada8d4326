"""Analytics fixtures: generous rate limits with no inline waiting, fresh buckets per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from sokhan.ops.bench_sink import forget_buckets


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> Iterator[None]:
    settings.SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS = 0
    settings.SOKHAN_CHANNELS_RATE = {"*": {"account": [1000, 60], "app": [1000, 60], "concurrency": 16}}
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    forget_buckets()
    yield
    forget_buckets()
    cache.clear()
