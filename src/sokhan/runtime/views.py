"""``GET /health/``: JSON for load balancers and monitoring; no authentication, no secrets."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sokhan.runtime.health import runtime_health

logger = logging.getLogger("sokhan.runtime")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        figures = runtime_health(now)
    except DatabaseError as exc:
        logger.warning("Health check: database unreachable: %s", exc)
        return JsonResponse(
            {"status": "unavailable", "database": False, "time": now.isoformat()},
            status=503,
        )
    # Work is waiting but nobody is there to do it: still serving, but worth an alert.
    degraded = figures["queue"]["depth"] > 0 and figures["workers"] == 0
    return JsonResponse(
        {"status": "degraded" if degraded else "ok", "database": True, "time": now.isoformat(), **figures}
    )
