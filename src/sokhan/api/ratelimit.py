"""Fixed-window request counting per token (or per signed-in user) in Django's cache.

With REDIS_URL set the cache is Redis, so every process shares one counter; ``add`` + ``incr`` are
atomic there, so concurrent requests cannot both take the last slot.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from sokhan.api.errors import ApiError

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_in),
        }


def rate_limit_hit(ident: str) -> RateState | None:
    """Count one request for ``ident``; raise a 429 ``ApiError`` once the window is used up.

    Returns None when limiting is switched off (a limit of 0 or less).
    """
    limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return None
    now = time.time()
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    reset_in = max(1, math.ceil(window_start + WINDOW_SECONDS - now))
    key = f"api-rate:{ident}:{window_start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    state = RateState(limit=limit, remaining=max(0, limit - count), reset_in=reset_in)
    if count > limit:
        raise ApiError(
            429,
            "rate_limited",
            _("Too many requests. Try again in %(s)d seconds.") % {"s": reset_in},
            headers={"Retry-After": str(reset_in), **state.headers()},
        )
    return state
