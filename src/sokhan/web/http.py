"""Small request helpers shared by the web views."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from sokhan.core.models import User


def client_ip(request: HttpRequest) -> str | None:
    """The peer address. Proxies are not trusted: X-Forwarded-For is spoofable."""
    ip = request.META.get("REMOTE_ADDR")
    return str(ip) if ip else None


def current_user(request: HttpRequest) -> User:
    """The signed-in user; call only behind ``login_required``."""
    return cast(User, request.user)
