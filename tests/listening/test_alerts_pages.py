"""The alerts pages: the list with figures, top mentions, the mentions link and deliveries;
acknowledging; starting crisis mode from an alert; destinations (managers only, the webhook's
signing secret shown to them alone); roles, strangers and the Persian page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from tests.web.helpers import sign_in

from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.listening import alert_destinations as dest
from sokhan.listening import alerts
from sokhan.listening.models import Alert, AlertDestination, Incident, Topic
from sokhan.publishing.services import publishing_control

from .test_alerts import NOW, PREVIOUS, burst, make_topic, owner_membership, steady

pytestmark = pytest.mark.django_db

BASE = "/w/acme/listening/alerts/"


@pytest.fixture(autouse=True)
def _private_ok(settings: Any) -> None:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = True


@pytest.fixture
def topic(workspace: Workspace) -> Topic:
    made = make_topic(workspace)
    steady(made)
    return made


@pytest.fixture
def alert(workspace: Workspace, topic: Topic) -> Alert:
    burst(topic)
    [made] = alerts.detect_workspace(workspace, now=NOW)
    return made


def signed_in(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


def test_the_alerts_page_shows_figures_mentions_and_links(owner: User, alert: Alert) -> None:
    html = signed_in(owner).get(BASE).content.decode()
    assert f'id="alert-{alert.pk}"' in html
    assert "Spike in mentions of “Acme Coffee”" in html
    assert "60 mentions in the hour from" in html and "usually about 10.0" in html
    assert "@user_big" in html and html.index("@user_big") < html.index("@user_mid")  # widest reach first
    hour = PREVIOUS.strftime("%Y-%m-%dT%H:00Z")
    assert f"/w/acme/listening/mentions/?topic={alert.topic_id}&amp;hour={hour.replace(':', '%3A')}" in html
    assert "Start crisis mode" in html and 'class="tabs"' in html


def test_filters_and_paging(owner: User, alert: Alert) -> None:
    client = signed_in(owner)
    assert f'id="alert-{alert.pk}"' in client.get(f"{BASE}?show=open").content.decode()
    alerts.alert_acknowledge(owner_membership(alert.workspace), alert.pk)
    html = client.get(f"{BASE}?show=open").content.decode()
    assert f'id="alert-{alert.pk}"' not in html and 'id="no-alerts"' in html
    assert f'id="alert-{alert.pk}"' in client.get(f"{BASE}?topic={alert.topic_id}").content.decode()
    assert 'id="no-alerts"' in client.get(f"{BASE}?topic=999999").content.decode()


def test_acknowledge_from_the_page(owner: User, alert: Alert, make_member: Any) -> None:
    analyst = make_member(Role.ANALYST)
    response = signed_in(analyst).post(f"{BASE}{alert.pk}/acknowledge/")
    assert response.status_code == 302 and response["Location"].endswith(f"#alert-{alert.pk}")
    alert.refresh_from_db()
    assert alert.acknowledged_by_id == analyst.pk
    html = signed_in(owner).get(BASE).content.decode()
    assert "Acknowledged by" in html


def test_start_crisis_mode_from_an_alert_in_one_action(owner: User, alert: Alert) -> None:
    client = signed_in(owner)
    page = client.get(BASE).content.decode()
    form = re.search(r'<form method="post" action="/w/acme/listening/crisis/start/".*?</form>', page, re.S)
    assert form is not None
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))
    response = client.post("/w/acme/listening/crisis/start/", fields)
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/w/acme/listening/crisis/{incident.pk}/"
    assert incident.alert_id == alert.pk and incident.title == "Spike in mentions of “Acme Coffee”"
    assert list(incident.topics.all()) == [alert.topic]
    assert publishing_control(alert.workspace).paused
    assert "Start crisis mode" not in client.get(BASE).content.decode()  # one incident at a time


def test_destinations_for_managers_with_the_signing_secret(owner: User, workspace: Workspace, make_member: Any) -> None:
    client = signed_in(owner)
    assert "No destinations yet" in client.get(f"{BASE}destinations/").content.decode()
    response = client.post(f"{BASE}destinations/", {"kind": "webhook", "target": "http://127.0.0.1:8099/x"})
    assert response.status_code == 302
    hook = AlertDestination.objects.get()
    html = client.get(f"{BASE}destinations/").content.decode()
    assert dest.webhook_secret(hook) in html
    bad = client.post(f"{BASE}destinations/", {"kind": "email", "target": "nope"})
    assert bad.status_code == 400 and "Enter an email address." in bad.content.decode()

    analyst = signed_in(make_member(Role.ANALYST))
    page = analyst.get(f"{BASE}destinations/")
    assert page.status_code == 200 and dest.webhook_secret(hook) not in page.content.decode()
    assert analyst.post(f"{BASE}destinations/", {"kind": "in_app"}).status_code == 403
    assert analyst.post(f"{BASE}destinations/{hook.pk}/toggle/").status_code == 403
    assert client.post(f"{BASE}destinations/{hook.pk}/toggle/").status_code == 302
    hook.refresh_from_db()
    assert not hook.enabled
    assert client.post(f"{BASE}destinations/{hook.pk}/delete/").status_code == 302
    assert not AlertDestination.objects.exists()


def test_roles_strangers_and_other_workspaces(owner: User, alert: Alert, make_member: Any) -> None:
    viewer = signed_in(make_member(Role.VIEWER))
    assert viewer.get(BASE).status_code == 403
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    assert signed_in(stranger).get(BASE).status_code == 404
    other = workspace_create(owner=owner, name="Other", slug="other")
    client = signed_in(owner)
    assert client.post(f"/w/other/listening/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert f'id="alert-{alert.pk}"' not in client.get("/w/other/listening/alerts/").content.decode()
    assert other.pk != alert.workspace_id


def test_the_persian_page(owner: User, alert: Alert) -> None:
    html = signed_in(owner, language="fa").get(BASE).content.decode()
    assert 'dir="rtl"' in html
    assert "۶۰" in html  # the observed count in Persian digits
    assert "۱۴۰۵" in html  # the hour in the workspace's Jalali calendar (March 2026 is Farvardin 1405)
