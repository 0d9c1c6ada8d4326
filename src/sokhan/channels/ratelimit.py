"""Shared token buckets and concurrent-call slots for calls to the networks.

Two stores with one behaviour: Redis (atomic Lua scripts) when ``REDIS_URL`` is set, so every web
process and worker on every machine shares the buckets; otherwise the database (a locked row per
bucket, a row per concurrency slot).

* ``acquire(bucket, cost=1)`` takes ``cost`` tokens and returns 0, or returns how many seconds to
  wait (and takes nothing) when the bucket is empty or blocked.
* ``observe(bucket, info)`` feeds what a network said (``RateLimitInfo``: remaining, reset time,
  retry-after) back into the bucket: the network's own count wins over our estimate.
* ``slot_acquire(key, limit)`` / ``slot_release`` bound concurrent calls per network.
* ``admit(buckets, slot_key, limit)`` is the fast path of a call: a token from every bucket and a
  slot in one atomic step (one round trip on Redis), all or nothing. It returns ``None`` when any
  of them is short, and always on the database store; the caller then takes them one by one,
  which waits or says how long to wait.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import Q

from sokhan.channels import conf
from sokhan.channels.models import CallSlot, RateBucket
from sokhan.networks.types import RateLimitInfo

KEY_PREFIX = "sokhan:channels:"
SLOT_TTL_SECONDS = 120.0  # a crashed caller's slot frees itself after this


@dataclass(frozen=True)
class Bucket:
    key: str
    capacity: float
    per_second: float

    @classmethod
    def of(cls, key: str, rate: conf.Rate) -> Bucket:
        return cls(key=key, capacity=rate.capacity, per_second=rate.per_second)


@dataclass(frozen=True)
class BucketState:
    tokens: float
    blocked_until: datetime | None


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class Store(Protocol):
    def acquire(self, bucket: Bucket, cost: float, now: float) -> float: ...

    def observe(self, bucket: Bucket, remaining: int | None, block_until: float | None, now: float) -> None: ...

    def state(self, bucket: Bucket, now: float) -> BucketState: ...

    def slot_acquire(self, key: str, limit: int, now: float) -> str | None: ...

    def slot_release(self, key: str, token: str) -> None: ...

    def admit(self, buckets: Sequence[Bucket], cost: float, slot_key: str, limit: int, now: float) -> str | None: ...


# ---------------------------------------------------------------- Redis

_ACQUIRE = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked')
local cap = tonumber(ARGV[1]); local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3]); local now = tonumber(ARGV[4])
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
local blocked = tonumber(b[3]) or 0
if blocked > now then return tostring(blocked - now) end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 86400)
return tostring(wait)
"""

_OBSERVE = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked')
local cap = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local now = tonumber(ARGV[3])
local remaining = tonumber(ARGV[4]); local block = tonumber(ARGV[5])
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
local blocked = tonumber(b[3]) or 0
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
if remaining >= 0 then tokens = math.min(cap, remaining) end
if block > blocked then blocked = block end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now), 'blocked', tostring(blocked))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + math.max(0, math.ceil(blocked - now)) + 86400)
return 1
"""

_SLOT_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], 3600)
  return 1
end
return 0
"""

# KEYS: the buckets, then the slot set. ARGV: now, cost, (capacity, rate) per bucket, slot limit,
# slot expiry, slot token. Takes nothing unless every bucket has ``cost`` tokens and a slot is free.
_ADMIT = """
local now = tonumber(ARGV[1]); local cost = tonumber(ARGV[2])
local n = #KEYS - 1
local levels = {}
for i = 1, n do
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts', 'blocked')
  local cap = tonumber(ARGV[1 + 2 * i]); local rate = tonumber(ARGV[2 + 2 * i])
  local tokens = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  local blocked = tonumber(b[3]) or 0
  if blocked > now then return 0 end
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
  if tokens < cost then return 0 end
  levels[i] = tokens
end
local slots = KEYS[n + 1]
redis.call('ZREMRANGEBYSCORE', slots, '-inf', ARGV[1])
if redis.call('ZCARD', slots) >= tonumber(ARGV[2 * n + 3]) then return 0 end
redis.call('ZADD', slots, ARGV[2 * n + 4], ARGV[2 * n + 5])
redis.call('EXPIRE', slots, 3600)
for i = 1, n do
  local cap = tonumber(ARGV[1 + 2 * i]); local rate = tonumber(ARGV[2 + 2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - cost), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[i], math.ceil(cap / rate) + 86400)
end
return 1
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._observe = self.client.register_script(_OBSERVE)
        self._slot = self.client.register_script(_SLOT_ACQUIRE)
        self._admit = self.client.register_script(_ADMIT)

    def _key(self, name: str) -> str:
        return KEY_PREFIX + name

    def acquire(self, bucket: Bucket, cost: float, now: float) -> float:
        raw = self._acquire(keys=[self._key(bucket.key)], args=[bucket.capacity, bucket.per_second, cost, now])
        return max(0.0, float(raw))

    def observe(self, bucket: Bucket, remaining: int | None, block_until: float | None, now: float) -> None:
        self._observe(
            keys=[self._key(bucket.key)],
            args=[
                bucket.capacity,
                bucket.per_second,
                now,
                -1 if remaining is None else remaining,
                block_until or 0,
            ],
        )

    def state(self, bucket: Bucket, now: float) -> BucketState:
        tokens, ts, blocked = self.client.hmget(self._key(bucket.key), "tokens", "ts", "blocked")
        if tokens is None:
            return BucketState(tokens=bucket.capacity, blocked_until=None)
        level = min(bucket.capacity, float(tokens) + max(0.0, now - float(ts or now)) * bucket.per_second)
        until = float(blocked) if blocked is not None else 0.0
        return BucketState(tokens=level, blocked_until=_utc(until) if until > now else None)

    def slot_acquire(self, key: str, limit: int, now: float) -> str | None:
        token = secrets.token_hex(8)
        ok = self._slot(keys=[self._key("slots:" + key)], args=[now, limit, now + SLOT_TTL_SECONDS, token])
        return token if int(ok) == 1 else None

    def slot_release(self, key: str, token: str) -> None:
        self.client.zrem(self._key("slots:" + key), token)

    def admit(self, buckets: Sequence[Bucket], cost: float, slot_key: str, limit: int, now: float) -> str | None:
        token = secrets.token_hex(8)
        args: list[Any] = [now, cost]
        for bucket in buckets:
            args += [bucket.capacity, bucket.per_second]
        args += [limit, now + SLOT_TTL_SECONDS, token]
        keys = [self._key(b.key) for b in buckets] + [self._key("slots:" + slot_key)]
        return token if int(self._admit(keys=keys, args=args)) == 1 else None

    def reset(self, keys: list[str]) -> None:
        if keys:
            self.client.delete(*[self._key(k) for k in keys])


# ---------------------------------------------------------------- database


class DatabaseStore:
    """Row-locked buckets. Inside a longer transaction (a worker step) a bucket row stays locked
    until that transaction ends, which serialises calls on the bucket: correct, but use Redis when
    several workers call the same network."""

    def _locked(self, bucket: Bucket, now: float) -> RateBucket:
        try:
            with transaction.atomic():
                RateBucket.objects.get_or_create(
                    key=bucket.key, defaults={"tokens": bucket.capacity, "updated_at": _utc(now)}
                )
        except IntegrityError:
            pass  # another caller created it first
        return RateBucket.objects.select_for_update().get(key=bucket.key)

    @staticmethod
    def _level(row: RateBucket, bucket: Bucket, now: float) -> float:
        elapsed = max(0.0, now - _epoch(row.updated_at))
        return min(bucket.capacity, row.tokens + elapsed * bucket.per_second)

    def acquire(self, bucket: Bucket, cost: float, now: float) -> float:
        with transaction.atomic():
            row = self._locked(bucket, now)
            if row.blocked_until is not None and _epoch(row.blocked_until) > now:
                return _epoch(row.blocked_until) - now
            tokens = self._level(row, bucket, now)
            wait = 0.0
            if tokens >= cost:
                tokens -= cost
            else:
                wait = (cost - tokens) / bucket.per_second
            row.tokens, row.updated_at = tokens, _utc(now)
            row.save(update_fields=["tokens", "updated_at"])
            return wait

    def observe(self, bucket: Bucket, remaining: int | None, block_until: float | None, now: float) -> None:
        with transaction.atomic():
            row = self._locked(bucket, now)
            tokens = self._level(row, bucket, now)
            if remaining is not None:
                tokens = min(bucket.capacity, float(remaining))
            if block_until and (row.blocked_until is None or _epoch(row.blocked_until) < block_until):
                row.blocked_until = _utc(block_until)
            row.tokens, row.updated_at = tokens, _utc(now)
            row.save(update_fields=["tokens", "updated_at", "blocked_until"])

    def state(self, bucket: Bucket, now: float) -> BucketState:
        row = RateBucket.objects.filter(key=bucket.key).first()
        if row is None:
            return BucketState(tokens=bucket.capacity, blocked_until=None)
        blocked = row.blocked_until if row.blocked_until and _epoch(row.blocked_until) > now else None
        return BucketState(tokens=self._level(row, bucket, now), blocked_until=blocked)

    def slot_acquire(self, key: str, limit: int, now: float) -> str | None:
        token = secrets.token_hex(8)
        moment = _utc(now)
        with transaction.atomic():
            existing = set(CallSlot.objects.filter(key=key, slot__lt=limit).values_list("slot", flat=True))
            for slot in range(limit):
                if slot not in existing:
                    try:
                        with transaction.atomic():
                            CallSlot.objects.create(key=key, slot=slot)
                    except IntegrityError:
                        pass
            # Skip slots another transaction holds locked (PostgreSQL); SQLite has one writer anyway.
            free = (
                CallSlot.objects.select_for_update(skip_locked=True)
                .filter(key=key, slot__lt=limit)
                .filter(Q(held_until__isnull=True) | Q(held_until__lte=moment))
                .order_by("slot")
                .first()
            )
            if free is None:
                return None
            free.holder, free.held_until = token, moment + timedelta(seconds=SLOT_TTL_SECONDS)
            free.save(update_fields=["holder", "held_until"])
            return token

    def slot_release(self, key: str, token: str) -> None:
        CallSlot.objects.filter(key=key, holder=token).update(holder="", held_until=None)

    def admit(self, buckets: Sequence[Bucket], cost: float, slot_key: str, limit: int, now: float) -> str | None:
        return None  # no single step here: the caller takes the buckets and the slot one by one


# ---------------------------------------------------------------- the public functions


@cache
def _redis_store(url: str) -> RedisStore:
    return RedisStore(url)


def store() -> Store:
    url = conf.redis_url()
    return _redis_store(url) if url else DatabaseStore()


def acquire(bucket: Bucket, cost: float = 1, *, now: float | None = None, using: Store | None = None) -> float:
    """Take ``cost`` tokens: 0 when taken, else the seconds to wait before trying again."""
    return (using or store()).acquire(bucket, cost, time.time() if now is None else now)


def observe(
    bucket: Bucket, info: RateLimitInfo | None, *, now: float | None = None, using: Store | None = None
) -> None:
    """Set the bucket from what the network said: remaining calls, when the window resets, retry-after."""
    if info is None:
        return
    moment = time.time() if now is None else now
    block: float | None = None
    if info.retry_after is not None:
        block = moment + info.retry_after
    elif info.remaining is not None and info.remaining <= 0 and info.reset_at is not None:
        block = _epoch(info.reset_at)
    if info.remaining is None and block is None:
        return
    (using or store()).observe(bucket, info.remaining, block, moment)


def block(bucket: Bucket, seconds: float, *, now: float | None = None, using: Store | None = None) -> None:
    moment = time.time() if now is None else now
    (using or store()).observe(bucket, None, moment + max(0.0, seconds), moment)


def state(bucket: Bucket, *, now: float | None = None, using: Store | None = None) -> BucketState:
    return (using or store()).state(bucket, time.time() if now is None else now)


def slot_acquire(key: str, limit: int, *, now: float | None = None, using: Store | None = None) -> str | None:
    return (using or store()).slot_acquire(key, limit, time.time() if now is None else now)


def slot_release(key: str, token: str, *, using: Store | None = None) -> None:
    (using or store()).slot_release(key, token)


def admit(
    buckets: Sequence[Bucket],
    slot_key: str,
    limit: int,
    *,
    cost: float = 1,
    now: float | None = None,
    using: Store | None = None,
) -> str | None:
    """``cost`` tokens from every bucket and one of ``limit`` slots of ``slot_key``, all at once: the
    slot's token (release it with ``slot_release``), or ``None`` with nothing taken."""
    return (using or store()).admit(buckets, cost, slot_key, limit, time.time() if now is None else now)
