"""Domain errors. Views and API routes turn these into messages or the one API error format."""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a forbidden transition, with a code, a message and the offending fields."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
