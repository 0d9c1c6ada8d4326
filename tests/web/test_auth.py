"""Sign-in with password and TOTP, throttling, sign-out and password reset by email."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.core import mail
from django.test import Client

from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.web import throttle

from .helpers import PASSWORD, sign_in


def _enable_totp(user: User) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = True
    user.save()
    return pyotp.TOTP(secret)


def _is_signed_in(client: Client) -> bool:
    return client.get("/account/").status_code == 200


def test_login_redirects_to_workspace_and_audits(owner: User, workspace: Workspace) -> None:
    client = Client()
    response = client.post("/login/", {"email": "OWNER@example.com", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
    assert client.get("/")["Location"] == f"/w/{workspace.slug}/"
    login = AuditEvent.objects.get(workspace=workspace, action="auth.login")
    assert (login.actor, login.ip) == (owner, "10.1.2.3")


def test_wrong_password_is_refused(owner: User) -> None:
    client = Client()
    response = client.post("/login/", {"email": owner.email, "password": "wrong password!"})
    assert response.status_code == 400
    assert "The email or the password is wrong." in response.content.decode()
    assert not _is_signed_in(client)


def test_failed_logins_are_throttled_per_email_and_ip(owner: User) -> None:
    client = Client()
    for _ in range(throttle.MAX_FAILURES):
        client.post("/login/", {"email": owner.email, "password": "nope nope nope"}, REMOTE_ADDR="10.0.0.9")
    blocked = client.post("/login/", {"email": owner.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.content.decode()
    assert not _is_signed_in(client)
    # Another address is not blocked for the same account.
    other = Client()
    assert (
        other.post("/login/", {"email": owner.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.10").status_code == 302
    )


def test_totp_login_wrong_code_then_right_code_then_replay(owner: User, workspace: Workspace) -> None:
    totp = _enable_totp(owner)
    client = Client()
    step1 = client.post("/login/", {"email": owner.email, "password": PASSWORD})
    assert step1["Location"] == "/login/code/"
    assert not _is_signed_in(client)  # password alone is not enough

    client.post("/login/", {"email": owner.email, "password": PASSWORD})
    wrong_code = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    wrong = client.post("/login/code/", {"code": wrong_code})
    assert wrong.status_code == 400
    assert "This code is wrong or was already used" in wrong.content.decode()

    code = totp.now()
    ok = client.post("/login/code/", {"code": code})
    assert ok.status_code == 302
    assert _is_signed_in(client)

    # The same code cannot be used again, even in a fresh sign-in within its time step.
    replay = Client()
    replay.post("/login/", {"email": owner.email, "password": PASSWORD})
    refused = replay.post("/login/code/", {"code": code})
    assert refused.status_code == 400
    assert not _is_signed_in(replay)


def test_totp_code_accepts_persian_digits(owner: User, workspace: Workspace) -> None:
    totp = _enable_totp(owner)
    client = Client()
    client.post("/login/", {"email": owner.email, "password": PASSWORD})
    persian = totp.now().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert client.post("/login/code/", {"code": persian}).status_code == 302


def test_code_step_without_password_step_sends_back_to_login(owner: User) -> None:
    response = Client().get("/login/code/")
    assert response.status_code == 302 and response["Location"] == "/login/"


def test_totp_failures_count_towards_throttle(owner: User, workspace: Workspace) -> None:
    totp = _enable_totp(owner)
    client = Client()
    client.post("/login/", {"email": owner.email, "password": PASSWORD})
    for _ in range(throttle.MAX_FAILURES):
        client.post("/login/code/", {"code": "000000" if totp.now() != "000000" else "111111"})
    blocked = client.post("/login/code/", {"code": totp.now()})
    assert blocked.status_code == 429


def test_logout_needs_post(owner_client: Client) -> None:
    assert owner_client.get("/logout/").status_code == 405
    assert _is_signed_in(owner_client)
    assert owner_client.post("/logout/").status_code == 302
    assert not _is_signed_in(owner_client)


def test_password_reset_email_link_sets_a_new_password(owner: User, workspace: Workspace) -> None:
    client = Client()
    response = client.post("/password-reset/", {"email": owner.email})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == "Reset your Sokhan password"
    link = re.search(r"http://testserver(/password-reset/[^/\s]+/[^/\s]+/)", message.body)
    assert link, message.body
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    new_password = "a brand new passphrase"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302 and done["Location"] == "/password-reset/complete/"
    owner.refresh_from_db()
    assert owner.check_password(new_password)
    sign_in(Client(), owner.email, new_password)
    # The link is single-use.
    assert "This reset link is not valid" in Client().get(link.group(1), follow=True).content.decode()


def test_password_reset_for_unknown_email_sends_nothing(db: None) -> None:
    response = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_login_page_hints_setup_when_no_user_exists(db: None) -> None:
    html = Client().get("/login/").content.decode()
    assert "one-time setup link" in html
    assert Client().get("/").status_code == 200  # the welcome page, not a redirect loop


@pytest.mark.parametrize("path", ["/", "/account/", "/w/acme/"])
def test_anonymous_visitors_are_sent_to_login(owner: User, workspace: Workspace, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_totp_time_drift_of_one_step_is_accepted(owner: User, workspace: Workspace) -> None:
    totp = _enable_totp(owner)
    client = Client()
    client.post("/login/", {"email": owner.email, "password": PASSWORD})
    previous = totp.at(time.time() - 30)
    assert client.post("/login/code/", {"code": previous}).status_code == 302
