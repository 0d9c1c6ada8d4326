"""Template context shared by every page: direction, calendar, the shell's workspace switcher."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import translation

from sokhan.core.models import User, Workspace
from sokhan.core.scoping import user_workspaces


def shell(request: HttpRequest) -> dict[str, Any]:
    language = translation.get_language() or "en"
    user = getattr(request, "user", None)

    def my_workspaces() -> list[Workspace]:
        # Called lazily by the header template, so pages without a header run no query.
        if isinstance(user, User) and user.is_authenticated:
            return list(user_workspaces(user))
        return []

    return {
        "text_direction": "rtl" if translation.get_language_bidi() else "ltr",
        "ui_language": language,
        "ui_calendar": getattr(request, "sokhan_calendar", "gregorian"),
        "ui_timezone": getattr(request, "sokhan_timezone", "UTC"),
        "my_workspaces": my_workspaces,
    }
