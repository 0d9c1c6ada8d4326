"""Template context shared by every page: direction, calendar, the shell's navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import translation


def shell(request: HttpRequest) -> dict[str, Any]:
    language = translation.get_language() or "en"
    return {
        "text_direction": "rtl" if translation.get_language_bidi() else "ltr",
        "ui_language": language,
        "ui_calendar": getattr(request, "sokhan_calendar", "gregorian"),
        "ui_timezone": getattr(request, "sokhan_timezone", "UTC"),
    }
