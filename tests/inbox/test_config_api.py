"""Inbox configuration over the API: rules CRUD, reorder and dry run, saved replies, inbox
settings, teams and the report; scoped to the workspace, with the pages' permissions."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import Resolver404, path, resolve
from django.utils import timezone
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox import rules as R
from sokhan.inbox.models import InboxSettings, Message, Rule, RuleHit, SavedReply, Team
from sokhan.ops.bench_sink import make_channel

from .test_rules import make_conversation, make_message, owner_membership

pytestmark = pytest.mark.django_db

BASE = "/workspaces/acme/inbox"


def _router_is_mounted() -> bool:
    try:
        return resolve(f"/api/v1{BASE}/rules").url_name == "rules_list"
    except Resolver404:
        return False


_shim: types.ModuleType | None = None


def _shim_urlconf() -> types.ModuleType:
    """The site's URLs with this router on a test API in front, for as long as ``api/urls.py`` does
    not mount it yet (another change adds it there)."""
    global _shim
    if _shim is None:
        from sokhan.api.base import SokhanAPI
        from sokhan.config import urls as site
        from sokhan.inbox.api_config import router

        api = SokhanAPI(title="inbox settings (test)", version="test", urls_namespace="api")
        api.add_router("", router)
        _shim = types.ModuleType("inbox_config_api_urls")
        _shim.urlpatterns = [path("api/v1/", api.urls), *site.urlpatterns]  # type: ignore[attr-defined]
    return _shim


@pytest.fixture(autouse=True)
def _mounted(settings: Any) -> Iterator[None]:
    if not _router_is_mounted():
        settings.ROOT_URLCONF = _shim_urlconf()
    yield


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["admin"]))


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return owner_membership(owner, workspace)


@pytest.fixture
def telegram(workspace: Workspace) -> Channel:
    return make_channel(workspace, "", network="telegram", display_name="کانال تلگرام", remote_id="tg-1")


def session_api(user: User) -> ApiClient:
    client = Client()
    sign_in(client, user.email)
    return ApiClient(client=client)


RULE = {
    "name": "قیمت",
    "conditions": [{"field": "keywords", "op": "any", "value": ["قیمت"]}],
    "actions": [{"action": "tag", "value": "sales"}],
}


# ------------------------------------------------------------------ rules


def test_rules_crud(api: ApiClient, workspace: Workspace) -> None:
    created = api.post(f"{BASE}/rules", RULE)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["name"] == "قیمت" and rule["position"] == 0 and rule["enabled"] is True
    second = api.post(f"{BASE}/rules", {**RULE, "name": "دوم", "stop": True}).json()
    assert [r["name"] for r in api.get(f"{BASE}/rules").json()] == ["قیمت", "دوم"]
    assert api.get(f"{BASE}/rules/{rule['id']}").json()["conditions"] == RULE["conditions"]
    patched = api.patch(f"{BASE}/rules/{rule['id']}", {"enabled": False}).json()
    assert patched["enabled"] is False and patched["name"] == "قیمت" and patched["actions"] == RULE["actions"]
    order = api.post(f"{BASE}/rules/reorder", {"ids": [second["id"], rule["id"]]}).json()
    assert [r["name"] for r in order] == ["دوم", "قیمت"]
    assert_error(api.post(f"{BASE}/rules/reorder", {"ids": [rule["id"]]}), 400)
    assert api.delete(f"{BASE}/rules/{rule['id']}").status_code == 204
    assert list(Rule.objects.values_list("name", flat=True)) == ["دوم"]
    assert AuditEvent.objects.filter(action="inbox.rule.create").count() == 2


def test_rule_errors_name_the_field(api: ApiClient) -> None:
    bad = {**RULE, "actions": [{"action": "tag", "value": "x"}, {"action": "assign", "value": {"user": 999999}}]}
    error = assert_error(api.post(f"{BASE}/rules", bad), 400)
    assert "actions.1.value" in error["fields"] and "Action 2" in error["message"]
    error = assert_error(api.post(f"{BASE}/rules", {**RULE, "conditions": [{"field": "mood"}]}), 400)
    assert "conditions.0.field" in error["fields"]
    assert not Rule.objects.exists()


def test_dry_run_writes_nothing(api: ApiClient, telegram: Channel) -> None:
    hit = make_message(make_conversation(telegram), "قيمت؟")
    make_message(make_conversation(telegram, key="post-2"), "سلام")
    body = {**RULE, "actions": [{"action": "hide"}, {"action": "auto_reply", "value": "{author_name} جان، سلام"}]}
    response = api.post(f"{BASE}/rules/dry-run", {**body, "last_n": 5})
    assert response.status_code == 200, response.content
    rows = response.json()
    assert len(rows) == 2
    [match] = [r for r in rows if r["matches"]]
    assert match["message_id"] == hit.pk and match["conditions"] == [True]
    assert [a["result"] for a in match["actions"]] == ["would apply", "would apply"]
    assert "علی جان، سلام" in match["actions"][1]["detail"]
    assert not Rule.objects.exists() and not RuleHit.objects.exists()
    assert not Message.objects.filter(hidden=True).exists()


def test_scoping_and_permissions(owner: User, owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = R.rule_create(owner_membership(owner, other), {"name": "theirs", "actions": [{"action": "close"}]})
    api = ApiClient(make_token(owner, workspace, ["admin"]))
    assert_error(api.get(f"{BASE}/rules/{theirs.pk}"), 404)
    assert_error(api.patch(f"{BASE}/rules/{theirs.pk}", {"name": "mine"}), 404)
    assert_error(api.delete(f"{BASE}/rules/{theirs.pk}"), 404)
    assert Rule.objects.get(pk=theirs.pk).name == "theirs"

    editor = make_member(Role.EDITOR)
    as_editor = session_api(editor)
    assert as_editor.get(f"{BASE}/rules").status_code == 200
    assert_error(as_editor.post(f"{BASE}/rules", RULE), 403, "forbidden")
    assert_error(as_editor.request("PATCH", f"{BASE}/settings", {"brand_name": "x"}), 403, "forbidden")
    write_only = ApiClient(make_token(owner, workspace, ["write"]))
    assert_error(write_only.post(f"{BASE}/rules", RULE), 403, "insufficient_scope")

    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    assert_error(session_api(stranger).get(f"{BASE}/rules"), 404)
    theirs_token = ApiClient(make_token(owner, other, ["admin"]))
    assert_error(theirs_token.get(f"{BASE}/rules"), 404)


# ------------------------------------------------------------------ saved replies


def test_saved_replies_crud(api: ApiClient, owner: User, workspace: Workspace, make_member: Any) -> None:
    created = api.post(
        f"{BASE}/saved-replies", {"title": "تشکر", "text": "سلام {author_name} و {نام}", "language": "fa"}
    )
    assert created.status_code == 201
    reply = created.json()
    assert reply["unknown_variables"] == ["نام"]
    api.post(f"{BASE}/saved-replies", {"title": "thanks", "text": "Thanks!", "language": "en"})
    assert [r["title"] for r in api.get(f"{BASE}/saved-replies", {"language": "fa"}).json()] == ["تشکر"]
    patched = api.patch(f"{BASE}/saved-replies/{reply['id']}", {"text": "سلام {author_name}"}).json()
    assert patched["unknown_variables"] == [] and patched["title"] == "تشکر"
    assert api.get(f"{BASE}/saved-replies/{reply['id']}").json()["text"] == "سلام {author_name}"
    assert_error(api.post(f"{BASE}/saved-replies", {"title": "", "text": "x"}), 400)
    viewer = make_member(Role.VIEWER)
    assert_error(session_api(viewer).get(f"{BASE}/saved-replies"), 403)
    assert api.delete(f"{BASE}/saved-replies/{reply['id']}").status_code == 204
    assert list(SavedReply.objects.values_list("title", flat=True)) == ["thanks"]
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = SavedReply.objects.create(workspace=other, title="t", text="x")
    assert_error(api.get(f"{BASE}/saved-replies/{theirs.pk}"), 404)
    assert_error(api.delete(f"{BASE}/saved-replies/{theirs.pk}"), 404)


# ------------------------------------------------------------------ settings and teams


def test_settings_read_defaults_and_update(api: ApiClient, workspace: Workspace, make_member: Any) -> None:
    defaults = api.get(f"{BASE}/settings").json()
    assert defaults["updated_at"] is None and defaults["timezone"] == "Asia/Tehran"
    assert defaults["business_hours"]["5"] == [["09:00", "17:00"]]
    boss = make_member(Role.MANAGER, "boss@example.com")
    response = api.patch(
        f"{BASE}/settings",
        {"escalation_owner": boss.pk, "crisis_keywords": ["نشت"], "business_hours": {"0": [["10:00", "18:00"]]}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["escalation_owner_email"] == "boss@example.com" and body["crisis_keywords"] == ["نشت"]
    assert body["business_hours"] == {"0": [["10:00", "18:00"]]} and body["updated_at"]
    error = assert_error(api.patch(f"{BASE}/settings", {"business_hours": {"0": [["10:00", "25:00"]]}}), 400)
    assert "business_hours.0.0" in error["fields"]
    assert_error(api.patch(f"{BASE}/settings", {"escalation_owner": 999999}), 400)
    cleared = api.patch(f"{BASE}/settings", {"escalation_owner": None}).json()
    assert cleared["escalation_owner"] is None
    assert InboxSettings.objects.get(workspace=workspace).crisis_keywords == ["نشت"]


def test_teams_crud(api: ApiClient, owner: User, workspace: Workspace, make_member: Any) -> None:
    agent = make_member(Role.EDITOR, "agent@example.com")
    created = api.post(f"{BASE}/teams", {"name": "پشتیبانی", "members": [agent.pk]})
    assert created.status_code == 201
    team = created.json()
    assert team["member_emails"] == ["agent@example.com"]
    assert [t["name"] for t in api.get(f"{BASE}/teams").json()] == ["پشتیبانی"]
    assert api.patch(f"{BASE}/teams/{team['id']}", {"members": []}).json()["members"] == []
    error = assert_error(api.post(f"{BASE}/teams", {"name": "پشتیبانی"}), 400)
    assert "name" in error["fields"]
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = Team.objects.create(workspace=other, name="theirs")
    assert_error(api.patch(f"{BASE}/teams/{theirs.pk}", {"name": "mine"}), 404)
    assert api.delete(f"{BASE}/teams/{team['id']}").status_code == 204
    assert list(Team.objects.values_list("name", flat=True)) == ["theirs"]


# ------------------------------------------------------------------ report


def test_report_json(api: ApiClient, telegram: Channel, owner: User) -> None:
    conversation = make_conversation(telegram)
    message = make_message(conversation, "سلام", minutes_ago=120)
    Message.objects.filter(pk=message.pk).update(answered_at=timezone.now() - timedelta(minutes=60), answered_by=owner)
    make_message(conversation, "؟", minutes_ago=30)
    body = api.get(f"{BASE}/report").json()
    assert body["group_by"] == "total" and body["timezone"] == "Asia/Tehran"
    [total] = body["rows"]
    assert (total["received"], total["answered"], total["response_rate"]) == (2, 1, 0.5)
    assert total["first_response_time"] == pytest.approx(3600, abs=5)
    by_channel = api.get(f"{BASE}/report", {"group_by": "channel", "business_hours": "true"}).json()
    assert by_channel["business_hours"] is True and by_channel["rows"][0]["key"] == str(telegram.pk)
    assert_error(api.get(f"{BASE}/report", {"group_by": "year"}), 400)
    assert_error(api.get(f"{BASE}/report", {"start": "2025-05-10", "end": "2025-05-01"}), 400)
