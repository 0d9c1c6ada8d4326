"""Response shapes shared by several routers."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    """Every non-2xx answer has this shape."""

    error: ErrorBody


class PageMeta(Schema):
    count: int
    next: str | None
    previous: str | None


class WorkspaceOut(Schema):
    slug: str
    name: str
    description: str
    timezone: str
    calendar: str
    language: str
    created_at: datetime
    role: str


ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}
