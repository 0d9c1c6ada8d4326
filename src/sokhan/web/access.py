"""Workspace pages: resolve ``ws`` with ``access_workspace`` before anything else.

Non-members get 404 (from ``access_workspace``); members whose role lacks the permission get the
friendly 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from sokhan.core.models import Membership
from sokhan.core.permissions import ROLE_HELP, ROLE_LABELS, Perm, Role, role_can
from sokhan.core.scoping import access_workspace
from sokhan.web.nav import workspace_nav

P = ParamSpec("P")
LAST_WORKSPACE_KEY = "sokhan_last_workspace"


def can_map(role: str) -> dict[str, bool]:
    """``{"MEMBERS_MANAGE": True, ...}`` — keyed by the Perm name so templates can write ``can.X``."""
    return {perm.name: role_can(role, perm) for perm in Perm}


def workspace_page(
    perm: Perm,
) -> Callable[
    [Callable[Concatenate[HttpRequest, Membership, P], HttpResponseBase]],
    Callable[..., HttpResponseBase],
]:
    def decorate(
        view: Callable[Concatenate[HttpRequest, Membership, P], HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        def wrapper(request: HttpRequest, ws: str, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            try:
                membership = access_workspace(request.user, ws, perm)
            except PermissionError:
                raise PermissionDenied(perm.value) from None
            if request.session.get(LAST_WORKSPACE_KEY) != membership.workspace.slug:
                request.session[LAST_WORKSPACE_KEY] = membership.workspace.slug
            return view(request, membership, *args, **kwargs)

        update_wrapper(wrapper, view)
        return login_required(wrapper)

    return decorate


def workspace_context(membership: Membership, active: str, **extra: Any) -> dict[str, Any]:
    role = Role(membership.role)
    return {
        "membership": membership,
        "workspace": membership.workspace,
        "role_label": ROLE_LABELS[role],
        "role_help": ROLE_HELP[role],
        "can": can_map(membership.role),
        "nav": workspace_nav(membership),
        "nav_active": active,
        **extra,
    }
