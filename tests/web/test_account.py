"""The account pages: profile, password change, two-factor enable/disable."""

from __future__ import annotations

import re

import pyotp
from django.test import Client

from sokhan.core.models import AuditEvent, User, Workspace

from .helpers import PASSWORD, sign_in


def _secret(html: str) -> str:
    match = re.search(r'<code class="secret" dir="ltr">([A-Z2-7]+)</code>', html)
    assert match
    return match.group(1)


def test_enable_two_factor_with_qr_and_confirmation(owner_client: Client, owner: User, workspace: Workspace) -> None:
    page = owner_client.get("/account/two-factor/").content.decode()
    assert "<svg" in page and "<?xml" not in page
    secret = _secret(page)
    assert owner_client.get("/account/two-factor/").content.decode().count(secret) == 1  # same pending secret

    wrong = owner_client.post(
        "/account/two-factor/", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}
    )
    assert wrong.status_code == 400
    owner.refresh_from_db()
    assert not owner.totp_enabled

    code = pyotp.TOTP(secret).now()
    assert owner_client.post("/account/two-factor/", {"code": code}).status_code == 302
    owner.refresh_from_db()
    assert owner.totp_enabled and owner.totp_secret == secret
    assert AuditEvent.objects.filter(action="auth.totp_enable", actor=owner).exists()
    # The confirming code cannot be reused to sign in.
    client = Client()
    client.post("/login/", {"email": owner.email, "password": PASSWORD})
    assert client.post("/login/code/", {"code": code}).status_code == 400


def test_disable_two_factor_needs_code_or_password(owner_client: Client, owner: User, workspace: Workspace) -> None:
    owner.totp_secret = pyotp.random_base32()
    owner.totp_enabled = True
    owner.save()
    refused = owner_client.post("/account/two-factor/disable/", {"password": "not my password"})
    assert refused.status_code == 400
    empty = owner_client.post("/account/two-factor/disable/", {})
    assert "Enter a current code or your password." in empty.content.decode()
    owner.refresh_from_db()
    assert owner.totp_enabled
    assert owner_client.post("/account/two-factor/disable/", {"password": PASSWORD}).status_code == 302
    owner.refresh_from_db()
    assert not owner.totp_enabled and owner.totp_secret == ""


def test_change_password_keeps_session(owner_client: Client, owner: User, workspace: Workspace) -> None:
    new = "freshly minted passphrase"
    response = owner_client.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert owner_client.get("/account/").status_code == 200
    sign_in(Client(), owner.email, new)


def test_profile_rejects_unknown_time_zone(owner_client: Client, owner: User) -> None:
    response = owner_client.post(
        "/account/", {"full_name": "X", "language": "", "timezone": "Mars/Base", "calendar": ""}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    owner.refresh_from_db()
    assert owner.timezone == ""
