"""Inbox rules: matching (Persian normalisation, whole words, AND/OR), each action's effect, stop,
escalation, the automatic-reply policy, the dry run writing nothing, validation naming the field,
and the audited services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox import rules as R
from sokhan.inbox.models import (
    Conversation,
    Direction,
    InboxSettings,
    Kind,
    Message,
    Priority,
    Rule,
    RuleHit,
    Status,
    Tag,
    Team,
)
from sokhan.notifications.models import Notification
from sokhan.ops.bench_sink import make_channel
from sokhan.runtime.models import Job

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ helpers (also used by the other test files)


def owner_membership(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


def make_conversation(channel: Channel, kind: str = Kind.COMMENT, key: str = "post-1", **extra: Any) -> Conversation:
    values: dict[str, Any] = {"contact_name": "علی", "contact_handle": "ali", "contact_remote_id": "u-1"}
    values.update(extra)
    return Conversation.objects.create(
        workspace_id=channel.workspace_id, channel=channel, kind=kind, thread_key=key, **values
    )


_counter = {"n": 0}


def make_message(conversation: Conversation, text: str = "سلام", *, minutes_ago: float = 1, **extra: Any) -> Message:
    """A received message stored the way ``ingest`` stores one (without running the rules)."""
    _counter["n"] += 1
    at = timezone.now() - timedelta(minutes=minutes_ago)
    values: dict[str, Any] = {
        "remote_id": f"m-{_counter['n']}",
        "author_name": "علی",
        "author_handle": "ali",
        "author_remote_id": "u-1",
        "language": "fa",
    }
    values.update(extra)
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel=conversation.channel,
        direction=Direction.IN,
        kind=conversation.kind,
        text=text,
        created_at=at,
        received_at=at,
        **values,
    )
    Conversation.objects.filter(pk=conversation.pk).update(awaiting_since=at, last_message_at=at, last_inbound_at=at)
    return message


def unsaved(channel: Channel, text: str = "", **extra: Any) -> Message:
    """A message for pure matching (never saved)."""
    values: dict[str, Any] = {"kind": Kind.COMMENT, "language": "fa", "sentiment": "", "author_followers": None}
    values.update(extra)
    return Message(
        workspace_id=channel.workspace_id,
        channel=channel,
        direction=Direction.IN,
        text=text,
        created_at=timezone.now(),
        **values,
    )


def jobs(name: str) -> list[Job]:
    return [job for job in Job.objects.all() if job.task_path.endswith(name)]


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return owner_membership(owner, workspace)


@pytest.fixture
def telegram(workspace: Workspace) -> Channel:
    return make_channel(workspace, "", network="telegram", display_name="کانال تلگرام", remote_id="tg-1")


@pytest.fixture
def mastodon(workspace: Workspace) -> Channel:
    return make_channel(workspace, "https://social.example", network="mastodon", display_name="Mastodon", remote_id="2")


def spec(workspace: Workspace, conditions: list[dict[str, Any]], **extra: Any) -> R.RuleSpec:
    data: dict[str, Any] = {"name": "t", "conditions": conditions, "actions": [{"action": "close"}]}
    data.update(extra)
    return R.rule_clean(workspace, data)


def keywords(workspace: Workspace, words: list[str], op: str = "any") -> R.RuleSpec:
    return spec(workspace, [{"field": "keywords", "op": op, "value": words}])


# ------------------------------------------------------------------ matching


def test_keywords_match_across_persian_letter_forms_digits_and_case(workspace: Workspace, telegram: Channel) -> None:
    assert R.rule_matches(keywords(workspace, ["كتاب"]), unsaved(telegram, "این کتاب عالی است"))  # Arabic kaf
    assert R.rule_matches(keywords(workspace, ["کتاب"]), unsaved(telegram, "این كتاب عالی است"))  # and back
    assert R.rule_matches(keywords(workspace, ["سفارش ۱۲۳"]), unsaved(telegram, "وضعیت سفارش 123 چیست؟"))
    assert R.rule_matches(keywords(workspace, ["قيمت"]), unsaved(telegram, "قیمت؟"))  # Arabic yeh
    assert R.rule_matches(keywords(workspace, ["Refund"]), unsaved(telegram, "I want a REFUND now"))
    assert R.rule_matches(keywords(workspace, ["کتابخانه"]), unsaved(telegram, "کتاب‌خانه بسته است"))  # ZWNJ


def test_keywords_are_whole_words(workspace: Workspace, telegram: Channel) -> None:
    assert not R.rule_matches(keywords(workspace, ["کار"]), unsaved(telegram, "کارخانه تعطیل است"))
    assert R.rule_matches(keywords(workspace, ["کار"]), unsaved(telegram, "این کار خوب نیست"))
    assert not R.rule_matches(keywords(workspace, ["ad"]), unsaved(telegram, "adidas shoes"))


def test_keyword_ops_any_all_none(workspace: Workspace, telegram: Channel) -> None:
    message = unsaved(telegram, "قیمت و ارسال را بگویید")
    assert R.rule_matches(keywords(workspace, ["قیمت", "تخفیف"], "any"), message)
    assert not R.rule_matches(keywords(workspace, ["قیمت", "تخفیف"], "all"), message)
    assert R.rule_matches(keywords(workspace, ["قیمت", "ارسال"], "all"), message)
    assert R.rule_matches(keywords(workspace, ["تخفیف"], "none"), message)
    assert not R.rule_matches(keywords(workspace, ["قیمت"], "none"), message)


def test_other_conditions(workspace: Workspace, telegram: Channel, mastodon: Channel) -> None:
    negative = unsaved(telegram, sentiment="negative", kind=Kind.DM, language="fa-IR", author_followers=5000)
    assert R.rule_matches(spec(workspace, [{"field": "sentiment", "value": ["negative"]}]), negative)
    assert not R.rule_matches(spec(workspace, [{"field": "sentiment", "value": ["positive"]}]), negative)
    assert R.rule_matches(spec(workspace, [{"field": "channel", "value": [telegram.pk]}]), negative)
    assert not R.rule_matches(spec(workspace, [{"field": "channel", "value": [mastodon.pk]}]), negative)
    assert R.rule_matches(spec(workspace, [{"field": "channel", "op": "not_in", "value": [mastodon.pk]}]), negative)
    assert R.rule_matches(spec(workspace, [{"field": "type", "value": ["dm"]}]), negative)
    assert not R.rule_matches(spec(workspace, [{"field": "type", "value": ["comment", "mention"]}]), negative)
    assert R.rule_matches(spec(workspace, [{"field": "language", "value": ["fa"]}]), negative)  # fa-IR is fa
    assert not R.rule_matches(spec(workspace, [{"field": "language", "value": ["en"]}]), negative)
    assert R.rule_matches(spec(workspace, [{"field": "followers", "op": "gte", "value": 1000}]), negative)
    assert not R.rule_matches(spec(workspace, [{"field": "followers", "op": "lte", "value": 1000}]), negative)
    unknown = unsaved(telegram, author_followers=None)
    for op in ("gte", "lte"):  # an unknown count is neither many nor few
        assert not R.rule_matches(spec(workspace, [{"field": "followers", "op": op, "value": 0}]), unknown)


def test_all_versus_any_condition(workspace: Workspace, telegram: Channel) -> None:
    conditions = [
        {"field": "keywords", "op": "any", "value": ["قیمت"]},
        {"field": "sentiment", "value": ["negative"]},
    ]
    message = unsaved(telegram, "قیمت چند است؟", sentiment="neutral")
    assert not R.rule_matches(spec(workspace, conditions, match_all=True), message)
    assert R.rule_matches(spec(workspace, conditions, match_all=False), message)
    assert R.rule_matches(spec(workspace, []), message)  # no conditions: every message


# ------------------------------------------------------------------ applying


def test_matching_rule_applies_its_actions_and_records_a_hit(
    owner_m: Membership, workspace: Workspace, telegram: Channel, make_member: Any
) -> None:
    agent = make_member(Role.EDITOR, "agent@example.com")
    R.rule_create(
        owner_m,
        {
            "name": "قیمت",
            "conditions": [{"field": "keywords", "op": "any", "value": ["قيمت"]}],
            "actions": [
                {"action": "tag", "value": "فروش"},
                {"action": "assign", "value": {"user": agent.pk}},
                {"action": "priority", "value": "high"},
                {"action": "notify", "value": [owner_m.user.pk]},
            ],
        },
    )
    conversation = make_conversation(telegram)
    hit_me = make_message(conversation, "قیمت این کتاب چند است؟")
    miss = make_message(conversation, "سلام")
    hits = R.apply_rules([hit_me, miss])
    assert len(hits) == 1 and hits[0].message == hit_me and hits[0].rule_name == "قیمت"
    assert [a["result"] for a in hits[0].actions] == ["done"] * 4
    conversation.refresh_from_db()
    assert [t.name for t in conversation.tags.all()] == ["فروش"]
    assert conversation.assignee == agent and conversation.priority == Priority.HIGH
    assert Notification.objects.filter(user=owner_m.user, kind="inbox.rule").count() == 1
    assert Notification.objects.filter(user=agent, kind="inbox.assigned").count() == 1
    assert AuditEvent.objects.filter(action="inbox.tag", actor=None).exists()


def test_assign_to_team_and_close(owner_m: Membership, telegram: Channel) -> None:
    team = Team.objects.create(workspace=owner_m.workspace, name="پشتیبانی")
    R.rule_create(
        owner_m,
        {"name": "all", "actions": [{"action": "assign", "value": {"team": team.pk}}, {"action": "close"}]},
    )
    conversation = make_conversation(telegram)
    R.apply_rules([make_message(conversation, "هر چیزی")])
    conversation.refresh_from_db()
    assert conversation.team == team and conversation.assignee is None and conversation.status == Status.CLOSED


def test_rules_run_in_order_and_stop_ends_processing(owner_m: Membership, telegram: Channel) -> None:
    first = R.rule_create(owner_m, {"name": "first", "actions": [{"action": "tag", "value": "a"}]})
    stopper = R.rule_create(owner_m, {"name": "stopper", "stop": True, "actions": [{"action": "tag", "value": "b"}]})
    R.rule_create(owner_m, {"name": "never", "actions": [{"action": "tag", "value": "c"}]})
    off = R.rule_create(owner_m, {"name": "off", "enabled": False, "actions": [{"action": "tag", "value": "d"}]})
    R.rule_reorder(
        owner_m, [stopper.pk, first.pk, *[r.pk for r in Rule.objects.exclude(pk__in=[first.pk, stopper.pk])]]
    )
    conversation = make_conversation(telegram)
    hits = R.apply_rules([make_message(conversation)])
    assert [h.rule_name for h in hits] == ["stopper"]
    assert set(conversation.tags.values_list("name", flat=True)) == {"b"}
    assert not RuleHit.objects.filter(rule=off).exists()


def test_hide_enqueues_the_network_hide_where_the_connector_can(owner_m: Membership, telegram: Channel) -> None:
    R.rule_create(
        owner_m,
        {
            "name": "spam",
            "conditions": [{"field": "keywords", "value": ["خرید فالوور"]}],
            "actions": [{"action": "hide"}],
        },
    )
    conversation = make_conversation(telegram)
    message = make_message(conversation, "خرید فالوور ارزان!")
    [hit] = R.apply_rules([message])
    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.hidden and not message.needs_response and conversation.awaiting_since is None
    assert hit.actions[0]["result"] == "done"
    [job] = jobs("hide_task")
    assert job.kwargs == {"message_id": message.pk}


def test_hide_without_the_capability_hides_here_only(owner_m: Membership, mastodon: Channel) -> None:
    R.rule_create(owner_m, {"name": "spam", "actions": [{"action": "hide"}]})
    message = make_message(make_conversation(mastodon), "spam spam")
    [hit] = R.apply_rules([message])
    message.refresh_from_db()
    assert message.hidden and not message.needs_response
    assert hit.actions[0]["result"] == "not supported"
    assert jobs("hide_task") == []


def test_auto_reply_where_allowed_enqueues_the_rendered_reply(owner_m: Membership, telegram: Channel) -> None:
    InboxSettings.objects.create(workspace=owner_m.workspace, brand_name="کافه آکمه")
    R.rule_create(
        owner_m,
        {
            "name": "خوشامد",
            "conditions": [{"field": "type", "value": ["dm"]}],
            "actions": [{"action": "auto_reply", "value": "سلام {author_name} عزیز، از {brand_name} ممنونیم"}],
        },
    )
    message = make_message(make_conversation(telegram, Kind.DM, "dm-1"), "سلام")
    [hit] = R.apply_rules([message])
    assert hit.actions[0]["result"] == "done"
    [job] = jobs("auto_reply_task")
    assert job.kwargs == {"message_id": message.pk, "text": "سلام علی عزیز، از کافه آکمه ممنونیم"}


def test_auto_reply_refused_by_the_network_policy(owner_m: Membership, workspace: Workspace) -> None:
    x = make_channel(workspace, "", network="x", display_name="X", remote_id="x-1")
    facebook = make_channel(workspace, "", network="facebook", display_name="FB", remote_id="fb-1")
    mastodon = make_channel(workspace, "https://social.example", network="mastodon", remote_id="m-1")
    R.rule_create(owner_m, {"name": "auto", "actions": [{"action": "auto_reply", "value": "Thanks!"}]})
    mention = make_message(make_conversation(x, Kind.MENTION, "t-1"), "@brand hi")
    old_dm = make_message(make_conversation(facebook, Kind.DM, "fb-dm"), "hello", minutes_ago=25 * 60)
    fresh_dm = make_message(make_conversation(facebook, Kind.DM, "fb-dm-2"), "hello", minutes_ago=5)
    toot = make_message(make_conversation(mastodon, Kind.DM, "md-1"), "hi")
    hits = {h.message_id: h.actions[0] for h in R.apply_rules([mention, old_dm, fresh_dm, toot])}
    assert hits[mention.pk]["result"] == "not allowed" and "X" in hits[mention.pk]["detail"]
    assert hits[old_dm.pk]["result"] == "not allowed" and "24" in hits[old_dm.pk]["detail"]
    assert hits[toot.pk]["result"] == "not allowed"
    assert hits[fresh_dm.pk]["result"] == "done"
    assert [j.kwargs["message_id"] for j in jobs("auto_reply_task")] == [fresh_dm.pk]


def test_policy_table() -> None:
    assert R.auto_reply_policy("telegram", Kind.DM).allowed
    assert R.auto_reply_policy("instagram", Kind.DM).window == timedelta(hours=24)
    assert not R.auto_reply_policy("x", Kind.MENTION).allowed
    assert not R.auto_reply_policy("telegram", Kind.MENTION).allowed  # mentions: never
    assert not R.auto_reply_policy("youtube", Kind.COMMENT).allowed
    assert not R.auto_reply_policy("some_plugin", Kind.DM).allowed


def test_a_failing_action_is_recorded_and_the_others_still_apply(
    owner_m: Membership, telegram: Channel, make_member: Any
) -> None:
    agent = make_member(Role.EDITOR, "leaving@example.com")
    R.rule_create(
        owner_m,
        {"name": "r", "actions": [{"action": "assign", "value": {"user": agent.pk}}, {"action": "tag", "value": "x"}]},
    )
    Membership.objects.filter(user=agent).delete()  # left the workspace after the rule was written
    conversation = make_conversation(telegram)
    [hit] = R.apply_rules([make_message(conversation)])
    assert [a["result"] for a in hit.actions] == ["failed", "done"]
    conversation.refresh_from_db()
    assert conversation.assignee is None and conversation.tags.count() == 1


# ------------------------------------------------------------------ escalation


@pytest.fixture
def escalation(owner_m: Membership, make_member: Any) -> User:
    boss = make_member(Role.MANAGER, "boss@example.com")
    InboxSettings.objects.create(
        workspace=owner_m.workspace, escalation_owner=boss, escalate_negative=True, crisis_keywords=["نشت اطلاعات"]
    )
    return boss


def test_negative_message_is_escalated_high(escalation: User, telegram: Channel) -> None:
    conversation = make_conversation(telegram)
    message = make_message(conversation, "خیلی بد بود", sentiment="negative")
    [hit] = R.apply_rules([message])
    assert hit.rule is None and hit.rule_name == "Escalation"
    assert [a["action"] for a in hit.actions] == ["assign", "priority", "notify"]
    conversation.refresh_from_db()
    assert conversation.assignee == escalation and conversation.priority == Priority.HIGH
    assert Notification.objects.filter(user=escalation, kind="inbox.escalated").count() == 1


def test_crisis_keyword_is_escalated_urgent(escalation: User, telegram: Channel) -> None:
    conversation = make_conversation(telegram)
    [hit] = R.apply_rules([make_message(conversation, "خبر نشت اطلاعات مشتریان درست است؟", sentiment="neutral")])
    conversation.refresh_from_db()
    assert conversation.priority == Priority.URGENT and conversation.assignee == escalation
    assert "نشت اطلاعات" in hit.actions[0]["detail"]


def test_escalation_never_lowers_priority_and_can_be_off(
    escalation: User, owner_m: Membership, telegram: Channel
) -> None:
    urgent = make_conversation(telegram, priority=Priority.URGENT)
    R.apply_rules([make_message(urgent, "بد", sentiment="negative")])
    urgent.refresh_from_db()
    assert urgent.priority == Priority.URGENT
    InboxSettings.objects.filter(workspace=owner_m.workspace).update(escalate_negative=False)
    calm = make_conversation(telegram, key="post-2")
    assert R.apply_rules([make_message(calm, "بد", sentiment="negative")]) == []
    calm.refresh_from_db()
    assert calm.priority == Priority.NORMAL and calm.assignee is None


def test_no_owner_no_escalation(owner_m: Membership, telegram: Channel) -> None:
    InboxSettings.objects.create(workspace=owner_m.workspace, escalation_owner=None, crisis_keywords=["بحران"])
    assert R.apply_rules([make_message(make_conversation(telegram), "بحران", sentiment="negative")]) == []


def test_escalation_runs_after_a_stopping_rule(escalation: User, owner_m: Membership, telegram: Channel) -> None:
    R.rule_create(owner_m, {"name": "s", "stop": True, "actions": [{"action": "tag", "value": "x"}]})
    hits = R.apply_rules([make_message(make_conversation(telegram), "بد", sentiment="negative")])
    assert [h.rule_name for h in hits] == ["s", "Escalation"]


def test_ingest_runs_the_rules_in_its_transaction(owner_m: Membership, telegram: Channel) -> None:
    from sokhan.inbox import ingest as ingest_module
    from sokhan.networks.types import MessageKind, RemoteMessage

    R.rule_create(
        owner_m,
        {
            "name": "price",
            "conditions": [{"field": "keywords", "value": ["قیمت"]}],
            "actions": [{"action": "tag", "value": "sales"}],
        },
    )
    item = RemoteMessage(
        remote_id="c-77",
        kind=MessageKind.COMMENT,
        text="قيمت چنده؟",
        author_id="u-5",
        author_handle="sara",
        created_at=timezone.now(),
        root_id="p-1",
    )
    result = ingest_module.ingest(telegram, [item])
    [message] = result.created
    assert RuleHit.objects.get(message=message).rule_name == "price"
    assert list(message.conversation.tags.values_list("name", flat=True)) == ["sales"]


# ------------------------------------------------------------------ dry run


def _state() -> dict[str, Any]:
    return {
        "tags": list(Tag.objects.values_list("pk", flat=True)),
        "hits": RuleHit.objects.count(),
        "audit": AuditEvent.objects.count(),
        "jobs": Job.objects.count(),
        "notifications": Notification.objects.count(),
        "rules": Rule.objects.count(),
        "messages": list(Message.objects.order_by("pk").values_list("pk", "hidden", "needs_response")),
        "conversations": list(
            Conversation.objects.order_by("pk").values_list("pk", "status", "priority", "assignee", "version")
        ),
    }


def test_dry_run_reports_matches_and_writes_nothing(
    owner_m: Membership, workspace: Workspace, telegram: Channel, make_member: Any
) -> None:
    agent = make_member(Role.EDITOR, "agent@example.com")
    price = make_message(make_conversation(telegram), "قیمت چنده؟", minutes_ago=3)
    make_message(make_conversation(telegram, key="post-2"), "سلام", minutes_ago=2)
    dm = make_message(make_conversation(telegram, Kind.DM, "dm-1"), "قيمت ارسال؟", minutes_ago=1)
    before = _state()
    rows = R.dry_run(
        workspace,
        {
            "name": "preview",
            "conditions": [{"field": "keywords", "op": "any", "value": ["قیمت"]}],
            "actions": [
                {"action": "tag", "value": "new-tag"},
                {"action": "assign", "value": {"user": agent.pk}},
                {"action": "hide"},
                {"action": "notify", "value": [agent.pk]},
                {"action": "auto_reply", "value": "Hi {author_name}"},
                {"action": "close"},
            ],
        },
        last_n=10,
    )
    assert _state() == before
    assert rows[0].message_id == dm.pk  # newest first
    matched = {r.message_id: r for r in rows if r.matches}
    assert set(matched) == {price.pk, dm.pk}
    comment_results = [a["result"] for a in matched[price.pk].actions]
    assert comment_results == ["would apply", "would apply", "would apply", "would apply", "would apply", "would apply"]
    dm_actions = {a["action"]: a for a in matched[dm.pk].actions}
    assert dm_actions["hide"]["result"] == "not supported"  # a DM cannot be hidden on the network
    assert "Hi علی" in dm_actions["auto_reply"]["detail"]
    assert all(r.actions == [] for r in rows if not r.matches)
    assert R.dry_run(workspace, {"name": "x", "actions": [{"action": "close"}]}, last_n=1)[0].message_id == dm.pk


def test_dry_run_validates_the_rule(workspace: Workspace) -> None:
    with pytest.raises(DomainError) as raised:
        R.dry_run(workspace, {"name": "x", "actions": [{"action": "explode"}]})
    assert "actions.0.action" in raised.value.fields


# ------------------------------------------------------------------ validation and services


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": ""}, "name", "name"),
        ({"conditions": [{"field": "mood", "value": []}]}, "conditions.0.field", "Condition 1"),
        ({"conditions": [{"field": "keywords", "op": "some", "value": ["a"]}]}, "conditions.0.op", "Condition 1"),
        ({"conditions": [{"field": "keywords", "value": []}]}, "conditions.0.value", "keywords"),
        ({"conditions": [{"field": "keywords", "value": "قیمت"}]}, "conditions.0.value", "keywords"),
        ({"conditions": [{"field": "followers", "op": "gte", "value": -1}]}, "conditions.0.value", "followers"),
        ({"conditions": [{"field": "followers", "value": 10}]}, "conditions.0.op", "followers"),
        ({"conditions": [{"field": "sentiment", "value": ["angry"]}]}, "conditions.0.value", "sentiment"),
        ({"conditions": [{"field": "type", "value": ["post"]}]}, "conditions.0.value", "type"),
        ({"conditions": [{"field": "language", "value": ["Persian!"]}]}, "conditions.0.value", "language"),
        ({"actions": []}, "actions", "action"),
        ({"actions": [{"action": "explode"}]}, "actions.0.action", "Action 1"),
        ({"actions": [{"action": "close"}, {"action": "priority", "value": "asap"}]}, "actions.1.value", "Action 2"),
        ({"actions": [{"action": "tag", "value": " "}]}, "actions.0.value", "tag"),
        ({"actions": [{"action": "assign", "value": {"user": 999999}}]}, "actions.0.value", "member"),
        ({"actions": [{"action": "assign", "value": {"team": 999999}}]}, "actions.0.value", "team"),
        ({"actions": [{"action": "notify", "value": [999999]}]}, "actions.0.value", "member"),
        ({"actions": [{"action": "auto_reply", "value": "Hi {nmae}"}]}, "actions.0.value", "{nmae}"),
        ({"stop": "yes"}, "stop", "stop"),
        ({"colour": "red"}, "colour", "colour"),
    ],
)
def test_validation_names_the_bad_condition_or_action(
    owner_m: Membership, data: dict[str, Any], field: str, words: str
) -> None:
    full: dict[str, Any] = {"name": "r", "actions": [{"action": "close"}]}
    full.update(data)
    with pytest.raises(DomainError) as raised:
        R.rule_create(owner_m, full)
    assert field in raised.value.fields, raised.value.fields
    assert words in raised.value.fields[field]
    assert not Rule.objects.exists()


def test_channel_of_another_workspace_is_refused(owner: User, owner_m: Membership) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = make_channel(other, "", network="telegram", remote_id="o-1")
    with pytest.raises(DomainError) as raised:
        R.rule_create(
            owner_m,
            {"name": "r", "conditions": [{"field": "channel", "value": [theirs.pk]}], "actions": [{"action": "close"}]},
        )
    assert "conditions.0.value" in raised.value.fields


def test_services_are_audited_and_reorder_checks_the_list(owner_m: Membership) -> None:
    a = R.rule_create(owner_m, {"name": "a", "actions": [{"action": "close"}]})
    b = R.rule_create(owner_m, {"name": "b", "actions": [{"action": "close"}]})
    assert (a.position, b.position) == (0, 1)
    R.rule_update(owner_m, a.pk, {"enabled": False})
    a.refresh_from_db()
    assert not a.enabled and a.name == "a"
    R.rule_reorder(owner_m, [b.pk, a.pk])
    assert [r.name for r in R.rules_for(owner_m.workspace)] == ["b", "a"]
    R.rule_move(owner_m, a.pk, -1)
    assert [r.name for r in R.rules_for(owner_m.workspace)] == ["a", "b"]
    with pytest.raises(DomainError):
        R.rule_reorder(owner_m, [a.pk])
    R.rule_delete(owner_m, b.pk)
    actions = list(AuditEvent.objects.filter(action__startswith="inbox.rule.").values_list("action", flat=True))
    assert sorted(actions) == sorted(
        ["inbox.rule.create", "inbox.rule.create", "inbox.rule.update", "inbox.rule.reorder", "inbox.rule.reorder",
         "inbox.rule.delete"]
    )  # fmt: skip
    update = AuditEvent.objects.get(action="inbox.rule.update")
    assert update.data["from"]["enabled"] is True and update.data["to"]["enabled"] is False


def test_only_workspace_settings_may_change_rules(owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    editor = make_member(Role.EDITOR)
    membership = Membership.objects.select_related("workspace", "user").get(user=editor, workspace=workspace)
    with pytest.raises(NotAllowed):
        R.rule_create(membership, {"name": "r", "actions": [{"action": "close"}]})
    rule = R.rule_create(owner_m, {"name": "r", "actions": [{"action": "close"}]})
    with pytest.raises(NotAllowed):
        R.rule_delete(membership, rule.pk)


def test_rules_of_another_workspace_are_not_found(owner: User, owner_m: Membership) -> None:
    other = workspace_create(owner=owner, name="Other", slug="other")
    theirs = R.rule_create(owner_membership(owner, other), {"name": "theirs", "actions": [{"action": "close"}]})
    with pytest.raises(NotFound):
        R.rule_update(owner_m, theirs.pk, {"name": "mine now"})
    with pytest.raises(NotFound):
        R.rule_delete(owner_m, theirs.pk)


def test_spam_a_rule_hid_is_not_escalated(escalation: User, owner_m: Membership, telegram: Channel) -> None:
    R.rule_create(owner_m, {"name": "spam", "actions": [{"action": "hide"}]})
    hits = R.apply_rules([make_message(make_conversation(telegram), "نشت اطلاعات! لینک", sentiment="negative")])
    assert [h.rule_name for h in hits] == ["spam"]
