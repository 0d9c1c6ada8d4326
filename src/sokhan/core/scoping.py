"""Workspace scoping in one place.

Every read of a domain object goes through these helpers: they take the workspace first and answer
"not found" (never "forbidden") for anything outside it, so a foreign workspace cannot even learn
that an object exists.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404

from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can


def access_membership(user: User | Any, workspace_slug: str) -> Membership:
    """The user's membership of the workspace, or 404."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Http404("workspace not found")
    try:
        return Membership.objects.select_related("workspace", "user").get(workspace__slug=workspace_slug, user=user)
    except Membership.DoesNotExist:
        raise Http404("workspace not found") from None


def access_workspace(user: User | Any, workspace_slug: str, perm: Perm = Perm.WORKSPACE_VIEW) -> Membership:
    """The membership if the user may ``perm`` in the workspace; 404 when not a member.

    A member lacking the permission gets ``PermissionError`` (a 403 in views), since they can see
    the workspace exists.
    """
    membership = access_membership(user, workspace_slug)
    if not role_can(membership.role, perm):
        raise PermissionError(perm.value)
    return membership


def scoped[M: models.Model](model: type[M], workspace: Workspace) -> models.QuerySet[M]:
    """All rows of ``model`` in ``workspace``. The model must have a ``workspace`` foreign key."""
    return model._default_manager.filter(workspace=workspace)


def scoped_get_or_404[M: models.Model](model: type[M], workspace: Workspace, **lookup: Any) -> M:
    try:
        return scoped(model, workspace).get(**lookup)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise Http404(f"{model._meta.verbose_name} not found") from None


def user_workspaces(user: User) -> models.QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("name")
