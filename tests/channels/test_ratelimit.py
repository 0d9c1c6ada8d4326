"""Token buckets and concurrency slots on both stores (Redis and the database), and call() feeding
them from what the network says."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.channels.fakenet import FakeNetwork

from sokhan.channels import ratelimit
from sokhan.channels.calls import account_bucket, call
from sokhan.channels.models import Channel
from sokhan.networks.errors import RateLimited
from sokhan.networks.types import RateLimitInfo

REDIS_URL = os.environ.get("SOKHAN_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/10"


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, db: None) -> Iterator[ratelimit.Store]:
    if request.param == "database":
        yield ratelimit.DatabaseStore()
        return
    redis_store = ratelimit.RedisStore(REDIS_URL)
    try:
        redis_store.client.ping()
    except Exception as exc:  # pragma: no cover - the CI machines run Redis on 127.0.0.1
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable: {exc}")
    yield redis_store


def _bucket(capacity: float = 3, per_seconds: float = 3) -> ratelimit.Bucket:
    return ratelimit.Bucket(key=f"test:{uuid.uuid4().hex}", capacity=capacity, per_second=capacity / per_seconds)


def test_bucket_gives_tokens_then_says_how_long_to_wait(store: ratelimit.Store) -> None:
    bucket, now = _bucket(), 1_000_000.0
    assert [ratelimit.acquire(bucket, now=now, using=store) for _ in range(3)] == [0, 0, 0]
    wait = ratelimit.acquire(bucket, now=now, using=store)
    assert wait == pytest.approx(1.0)  # one token per second
    assert ratelimit.acquire(bucket, now=now + 1.0, using=store) == 0  # refilled
    assert ratelimit.acquire(bucket, cost=3, now=now + 1.0, using=store) == pytest.approx(3.0)


def test_network_remaining_and_reset_set_the_bucket(store: ratelimit.Store) -> None:
    bucket, now = _bucket(capacity=100, per_seconds=100), 2_000_000.0
    reset = datetime.fromtimestamp(now + 30, tz=UTC)
    ratelimit.observe(bucket, RateLimitInfo(limit=300, remaining=0, reset_at=reset), now=now, using=store)
    assert ratelimit.acquire(bucket, now=now + 1, using=store) == pytest.approx(29.0)
    assert ratelimit.state(bucket, now=now + 1, using=store).blocked_until == reset
    assert ratelimit.acquire(bucket, now=now + 31, using=store) == 0
    # remaining=2 caps our own estimate at 2 tokens.
    ratelimit.observe(bucket, RateLimitInfo(remaining=2), now=now + 40, using=store)
    assert [ratelimit.acquire(bucket, now=now + 40, using=store) for _ in range(3)][:2] == [0, 0]


def test_retry_after_blocks(store: ratelimit.Store) -> None:
    bucket, now = _bucket(), 3_000_000.0
    ratelimit.observe(bucket, RateLimitInfo(retry_after=12), now=now, using=store)
    assert ratelimit.acquire(bucket, now=now + 2, using=store) == pytest.approx(10.0)


def test_concurrency_slots(store: ratelimit.Store) -> None:
    key, now = f"net:{uuid.uuid4().hex}", time.time()
    first = ratelimit.slot_acquire(key, 2, now=now, using=store)
    second = ratelimit.slot_acquire(key, 2, now=now, using=store)
    assert first and second
    assert ratelimit.slot_acquire(key, 2, now=now, using=store) is None
    ratelimit.slot_release(key, first, using=store)
    assert ratelimit.slot_acquire(key, 2, now=now, using=store) is not None
    # A holder that crashed frees its slot after the TTL.
    later = now + ratelimit.SLOT_TTL_SECONDS + 1
    assert ratelimit.slot_acquire(key, 2, now=later, using=store) is not None


def test_admit_takes_both_buckets_and_a_slot_or_nothing(store: ratelimit.Store) -> None:
    app, account, key, now = _bucket(capacity=5), _bucket(capacity=2), f"net:{uuid.uuid4().hex}", time.time()
    first = ratelimit.admit([app, account], key, 2, now=now, using=store)
    if isinstance(store, ratelimit.DatabaseStore):  # no single step there: the caller goes one by one
        assert first is None
        return
    assert first is not None
    second = ratelimit.admit([app, account], key, 2, now=now, using=store)
    assert second is not None
    assert ratelimit.admit([app, account], key, 3, now=now, using=store) is None  # account bucket empty
    assert ratelimit.state(app, now=now, using=store).tokens == pytest.approx(3, abs=1e-3)  # nothing taken
    ratelimit.slot_release(key, first, using=store)
    later = now + 3  # both buckets have refilled
    assert ratelimit.admit([app, account], key, 1, now=later, using=store) is None  # second holds the slot
    assert ratelimit.state(account, now=later, using=store).tokens == pytest.approx(2, abs=1e-3)
    assert ratelimit.admit([app, account], key, 2, now=later, using=store) is not None
    assert ratelimit.state(app, now=later, using=store).tokens == pytest.approx(4, abs=1e-3)
    ratelimit.block(account, 10, now=later, using=store)
    assert ratelimit.admit([app, account], key, 9, now=later + 1, using=store) is None  # blocked


def test_call_obeys_what_the_network_said(net: FakeNetwork, channel: Channel, settings: Any) -> None:
    settings.REDIS_URL = ""  # this test exercises the database store through call()
    reset = datetime.now(UTC) + timedelta(minutes=5)
    net.rate_headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat(),
    }
    call(channel, "verify")
    channel.refresh_from_db()
    assert channel.rate_limit["remaining"] == 0 and channel.rate_limited_until is not None
    before = net.count("GET", "/me")
    with pytest.raises(RateLimited) as raised:
        call(channel, "verify")
    assert raised.value.retry_after is not None and raised.value.retry_after > 200
    assert net.count("GET", "/me") == before  # Sokhan did not even ask


def test_a_429_blocks_the_account(net: FakeNetwork, channel: Channel) -> None:
    net.status_override = 429
    net.rate_headers = {"Retry-After": "120"}
    with pytest.raises(RateLimited):
        call(channel, "verify")
    wait = ratelimit.acquire(account_bucket(channel))
    assert 100 < wait <= 120
