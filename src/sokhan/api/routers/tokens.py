"""Personal access tokens: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.models import PersonalAccessToken
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import token_create, token_revoke

router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    owner: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


def token_out(token: PersonalAccessToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "owner": token.user.email,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": token.is_active,
    }


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown only in this response; store it now.")


class TokenPage(PageMeta):
    results: list[TokenOut]


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    scopes: list[Scope] = Field(..., min_length=1)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


@router.get(
    "/workspaces/{ws}/tokens",
    response={200: TokenPage, **ERRORS},
    auth=access(Perm.TOKENS_USE),
)
def tokens_list(request: HttpRequest, ws: str, page: Query[PageParams]) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    tokens = PersonalAccessToken.objects.filter(workspace=membership.workspace).select_related("user")
    # Member managers see (and may revoke) everyone's tokens; others only their own.
    if not role_can(membership.role, Perm.MEMBERS_MANAGE):
        tokens = tokens.filter(user=membership.user)
    return paginate(request, tokens.order_by("-created_at", "-id"), page, token_out)


@router.post(
    "/workspaces/{ws}/tokens",
    response={201: TokenCreated, **ERRORS},
    auth=access(Perm.TOKENS_USE, Scope.ADMIN),
)
def tokens_create(request: HttpRequest, ws: str, payload: TokenIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    token, raw = token_create(
        actor=membership,
        name=payload.name,
        scopes=[s.value for s in payload.scopes],
        expires_in_days=payload.expires_in_days,
        ip=client_ip(request),
    )
    body = token_out(token)
    body["token"] = raw
    return Status(201, body)


@router.delete(
    "/workspaces/{ws}/tokens/{token_id}",
    response={204: None, **ERRORS},
    auth=access(Perm.WORKSPACE_VIEW, Scope.ADMIN),
)
def tokens_revoke(request: HttpRequest, ws: str, token_id: int) -> Status[None]:
    membership = access_of(request).workspace_membership
    token_revoke(actor=membership, token_id=token_id, ip=client_ip(request))
    return Status(204, None)
