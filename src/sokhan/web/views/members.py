"""Members: list, invite, change role, remove; pending invitations; accepting an invitation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Invitation, Membership, User
from sokhan.core.permissions import ROLE_LABELS, Perm, Role, assignable_roles, role_can
from sokhan.core.services import (
    audit_login,
    invitation_accept,
    invitation_create,
    invitation_lookup,
    invitation_revoke,
    membership_remove,
    membership_set_role,
)
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.forms import InviteForm, InviteSignupForm, RoleForm
from sokhan.web.http import client_ip, current_user
from sokhan.web.views.auth import BACKEND
from sokhan.web.views.common import apply_domain_error, is_htmx

INVITE_LINK_KEY = "sokhan_invite_link"


def _manageable(actor: Membership, member: Membership) -> bool:
    """Whether the actor's page offers role/remove controls for this member."""
    if not role_can(actor.role, Perm.MEMBERS_MANAGE) or member.pk == actor.pk:
        return False
    return member.role != Role.OWNER or actor.role == Role.OWNER


def _member_rows(actor: Membership) -> list[dict[str, Any]]:
    roles = assignable_roles(actor.role) if role_can(actor.role, Perm.MEMBERS_MANAGE) else []
    rows = []
    members = Membership.objects.filter(workspace=actor.workspace).select_related("user")
    for member in members.order_by("user__full_name", "user__email"):
        rows.append(_row(actor, member, roles))
    return rows


def _row(actor: Membership, member: Membership, roles: list[Role], error: str = "") -> dict[str, Any]:
    manageable = _manageable(actor, member)
    return {
        "member": member,
        "role_label": ROLE_LABELS[Role(member.role)],
        "manageable": manageable,
        "role_form": RoleForm(initial={"role": member.role}, roles=roles, prefix=f"m{member.pk}")
        if manageable
        else None,
        "is_self": member.pk == actor.pk,
        "error": error,
    }


def _render_members(
    request: HttpRequest, membership: Membership, invite_form: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    can_manage = role_can(membership.role, Perm.MEMBERS_MANAGE)
    roles = assignable_roles(membership.role) if can_manage else []
    invitations = (
        Invitation.objects.filter(
            workspace=membership.workspace,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-created_at")
        if can_manage
        else Invitation.objects.none()
    )
    context = workspace_context(
        membership,
        "members",
        rows=_member_rows(membership),
        invitations=[(inv, ROLE_LABELS[Role(inv.role)]) for inv in invitations],
        invite_form=invite_form or (InviteForm(roles=roles) if can_manage else None),
        invite_link=request.session.pop(INVITE_LINK_KEY, None),
    )
    return render(request, "web/members/list.html", context, status=status)


@workspace_page(Perm.MEMBERS_VIEW)
def members(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _render_members(request, membership)


@workspace_page(Perm.MEMBERS_MANAGE)
@require_POST
def member_invite(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = InviteForm(request.POST, roles=assignable_roles(membership.role))
    if form.is_valid():
        try:
            invitation, raw = invitation_create(
                actor=membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                ip=client_ip(request),
            )
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            request.session[INVITE_LINK_KEY] = request.build_absolute_uri(
                reverse("web:invitation", kwargs={"token": raw})
            )
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("web:members", ws=membership.workspace.slug)
    return _render_members(request, membership, invite_form=form, status=400)


@workspace_page(Perm.MEMBERS_MANAGE)
@require_POST
def member_role(request: HttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    roles = assignable_roles(membership.role)
    form = RoleForm(request.POST, roles=roles, prefix=f"m{member_id}")
    error = ""
    if form.is_valid():
        try:
            membership_set_role(
                actor=membership, member_id=member_id, role=form.cleaned_data["role"], ip=client_ip(request)
            )
        except NotFound:
            raise Http404("member not found") from None
        except DomainError as exc:
            error = exc.message
    else:
        error = _("Choose one of the offered roles.")
    if is_htmx(request):
        member = Membership.objects.select_related("user").filter(workspace=membership.workspace, pk=member_id).first()
        if member is None:
            raise Http404("member not found")
        row = _row(membership, member, roles, error=error)
        if not error:
            row["saved"] = True
        return render(request, "web/members/_member_row.html", {"row": row, **workspace_context(membership, "members")})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Role changed."))
    return redirect("web:members", ws=membership.workspace.slug)


@workspace_page(Perm.MEMBERS_MANAGE)
@require_POST
def member_remove(request: HttpRequest, membership: Membership, member_id: int) -> HttpResponse:
    try:
        membership_remove(actor=membership, member_id=member_id, ip=client_ip(request))
    except NotFound:
        raise Http404("member not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Member removed."))
    if member_id == membership.pk:
        return redirect("web:home")
    return redirect("web:members", ws=membership.workspace.slug)


@workspace_page(Perm.MEMBERS_MANAGE)
@require_POST
def invitation_cancel(request: HttpRequest, membership: Membership, invitation_id: int) -> HttpResponse:
    try:
        invitation_revoke(actor=membership, invitation_id=invitation_id, ip=client_ip(request))
    except NotFound:
        raise Http404("invitation not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Invitation revoked."))
    return redirect("web:members", ws=membership.workspace.slug)


@sensitive_post_parameters("password1", "password2")
def invitation_view(request: HttpRequest, token: str) -> HttpResponse:
    """Shows the workspace and role; a visitor signs up (email fixed) or signs in, then accepts."""
    try:
        invitation = invitation_lookup(token)
    except NotFound as error:
        return render(request, "web/members/invitation_invalid.html", {"message": error.message}, status=404)
    context: dict[str, Any] = {
        "invitation": invitation,
        "role_label": ROLE_LABELS[Role(invitation.role)],
        "token": token,
    }
    ip = client_ip(request)
    if request.user.is_authenticated:
        user = current_user(request)
        context["wrong_account"] = user.email.lower() != invitation.email
        if request.method == "POST":
            try:
                invitation_accept(raw=token, user=user, ip=ip)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("You joined %(name)s.") % {"name": invitation.workspace.name})
                return redirect("web:workspace", ws=invitation.workspace.slug)
        return render(request, "web/members/invitation.html", context)

    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = f"{reverse('web:login')}?next={reverse('web:invitation', kwargs={'token': token})}"
        return render(request, "web/members/invitation.html", context)

    form = InviteSignupForm(request.POST or None, email=invitation.email)
    context["signup_form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email, form.cleaned_data["password1"], full_name=form.cleaned_data["full_name"]
                )
                invitation_accept(raw=token, user=user, ip=ip)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend=BACKEND)
            audit_login(user=user, ip=ip)
            messages.success(request, _("Welcome! You joined %(name)s.") % {"name": invitation.workspace.name})
            return redirect("web:workspace", ws=invitation.workspace.slug)
    return render(request, "web/members/invitation.html", context, status=400 if form.errors else 200)
