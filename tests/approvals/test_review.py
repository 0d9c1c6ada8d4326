"""The review of a post through the services: ordered stages, request changes, reject, edits
resetting the review, and scheduling only approved posts when a workflow is on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from sokhan.approvals.models import Mode, Review, ReviewStatus
from sokhan.approvals.services import StageInput, review_request_changes
from sokhan.core.errors import Conflict, DomainError, NotAllowed
from sokhan.core.models import AuditEvent, Membership, Workspace
from sokhan.core.permissions import Role
from sokhan.notifications.models import Notification
from sokhan.publishing import services
from sokhan.publishing.models import Post, PostTarget

from .conftest import member, set_mode, set_stages

pytestmark = pytest.mark.django_db


def states(post: Post) -> list[str]:
    return list(PostTarget.objects.filter(post=post).order_by("pk").values_list("state", flat=True))


def kinds_for(user: Any) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def test_stages_are_approved_in_order(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    legal = make_member(Role.APPROVER, "legal@example.com")
    client = make_member(Role.APPROVER, "client@example.com")
    author = make_member(Role.CONTRIBUTOR)
    set_stages(owner_m, StageInput("Legal", approver_ids=[legal.pk]), StageInput("Client", approver_ids=[client.pk]))
    post = make_post(author)

    services.post_submit(actor=member(author, workspace), post_id=post.pk)
    assert states(post) == ["in_review"]
    assert kinds_for(legal) == ["review.requested"] and kinds_for(client) == []

    with pytest.raises(NotAllowed, match="Legal"):
        services.post_approve(actor=member(client, workspace), post_id=post.pk)  # stage 2 before stage 1
    services.post_approve(actor=member(legal, workspace), post_id=post.pk)
    assert states(post) == ["in_review"]  # one stage left
    assert kinds_for(client) == ["review.requested"]
    with pytest.raises(NotAllowed):
        services.post_approve(actor=member(legal, workspace), post_id=post.pk)  # not an approver of stage 2
    services.post_approve(actor=member(client, workspace), post_id=post.pk)
    assert states(post) == ["approved"]
    review = Review.objects.get(post=post)
    assert review.status == ReviewStatus.APPROVED
    assert [(d.stage, d.user_id) for d in review.decisions.all()] == [(0, legal.pk), (1, client.pk)]
    approvals = AuditEvent.objects.filter(action="post.approve", target=f"post:{post.pk}").order_by("pk")
    assert [(e.data["stage"], e.data["stage_name"]) for e in approvals] == [(1, "Legal"), (2, "Client")]
    assert "review.approved" in kinds_for(author)
    assert AuditEvent.objects.filter(action="post.submit").exists()


def test_stage_by_role_lets_higher_roles_approve(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    approver = make_member(Role.APPROVER)
    manager = make_member(Role.MANAGER)
    set_stages(owner_m, StageInput("Managers", min_role=Role.MANAGER))
    post = make_post(owner_m.user)
    services.post_submit(actor=owner_m, post_id=post.pk)
    with pytest.raises(NotAllowed):
        services.post_approve(actor=member(approver, workspace), post_id=post.pk)  # below manager
    services.post_approve(actor=member(manager, workspace), post_id=post.pk)
    assert states(post) == ["approved"]


def test_request_changes_returns_to_draft_and_tells_the_author(
    owner_m: Membership,
    workspace: Workspace,
    make_member: Any,
    make_post: Callable[..., Post],
    django_capture_on_commit_callbacks: Any,
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.CONTRIBUTOR)
    author.language = "en"
    author.save()
    approver = make_member(Role.APPROVER)
    post = make_post(author)
    services.post_submit(actor=member(author, workspace), post_id=post.pk)
    with pytest.raises(DomainError):
        review_request_changes(actor=member(approver, workspace), post_id=post.pk, comment="  ")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review_request_changes(actor=member(approver, workspace), post_id=post.pk, comment="Use the new logo")
    assert states(post) == ["draft"]
    note = Notification.objects.get(user=author, kind="review.changes")
    assert "Use the new logo" in note.body and note.url == f"/w/acme/posts/{post.pk}/review/"
    assert [m.to for m in mail.outbox] == [[author.email]]
    assert "Use the new logo" in mail.outbox[0].body and "Changes requested" in mail.outbox[0].subject
    assert Review.objects.get(post=post).status == ReviewStatus.CHANGES_REQUESTED
    event = AuditEvent.objects.get(action="post.request_changes")
    assert event.data["comment"] == "Use the new logo" and event.data["stage"] == 1


def test_reject_closes_the_review_with_a_reason(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.EDITOR)
    post = make_post(author)
    services.post_submit(actor=member(author, workspace), post_id=post.pk)
    services.post_reject(actor=owner_m, post_id=post.pk, reason="Off brand")
    assert states(post) == ["draft"]
    assert Review.objects.get(post=post).status == ReviewStatus.REJECTED
    assert AuditEvent.objects.get(action="post.reject").data["reason"] == "Off brand"
    assert Notification.objects.get(user=author, kind="review.rejected").body.endswith("Off brand")


def test_editing_resets_the_review(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    author = make_member(Role.EDITOR)
    post = make_post(author)
    services.post_submit(actor=member(author, workspace), post_id=post.pk)
    services.post_approve(actor=owner_m, post_id=post.pk)
    assert states(post) == ["approved"]
    channel_id = PostTarget.objects.get(post=post).channel_id
    services.post_update(
        actor=member(author, workspace),
        post_id=post.pk,
        targets=[services.TargetInput(channel_id=channel_id, text="متن تازه")],
    )
    assert states(post) == ["draft"]
    assert Review.objects.get(post=post).status == ReviewStatus.RESET
    event = AuditEvent.objects.get(action="approval.reset")
    assert event.data["was"] == "approved" and event.actor == author
    with pytest.raises(Conflict) as info:
        services.post_schedule(actor=owner_m, post_id=post.pk)  # the approval was for the old text
    assert info.value.code == "approval_required"


def test_schedule_needs_approval_when_a_workflow_is_on(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user)
    with pytest.raises(Conflict) as info:
        services.post_schedule(actor=owner_m, post_id=post.pk)  # a draft
    assert info.value.code == "approval_required" and "approved" in info.value.message
    services.post_submit(actor=owner_m, post_id=post.pk)
    with pytest.raises(Conflict):
        services.post_schedule(actor=owner_m, post_id=post.pk)  # even an approver goes through review
    assert states(post) == ["in_review"]
    services.post_approve(actor=owner_m, post_id=post.pk)
    services.post_schedule(actor=owner_m, post_id=post.pk)
    assert states(post) == ["scheduled"]
    # Taken off the schedule, it keeps its approval and can be scheduled again without a new review.
    services.post_unschedule(actor=owner_m, post_id=post.pk)
    assert states(post) == ["approved"]
    services.post_schedule(actor=owner_m, post_id=post.pk)
    assert states(post) == ["scheduled"]


def test_approve_needs_a_review_when_a_workflow_is_on(owner_m: Membership, make_post: Callable[..., Post]) -> None:
    set_mode(owner_m, Mode.SINGLE)
    post = make_post(owner_m.user)
    with pytest.raises(Conflict) as info:
        services.post_approve(actor=owner_m, post_id=post.pk)
    assert info.value.code == "not_in_review"
    assert states(post) == ["draft"]


def test_without_a_workflow_scheduling_works_as_before(
    owner_m: Membership, workspace: Workspace, make_member: Any, make_post: Callable[..., Post]
) -> None:
    post = make_post(owner_m.user)
    services.post_schedule(actor=owner_m, post_id=post.pk)  # a draft needs no approval
    assert states(post) == ["scheduled"]
    services.post_unschedule(actor=owner_m, post_id=post.pk)
    assert states(post) == ["draft"]
    editor = make_member(Role.EDITOR)
    other = make_post(editor)
    services.post_submit(actor=member(editor, workspace), post_id=other.pk)
    with pytest.raises(NotAllowed):
        services.post_schedule(actor=member(editor, workspace), post_id=other.pk)
    services.post_schedule(actor=owner_m, post_id=other.pk)  # an approver's schedule approves it
    assert states(other) == ["scheduled"]
    assert Review.objects.get(post=other).status == ReviewStatus.APPROVED


def test_settings_are_checked_and_audited(owner_m: Membership, workspace: Workspace, make_member: Any) -> None:
    editor = make_member(Role.EDITOR)
    from sokhan.approvals.services import workflow_update

    with pytest.raises(NotAllowed):
        workflow_update(actor=member(editor, workspace), mode=Mode.SINGLE)
    with pytest.raises(DomainError, match="at least one stage"):
        workflow_update(actor=owner_m, mode=Mode.STAGES, stages=[])
    with pytest.raises(DomainError, match="may approve"):
        workflow_update(actor=owner_m, mode=Mode.STAGES, stages=[StageInput("Edit", approver_ids=[editor.pk])])
    with pytest.raises(DomainError, match="who may approve"):
        workflow_update(actor=owner_m, mode=Mode.STAGES, stages=[StageInput("Nobody")])
    workflow_update(actor=owner_m, mode=Mode.STAGES, stages=[StageInput("Boss", min_role=Role.OWNER)], link_days=3)
    event = AuditEvent.objects.get(action="approval.settings")
    assert event.data["to"]["mode"] == "stages" and event.data["to"]["stages"][0]["name"] == "Boss"
    assert event.data["to"]["link_days"] == 3
