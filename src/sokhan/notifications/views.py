"""The notifications page: the member's notifications in this workspace, mark read, and the
email preference."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.notifications import services
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import current_user

PER_PAGE = 50


@workspace_page(Perm.WORKSPACE_VIEW)
def notification_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    user = current_user(request)
    rows = services.notifications_of(user, membership.workspace).order_by("-created_at", "-pk")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = workspace_context(
        membership,
        "notifications",
        page=page,
        unread=services.unread_count(user, membership.workspace),
        email_enabled=services.email_enabled(user),
    )
    return render(request, "notifications/list.html", context)


@workspace_page(Perm.WORKSPACE_VIEW)
@require_POST
def notification_read(request: HttpRequest, membership: Membership, notification_id: int) -> HttpResponse:
    """Mark one read; with ``open`` set, go to what it is about."""
    row = services.mark_read(current_user(request), membership.workspace, notification_id)
    if row is None:
        raise Http404("notification not found")
    if request.POST.get("open") and row.url and url_has_allowed_host_and_scheme(row.url, allowed_hosts=None):
        return redirect(row.url)
    return redirect("notifications:list", ws=membership.workspace.slug)


@workspace_page(Perm.WORKSPACE_VIEW)
@require_POST
def notification_read_all(request: HttpRequest, membership: Membership) -> HttpResponse:
    count = services.mark_all_read(current_user(request), membership.workspace)
    messages.success(request, _("Marked %(n)s notifications read.") % {"n": count})
    return redirect("notifications:list", ws=membership.workspace.slug)


@workspace_page(Perm.WORKSPACE_VIEW)
@require_POST
def email_preference(request: HttpRequest, membership: Membership) -> HttpResponse:
    enabled = request.POST.get("email") == "on"
    services.set_email_enabled(current_user(request), enabled)
    messages.success(
        request, _("Notifications will be emailed to you.") if enabled else _("Notifications will not be emailed.")
    )
    return redirect("notifications:list", ws=membership.workspace.slug)
