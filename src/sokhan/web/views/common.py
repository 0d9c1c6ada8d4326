"""Helpers the view modules share."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from sokhan.core.errors import DomainError


def apply_domain_error(form: forms.Form, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Show a service's error on the field it names (or on the form as a whole)."""
    field_map = field_map or {}
    for name in error.fields:
        target = field_map.get(name, name)
        if target in form.fields:
            form.add_error(target, error.message)
            return
    form.add_error(None, error.message)


def safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
