"""Invitations: list, invite by email, revoke."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.models import Invitation
from sokhan.core.permissions import Perm, Role
from sokhan.core.services import invitation_create, invitation_revoke

router = Router(tags=["invitations"])


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def invitation_state(invitation: Invitation) -> InvitationState:
    if invitation.accepted_at is not None:
        return InvitationState.ACCEPTED
    if invitation.revoked_at is not None:
        return InvitationState.REVOKED
    if invitation.expires_at <= timezone.now():
        return InvitationState.EXPIRED
    return InvitationState.PENDING


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    state: InvitationState
    invited_by: str | None
    created_at: datetime
    expires_at: datetime


def invitation_out(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "state": invitation_state(invitation),
        "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
    }


class InvitationCreated(InvitationOut):
    accept_url: str = Field(description="Shown once; the same link is emailed to the invitee.")


class InvitationPage(PageMeta):
    results: list[InvitationOut]


class InvitationIn(Schema):
    email: str = Field(..., max_length=254)
    role: Role


class InvitationFilter(PageParams):
    state: InvitationState | None = None


@router.get(
    "/workspaces/{ws}/invitations",
    response={200: InvitationPage, **ERRORS},
    auth=access(Perm.MEMBERS_VIEW),
)
def invitations_list(request: HttpRequest, ws: str, filters: Query[InvitationFilter]) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    rows = Invitation.objects.filter(workspace=workspace).select_related("invited_by")
    now = timezone.now()
    state_filters = {
        InvitationState.ACCEPTED: Q(accepted_at__isnull=False),
        InvitationState.REVOKED: Q(accepted_at__isnull=True, revoked_at__isnull=False),
        InvitationState.EXPIRED: Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now),
        InvitationState.PENDING: Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now),
    }
    if filters.state is not None:
        rows = rows.filter(state_filters[filters.state])
    return paginate(request, rows.order_by("-created_at", "-id"), filters, invitation_out)


@router.post(
    "/workspaces/{ws}/invitations",
    response={201: InvitationCreated, **ERRORS},
    auth=access(Perm.MEMBERS_MANAGE, Scope.ADMIN),
)
def invitations_create(request: HttpRequest, ws: str, payload: InvitationIn) -> Status[dict[str, Any]]:
    actor = access_of(request).workspace_membership
    invitation, raw = invitation_create(
        actor=actor, email=payload.email, role=payload.role.value, ip=client_ip(request)
    )
    body = invitation_out(invitation)
    body["accept_url"] = f"{settings.BASE_URL}/invite/{raw}/"
    return Status(201, body)


@router.delete(
    "/workspaces/{ws}/invitations/{invitation_id}",
    response={204: None, **ERRORS},
    auth=access(Perm.MEMBERS_MANAGE, Scope.ADMIN),
)
def invitations_revoke(request: HttpRequest, ws: str, invitation_id: int) -> Status[None]:
    actor = access_of(request).workspace_membership
    invitation_revoke(actor=actor, invitation_id=invitation_id, ip=client_ip(request))
    return Status(204, None)
