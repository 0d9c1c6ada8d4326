"""First start: a one-time link that creates the owner account while no user exists."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils.translation import gettext as _

from sokhan.core.errors import Conflict
from sokhan.core.models import User, Workspace
from sokhan.core.services import organization_get, workspace_create

_SALT = "sokhan.setup"
SETUP_MAX_AGE = 60 * 60 * 24


def setup_needed() -> bool:
    return not User.objects.exists()


def setup_token() -> str:
    return signing.dumps("owner-setup", salt=_SALT)


def setup_link() -> str:
    return f"{settings.BASE_URL}/setup/{setup_token()}/"


def setup_token_valid(token: str) -> bool:
    """Valid while no user exists and the token is younger than a day."""
    if not setup_needed():
        return False
    try:
        return bool(signing.loads(token, salt=_SALT, max_age=SETUP_MAX_AGE) == "owner-setup")
    except signing.BadSignature:
        return False


def _serialise_setup() -> None:
    """Make concurrent first-start submissions take turns.

    SQLite already serialises writers (every transaction begins IMMEDIATE); PostgreSQL needs a lock,
    since "no user exists yet" cannot be protected by a row lock on a row that does not exist.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sokhan.owner_setup'))")


def owner_setup(
    *,
    email: str,
    password: str,
    full_name: str,
    organization_name: str,
    workspace_name: str,
    timezone_name: str,
    calendar: str,
    language: str,
) -> tuple[User, Workspace]:
    """Create the owner, name the organisation and create the first workspace, all or nothing.

    Raises ``Conflict`` when an account already exists (the setup link is single-use).
    """
    with transaction.atomic():
        _serialise_setup()
        if not setup_needed():
            raise Conflict(_("Sokhan is already set up; sign in instead."))
        user = User.objects.create_user(email, password, full_name=full_name.strip())
        organization = organization_get()
        organization.name = organization_name.strip() or organization.name
        organization.save(update_fields=["name"])
        workspace = workspace_create(
            owner=user,
            name=workspace_name,
            timezone_name=timezone_name,
            calendar=calendar,
            language=language,
        )
    return user, workspace
