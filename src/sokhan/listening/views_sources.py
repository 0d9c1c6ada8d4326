"""The sources page: where mentions come from, with when each was last polled and its last error;
adding a search, hashtag, bot-chats or feed source; enabling, disabling and removing one; and
importing a JSONL or CSV file (its per-line errors shown on the page)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.listening import services_sources
from sokhan.listening.forms import ImportForm, SourceForm
from sokhan.listening.models import Source
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error


def _page(
    request: HttpRequest,
    membership: Membership,
    *,
    form: SourceForm | None = None,
    import_form: ImportForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    workspace = membership.workspace
    channels = services_sources.channels_for(workspace)
    context = workspace_context(
        membership,
        "listening",
        tab="sources",
        sources=Source.objects.filter(workspace=workspace).select_related("channel"),
        form=form or SourceForm(channels=channels),
        import_form=import_form or ImportForm(),
        channel_kinds=[(kind.label, channels[kind]) for kind in services_sources.CHANNEL_KINDS],
        **extra,
    )
    return render(request, "listening/sources.html", context, status=status)


@workspace_page(Perm.LISTENING_VIEW)
@require_http_methods(["GET", "POST"])
def sources(request: HttpRequest, membership: Membership) -> HttpResponse:
    if request.method != "POST":
        return _page(request, membership)
    form = SourceForm(request.POST, channels=services_sources.channels_for(membership.workspace))
    if form.is_valid():
        data = form.cleaned_data
        try:
            source = services_sources.source_create(
                actor=membership,
                kind=data["kind"],
                name=data["name"],
                channel_id=data["channel"],
                target=data["target"],
                ip=client_ip(request),
            )
        except NotAllowed:
            raise PermissionDenied(Perm.LISTENING_MANAGE.value) from None
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, _("Source “%(name)s” added.") % {"name": source.name})
            return redirect("listening:sources", ws=membership.workspace.slug)
    return _page(request, membership, form=form, status=400)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def source_import(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, membership, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        summary = services_sources.source_import(
            actor=membership,
            fileobj=upload,
            file_name=upload.name or "",
            file_format=form.cleaned_data["file_format"],
            ip=client_ip(request),
        )
    except DomainError as error:
        apply_domain_error(form, error)
        return _page(request, membership, import_form=form, status=400)
    return _page(
        request,
        membership,
        import_form=ImportForm(),
        import_result=summary,
        import_name=upload.name,
        more_errors=summary.error_count - len(summary.errors),
        status=400 if summary.error_count else 200,
    )


def _source(membership: Membership, source_id: int) -> Source:
    try:
        return services_sources.source_get(membership.workspace, source_id)
    except DomainError:
        raise Http404("no such source") from None


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def source_toggle(request: HttpRequest, membership: Membership, source_id: int) -> HttpResponse:
    source = _source(membership, source_id)
    services_sources.source_set_enabled(
        actor=membership, source_id=source.pk, enabled=not source.enabled, ip=client_ip(request)
    )
    return redirect("listening:sources", ws=membership.workspace.slug)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def source_delete(request: HttpRequest, membership: Membership, source_id: int) -> HttpResponse:
    source = _source(membership, source_id)
    services_sources.source_delete(actor=membership, source_id=source.pk, ip=client_ip(request))
    messages.success(request, _("Source “%(name)s” removed.") % {"name": source.name})
    return redirect("listening:sources", ws=membership.workspace.slug)
