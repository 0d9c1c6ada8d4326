"""Failed sign-in throttling per email + client address, kept in the cache (Redis when configured)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(email: str, ip: str | None) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{ip or '-'}".encode()).hexdigest()
    return f"sokhan:login-failures:{digest}"


def login_blocked(email: str, ip: str | None) -> bool:
    return int(cache.get(_key(email, ip), 0)) >= MAX_FAILURES


def login_failed(email: str, ip: str | None) -> None:
    key = _key(email, ip)
    if not cache.add(key, 1, WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)


def login_succeeded(email: str, ip: str | None) -> None:
    cache.delete(_key(email, ip))
