"""First start: a one-time link that creates the owner account while no user exists."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

from sokhan.core.models import User

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
