"""Sign-in (password, then a TOTP code when enabled), sign-out, first-start setup, password reset."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from sokhan.core.errors import Conflict, DomainError
from sokhan.core.models import User
from sokhan.core.services import audit_login
from sokhan.core.setup import owner_setup, setup_needed, setup_token_valid
from sokhan.web import throttle, twofactor
from sokhan.web.forms import CodeForm, LoginForm, SetupForm
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error, safe_next

BACKEND = "django.contrib.auth.backends.ModelBackend"
PENDING_KEY = "sokhan_pending_login"
PENDING_SECONDS = 5 * 60


def _too_many() -> str:
    return _("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.") % {
        "minutes": throttle.WINDOW_SECONDS // 60
    }


def finish_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    ip = client_ip(request)
    login(request, user, backend=BACKEND)
    throttle.login_succeeded(user.email, ip)
    audit_login(user=user, ip=ip)
    return redirect(next_url)


@sensitive_post_parameters("password")
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, reverse("web:home"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        ip = client_ip(request)
        if throttle.login_blocked(email, ip):
            form.add_error(None, _too_many())
            status = 429
        else:
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if not isinstance(user, User):
                throttle.login_failed(email, ip)
                form.add_error(None, _("The email or the password is wrong."))
                status = 400
            elif user.totp_enabled:
                request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
                return redirect("web:login_code")
            else:
                return finish_login(request, user, next_url)
    return render(
        request,
        "web/auth/login.html",
        {"form": form, "next": next_url, "setup_needed": setup_needed()},
        status=status,
    )


def login_code_view(request: HttpRequest) -> HttpResponse:
    """Second step for accounts with two-factor sign-in."""
    raw_pending = request.session.get(PENDING_KEY)
    pending: dict[str, Any] = raw_pending if isinstance(raw_pending, dict) else {}
    user = None
    if pending and time.time() - float(pending.get("at", 0)) < PENDING_SECONDS:
        user = User.objects.filter(pk=int(pending["user"]), is_active=True, totp_enabled=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Your sign-in expired. Enter your email and password again."))
        return redirect("web:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        ip = client_ip(request)
        if throttle.login_blocked(user.email, ip):
            form.add_error(None, _too_many())
            status = 429
        elif twofactor.verify_and_consume(user, form.cleaned_data["code"]):
            request.session.pop(PENDING_KEY, None)
            return finish_login(request, user, str(pending.get("next") or reverse("web:home")))
        else:
            throttle.login_failed(user.email, ip)
            form.add_error("code", _("This code is wrong or was already used. Wait for the next code."))
            status = 400
    return render(request, "web/auth/login_code.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, _("You have signed out."))
    return redirect("web:login")


@sensitive_post_parameters("password1", "password2")
def setup_view(request: HttpRequest, token: str) -> HttpResponse:
    """First start: the one-time link creates the owner, the organisation and the first workspace."""
    if not setup_token_valid(token):
        return render(request, "web/auth/setup_invalid.html", status=404)
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, workspace = owner_setup(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                organization_name=data["organization"],
                workspace_name=data["workspace_name"],
                timezone_name=data["timezone"],
                calendar=data["calendar"],
                language=data["language"],
            )
        except Conflict:
            return render(request, "web/auth/setup_invalid.html", status=404)
        except DomainError as error:
            apply_domain_error(form, error, {"name": "workspace_name", "timezone": "timezone"})
        else:
            login(request, user, backend=BACKEND)
            audit_login(user=user, ip=client_ip(request))
            messages.success(request, _("Welcome to Sokhan. Your workspace is ready."))
            return redirect("web:workspace", ws=workspace.slug)
    return render(request, "web/auth/setup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/auth/password_reset.html"
    email_template_name = "web/email/password_reset.txt"
    subject_template_name = "web/email/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/auth/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "web/auth/password_reset_confirm.html"
    success_url = reverse_lazy("web:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/auth/password_reset_complete.html"
