"""Saved replies: variables filled in (Persian and English), unknown ones left visible and
reported, the language filter, and the audited services; plus the inbox settings and teams
services (defaults, validation, audit)."""

from __future__ import annotations

from typing import Any

import pytest

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox import inbox_settings as S
from sokhan.inbox.models import InboxSettings, Kind, SavedReply, Team
from sokhan.inbox.saved_replies import (
    render_saved_reply,
    saved_replies_for,
    saved_reply_check,
    saved_reply_create,
    saved_reply_delete,
    saved_reply_update,
)
from sokhan.ops.bench_sink import make_channel

from .test_rules import make_conversation, make_message, owner_membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return owner_membership(owner, workspace)


@pytest.fixture
def telegram(workspace: Workspace) -> Channel:
    return make_channel(workspace, "", network="telegram", display_name="کانال تلگرام", remote_id="tg-1")


def member_of(user: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=user, workspace=workspace)


# ------------------------------------------------------------------ rendering


def test_persian_reply_is_filled_in(workspace: Workspace, telegram: Channel, owner: User) -> None:
    InboxSettings.objects.create(workspace=workspace, brand_name="کافه آکمه")
    conversation = make_conversation(telegram, contact_name="علی", contact_handle="ali_1")
    text = "سلام {author_name} عزیز، از {brand_name} ممنونیم"
    assert render_saved_reply(text, conversation, owner) == "سلام علی عزیز، از کافه آکمه ممنونیم"
    assert render_saved_reply("— {agent_name}، {channel_name}", conversation, owner) == "— Owner، کانال تلگرام"


def test_english_reply_and_fallbacks(workspace: Workspace, telegram: Channel, make_member: Any) -> None:
    agent = make_member(Role.EDITOR, "sam@example.com")  # no full name: the e-mail stands in
    conversation = make_conversation(telegram, Kind.DM, "dm", contact_name="", contact_handle="jane")
    text = "Hi {author_name} (@{author_handle}), thanks for writing to {brand_name}. {agent_name}"
    assert render_saved_reply(text, conversation, agent) == (
        "Hi jane (@jane), thanks for writing to Acme Coffee. sam@example.com"
    )
    # an automatic reply has no agent: it signs with the brand, and names the message's own author
    message = make_message(conversation, "hello", author_name="Jane Doe", author_handle="jane")
    assert render_saved_reply("{agent_name} → {author_name}", conversation, None, message=message) == (
        "Acme Coffee → Jane Doe"
    )


def test_unknown_variables_stay_visible_and_are_reported(workspace: Workspace, telegram: Channel) -> None:
    conversation = make_conversation(telegram)
    text = "سلام {نام} و {author_nmae}، {author_name} {author_nmae}"
    assert render_saved_reply(text, conversation, None) == "سلام {نام} و {author_nmae}، علی {author_nmae}"
    assert saved_reply_check(text) == ["نام", "author_nmae"]
    assert saved_reply_check("Hi {author_name}, see {brand_name}") == []
    assert saved_reply_check("no variables { here }") == []


# ------------------------------------------------------------------ services


def test_crud_is_audited(owner_m: Membership, workspace: Workspace) -> None:
    reply = saved_reply_create(owner_m, {"title": " تشکر ", "text": "ممنون {author_name}", "language": "FA"})
    assert (reply.title, reply.language, reply.created_by) == ("تشکر", "fa", owner_m.user)
    saved_reply_update(owner_m, reply.pk, {"text": "Thanks {author_name}!", "language": "en"})
    reply.refresh_from_db()
    assert reply.title == "تشکر" and reply.text == "Thanks {author_name}!"
    saved_reply_update(owner_m, reply.pk, {"text": "Thanks {author_name}!"})  # no change: no audit entry
    saved_reply_delete(owner_m, reply.pk)
    assert not SavedReply.objects.exists()
    actions = list(AuditEvent.objects.filter(action__startswith="inbox.saved_reply").values_list("action", flat=True))
    assert sorted(actions) == ["inbox.saved_reply.create", "inbox.saved_reply.delete", "inbox.saved_reply.update"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "", "text": "x"}, "title"),
        ({"title": "t" * 121, "text": "x"}, "title"),
        ({"title": "t", "text": "  "}, "text"),
        ({"title": "t", "text": "x", "language": "Persian"}, "language"),
    ],
)
def test_validation_names_the_field(owner_m: Membership, data: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        saved_reply_create(owner_m, data)
    assert field in raised.value.fields


def test_unknown_variables_do_not_stop_saving(owner_m: Membership) -> None:
    reply = saved_reply_create(owner_m, {"title": "t", "text": "Hi {nmae}"})
    assert saved_reply_check(reply.text) == ["nmae"]


def test_permissions_and_scoping(owner: User, owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    viewer = make_member(Role.VIEWER)
    with pytest.raises(NotAllowed):
        saved_reply_create(member_of(viewer, workspace), {"title": "t", "text": "x"})
    editor = make_member(Role.EDITOR)
    reply = saved_reply_create(member_of(editor, workspace), {"title": "t", "text": "x"})  # agents may
    other = workspace_create(owner=owner, name="Other", slug="other")
    with pytest.raises(NotFound):
        saved_reply_update(owner_membership(owner, other), reply.pk, {"title": "mine"})


def test_language_filter(owner_m: Membership, workspace: Workspace) -> None:
    for title, language in (("b-fa", "fa"), ("a-en", "en"), ("c-any", ""), ("a-fa", "fa-IR")):
        saved_reply_create(owner_m, {"title": title, "text": "x", "language": language})
    assert [r.title for r in saved_replies_for(workspace)] == ["a-en", "a-fa", "b-fa", "c-any"]
    assert [r.title for r in saved_replies_for(workspace, language="fa")] == ["a-fa", "b-fa", "c-any"]
    assert [r.title for r in saved_replies_for(workspace, language="en")] == ["a-en", "c-any"]


# ------------------------------------------------------------------ inbox settings and teams


def test_settings_defaults_follow_the_workspace_language(owner: User, workspace: Workspace) -> None:
    row = S.inbox_settings_for(workspace)  # a Persian workspace: the Iranian working week
    assert row.pk is None and row.timezone == "Asia/Tehran"
    assert row.business_hours["5"] == [["09:00", "17:00"]] and row.business_hours["3"] == [["09:00", "13:00"]]
    assert "4" not in row.business_hours  # Friday closed
    english = workspace_create(owner=owner, name="Intl", slug="intl", language="en", timezone_name="Europe/London")
    hours = S.inbox_settings_for(english).business_hours
    assert hours["0"] == [["09:00", "17:00"]] and "5" not in hours and "6" not in hours
    assert not InboxSettings.objects.exists()  # reading writes nothing


def test_settings_save_validates_and_audits(owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    boss = make_member(Role.MANAGER, "boss@example.com")
    row = S.inbox_settings_save(
        owner_m,
        {
            "business_hours": {"5": [["08:00", "12:00"], ["13:00", "16:00"]]},
            "timezone": "Asia/Tehran",
            "brand_name": "کافه آکمه",
            "guidelines": "مودب باشید",
            "escalation_owner": boss.pk,
            "crisis_keywords": ["نشت", " نشت ", "هک شدن"],
        },
    )
    assert row.escalation_owner == boss and row.crisis_keywords == ["نشت", "هک شدن"]
    assert S.inbox_settings_for(workspace).business_hours == {"5": [["08:00", "12:00"], ["13:00", "16:00"]]}
    event = AuditEvent.objects.get(action="inbox.settings.update")
    assert event.data["escalation_owner"]["to"] == "boss@example.com"
    S.inbox_settings_save(owner_m, {"brand_name": "کافه آکمه"})  # unchanged: no second entry
    assert AuditEvent.objects.filter(action="inbox.settings.update").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"business_hours": {"2": [["17:00", "09:00"]]}}, "business_hours.2.0"),
        ({"business_hours": {"9": []}}, "business_hours.9"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"escalation_owner": 999999}, "escalation_owner"),
        ({"crisis_keywords": "نشت"}, "crisis_keywords"),
        ({"escalate_negative": "yes"}, "escalate_negative"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_settings_errors_name_the_field(owner_m: Membership, data: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        S.inbox_settings_save(owner_m, data)
    assert field in raised.value.fields, raised.value.fields
    assert not InboxSettings.objects.exists()


def test_escalation_owner_must_be_a_member(owner: User, owner_m: Membership) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    stranger = User.objects.create_user("stranger@example.com", "x" * 12)
    Membership.objects.create(workspace=other, user=stranger, role=Role.ADMIN)
    with pytest.raises(DomainError) as raised:
        S.inbox_settings_save(owner_m, {"escalation_owner": stranger.pk})
    assert "escalation_owner" in raised.value.fields


def test_teams(owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    agent = make_member(Role.EDITOR, "agent@example.com")
    team = S.team_save(owner_m, {"name": "پشتیبانی", "members": [agent.pk]})
    assert list(team.members.all()) == [agent]
    with pytest.raises(DomainError) as raised:
        S.team_save(owner_m, {"name": "پشتیبانی"})
    assert "name" in raised.value.fields
    with pytest.raises(DomainError) as raised:
        S.team_save(owner_m, {"name": "فروش", "members": [999999]})
    assert "members" in raised.value.fields
    S.team_save(owner_m, {"name": "پشتیبانی فنی"}, team_id=team.pk)
    team.refresh_from_db()
    assert team.name == "پشتیبانی فنی" and list(team.members.all()) == [agent]  # members kept
    S.team_delete(owner_m, team.pk)
    assert not Team.objects.exists()
    actions = sorted(AuditEvent.objects.filter(action__startswith="inbox.team").values_list("action", flat=True))
    assert actions == ["inbox.team.create", "inbox.team.delete", "inbox.team.update"]
    editor = member_of(agent, workspace)
    with pytest.raises(NotAllowed):
        S.team_save(editor, {"name": "x"})
