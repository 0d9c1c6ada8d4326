"""The one API error format: ``{"error": {"code", "message", "fields"}}``, for every failure.

Ninja's default handlers answer in several shapes (``detail`` strings, lists, plain-text tracebacks);
clients should parse one shape only, so every handler here replaces one of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sokhan.core.errors import DomainError

logger = logging.getLogger("sokhan.api")


class ApiError(HttpError):
    """An HTTP error with a stable machine code, raised by auth, scoping and rate limiting."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "payload", "role")`` → ``"role"``; ``("query", "limit")`` → ``"limit"``."""
    parts = [str(p) for p in loc]
    source, rest = (parts[0], parts[1:]) if parts else ("", [])
    # A body is one schema parameter; its name is an implementation detail, not a field.
    if source == "body" and len(rest) > 1:
        rest = rest[1:]
    return ".".join(rest) or source or "request"


def validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in errors:
        name = _field_name(error.get("loc", ()))
        fields.setdefault(name, str(error.get("msg", "invalid")))
    return fields


def _on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = validation_fields(exc.errors)
    names = ", ".join(fields)
    return error_response(422, "validation_failed", _("Invalid input: %(f)s") % {"f": names}, fields)


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status_code, exc.code, exc.message, exc.fields, exc.headers)


def _on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401,
        "not_authenticated",
        _("Sign in, or send a personal access token as 'Authorization: Bearer skn_…'."),
        headers={"WWW-Authenticate": 'Bearer realm="sokhan"'},
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja raises a bare 400 only when the body does not parse
        return error_response(400, "invalid_body", _("The request body could not be read; send valid JSON."))
    codes = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}
    return error_response(exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def _on_domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


def _on_permission(request: HttpRequest, exc: PermissionError) -> HttpResponse:
    return error_response(403, "forbidden", _("Your role may not do this."))


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The traceback goes to the log, never to the client.
    logger.exception("unhandled API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "server_error", _("Something went wrong on our side. It has been logged."))


def _add[E: Exception](api: NinjaAPI, exc_class: type[E], handler: Callable[[HttpRequest, E], HttpResponse]) -> None:
    # Ninja types the argument as "instance or class" but always passes the raised instance.
    api.add_exception_handler(exc_class, cast("Callable[[HttpRequest, E | type[E]], HttpResponse]", handler))


def install_error_handlers(api: NinjaAPI) -> None:
    _add(api, ValidationError, _on_validation)
    _add(api, ApiError, _on_api_error)
    _add(api, AuthenticationError, _on_authentication)
    _add(api, HttpError, _on_http_error)
    _add(api, DomainError, _on_domain)
    _add(api, Http404, _on_404)
    _add(api, PermissionError, _on_permission)
    _add(api, Exception, _on_unexpected)


def not_allowed(allowed: str) -> HttpResponse:
    return error_response(
        405,
        "method_not_allowed",
        _("This method is not allowed here. Allowed: %(m)s") % {"m": allowed},
        headers={"Allow": allowed},
    )


def not_found_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Catch-all under the API prefix, so a mistyped path answers JSON rather than an HTML page."""
    return error_response(404, "not_found", _("No API endpoint at this address."))
