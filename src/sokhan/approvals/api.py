"""The review of a post over the API: its state, request changes, comments, and external sign-off
links. Approving and rejecting are ``posts/{post_id}/approve`` and ``/reject`` (publishing API),
which follow the workspace's workflow. See docs/approvals.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.schemas import ERRORS
from sokhan.approvals import services
from sokhan.approvals.models import Comment
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.publishing import services as publishing

router = Router(tags=["approvals"])


class StageOut(Schema):
    index: int
    name: str
    state: str = Field(description="done, current, waiting or stopped (the round ended here).")
    approvers: list[str] = Field(description="Emails of members who may decide at this stage.")


class DecisionOut(Schema):
    stage: int
    stage_name: str
    kind: str = Field(description="approve, request_changes or reject.")
    by: str
    external: bool = Field(description="Decided through an external sign-off link.")
    comment: str
    created_at: datetime


class TargetStateOut(Schema):
    id: int
    channel_id: int
    state: str


class ReviewOut(Schema):
    post_id: int
    mode: str = Field(description="The workspace's approval mode: none, single or stages.")
    status: str = Field(description="none, open, approved, changes_requested, rejected or reset.")
    current_stage: int | None
    stages: list[StageOut]
    decisions: list[DecisionOut]
    can_decide: bool = Field(description="Whether the caller may approve or request changes now.")
    targets: list[TargetStateOut]


class CommentIn(Schema):
    body: str = Field(max_length=5000, description="Mention teammates as @email or @Full Name.")


class CommentOut(Schema):
    id: int
    by: str
    external: bool
    body: str
    created_at: datetime


class ChangesIn(Schema):
    comment: str = Field(max_length=5000)


class LinkIn(Schema):
    days: int | None = Field(None, description="Days the link works; the workspace's default when empty.")


class LinkOut(Schema):
    id: int
    url: str = Field(description="Shown only in this answer; only a hash of the token is kept.")
    stage: int
    expires_at: datetime


def review_out(membership: Membership, post_id: int) -> dict[str, Any]:
    post = publishing.post_get(membership.workspace, post_id)
    view = services.review_view(membership, post)
    review = view.review
    return {
        "post_id": post.pk,
        "mode": view.mode,
        "status": view.status,
        "current_stage": review.current + 1 if review is not None and review.is_open else None,
        "stages": [
            {"index": s.index + 1, "name": s.name, "state": s.state, "approvers": [u.email for u in s.approvers]}
            for s in view.stages
        ],
        "decisions": [
            {
                "stage": d.stage + 1,
                "stage_name": d.stage_name,
                "kind": d.kind,
                "by": d.external_name or (d.user.email if d.user else ""),
                "external": bool(d.external_name),
                "comment": d.comment,
                "created_at": d.created_at,
            }
            for d in view.decisions
        ],
        "can_decide": view.can_decide,
        "targets": [{"id": t.pk, "channel_id": t.channel_id, "state": state} for t, state in view.target_states],
    }


def comment_out(c: Comment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "by": c.external_name or (c.author.email if c.author else ""),
        "external": bool(c.external_name),
        "body": c.body,
        "created_at": c.created_at,
    }


@router.get(
    "/workspaces/{ws}/posts/{post_id}/review", response={200: ReviewOut, **ERRORS}, auth=access(Perm.POSTS_VIEW)
)
def review_get(request: HttpRequest, ws: str, post_id: int) -> dict[str, Any]:
    """Where the post's review stands: stages, who decided what, and whether you may decide."""
    return review_out(access_of(request).workspace_membership, post_id)


@router.post(
    "/workspaces/{ws}/posts/{post_id}/request-changes",
    response={200: ReviewOut, **ERRORS},
    auth=access(Perm.POSTS_APPROVE, Scope.WRITE),
)
def review_request_changes(request: HttpRequest, ws: str, post_id: int, payload: ChangesIn) -> dict[str, Any]:
    """Send the post back to draft with a comment (required); its author is notified."""
    membership = access_of(request).workspace_membership
    services.review_request_changes(actor=membership, post_id=post_id, comment=payload.comment, ip=client_ip(request))
    return review_out(membership, post_id)


@router.get(
    "/workspaces/{ws}/posts/{post_id}/comments",
    response={200: list[CommentOut], **ERRORS},
    auth=access(Perm.POSTS_VIEW),
)
def comments_list(request: HttpRequest, ws: str, post_id: int) -> list[dict[str, Any]]:
    workspace = access_of(request).workspace_membership.workspace
    return [comment_out(c) for c in services.comments_of(publishing.post_get(workspace, post_id))]


@router.post(
    "/workspaces/{ws}/posts/{post_id}/comments",
    response={201: CommentOut, **ERRORS},
    auth=access(Perm.POSTS_VIEW, Scope.WRITE),
)
def comments_create(request: HttpRequest, ws: str, post_id: int, payload: CommentIn) -> Status[dict[str, Any]]:
    """Comment on the post; members mentioned as @email or @Full Name are notified."""
    membership = access_of(request).workspace_membership
    comment = services.comment_add(actor=membership, post_id=post_id, body=payload.body, ip=client_ip(request))
    return Status(201, comment_out(comment))


@router.post(
    "/workspaces/{ws}/posts/{post_id}/approval-links",
    response={201: LinkOut, **ERRORS},
    auth=access(Perm.POSTS_VIEW, Scope.WRITE),
)
def links_create(request: HttpRequest, ws: str, post_id: int, payload: LinkIn) -> Status[dict[str, Any]]:
    """A sign-off link for a client without an account, for the review's current stage
    (needs posts.approve or posts.publish). The URL is returned only now."""
    membership = access_of(request).workspace_membership
    link, raw = services.link_create(actor=membership, post_id=post_id, days=payload.days, ip=client_ip(request))
    return Status(
        201, {"id": link.pk, "url": services.link_url(raw), "stage": link.stage + 1, "expires_at": link.expires_at}
    )
