"""The whole first-run journey: setup link → owner → invite an editor → what each role sees."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from sokhan.core.models import AuditEvent, Membership, Organization, User, Workspace
from sokhan.core.setup import setup_token

from .helpers import PASSWORD, nav_links, sign_in

OWNER_EMAIL = "maryam@example.com"
EDITOR_EMAIL = "reza@example.com"


def _setup_owner(client: Client) -> Workspace:
    token = setup_token()
    page = client.get(f"/setup/{token}/")
    assert page.status_code == 200
    assert "Set up Sokhan" in page.content.decode()
    response = client.post(
        f"/setup/{token}/",
        {
            "full_name": "Maryam Ahmadi",
            "email": OWNER_EMAIL,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "organization": "Ahmadi Agency",
            "workspace_name": "Acme Coffee",
            "timezone": "Asia/Tehran",
            "calendar": "jalali",
            "language": "en",
        },
    )
    workspace = Workspace.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/w/{workspace.slug}/"
    return workspace


@pytest.mark.django_db
def test_setup_link_creates_owner_workspace_and_signs_in() -> None:
    client = Client()
    workspace = _setup_owner(client)
    owner = User.objects.get(email=OWNER_EMAIL)
    assert owner.full_name == "Maryam Ahmadi"
    assert Organization.objects.get().name == "Ahmadi Agency"
    assert (workspace.name, workspace.timezone, workspace.calendar) == (
        "Acme Coffee",
        "Asia/Tehran",
        "jalali",
    )
    assert Membership.objects.get(workspace=workspace).role == "owner"
    overview = client.get(f"/w/{workspace.slug}/")
    assert overview.status_code == 200
    assert "Acme Coffee" in overview.content.decode()
    # The link is one-time: once a user exists it shows "not valid" and creates nothing.
    again = Client().get(f"/setup/{setup_token()}/")
    assert again.status_code == 404
    assert "Setup link not valid" in again.content.decode()


@pytest.mark.django_db
def test_setup_rejects_weak_password_and_bad_link() -> None:
    assert Client().get("/setup/not-a-real-token/").status_code == 404
    client = Client()
    response = client.post(
        f"/setup/{setup_token()}/",
        {
            "full_name": "A",
            "email": "a@example.com",
            "password1": "12345678901",
            "password2": "12345678901",
            "organization": "Org",
            "workspace_name": "WS",
            "timezone": "Asia/Tehran",
            "calendar": "jalali",
            "language": "fa",
        },
    )
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "entirely numeric" in response.content.decode()


@pytest.mark.django_db
def test_owner_invites_editor_who_sees_only_what_the_role_allows(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    owner = Client()
    workspace = _setup_owner(owner)
    ws = workspace.slug

    # Owner invites an editor; the link is emailed and shown once for copying.
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(f"/w/{ws}/members/invite/", {"email": EDITOR_EMAIL, "role": "editor"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EDITOR_EMAIL]
    emailed = re.search(r"/invite/([\w-]+)/", mail.outbox[0].body)
    assert emailed
    members_page = owner.get(f"/w/{ws}/members/").content.decode()
    shown = re.search(r'<code id="invite-link" dir="ltr">http://testserver/invite/([\w-]+)/</code>', members_page)
    assert shown and shown.group(1) == emailed.group(1)
    assert "invite-link" not in owner.get(f"/w/{ws}/members/").content.decode()  # only once
    assert EDITOR_EMAIL in members_page  # pending invitation listed

    # The invitee opens the link logged out: workspace and role are shown, email is fixed.
    invitee = Client()
    link = f"/invite/{emailed.group(1)}/"
    page = invitee.get(link).content.decode()
    assert "Join Acme Coffee" in page
    assert "Editor" in page
    assert f'value="{EDITOR_EMAIL}" readonly' in page
    response = invitee.post(
        link,
        {
            "full_name": "Reza Karimi",
            "password1": "another fine passphrase",
            "password2": "another fine passphrase",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/w/{ws}/"
    editor = User.objects.get(email=EDITOR_EMAIL)
    assert Membership.objects.get(workspace=workspace, user=editor).role == "editor"
    assert invitee.get(link).status_code == 404  # used

    # The editor sees the overview and API tokens, but no members/settings/audit links.
    overview = invitee.get(f"/w/{ws}/")
    assert overview.status_code == 200
    html = overview.content.decode()
    assert "Writes, schedules and publishes content" in html
    links = nav_links(html)
    assert f"/w/{ws}/" in links and f"/w/{ws}/tokens/" in links
    for hidden in ("members/", "settings/", "audit/"):
        assert f"/w/{ws}/{hidden}" not in links
        assert f'href="/w/{ws}/{hidden}"' not in html
    assert "Recent activity" not in html  # audit events need AUDIT_VIEW

    # Direct requests are refused with the friendly 403 page.
    owner_member = Membership.objects.get(workspace=workspace, role="owner")
    for url in (f"/w/{ws}/members/", f"/w/{ws}/settings/", f"/w/{ws}/audit/", f"/w/{ws}/audit/export.csv"):
        denied = invitee.get(url)
        assert denied.status_code == 403, url
        assert "Your role does not allow this" in denied.content.decode()
    posts = {
        f"/w/{ws}/members/invite/": {"email": "x@example.com", "role": "viewer"},
        f"/w/{ws}/members/{owner_member.pk}/role/": {f"m{owner_member.pk}-role": "viewer"},
        f"/w/{ws}/members/{owner_member.pk}/remove/": {},
        f"/w/{ws}/settings/": {
            "name": "Hacked",
            "timezone": "UTC",
            "calendar": "gregorian",
            "language": "en",
        },
    }
    for url, data in posts.items():
        assert invitee.post(url, data).status_code == 403, url
    workspace.refresh_from_db()
    assert workspace.name == "Acme Coffee"
    assert Membership.objects.filter(workspace=workspace).count() == 2

    # The editor can create an API token; the raw value is shown once.
    created = invitee.post(f"/w/{ws}/tokens/", {"name": "Zapier", "scopes": ["read"], "expires_in_days": "90"})
    assert created.status_code == 302
    tokens_page = invitee.get(f"/w/{ws}/tokens/").content.decode()
    assert re.search(r'<code id="new-token" dir="ltr">skn_[\w-]+</code>', tokens_page)
    assert "new-token" not in invitee.get(f"/w/{ws}/tokens/").content.decode()

    # The owner can open every page and sees every link.
    owner_html = owner.get(f"/w/{ws}/").content.decode()
    assert {f"/w/{ws}/{p}" for p in ("members/", "settings/", "audit/", "tokens/")} <= nav_links(owner_html)
    for url in (f"/w/{ws}/members/", f"/w/{ws}/settings/", f"/w/{ws}/audit/", f"/w/{ws}/tokens/"):
        assert owner.get(url).status_code == 200, url
    audit = owner.get(f"/w/{ws}/audit/").content.decode()
    assert "member.join" in audit and EDITOR_EMAIL in audit
    assert AuditEvent.objects.filter(workspace=workspace, action="token.create", actor=editor).exists()


@pytest.mark.django_db
def test_non_members_get_404_everywhere(make_member, workspace: Workspace) -> None:  # type: ignore[no-untyped-def]
    outsider = User.objects.create_user("outsider@example.com", PASSWORD)
    from sokhan.core.services import workspace_create

    workspace_create(owner=outsider, name="Other Brand", slug="other")
    member = Membership.objects.filter(workspace=workspace).first()
    assert member is not None
    client = Client()
    sign_in(client, outsider.email)
    ws = workspace.slug
    gets = ["", "members/", "settings/", "audit/", "audit/export.csv", "tokens/"]
    for suffix in gets:
        response = client.get(f"/w/{ws}/{suffix}")
        assert response.status_code == 404, suffix
        assert "Page not found" in response.content.decode()
    for suffix in [
        "leave/",
        "members/invite/",
        f"members/{member.pk}/role/",
        f"members/{member.pk}/remove/",
        "invitations/1/revoke/",
        "tokens/1/revoke/",
    ]:
        assert client.post(f"/w/{ws}/{suffix}").status_code == 404, suffix
        assert client.get(f"/w/{ws}/{suffix}").status_code == 404, suffix
    assert Membership.objects.filter(pk=member.pk).exists()
    # Their own workspace's switcher lists only their workspace.
    html = client.get("/w/other/").content.decode()
    assert "Other Brand" in html and "Acme Coffee" not in html
