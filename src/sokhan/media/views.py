"""Media library pages: the library (upload + HTMX list), one asset (alt text, network fit), the
original file (scoped), delete. Thin: ``services`` does the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.media.models import Asset
from sokhan.media.renditions import ffmpeg_available
from sokhan.media.services import (
    ALT_TEXT_MAX,
    asset_delete,
    asset_fit_report,
    asset_get,
    asset_list,
    asset_set_alt_text,
    asset_upload,
)
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error, is_htmx

LIBRARY_ROWS = 200


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Image or video"),
        help_text=gettext_lazy("JPEG, PNG, GIF, WebP, MP4, MOV, WebM or MKV. The type is read from the file itself."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,video/*"}),
    )
    alt_text = forms.CharField(
        label=gettext_lazy("Alt text"),
        help_text=gettext_lazy("Describes the picture for people who cannot see it."),
        required=False,
        max_length=ALT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )


class AltTextForm(forms.Form):
    alt_text = forms.CharField(
        label=gettext_lazy("Alt text"),
        required=False,
        max_length=ALT_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )


def _asset(membership: Membership, asset_id: int) -> Asset:
    try:
        return asset_get(membership.workspace, asset_id)
    except NotFound:
        raise Http404("media not found") from None


def _context(membership: Membership, **extra: Any) -> dict[str, Any]:
    return workspace_context(membership, "media", **extra)


@workspace_page(Perm.POSTS_VIEW)
@require_http_methods(["GET", "POST"])
def library(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = UploadForm()
    status = 200
    if request.method == "POST":
        if not role_can(membership.role, Perm.POSTS_DRAFT):
            raise PermissionDenied(Perm.POSTS_DRAFT.value)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = asset_upload(
                    actor=membership,
                    chunks=upload.chunks(),
                    name=upload.name or "",
                    alt_text=form.cleaned_data["alt_text"],
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
                status = 400
            else:
                if result.created:
                    messages.success(request, _("Uploaded %(name)s.") % {"name": result.asset})
                else:
                    messages.info(request, _("This file is already in the library."))
                if not is_htmx(request):
                    return redirect("media:library", ws=membership.workspace.slug)
                form = UploadForm()
        else:
            status = 400
    assets = list(asset_list(membership.workspace)[:LIBRARY_ROWS])
    context = _context(membership, form=form, assets=assets)
    template = "media/_library.html" if is_htmx(request) else "media/library.html"
    return render(request, template, context, status=status)


@workspace_page(Perm.POSTS_VIEW)
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, membership: Membership, asset_id: int) -> HttpResponse:
    asset = _asset(membership, asset_id)
    form = AltTextForm(initial={"alt_text": asset.alt_text})
    status = 200
    if request.method == "POST":
        form = AltTextForm(request.POST)
        if form.is_valid():
            try:
                asset_set_alt_text(
                    actor=membership, asset_id=asset.pk, alt_text=form.cleaned_data["alt_text"], ip=client_ip(request)
                )
            except DomainError as error:
                apply_domain_error(form, error)
                status = 400
            else:
                messages.success(request, _("Alt text saved."))
                return redirect("media:detail", ws=membership.workspace.slug, asset_id=asset.pk)
        else:
            status = 400
    context = _context(
        membership,
        asset=asset,
        form=form,
        fits=asset_fit_report(membership.workspace, asset),
        ffmpeg=ffmpeg_available(),
    )
    return render(request, "media/detail.html", context, status=status)


@workspace_page(Perm.POSTS_VIEW)
@require_GET
def original_file(request: HttpRequest, membership: Membership, asset_id: int) -> FileResponse:
    asset = _asset(membership, asset_id)
    if not asset.path.exists():
        raise Http404("file missing")
    response = FileResponse(asset.path.open("rb"), content_type=asset.mime_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@workspace_page(Perm.POSTS_EDIT)
@require_POST
def delete(request: HttpRequest, membership: Membership, asset_id: int) -> HttpResponse:
    asset = _asset(membership, asset_id)
    asset_delete(actor=membership, asset_id=asset.pk, ip=client_ip(request))
    messages.success(request, _("Deleted %(name)s.") % {"name": asset})
    return redirect("media:library", ws=membership.workspace.slug)
