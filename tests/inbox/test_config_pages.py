"""The inbox configuration pages: settings (business hours, escalation, teams), rules (list,
order, enable, delete, edit with a dry run), saved replies with variable warnings, and the response
report with its CSV export; members only."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox import rules as R
from sokhan.inbox.models import InboxSettings, Message, Rule, RuleHit, SavedReply, Team
from sokhan.ops.bench_sink import make_channel

from .test_rules import make_conversation, make_message, owner_membership

pytestmark = pytest.mark.django_db

BASE = "/w/acme/inbox"


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return owner_membership(owner, workspace)


@pytest.fixture
def telegram(workspace: Workspace) -> Channel:
    return make_channel(workspace, "", network="telegram", display_name="کانال تلگرام", remote_id="tg-1")


@pytest.fixture
def client(owner: User, workspace: Workspace) -> Client:
    client = Client()
    sign_in(client, owner.email)
    return client


def signed_in(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


PAGES = ["/settings/", "/rules/", "/rules/new/", "/replies/", "/replies/new/", "/report/"]


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_for_the_owner_and_404_for_strangers(client: Client, page: str) -> None:
    response = client.get(BASE + page)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert 'class="tabs"' in response.content.decode()
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    assert signed_in(stranger).get(BASE + page).status_code == 404


def test_roles_see_what_they_may_use(workspace: Workspace, make_member: Any) -> None:
    editor = signed_in(make_member(Role.EDITOR))
    assert editor.get(f"{BASE}/settings/").status_code == 403
    assert editor.get(f"{BASE}/rules/").status_code == 403
    assert editor.get(f"{BASE}/replies/new/").status_code == 200  # agents write saved replies
    assert editor.get(f"{BASE}/report/").status_code == 200
    viewer = signed_in(make_member(Role.VIEWER))
    assert viewer.get(f"{BASE}/replies/").status_code == 403


def test_unknown_ids_are_404(client: Client, owner: User) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = R.rule_create(owner_membership(owner, other), {"name": "theirs", "actions": [{"action": "close"}]})
    assert client.get(f"{BASE}/rules/{theirs.pk}/").status_code == 404
    assert client.post(f"{BASE}/rules/{theirs.pk}/delete/").status_code == 404
    assert client.get(f"{BASE}/replies/999999/").status_code == 404
    assert Rule.objects.filter(pk=theirs.pk).exists()


# ------------------------------------------------------------------ settings


def settings_form(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {f"hours_{d}": "" for d in range(7)}
    data.update(
        {
            "hours_5": "۰۹:۰۰-۱۳:۰۰، 14:00-18:00",  # Saturday, Persian digits and comma
            "hours_6": "09:00 تا 17:00",
            "timezone": "Asia/Tehran",
            "brand_name": "کافه آکمه",
            "guidelines": "پاسخ در کمتر از یک ساعت",
            "escalation_owner": "",
            "escalate_negative": "on",
            "crisis_keywords": "نشت اطلاعات\nهک",
        }
    )
    data.update(extra)
    return data


def test_settings_page_saves_hours_escalation_and_keywords(client: Client, workspace: Workspace, owner: User) -> None:
    html = client.get(f"{BASE}/settings/").content.decode()
    assert "Saturday" in html and "Business hours" in html and 'name="hours_5"' in html
    assert html.index('name="hours_5"') < html.index('name="hours_0"')  # the week starts on Saturday here
    response = client.post(f"{BASE}/settings/", settings_form(escalation_owner=str(owner.pk)))
    assert response.status_code == 302
    row = InboxSettings.objects.get(workspace=workspace)
    assert row.business_hours == {"5": [["09:00", "13:00"], ["14:00", "18:00"]], "6": [["09:00", "17:00"]]}
    assert row.crisis_keywords == ["نشت اطلاعات", "هک"] and row.escalation_owner == owner
    html = client.get(f"{BASE}/settings/").content.decode()
    assert "09:00-13:00, 14:00-18:00" in html and "کافه آکمه" in html


def test_settings_page_shows_errors_on_the_day(client: Client, workspace: Workspace) -> None:
    response = client.post(f"{BASE}/settings/", settings_form(hours_2="17:00-09:00"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "must end after it starts" in html
    assert not InboxSettings.objects.filter(workspace=workspace).exists()


def test_teams_on_the_settings_page(client: Client, workspace: Workspace, make_member: Any) -> None:
    agent = make_member(Role.EDITOR, "agent@example.com")
    client.post(f"{BASE}/settings/teams/", {"name": "پشتیبانی", "members": [str(agent.pk)]})
    team = Team.objects.get(workspace=workspace)
    assert list(team.members.all()) == [agent]
    html = client.get(f"{BASE}/settings/").content.decode()
    assert "پشتیبانی" in html and f'data-team="{team.pk}"' in html
    client.post(f"{BASE}/settings/teams/{team.pk}/", {"name": "فروش"})
    team.refresh_from_db()
    assert team.name == "فروش" and team.members.count() == 0
    duplicate = client.post(f"{BASE}/settings/teams/", {"name": "فروش"}, follow=True)
    assert "already a team" in duplicate.content.decode()
    client.post(f"{BASE}/settings/teams/{team.pk}/delete/")
    assert not Team.objects.exists()


# ------------------------------------------------------------------ rules


def rule_form(name: str = "قیمت", **definition: Any) -> dict[str, Any]:
    body = {
        "conditions": [{"field": "keywords", "op": "any", "value": ["قیمت"]}],
        "actions": [{"action": "tag", "value": "sales"}],
    }
    body.update(definition)
    return {
        "name": name,
        "enabled": "on",
        "match_all": "1",
        "definition": json.dumps(body, ensure_ascii=False),
        "last_n": "50",
        "action": "save",
    }


def test_rule_create_edit_and_list(client: Client, workspace: Workspace) -> None:
    response = client.post(f"{BASE}/rules/new/", rule_form())
    assert response.status_code == 302
    rule = Rule.objects.get(workspace=workspace)
    assert rule.conditions == [{"field": "keywords", "op": "any", "value": ["قیمت"]}] and rule.enabled
    html = client.get(f"{BASE}/rules/").content.decode()
    assert "قیمت" in html and "Add tag: sales" in html and 'dir="auto"' in html
    edit = client.get(f"{BASE}/rules/{rule.pk}/").content.decode()
    assert "rule-builder-options" in edit and "config_rules.js" in edit and "&quot;keywords&quot;" in edit
    client.post(f"{BASE}/rules/{rule.pk}/", {**rule_form("قیمت و تخفیف"), "match_all": "0", "stop": "on"})
    rule.refresh_from_db()
    assert rule.name == "قیمت و تخفیف" and not rule.match_all and rule.stop


def test_rule_errors_name_the_condition(client: Client) -> None:
    bad = rule_form(conditions=[{"field": "followers", "op": "gte", "value": -5}])
    response = client.post(f"{BASE}/rules/new/", bad)
    assert response.status_code == 400
    assert "Condition 1 (followers)" in response.content.decode()
    broken = {**rule_form(), "definition": "{not json"}
    assert "not valid JSON" in client.post(f"{BASE}/rules/new/", broken).content.decode()
    assert not Rule.objects.exists()


def test_rule_order_toggle_and_delete(client: Client, owner_m: Membership) -> None:
    a = R.rule_create(owner_m, {"name": "a", "actions": [{"action": "close"}]})
    b = R.rule_create(owner_m, {"name": "b", "actions": [{"action": "close"}]})
    client.post(f"{BASE}/rules/{b.pk}/move/", {"direction": "up"})
    assert [r.name for r in R.rules_for(owner_m.workspace)] == ["b", "a"]
    client.post(f"{BASE}/rules/{b.pk}/move/", {"direction": "down"})
    assert [r.name for r in R.rules_for(owner_m.workspace)] == ["a", "b"]
    client.post(f"{BASE}/rules/{a.pk}/toggle/")
    a.refresh_from_db()
    assert not a.enabled
    assert "Disabled" in client.get(f"{BASE}/rules/").content.decode()
    client.post(f"{BASE}/rules/{a.pk}/delete/")
    assert list(Rule.objects.values_list("name", flat=True)) == ["b"]
    assert client.get(f"{BASE}/rules/{a.pk}/move/").status_code == 405


def test_dry_run_on_the_page_shows_matches_and_saves_nothing(client: Client, telegram: Channel) -> None:
    hit = make_message(make_conversation(telegram), "قيمت چنده؟")
    make_message(make_conversation(telegram, key="post-2"), "سلام")
    data = {**rule_form(actions=[{"action": "tag", "value": "sales"}, {"action": "hide"}]), "action": "dry_run"}
    data["last_n"] = "10"
    response = client.post(f"{BASE}/rules/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The rule matches 1 of the last 2 messages." in html
    assert f'data-message="{hit.pk}" data-matches="1"' in html and "would apply" in html
    assert not Rule.objects.exists() and not RuleHit.objects.exists()
    assert not Message.objects.filter(hidden=True).exists()


# ------------------------------------------------------------------ saved replies


def test_saved_reply_with_unknown_variable_warns(client: Client, workspace: Workspace) -> None:
    response = client.post(
        f"{BASE}/replies/new/", {"title": "تشکر", "text": "سلام {author_name} و {نام}", "language": "fa"}, follow=True
    )
    html = response.content.decode()
    reply = SavedReply.objects.get(workspace=workspace)
    assert response.redirect_chain[-1][0] == f"{BASE}/replies/{reply.pk}/"
    assert "Unknown variables" in html and "{نام}" in html
    listing = client.get(f"{BASE}/replies/").content.decode()
    assert "تشکر" in listing and "Unknown variables:" in listing
    fixed = client.post(
        f"{BASE}/replies/{reply.pk}/", {"title": "تشکر", "text": "سلام {author_name}", "language": "fa"}
    )
    assert fixed.status_code == 302 and fixed["Location"] == f"{BASE}/replies/"
    assert "Unknown variables:" not in client.get(f"{BASE}/replies/").content.decode()
    client.post(f"{BASE}/replies/{reply.pk}/delete/")
    assert not SavedReply.objects.exists()


def test_saved_reply_form_errors(client: Client) -> None:
    response = client.post(f"{BASE}/replies/new/", {"title": "", "text": "x"})
    assert response.status_code == 400 and not SavedReply.objects.exists()


# ------------------------------------------------------------------ report


@pytest.fixture
def answered(telegram: Channel, owner: User) -> Message:
    conversation = make_conversation(telegram)
    message = make_message(conversation, "سلام", minutes_ago=120)
    Message.objects.filter(pk=message.pk).update(answered_at=timezone.now() - timedelta(minutes=90), answered_by=owner)
    make_message(conversation, "هنوز منتظرم", minutes_ago=60)
    return message


def test_report_page_in_jalali_for_a_persian_reader(owner: User, answered: Message) -> None:
    client = signed_in(owner, language="fa")
    html = client.get(f"{BASE}/report/").content.decode()
    assert 'dir="rtl"' in html
    start = re.search(r'name="start" value="([^"]+)"', html)
    assert start and start.group(1).startswith("14")  # a Jalali year, e.g. 1404/…
    assert "۵۰.۰٪" in html  # one of two answered, in Persian digits
    assert "<td>۲</td>" in html and "<td>۱</td>" in html


def test_report_grouping_business_hours_and_csv(client: Client, answered: Message, telegram: Channel) -> None:
    html = client.get(f"{BASE}/report/", {"group_by": "channel"}).content.decode()
    assert "کانال تلگرام" in html and "50.0%" in html and "30 min" in html
    today = timezone.localdate()
    params = {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat(), "group_by": "day"}
    assert client.get(f"{BASE}/report/", params).status_code == 200
    bh = client.get(f"{BASE}/report/", {**params, "business_hours": "on"})
    assert bh.status_code == 200 and "business hours only" in bh.content.decode()
    csv = client.get(f"{BASE}/report/", {"group_by": "channel", "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "attachment" in csv["Content-Disposition"]
    body = csv.content.decode("utf-8")
    assert body.startswith("\ufeffgroup_by,key,label,received,answered,response_rate")
    assert f"channel,{telegram.pk},کانال تلگرام,2,1,0.5000" in body
    bh_csv = client.get(f"{BASE}/report/", {**params, "business_hours": "on", "format": "csv"}).content.decode()
    assert "first_response_time_business_hours" in bh_csv


def test_report_rejects_a_backwards_period(client: Client) -> None:
    response = client.get(f"{BASE}/report/", {"start": "2025-05-10", "end": "2025-05-01"})
    assert response.status_code == 400 and "must end after it starts" in response.content.decode()
