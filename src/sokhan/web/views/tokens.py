"""Personal API tokens for the workspace: create (raw token shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership, PersonalAccessToken
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import token_create, token_revoke
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.forms import SCOPE_LABELS, TokenForm
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error

NEW_TOKEN_KEY = "sokhan_new_token"  # noqa: S105 - a session key name


@workspace_page(Perm.TOKENS_USE)
def tokens(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            try:
                token, raw = token_create(
                    actor=membership,
                    name=form.cleaned_data["name"],
                    scopes=list(form.cleaned_data["scopes"]),
                    expires_in_days=int(days) if days else None,
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                request.session[NEW_TOKEN_KEY] = {"name": token.name, "raw": raw}
                return redirect("web:tokens", ws=membership.workspace.slug)
        status = 400
    see_all = role_can(membership.role, Perm.MEMBERS_MANAGE)
    listed = PersonalAccessToken.objects.filter(workspace=membership.workspace).select_related("user")
    if not see_all:
        listed = listed.filter(user=membership.user)
    rows = [
        (token, [str(SCOPE_LABELS.get(s, s)) for s in token.scopes])
        for token in listed.order_by("revoked_at", "-created_at")
    ]
    context = workspace_context(
        membership,
        "tokens",
        form=form,
        rows=rows,
        see_all=see_all,
        new_token=request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None,
    )
    return render(request, "web/workspace/tokens.html", context, status=status)


@workspace_page(Perm.TOKENS_USE)
@require_POST
def token_revoke_view(request: HttpRequest, membership: Membership, token_id: int) -> HttpResponse:
    try:
        token_revoke(actor=membership, token_id=token_id, ip=client_ip(request))
    except NotFound:
        raise Http404("token not found") from None
    messages.success(request, _("Token revoked."))
    return redirect("web:tokens", ws=membership.workspace.slug)
