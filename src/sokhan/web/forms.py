"""Web-only forms. They validate shape; the services in ``sokhan.core.services`` own the rules."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from sokhan.core.calendars import DateParseError, parse_date_guess
from sokhan.core.models import AuditEvent, Calendar, Language, User, Workspace
from sokhan.core.permissions import ROLE_LABELS, Role
from sokhan.core.services import TOKEN_SCOPES
from sokhan.web.activity import action_label


@cache
def _zones() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(available_timezones()) if "/" in z or z == "UTC"]


def timezone_choices() -> list[tuple[str, str]]:
    return _zones()


def timezone_choices_with_default() -> list[tuple[str, Any]]:
    return [("", _("Workspace default")), *_zones()]


def role_choices(roles: list[Role]) -> list[tuple[str, Any]]:
    return [(r.value, ROLE_LABELS[r]) for r in roles]


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common or all-digit password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def password_user(self) -> User | None:
        """The (unsaved) user the password is checked against for similarity."""
        return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            try:
                password_validation.validate_password(p1, self.password_user())
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class WorkspaceFieldsMixin(forms.Form):
    workspace_name = forms.CharField(label=_("Workspace name"), max_length=200)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices, initial="Asia/Tehran")
    calendar = forms.ChoiceField(label=_("Calendar"), choices=Calendar.choices, initial=Calendar.JALALI)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.PERSIAN)


class SetupForm(PasswordPairMixin, WorkspaceFieldsMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    organization = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        help_text=_("The company or agency this installation serves."),
    )

    field_order = [
        "full_name",
        "email",
        "password1",
        "password2",
        "organization",
        "workspace_name",
        "timezone",
        "calendar",
        "language",
    ]

    def password_user(self) -> User | None:
        return User(email=self.cleaned_data.get("email", ""), full_name=self.cleaned_data.get("full_name", ""))


class WorkspaceCreateForm(WorkspaceFieldsMixin):
    pass


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "dir": "ltr"}
        ),
    )


class TotpDisableForm(forms.Form):
    code = forms.CharField(
        label=_("Current 6-digit code"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}),
    )
    password = forms.CharField(
        label=_("Or your password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("code") and not data.get("password"):
            raise forms.ValidationError(_("Enter a current code or your password."))
        return data


class InviteSignupForm(PasswordPairMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)

    field_order = ["full_name", "password1", "password2"]

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def password_user(self) -> User | None:
        return User(email=self.email, full_name=self.cleaned_data.get("full_name", ""))


class ProfileForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Workspace default")), *Language.choices],
    )
    timezone = forms.ChoiceField(label=_("Time zone"), required=False, choices=timezone_choices_with_default)
    calendar = forms.ChoiceField(
        label=_("Calendar"),
        required=False,
        choices=[("", _("Workspace default")), *Calendar.choices],
    )

    class Meta:
        model = User
        fields = ("full_name", "language", "timezone", "calendar")
        labels = {"full_name": _("Full name")}


class WorkspaceSettingsForm(forms.Form):
    """The fields of ``services.SETTINGS_FIELDS``; saving goes through ``workspace_update``."""

    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices)
    calendar = forms.ChoiceField(label=_("Calendar"), choices=Calendar.choices)
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)

    @classmethod
    def initial_for(cls, workspace: Workspace) -> dict[str, Any]:
        return {name: getattr(workspace, name) for name in cls.base_fields}


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)  # type: ignore[attr-defined]
        self.fields["role"].initial = Role.EDITOR.value if Role.EDITOR in roles else None


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)  # type: ignore[attr-defined]


SCOPE_LABELS = {
    "read": _("Read workspace data"),
    "write": _("Change workspace data"),
    "admin": _("Manage members and settings"),
}

EXPIRY_CHOICES = [
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("One year")),
    ("", _("Never")),
]


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What the token is for."))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(key, SCOPE_LABELS.get(key, label)) for key, label in TOKEN_SCOPES.items()],
        initial=["read"],
        help_text=_("A token never does more than your role allows."),
    )
    expires_in_days = forms.ChoiceField(label=_("Expires after"), choices=EXPIRY_CHOICES, required=False)


def parse_calendar_date(raw: str) -> dt.date:
    """A typed date in either calendar (1404/08/30, ۱۴۰۴-۰۸-۳۰, 2025-11-21, 30 Aban 1404)."""
    try:
        value = parse_date_guess(raw)
    except DateParseError as exc:
        raise forms.ValidationError(str(exc)) from None
    return value.date() if isinstance(value, dt.datetime) else value


class CalendarDateField(forms.CharField):
    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        return parse_calendar_date(text)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.ChoiceField(label=_("Actor"), required=False)
    since = CalendarDateField(
        label=_("From"),
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    until = CalendarDateField(
        label=_("To"),
        required=False,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )

    def __init__(self, *args: Any, workspace: Workspace, calendar: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Either calendar is accepted; the hint shows the viewer's.
        example = "1404/08/30" if calendar == "jalali" else "2025-11-21"
        for name in ("since", "until"):
            self.fields[name].widget.attrs["placeholder"] = example
        events = AuditEvent.objects.filter(workspace=workspace)
        actions = events.order_by("action").values_list("action", flat=True).distinct()
        actors = events.order_by("actor_label").values_list("actor_label", flat=True).distinct()
        self.fields["action"].choices = [("", _("Any action")), *((a, action_label(a)) for a in actions)]  # type: ignore[attr-defined]
        self.fields["actor"].choices = [("", _("Anyone")), *((a, a) for a in actors if a)]  # type: ignore[attr-defined]
