"""Create users and workspaces from the command line, with the same validation the web app uses."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from sokhan.core.errors import DomainError
from sokhan.core.models import Calendar, Language, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.ops.errors import OpsError


def normalise_email(email: str) -> str:
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise OpsError(f"--email: {email!r} is not a valid email address.") from None
    return User.objects.normalize_email(email).lower()


def password_problems(password: str, *, email: str, full_name: str) -> list[str]:
    """Django's password validators, judged against the user who will own the password."""
    if not password:
        return ["The password is empty."]
    try:
        validate_password(password, user=User(email=email, full_name=full_name))
    except ValidationError as exc:
        return [str(m) for m in exc.messages]
    return []


@transaction.atomic
def user_create(*, email: str, password: str, full_name: str = "") -> User:
    email = normalise_email(email)
    full_name = full_name.strip()
    if User.objects.filter(email__iexact=email).exists():
        raise OpsError(f"--email: a user with the email {email} already exists.")
    problems = password_problems(password, email=email, full_name=full_name)
    if problems:
        raise OpsError("Password rejected: " + " ".join(problems))
    return User.objects.create_user(email, password, full_name=full_name)


def workspace_create_for(
    *,
    name: str,
    owner_email: str,
    slug: str = "",
    timezone_name: str = "Asia/Tehran",
    calendar: str = Calendar.JALALI,
    language: str = Language.PERSIAN,
) -> Workspace:
    owner = User.objects.filter(email__iexact=owner_email.strip()).first()
    if owner is None:
        raise OpsError(
            f"--owner: no user has the email {owner_email.strip()!r}; create one first with "
            "`sokhan createuser --email ...`."
        )
    if calendar not in Calendar.values:
        raise OpsError(f"--calendar: unknown calendar {calendar!r}; use one of {', '.join(Calendar.values)}.")
    if language not in Language.values:
        raise OpsError(f"--language: unknown language {language!r}; use one of {', '.join(Language.values)}.")
    try:
        return workspace_create(
            owner=owner,
            name=name,
            slug=slug,
            timezone_name=timezone_name,
            calendar=calendar,
            language=language,
        )
    except DomainError as exc:
        fields = ", ".join(f"--{f.replace('_', '-')}" for f in exc.fields)
        raise OpsError(f"{fields}: {exc.message}" if fields else exc.message) from None
