"""The post target graph, declared moves, idempotency keys and the publishing switch model."""

from __future__ import annotations

import pytest
from tests.publishing.test_dispatcher_sink import make_channel

from sokhan.channels.models import Channel
from sokhan.core.errors import Conflict, NotAllowed
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.publishing import services
from sokhan.publishing import states as S
from sokhan.publishing.dispatcher import GRAPH
from sokhan.publishing.models import PostTarget
from sokhan.runtime.graph import InvalidTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


def _member(user: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=user, workspace=workspace)


@pytest.fixture
def actor(owner: User, workspace: Workspace) -> Membership:
    return _member(owner, workspace)


def test_graph_has_handlers_only_for_scheduled_and_publishing() -> None:
    assert sorted(GRAPH.active_states) == ["publishing", "scheduled"]
    assert set(GRAPH.states) == set(S.ALL_STATES)
    assert GRAPH.failure_state == "outcome_unknown"


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("scheduled", "publishing"),
        ("publishing", "published"),
        ("publishing", "outcome_unknown"),
        ("publishing", "failed"),
    ],
)
def test_worker_moves_are_declared(current: str, target: str) -> None:
    GRAPH.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [("scheduled", "published"), ("publishing", "draft"), ("publishing", "scheduled"), ("draft", "published")],
)
def test_undeclared_worker_moves_raise(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition):
        GRAPH.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "in_review"),
        ("in_review", "approved"),
        ("approved", "scheduled"),
        ("scheduled", "draft"),
        ("outcome_unknown", "resolved"),
        ("outcome_unknown", "failed"),
        ("outcome_unknown", "scheduled"),
    ],
)
def test_user_moves_are_declared(current: str, target: str) -> None:
    S.check_user_move(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "published"),
        ("scheduled", "publishing"),
        ("publishing", "draft"),
        ("published", "draft"),
        ("published", "scheduled"),
        ("resolved", "scheduled"),
        ("draft", "nonsense"),
    ],
)
def test_undeclared_user_moves_raise(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition):
        S.check_user_move(current, target)


def test_idempotency_key_is_made_once_and_never_changes(actor: Membership, channel: Channel) -> None:
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="یک")])
    target = PostTarget.objects.get(post=post)
    key = target.idempotency_key
    assert key.startswith("sokhan-") and len(key) > 20
    services.post_update(actor=actor, post_id=post.pk, targets=[services.TargetInput(channel_id=channel.pk, text="دو")])
    services.post_schedule(actor=actor, post_id=post.pk)
    services.post_unschedule(actor=actor, post_id=post.pk)
    target.refresh_from_db()
    assert target.text == "دو" and target.idempotency_key == key and target.state == "draft"
    other = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="سه")])
    assert PostTarget.objects.get(post=other).idempotency_key != key


def test_service_refuses_undeclared_moves(actor: Membership, channel: Channel) -> None:
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text="x")])
    with pytest.raises(Conflict):
        services.post_unschedule(actor=actor, post_id=post.pk)  # a draft is not scheduled
    target = PostTarget.objects.get(post=post)
    with pytest.raises(Conflict):
        services.target_resolve(actor=actor, post_target_id=target.pk, outcome="published")


def test_review_then_schedule_needs_an_approver(
    actor: Membership, channel: Channel, workspace: Workspace, make_member
) -> None:  # type: ignore[no-untyped-def]
    editor = _member(make_member(Role.EDITOR), workspace)
    post = services.post_create(actor=editor, targets=[services.TargetInput(channel_id=channel.pk, text="x")])
    services.post_submit(actor=editor, post_id=post.pk)
    with pytest.raises(NotAllowed):
        services.post_schedule(actor=editor, post_id=post.pk)
    with pytest.raises(NotAllowed):
        services.post_approve(actor=editor, post_id=post.pk)
    services.post_approve(actor=actor, post_id=post.pk)
    services.post_schedule(actor=editor, post_id=post.pk)
    assert PostTarget.objects.get(post=post).state == "scheduled"


def test_validation_names_each_channel_and_problem(actor: Membership, channel: Channel) -> None:
    from sokhan.core.errors import DomainError

    with pytest.raises(DomainError) as info:
        services.post_create(
            actor=actor,
            targets=[
                services.TargetInput(channel_id=channel.pk, text="ب" * 501),
                services.TargetInput(channel_id=999999, text="x"),
            ],
        )
    fields = info.value.fields
    assert "501 of 500" in fields["targets.0"]
    assert "targets.1.channel_id" in fields
