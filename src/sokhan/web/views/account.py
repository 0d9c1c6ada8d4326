"""The signed-in user's own account: profile and display preferences, password, two-factor sign-in."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from sokhan.core.services import audit_login
from sokhan.web import twofactor
from sokhan.web.forms import CodeForm, ProfileForm, TotpDisableForm
from sokhan.web.http import client_ip, current_user

PENDING_SECRET_KEY = "sokhan_totp_pending"  # noqa: S105 - a session key name


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("web:account")
    return render(request, "web/account/profile.html", {"form": form, "account_active": "profile"})


@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def password_change(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, user)
        audit_login(user=user, ip=client_ip(request), action="auth.password_change")
        messages.success(request, _("Your password is changed."))
        return redirect("web:account_password")
    return render(request, "web/account/password.html", {"form": form, "account_active": "password"})


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Status page; while off it offers a fresh secret (QR + text) to confirm with a code."""
    user = current_user(request)
    context: dict[str, object] = {"account_active": "two_factor", "enabled": user.totp_enabled}
    status = 200
    if user.totp_enabled:
        context["disable_form"] = TotpDisableForm()
        return render(request, "web/account/two_factor.html", context)
    secret = request.session.get(PENDING_SECRET_KEY) or twofactor.new_secret()
    request.session[PENDING_SECRET_KEY] = secret
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = twofactor.matching_step(secret, form.cleaned_data["code"])
        if step is None:
            form.add_error("code", _("This code does not match. Check the time on your phone and try again."))
            status = 400
        else:
            user.totp_secret = secret
            user.totp_enabled = True
            user.totp_last_step = step  # the confirming code cannot be replayed at sign-in
            user.save(update_fields=["totp_secret", "totp_enabled", "totp_last_step"])
            request.session.pop(PENDING_SECRET_KEY, None)
            audit_login(user=user, ip=client_ip(request), action="auth.totp_enable")
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("web:account_two_factor")
    context.update(
        form=form,
        secret=secret,
        qr_svg=twofactor.qr_svg(twofactor.provisioning_uri(secret, user.email)),
    )
    return render(request, "web/account/two_factor.html", context, status=status)


@login_required
@require_POST
@sensitive_post_parameters("password")
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = TotpDisableForm(request.POST)
    if form.is_valid():
        code, password = form.cleaned_data["code"], form.cleaned_data["password"]
        ok = (bool(code) and twofactor.verify_and_consume(user, code)) or (
            bool(password) and user.check_password(password)
        )
        if ok:
            user.totp_enabled = False
            user.totp_secret = ""
            user.save(update_fields=["totp_enabled", "totp_secret"])
            audit_login(user=user, ip=client_ip(request), action="auth.totp_disable")
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("web:account_two_factor")
        form.add_error(None, _("The code or the password is wrong."))
    return render(
        request,
        "web/account/two_factor.html",
        {"account_active": "two_factor", "enabled": True, "disable_form": form},
        status=400,
    )
