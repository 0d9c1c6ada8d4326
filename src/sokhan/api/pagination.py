"""Limit/offset pagination with ``count`` and a ready-made ``next`` / ``previous`` URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import HttpRequest
from ninja import Field, Schema

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Rows per page, 1–{MAX_LIMIT}.")
    offset: int = Field(0, ge=0, description="Rows to skip.")


def _url(request: HttpRequest, offset: int, limit: int) -> str:
    query = request.GET.copy()
    query["offset"] = str(offset)
    query["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paginate[M: models.Model](
    request: HttpRequest,
    queryset: models.QuerySet[M],
    page: PageParams,
    out: Callable[[M], Any] | None = None,
) -> dict[str, Any]:
    """One page of ``queryset``; ``out`` turns each row into its response shape."""
    count = queryset.count()
    rows: list[Any] = list(queryset[page.offset : page.offset + page.limit])
    if out is not None:
        rows = [out(row) for row in rows]
    end = page.offset + len(rows)
    return {
        "count": count,
        "next": _url(request, end, page.limit) if end < count else None,
        "previous": _url(request, max(0, page.offset - page.limit), page.limit) if page.offset > 0 else None,
        "results": rows,
    }
