"""Workspace members: list, change role, remove (or leave)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, Role
from sokhan.core.services import membership_remove, membership_set_role

router = Router(tags=["members"])


class MemberOut(Schema):
    id: int
    user_id: int
    email: str
    full_name: str
    role: str
    created_at: datetime

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_full_name(obj: Membership) -> str:
        return obj.user.full_name


class MemberPage(PageMeta):
    results: list[MemberOut]


class RoleIn(Schema):
    role: Role


@router.get(
    "/workspaces/{ws}/members",
    response={200: MemberPage, **ERRORS},
    auth=access(Perm.MEMBERS_VIEW),
)
def members_list(request: HttpRequest, ws: str, page: Query[PageParams]) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    members = Membership.objects.filter(workspace=workspace).select_related("user").order_by("created_at", "id")
    return paginate(request, members, page)


@router.patch(
    "/workspaces/{ws}/members/{member_id}",
    response={200: MemberOut, **ERRORS},
    auth=access(Perm.MEMBERS_MANAGE, Scope.ADMIN),
)
def members_set_role(request: HttpRequest, ws: str, member_id: int, payload: RoleIn) -> Membership:
    actor = access_of(request).workspace_membership
    return membership_set_role(actor=actor, member_id=member_id, role=payload.role.value, ip=client_ip(request))


# Any member may remove themselves (leave); removing others needs members.manage, which the
# service checks, so the route only asks for membership plus the admin token scope.
@router.delete(
    "/workspaces/{ws}/members/{member_id}",
    response={204: None, **ERRORS},
    auth=access(Perm.WORKSPACE_VIEW, Scope.ADMIN),
)
def members_remove(request: HttpRequest, ws: str, member_id: int) -> Status[None]:
    actor = access_of(request).workspace_membership
    membership_remove(actor=actor, member_id=member_id, ip=client_ip(request))
    return Status(204, None)
