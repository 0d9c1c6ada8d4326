"""Workspaces: list, create, read, settings, and what the caller's role may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip, session_only
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta, WorkspaceOut
from sokhan.core.errors import DomainError
from sokhan.core.models import Calendar, Language, Membership, Workspace
from sokhan.core.permissions import ROLE_LABELS, Perm, Role, assignable_roles, role_can
from sokhan.core.services import workspace_create, workspace_update

router = Router(tags=["workspaces"])


class WorkspacePage(PageMeta):
    results: list[WorkspaceOut]


class WorkspaceIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    slug: str = Field("", max_length=60, description="Address; generated from the name when empty.")
    timezone: str = "Asia/Tehran"
    calendar: Calendar = Calendar.JALALI
    language: Language = Language.PERSIAN


class WorkspacePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    timezone: str | None = None
    calendar: Calendar | None = None
    language: Language | None = None


class PermissionsOut(Schema):
    role: str
    role_label: str
    permissions: dict[str, bool]
    assignable_roles: list[str]
    token_scopes: list[str] | None


def workspace_out(workspace: Workspace, role: str) -> dict[str, Any]:
    return {
        "slug": workspace.slug,
        "name": workspace.name,
        "description": workspace.description,
        "timezone": workspace.timezone,
        "calendar": workspace.calendar,
        "language": workspace.language,
        "created_at": workspace.created_at,
        "role": role,
    }


@router.get("/workspaces", response={200: WorkspacePage, **ERRORS}, auth=access())
def workspaces_list(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    caller = access_of(request)
    memberships = Membership.objects.filter(user=caller.user).select_related("workspace")
    if caller.token is not None:  # a token sees only the workspace it is bound to
        memberships = memberships.filter(workspace=caller.token.workspace)
    ordered = memberships.order_by("workspace__name", "workspace__id")
    return paginate(request, ordered, page, lambda m: workspace_out(m.workspace, m.role))


@router.post("/workspaces", response={201: WorkspaceOut, **ERRORS}, auth=session_only())
def workspaces_create(request: HttpRequest, payload: WorkspaceIn) -> Status[dict[str, Any]]:
    caller = access_of(request)
    workspace = workspace_create(
        owner=caller.user,
        name=payload.name,
        slug=payload.slug,
        timezone_name=payload.timezone,
        calendar=payload.calendar,
        language=payload.language,
    )
    return Status(201, workspace_out(workspace, Role.OWNER.value))


@router.get("/workspaces/{ws}", response={200: WorkspaceOut, **ERRORS}, auth=access(Perm.WORKSPACE_VIEW))
def workspace_detail(request: HttpRequest, ws: str) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return workspace_out(membership.workspace, membership.role)


@router.patch(
    "/workspaces/{ws}",
    response={200: WorkspaceOut, **ERRORS},
    auth=access(Perm.WORKSPACE_SETTINGS, Scope.ADMIN),
)
def workspace_settings(request: HttpRequest, ws: str, payload: WorkspacePatch) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    changes = {k: (str(v) if v is not None else v) for k, v in payload.dict(exclude_unset=True).items()}
    nulls = sorted(k for k, v in changes.items() if v is None)
    if nulls:
        raise DomainError(_("These settings cannot be empty."), fields={k: "required" for k in nulls})
    workspace = workspace_update(
        workspace=membership.workspace, actor=membership.user, ip=client_ip(request), **changes
    )
    return workspace_out(workspace, membership.role)


@router.get(
    "/workspaces/{ws}/permissions",
    response={200: PermissionsOut, **ERRORS},
    auth=access(Perm.WORKSPACE_VIEW),
)
def workspace_permissions(request: HttpRequest, ws: str) -> dict[str, Any]:
    caller = access_of(request)
    role = caller.workspace_membership.role
    return {
        "role": role,
        "role_label": str(ROLE_LABELS[Role(role)]),
        "permissions": {perm.value: role_can(role, perm) for perm in Perm},
        "assignable_roles": [r.value for r in assignable_roles(role)],
        "token_scopes": list(caller.token.scopes) if caller.token else None,
    }
