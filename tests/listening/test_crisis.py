"""Crisis mode: one action pauses publishing and opens an incident; ending it resumes publishing
only if crisis mode paused it, and writes the post-mortem; one open incident at a time; the
timeline (notes, checklist, statements sent, hourly mentions); holding statements with variables;
roles; the pages (with the banner on every workspace page, and in Persian) and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.web.helpers import sign_in

from sokhan.core.errors import Conflict, DomainError, NotAllowed
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Direction, Kind, Message, Priority
from sokhan.listening import crisis
from sokhan.listening import crisis_statements as statements
from sokhan.listening.models import HourlyCount, Incident, IncidentEvent, IncidentStatus, Topic
from sokhan.listening.spikes import HOUR, floor_hour
from sokhan.notifications.models import Notification
from sokhan.ops.bench_sink import make_channel
from sokhan.publishing.services import publishing_control, publishing_pause, publishing_resume

from .test_alerts import NOW, burst, make_topic, owner_membership, steady

pytestmark = pytest.mark.django_db

BASE = "/w/acme/listening/crisis/"


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()


@pytest.fixture(autouse=True)
def english(workspace: Workspace) -> None:
    """Post-mortems are written in the workspace's language: English here, Persian in its own test."""
    Workspace.objects.filter(pk=workspace.pk).update(language="en")
    workspace.language = "en"


@pytest.fixture
def actor(workspace: Workspace) -> Membership:
    return owner_membership(workspace)


@pytest.fixture
def topic(workspace: Workspace) -> Topic:
    return make_topic(workspace)


def signed_in(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


def member(workspace: Workspace, make_member: Any, role: Role) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=make_member(role), workspace=workspace)


# ----------------------------------------------------------------------------- start and end


def test_crisis_mode_pauses_publishing_and_ending_it_resumes(actor: Membership, topic: Topic, make_member: Any) -> None:
    analyst = make_member(Role.ANALYST)
    incident = crisis.crisis_start(actor, title="Bad batch of beans", topic_ids=[topic.pk])
    control = publishing_control(actor.workspace)
    assert control.paused and control.reason == "Crisis mode: Bad batch of beans"
    assert (incident.status, incident.owner_id, incident.paused_before) == ("open", actor.user_id, False)
    assert [i["item"] for i in incident.checklist][:2] == ["Legal has reviewed the situation", "Leadership is informed"]
    assert list(incident.events.values_list("kind", flat=True)) == ["opened"]
    assert crisis.open_incident(actor.workspace) == incident
    assert Notification.objects.filter(kind="listening.crisis", user=analyst).count() == 1
    assert not Notification.objects.filter(user=actor.user).exists()  # not told of their own action

    ended = crisis.crisis_end(actor, incident.pk, notes="Supplier replaced.")
    assert not publishing_control(actor.workspace).paused
    assert ended.status == IncidentStatus.CLOSED and ended.closed_at is not None
    assert ended.summary["publishing"] == {"paused_before": False, "resumed": True}
    assert "Publishing resumed when the incident ended." in ended.postmortem
    assert ended.postmortem.endswith("Notes:\nSupplier replaced.")
    assert list(ended.events.values_list("kind", flat=True)) == ["opened", "closed"]
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-4:] == ["publishing.pause", "listening.crisis.start", "publishing.resume", "listening.crisis.end"]
    with pytest.raises(Conflict):
        crisis.crisis_end(actor, incident.pk)


def test_publishing_paused_before_stays_paused(actor: Membership) -> None:
    publishing_pause(actor=actor, reason="Holiday freeze")
    incident = crisis.crisis_start(actor, title="Outage")
    assert incident.paused_before
    assert publishing_control(actor.workspace).reason == "Holiday freeze"  # the first reason stays
    ended = crisis.crisis_end(actor, incident.pk)
    control = publishing_control(actor.workspace)
    assert control.paused and control.reason == "Holiday freeze"
    assert ended.summary["publishing"] == {"paused_before": True, "resumed": False}
    assert "it was already paused when the incident began" in ended.postmortem


def test_someone_resumed_during_the_incident(actor: Membership) -> None:
    incident = crisis.crisis_start(actor, title="Outage")
    publishing_resume(actor=actor)
    ended = crisis.crisis_end(actor, incident.pk)
    assert not publishing_control(actor.workspace).paused
    assert "had been resumed during the incident" in ended.postmortem


def test_one_open_incident_at_a_time(actor: Membership, owner: User) -> None:
    first = crisis.crisis_start(actor, title="First")
    with pytest.raises(Conflict) as refused:
        crisis.crisis_start(actor, title="Second")
    assert refused.value.code == "incident_open" and "First" in refused.value.message
    assert Incident.objects.count() == 1
    other = workspace_create(owner=owner, name="Other", slug="other")
    crisis.crisis_start(owner_membership(other), title="Elsewhere")  # another workspace may
    crisis.crisis_end(actor, first.pk)
    crisis.crisis_start(actor, title="Second")  # after the first ended


def test_start_checks_its_input(actor: Membership, topic: Topic, owner: User) -> None:
    with pytest.raises(DomainError) as untitled:
        crisis.crisis_start(actor)
    assert untitled.value.fields == {"title": "required"}
    other = workspace_create(owner=owner, name="Other", slug="other")
    foreign = make_topic(other, "Theirs")
    with pytest.raises(DomainError) as wrong_topic:
        crisis.crisis_start(actor, title="x", topic_ids=[foreign.pk])
    assert wrong_topic.value.fields == {"topics": "invalid"}
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    with pytest.raises(DomainError) as wrong_owner:
        crisis.crisis_start(actor, title="x", owner_id=stranger.pk)
    assert wrong_owner.value.fields == {"owner": "invalid"}
    with pytest.raises(DomainError):
        crisis.crisis_start(actor, title="x", alert_id=123456)
    assert not Incident.objects.exists() and not publishing_control(actor.workspace).paused


def test_starting_from_an_alert(actor: Membership, topic: Topic) -> None:
    from sokhan.listening import alerts

    steady(topic)
    burst(topic, total=25, negative=20)
    alert = next(a for a in alerts.detect_workspace(actor.workspace, now=NOW) if a.kind == "negative")
    incident = crisis.crisis_start(actor, alert_id=alert.pk)
    assert incident.title == "Negative mentions of “Acme Coffee” surged"
    assert list(incident.topics.all()) == [topic] and incident.alert_id == alert.pk
    ended = crisis.crisis_end(actor, incident.pk)
    assert ended.summary["alerts"]["negative"] == 1


# ----------------------------------------------------------------------------- working it


def test_roles(workspace: Workspace, make_member: Any, actor: Membership) -> None:
    editor = member(workspace, make_member, Role.EDITOR)
    analyst = member(workspace, make_member, Role.ANALYST)
    with pytest.raises(NotAllowed):
        crisis.crisis_start(editor, title="x")
    incident = crisis.crisis_start(actor, title="Outage")
    crisis.crisis_note(editor, incident.pk, "Support has a macro ready.")  # agents work the incident
    crisis.crisis_checklist_mark(editor, incident.pk, 0, True)
    for forbidden in (
        lambda: crisis.crisis_note(analyst, incident.pk, "x"),
        lambda: crisis.crisis_checklist_add(editor, incident.pk, "x"),
        lambda: crisis.crisis_owner_set(editor, incident.pk, editor.user_id),
        lambda: crisis.crisis_end(editor, incident.pk),
        lambda: statements.statement_create(editor, {"name": "x", "language": "en", "text": "x"}),
    ):
        with pytest.raises(NotAllowed):
            forbidden()


def test_timeline_checklist_and_statements_feed_the_postmortem(
    actor: Membership, topic: Topic, make_member: Any
) -> None:
    editor = member(actor.workspace, make_member, Role.EDITOR)
    incident = crisis.crisis_start(actor, title="Bad batch", topic_ids=[topic.pk])
    crisis.crisis_note(actor, incident.pk, "Called the roaster.")
    crisis.crisis_owner_set(actor, incident.pk, editor.user_id)
    crisis.crisis_checklist_mark(actor, incident.pk, 0, True)
    crisis.crisis_checklist_mark(actor, incident.pk, 0, True)  # no change, no line
    crisis.crisis_checklist_add(actor, incident.pk, "Regulator notified")
    crisis.crisis_checklist_remove(actor, incident.pk, 4)  # "Scheduled posts are reviewed"
    with pytest.raises(DomainError):
        crisis.crisis_checklist_mark(actor, incident.pk, 99, True)
    crisis.crisis_statement_sent(actor, incident.pk, text="We are on it.", name="Initial", where="X and Instagram")
    kinds = list(IncidentEvent.objects.filter(incident=incident).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["opened", "note", "owner", "checklist", "checklist", "checklist", "statement"]
    ended = crisis.crisis_end(actor, incident.pk)
    summary = ended.summary
    assert summary["statements"] == {"sent": 1, "names": ["Initial"]}
    assert summary["checklist"]["done"] == 1 and summary["checklist"]["total"] == 5
    assert "Regulator notified" in summary["checklist"]["open_items"]
    assert summary["notes"] == 1 and summary["topics"] == ["Acme Coffee"]
    assert "Holding statements sent: 1. (Initial)" in ended.postmortem
    assert "Checklist: 1 of 5 done." in ended.postmortem
    with pytest.raises(Conflict):
        crisis.crisis_note(actor, incident.pk, "too late")
    crisis.crisis_postmortem_save(actor, incident.pk, "Rewritten.")
    ended.refresh_from_db()
    assert ended.postmortem == "Rewritten." and ended.summary == summary


def test_mentions_during_and_before_and_the_inbox_response_times(actor: Membership, topic: Topic) -> None:
    opened = floor_hour(timezone.now()) - 3 * HOUR
    for i in range(7 * 24):  # the week before: 2 an hour, none negative
        HourlyCount.objects.create(topic=topic, hour=opened - (i + 1) * HOUR, total=2, negative=0)
    for i in range(3):  # during: 30 an hour, half negative
        HourlyCount.objects.create(topic=topic, hour=opened + i * HOUR, total=30, negative=15)
    incident = crisis.crisis_start(actor, title="Outage", topic_ids=[topic.pk])
    Incident.objects.filter(pk=incident.pk).update(opened_at=opened)
    channel = make_channel(actor.workspace, "https://social.example")
    for n, answered_after in enumerate((timedelta(minutes=10), timedelta(minutes=30), None)):
        conversation = Conversation.objects.create(
            workspace=actor.workspace, channel=channel, kind=Kind.MENTION, thread_key=f"t{n}", priority=Priority.URGENT
        )
        received = opened + timedelta(minutes=20 * n + 5)
        Message.objects.create(
            workspace=actor.workspace,
            conversation=conversation,
            channel=channel,
            remote_id=f"m{n}",
            direction=Direction.IN,
            kind=Kind.MENTION,
            created_at=received,
            received_at=received,
            answered_at=received + answered_after if answered_after else None,
        )
    ended = crisis.crisis_end(actor, incident.pk)
    mentions = ended.summary["mentions"]
    assert (mentions["during"], mentions["negative_during"], mentions["negative_share_during"]) == (90, 45, 0.5)
    assert (mentions["before"], mentions["per_hour_before"], mentions["negative_share_before"]) == (336, 2.0, 0.0)
    assert ended.summary["inbox"] == {"conversations": 3, "messages": 3, "answered": 2, "median_response_seconds": 1200}
    assert "median first answer 20 min" in ended.postmortem


def test_the_hourly_timeline_line_is_written_once_per_hour(actor: Membership, topic: Topic) -> None:
    now = timezone.now()
    incident = crisis.crisis_start(actor, title="Outage", topic_ids=[topic.pk])
    opened = floor_hour(now) - 2 * HOUR
    Incident.objects.filter(pk=incident.pk).update(opened_at=opened + timedelta(minutes=10))
    HourlyCount.objects.create(topic=topic, hour=opened, total=12, negative=5)
    assert crisis.incident_tick(actor.workspace, now) == 2
    assert crisis.incident_tick(actor.workspace, now) == 0
    lines = list(incident.events.filter(kind="mentions").order_by("at").values_list("data", flat=True))
    assert [(d["total"], d["negative"]) for d in lines] == [(12, 5), (0, 0)]
    assert crisis.incident_tick(actor.workspace, now + HOUR) == 1


# ----------------------------------------------------------------------------- holding statements


def test_holding_statements_fill_variables_like_saved_replies(actor: Membership, topic: Topic) -> None:
    made = statements.statement_create(
        actor,
        {"name": "Initial", "language": "en", "text": "{brand_name} knows about {incident_title} ({topic_names}). {x}"},
    )
    assert statements.statement_check(made.text) == ["x"]
    incident = crisis.crisis_start(actor, title="Bad batch", topic_ids=[topic.pk])
    text = statements.statement_render(made, incident, actor.user)
    assert text == "Acme Coffee knows about Bad batch (Acme Coffee). {x}"
    without_incident = statements.statement_render(made, None, actor.user)
    assert without_incident == "Acme Coffee knows about {incident_title} ({topic_names}). {x}"
    with pytest.raises(DomainError) as bad:
        statements.statement_create(actor, {"name": "", "language": "Persian", "text": ""})
    assert set(bad.value.fields) == {"name", "text", "language"}
    statements.statement_update(actor, made.pk, {"name": "Initial acknowledgement"})
    statements.statement_delete(actor, made.pk)
    added = statements.statement_examples(actor)
    assert {s.language for s in added} == {"fa", "en"} and statements.statement_examples(actor) == []


# ----------------------------------------------------------------------------- pages


def test_start_from_the_crisis_page_then_end_it(owner: User, topic: Topic) -> None:
    client = signed_in(owner)
    page = client.get(BASE)
    assert page.status_code == 200 and 'id="crisis-start"' in page.content.decode()
    response = client.post(f"{BASE}start/", {"title": "Bad batch", "owner": owner.pk, "topics": [topic.pk]})
    incident = Incident.objects.get()
    assert response["Location"] == f"{BASE}{incident.pk}/"
    html = client.get(f"{BASE}{incident.pk}/").content.decode()
    assert "Bad batch" in html and 'id="checklist"' in html and 'id="crisis-end"' in html
    # The banner is on every workspace page while the incident is open.
    for path in ("/w/acme/", "/w/acme/posts/", "/w/acme/listening/alerts/"):
        assert 'id="crisis-banner"' in client.get(path).content.decode(), path
    again = client.post(f"{BASE}start/", {"title": "Another", "owner": owner.pk}, follow=True)
    assert "Crisis mode is already on" in again.content.decode()

    client.post(f"{BASE}{incident.pk}/note/", {"text": "Called the roaster."})
    client.post(f"{BASE}{incident.pk}/checklist/", {"action": "done", "index": "1"})
    client.post(f"{BASE}{incident.pk}/checklist/", {"action": "add", "item": "Regulator notified"})
    client.post(f"{BASE}{incident.pk}/statement/", {"text": "We are on it.", "name": "Initial", "where": "X"})
    ended = client.post(f"{BASE}{incident.pk}/end/", {"notes": "Done."}, follow=True)
    html = ended.content.decode()
    assert 'id="postmortem"' in html and "Holding statements sent: 1." in html
    assert "Called the roaster." in html and "ended crisis mode" in html
    assert 'id="crisis-banner"' not in client.get("/w/acme/").content.decode()
    assert not publishing_control(topic.workspace).paused


def test_pages_for_roles_and_strangers(owner: User, actor: Membership, make_member: Any) -> None:
    incident = crisis.crisis_start(actor, title="Outage")
    editor = signed_in(make_member(Role.EDITOR))
    html = editor.get(f"{BASE}{incident.pk}/").content.decode()
    assert 'id="note-text"' in html and 'id="crisis-end"' not in html
    assert editor.post(f"{BASE}{incident.pk}/end/").status_code == 403
    assert editor.post(f"{BASE}start/", {"title": "x"}).status_code == 403
    viewer = signed_in(make_member(Role.VIEWER))
    assert viewer.get(f"{BASE}{incident.pk}/").status_code == 403
    assert 'id="crisis-banner"' in viewer.get("/w/acme/").content.decode()  # everyone sees the banner
    stranger = User.objects.create_user("stranger@example.com", "correct horse battery staple")
    assert signed_in(stranger).get(f"{BASE}{incident.pk}/").status_code == 404
    other = workspace_create(owner=owner, name="Other", slug="other")
    assert signed_in(owner).get(f"/w/other/listening/crisis/{incident.pk}/").status_code == 404
    assert other.pk


def test_statement_pages(owner: User, actor: Membership) -> None:
    client = signed_in(owner)
    assert "Add example statements" in client.get(f"{BASE}statements/").content.decode()
    client.post(f"{BASE}statements/examples/")
    html = client.get(f"{BASE}statements/").content.decode()
    assert "اعلام اولیه" in html and "Initial acknowledgement" in html
    response = client.post(f"{BASE}statements/new/", {"name": "Recall", "language": "en", "text": "Hi {who}"})
    assert response.status_code == 302
    made = next(s for s in statements.statements_for(actor.workspace) if s.name == "Recall")
    assert "Unknown variables stay" in client.get(f"{BASE}statements/{made.pk}/").content.decode()
    incident = crisis.crisis_start(actor, title="Bad batch")
    page = client.get(f"{BASE}{incident.pk}/").content.decode()
    assert "We are aware of reports about Bad batch" in page  # variables filled in on the incident page
    assert client.post(f"{BASE}statements/{made.pk}/delete/").status_code == 302


def test_the_persian_incident_page_and_post_mortem(owner: User, actor: Membership, topic: Topic) -> None:
    Workspace.objects.filter(pk=actor.workspace_id).update(language="fa", calendar="jalali")
    actor = owner_membership(actor.workspace)
    incident = crisis.crisis_start(actor, title="کیفیت بد قهوه", topic_ids=[topic.pk])
    client = signed_in(owner, language="fa")
    html = client.get(f"{BASE}{incident.pk}/").content.decode()
    assert 'dir="rtl"' in html and "کیفیت بد قهوه" in html
    assert "۱۴۰" in html  # dates in the Jalali calendar with Persian digits
    ended = crisis.crisis_end(actor, incident.pk)
    # Written in the workspace's language: Persian quotes and digits, not the English text's.
    assert "«کیفیت بد قهوه»" in ended.postmortem and "“" not in ended.postmortem and "۰" in ended.postmortem
    assert "کیفیت بد قهوه" in client.get(f"{BASE}{incident.pk}/").content.decode()


# ----------------------------------------------------------------------------- API


def test_the_api(owner: User, workspace: Workspace, topic: Topic, make_member: Any) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    base = "/workspaces/acme/listening"
    started = api.post(f"{base}/incidents", {"title": "Outage", "topics": [topic.pk]})
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["status"] == "open" and body["events"][0]["kind"] == "opened" and body["paused_before"] is False
    assert_error(api.post(f"{base}/incidents", {"title": "Again"}), 409, "incident_open")
    incident_id = body["id"]
    assert api.post(f"{base}/incidents/{incident_id}/notes", {"text": "hi"}).status_code == 201
    checked = api.post(f"{base}/incidents/{incident_id}/checklist", {"index": 0, "done": True})
    assert checked.json()["checklist"][0]["done"] is True
    assert api.post(f"{base}/incidents/{incident_id}/statements", {"text": "We are on it."}).status_code == 201
    ended = api.post(f"{base}/incidents/{incident_id}/end", {"notes": "ok"})
    assert ended.status_code == 200 and ended.json()["summary"]["statements"]["sent"] == 1
    assert [i["id"] for i in api.get(f"{base}/incidents").json()] == [incident_id]
    assert api.get(f"{base}/alerts").json() == []

    made = api.post(f"{base}/holding-statements", {"name": "A", "language": "en", "text": "{brand_name}"})
    assert made.status_code == 201 and made.json()["unknown_variables"] == []
    analyst = ApiClient(make_token(make_member(Role.ANALYST), workspace, ["write"]))
    assert analyst.get(f"{base}/incidents/{incident_id}").status_code == 200
    assert_error(analyst.post(f"{base}/incidents", {"title": "x"}), 403)
    reader = ApiClient(make_token(owner, workspace, ["read"]))
    assert_error(reader.post(f"{base}/incidents", {"title": "x"}), 403)
