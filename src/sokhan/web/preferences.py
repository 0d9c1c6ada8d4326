"""Which language, time zone and calendar a request is shown in.

A user's own choice wins; a user who keeps "workspace default" follows the workspace in the URL
(or their first workspace). Anonymous visitors get their language cookie or browser language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import Resolver404, resolve

from sokhan.core.models import Calendar, Language, Membership, User, Workspace


@dataclass(frozen=True)
class Preferences:
    language: str
    timezone: str
    calendar: str


def workspace_from_path(request: HttpRequest) -> Workspace | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    slug = match.kwargs.get("ws")
    if not slug:
        return None
    return Workspace.objects.filter(slug=slug).first()


def _default_calendar(language: str) -> str:
    return Calendar.JALALI if language == Language.PERSIAN else Calendar.GREGORIAN


def resolve_preferences(user: User, workspace: Workspace | None) -> Preferences:
    if workspace is not None and not Membership.objects.filter(workspace=workspace, user=user).exists():
        workspace = None
    if workspace is None:
        m = Membership.objects.filter(user=user).select_related("workspace").order_by("id").first()
        workspace = m.workspace if m else None
    ws_language = workspace.language if workspace else Language.ENGLISH
    language = user.language or ws_language
    if user.calendar:
        calendar = user.calendar
    elif not user.language and workspace is not None:
        calendar = workspace.calendar
    else:
        calendar = _default_calendar(language)
    tz = user.timezone or (workspace.timezone if workspace else "UTC")
    return Preferences(language=language, timezone=tz, calendar=calendar)
