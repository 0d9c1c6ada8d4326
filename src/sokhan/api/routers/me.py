"""``GET /me``: who the API thinks you are."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from sokhan.api.auth import access, access_of
from sokhan.api.schemas import ERRORS

router = Router(tags=["me"])


class TokenInfo(Schema):
    id: int
    name: str
    workspace: str
    scopes: list[str]


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    language: str
    timezone: str
    calendar: str
    auth: str
    token: TokenInfo | None


@router.get("/me", response={200: MeOut, **ERRORS}, auth=access())
def me(request: HttpRequest) -> dict[str, Any]:
    caller = access_of(request)
    user, token = caller.user, caller.token
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "language": user.language,
        "timezone": user.timezone,
        "calendar": user.calendar,
        "auth": "token" if token else "session",
        "token": {
            "id": token.pk,
            "name": token.name,
            "workspace": token.workspace.slug,
            "scopes": token.scopes,
        }
        if token
        else None,
    }
