"""Per-request language, time zone and calendar from the user's and workspace's preferences."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from sokhan.core.models import Language
from sokhan.web.preferences import resolve_preferences, workspace_from_path

LANGUAGE_COOKIE = settings.LANGUAGE_COOKIE_NAME
_SUPPORTED = {code for code, _ in settings.LANGUAGES}


class UserLanguageMiddleware:
    """Runs before authentication middleware, so it reads the session user itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.contrib.auth import get_user

        user = get_user(request)
        if user.is_authenticated:
            prefs = resolve_preferences(user, workspace_from_path(request))
            language = prefs.language
            request.sokhan_calendar = prefs.calendar  # type: ignore[attr-defined]
            request.sokhan_timezone = prefs.timezone  # type: ignore[attr-defined]
        else:
            language = request.COOKIES.get(LANGUAGE_COOKIE, "")
            if language not in _SUPPORTED:
                language = translation.get_language_from_request(request)
            if language not in _SUPPORTED:
                language = Language.ENGLISH
            request.sokhan_calendar = "jalali" if language == "fa" else "gregorian"  # type: ignore[attr-defined]
            request.sokhan_timezone = "Asia/Tehran" if language == "fa" else "UTC"  # type: ignore[attr-defined]
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = getattr(request, "sokhan_timezone", "UTC")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo("UTC"))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
