"""Home (which workspace to open), creating a workspace, the overview, settings and leaving."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sokhan.core.errors import DomainError
from sokhan.core.models import AuditEvent, Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.core.scoping import user_workspaces
from sokhan.core.services import membership_remove, workspace_create, workspace_update
from sokhan.core.setup import setup_needed
from sokhan.web.access import LAST_WORKSPACE_KEY, workspace_context, workspace_page
from sokhan.web.activity import action_label
from sokhan.web.forms import WorkspaceCreateForm, WorkspaceSettingsForm
from sokhan.web.http import client_ip, current_user
from sokhan.web.views.common import apply_domain_error

RECENT_EVENTS = 8


def home(request: HttpRequest) -> HttpResponse:
    """The last-used workspace, else the first; a page to create one when there is none."""
    if not request.user.is_authenticated:
        if setup_needed():
            return render(request, "web/auth/setup_pending.html")
        return redirect("web:login")
    workspaces = user_workspaces(current_user(request))
    last = request.session.get(LAST_WORKSPACE_KEY)
    if last and workspaces.filter(slug=last).exists():
        return redirect("web:workspace", ws=last)
    first = workspaces.first()
    if first is not None:
        return redirect("web:workspace", ws=first.slug)
    return redirect("web:workspace_new")


@login_required
def workspace_new(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = WorkspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workspace = workspace_create(
                owner=user,
                name=data["workspace_name"],
                timezone_name=data["timezone"],
                calendar=data["calendar"],
                language=data["language"],
            )
        except DomainError as error:
            apply_domain_error(form, error, {"name": "workspace_name"})
        else:
            messages.success(request, _("Workspace %(name)s created.") % {"name": workspace.name})
            return redirect("web:workspace", ws=workspace.slug)
    has_any = user_workspaces(user).exists()
    return render(request, "web/workspace/new.html", {"form": form, "has_any": has_any})


@workspace_page(Perm.WORKSPACE_VIEW)
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    events = (
        [(e, action_label(e.action)) for e in AuditEvent.objects.filter(workspace=workspace)[:RECENT_EVENTS]]
        if role_can(membership.role, Perm.AUDIT_VIEW)
        else []
    )
    context = workspace_context(
        membership,
        "overview",
        member_count=Membership.objects.filter(workspace=workspace).count(),
        events=events,
    )
    return render(request, "web/workspace/overview.html", context)


@workspace_page(Perm.WORKSPACE_SETTINGS)
def settings_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    form = WorkspaceSettingsForm(request.POST or None, initial=WorkspaceSettingsForm.initial_for(workspace))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                workspace_update(workspace=workspace, actor=membership.user, ip=client_ip(request), **form.cleaned_data)
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("web:settings", ws=workspace.slug)
        status = 400
    return render(
        request,
        "web/workspace/settings.html",
        workspace_context(membership, "settings", form=form),
        status=status,
    )


@workspace_page(Perm.WORKSPACE_VIEW)
@require_POST
def leave(request: HttpRequest, membership: Membership) -> HttpResponse:
    try:
        membership_remove(actor=membership, member_id=membership.pk, ip=client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("web:workspace", ws=membership.workspace.slug)
    request.session.pop(LAST_WORKSPACE_KEY, None)
    messages.success(request, _("You left %(name)s.") % {"name": membership.workspace.name})
    return redirect("web:home")
