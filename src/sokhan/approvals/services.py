"""The approval workflow: settings, review rounds, decisions, comments with @mentions and
external sign-off links. Every action checks the actor, writes, and records an audit event in one
transaction. :mod:`sokhan.publishing.services` calls into this module from ``post_submit``,
``post_approve``, ``post_reject``, ``post_update`` and ``post_schedule``.

A review covers all targets of a post together: submitting moves every draft target to
``in_review``; the last stage's approval moves every ``in_review`` target to ``approved``;
a request for changes or a rejection moves them back to ``draft``. See docs/approvals.md.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.approvals.models import (
    ApprovalLink,
    Comment,
    Decision,
    DecisionKind,
    Mode,
    Review,
    ReviewStatus,
    Stage,
    Workflow,
)
from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, Role, role_can
from sokhan.core.services import audit_record
from sokhan.notifications.services import notify
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.services import move_targets

LINK_DAYS_MAX = 90
COMMENT_MAX = 5000
ROLE_ORDER: tuple[Role, ...] = tuple(Role)  # owner first: a lower index is a higher role


class LinkGone(DomainError):
    """An external link that exists but can no longer be used (expired, revoked, used, outdated)."""

    status = 410
    code = "gone"

    def __init__(self, message: str, *, link: ApprovalLink, reason: str) -> None:
        super().__init__(message)
        self.link = link
        self.reason = reason


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _audit(
    workspace: Workspace, user: User | None, action: str, post: Post | None, ip: str | None, **data: Any
) -> None:
    audit_record(
        workspace=workspace,
        actor=user,
        action=action,
        target=f"post:{post.pk}" if post is not None else "",
        data=data,
        ip=ip,
    )


def review_path(workspace: Workspace, post_id: int) -> str:
    return reverse("approvals:review", kwargs={"ws": workspace.slug, "post_id": post_id})


# ------------------------------------------------------------------ workflow settings


def workflow_of(workspace: Workspace) -> Workflow:
    """The workspace's workflow (an unsaved ``none`` one when never configured)."""
    workflow = Workflow.objects.filter(workspace=workspace).first()
    return workflow or Workflow(workspace=workspace, mode=Mode.NONE)


def workflow_on(workspace: Workspace) -> bool:
    return workflow_of(workspace).mode != Mode.NONE


def approving_roles() -> list[Role]:
    return [r for r in ROLE_ORDER if role_can(r, Perm.POSTS_APPROVE)]


@dataclass
class StageInput:
    name: str
    min_role: str = ""
    approver_ids: list[int] = field(default_factory=list)  # user ids


def _stage_snapshot(workflow: Workflow) -> list[dict[str, Any]]:
    if workflow.mode == Mode.STAGES and workflow.pk is not None:
        stages = [
            {"name": s.name, "min_role": s.min_role, "user_ids": sorted(u.pk for u in s.approvers.all())}
            for s in workflow.stages.prefetch_related("approvers").order_by("position", "pk")
        ]
        if stages:
            return stages
    return [{"name": "", "min_role": "", "user_ids": []}]  # one step: anyone who may approve


@transaction.atomic
def workflow_update(
    *,
    actor: Membership,
    mode: str,
    stages: Sequence[StageInput] = (),
    link_days: int = 7,
    ip: str | None = None,
) -> Workflow:
    """Set the mode, the ordered stages (for ``stages``) and how long external links last."""
    if not role_can(actor.role, Perm.WORKSPACE_SETTINGS):
        raise NotAllowed(_("Your role may not change the approval settings."))
    if mode not in Mode.values:
        raise DomainError(_("Choose an approval mode."), fields={"mode": "invalid"})
    if not 1 <= link_days <= LINK_DAYS_MAX:
        raise DomainError(
            _("External links may last from 1 to %(n)s days.") % {"n": LINK_DAYS_MAX}, fields={"link_days": "range"}
        )
    workspace = actor.workspace
    approvers = {m.user_id: m for m in Membership.objects.filter(workspace=workspace).select_related("user")}
    fields: dict[str, str] = {}
    clean: list[StageInput] = []
    for index, stage in enumerate(stages):
        key = f"stages.{index}"
        name = stage.name.strip()
        if not name:
            fields[f"{key}.name"] = _("Stage %(n)s needs a name.") % {"n": index + 1}
            continue
        if stage.min_role and (
            stage.min_role not in Role.__members__.values() or stage.min_role not in approving_roles()
        ):
            fields[f"{key}.min_role"] = _("Stage %(n)s: choose a role that may approve posts.") % {"n": index + 1}
            continue
        ids = list(dict.fromkeys(int(i) for i in stage.approver_ids))
        bad = [i for i in ids if i not in approvers or not role_can(approvers[i].role, Perm.POSTS_APPROVE)]
        if bad:
            fields[f"{key}.approver_ids"] = _(
                "Stage %(n)s: every approver must be a member whose role may approve posts."
            ) % {"n": index + 1}
            continue
        if not ids and not stage.min_role:
            fields[f"{key}.approver_ids"] = _("Stage %(n)s: choose who may approve it.") % {"n": index + 1}
            continue
        clean.append(StageInput(name=name[:100], min_role=stage.min_role, approver_ids=ids))
    if mode == Mode.STAGES and not clean and not fields:
        fields["stages"] = _("Add at least one stage.")
    if fields:
        first = next(iter(fields.values()))
        raise DomainError(first, fields=fields)
    workflow, _created = Workflow.objects.select_for_update().get_or_create(workspace=workspace)
    before = {"mode": workflow.mode, "link_days": workflow.link_days, "stages": _stage_summary(workflow)}
    workflow.mode = mode
    workflow.link_days = link_days
    workflow.updated_at = timezone.now()
    workflow.save()
    if mode == Mode.STAGES:
        workflow.stages.all().delete()
        for position, stage in enumerate(clean):
            row = Stage.objects.create(
                workspace=workspace, workflow=workflow, position=position, name=stage.name, min_role=stage.min_role
            )
            row.approvers.set([approvers[i].user for i in stage.approver_ids])
    after = {"mode": workflow.mode, "link_days": workflow.link_days, "stages": _stage_summary(workflow)}
    audit_record(
        workspace=workspace, actor=actor.user, action="approval.settings", data={"from": before, "to": after}, ip=ip
    )
    return workflow


def _stage_summary(workflow: Workflow) -> list[dict[str, Any]]:
    if workflow.pk is None:
        return []
    return [
        {"name": s.name, "min_role": s.min_role, "approvers": sorted(u.email for u in s.approvers.all())}
        for s in workflow.stages.order_by("position", "pk")
    ]


# ------------------------------------------------------------------ who may decide


def stage_of(review: Review, index: int | None = None) -> dict[str, Any]:
    stages = review.stages or [{"name": "", "min_role": "", "user_ids": []}]
    i = review.current if index is None else index
    return dict(stages[min(i, len(stages) - 1)])


def eligible(role: str, user_id: int, stage: dict[str, Any]) -> bool:
    """Whether a member with ``role`` may decide at ``stage`` (only roles that may approve posts)."""
    if not role_can(role, Perm.POSTS_APPROVE):
        return False
    ids = stage.get("user_ids") or []
    min_role = stage.get("min_role") or ""
    if not ids and not min_role:
        return True
    if user_id in ids:
        return True
    if min_role:
        try:
            return ROLE_ORDER.index(Role(role)) <= ROLE_ORDER.index(Role(min_role))
        except ValueError:
            return False
    return False


def may_decide(membership: Membership, review: Review | None) -> bool:
    if review is None or not review.is_open:
        return False
    return eligible(membership.role, membership.user_id, stage_of(review))


def stage_approvers(workspace: Workspace, stage: dict[str, Any]) -> list[User]:
    members = Membership.objects.filter(workspace=workspace, user__is_active=True).select_related("user")
    return [m.user for m in members.order_by("pk") if eligible(m.role, m.user_id, stage)]


def stage_label(stage: dict[str, Any], index: int, total: int) -> str:
    name = str(stage.get("name") or "")
    if name:
        return name
    return _("Approval") if total == 1 else _("Stage %(n)s") % {"n": index + 1}


# ------------------------------------------------------------------ reviews


def review_current(post: Post, *, lock: bool = False) -> Review | None:
    """The post's latest review round (open or closed)."""
    rows = Review.objects.filter(post=post)
    if lock:
        rows = rows.select_for_update()
    return rows.order_by("-created_at", "-pk").first()


def review_open_of(post: Post, *, lock: bool = False) -> Review | None:
    review = review_current(post, lock=lock)
    return review if review is not None and review.is_open else None


def _locked_targets(post: Post) -> list[PostTarget]:
    return list(PostTarget.objects.select_for_update().filter(post=post).select_related("channel").order_by("pk"))


def _post_name(post: Post) -> str:
    return post.title or _("Post %(n)s") % {"n": post.pk}


def _notify_stage(review: Review, post: Post, actor: User | None) -> None:
    stage = stage_of(review)
    label = stage_label(stage, review.current, len(review.stages))
    name = post.title or f"#{post.pk}"

    def title() -> str:
        return _("Review needed: %(post)s") % {"post": name}

    def body() -> str:
        return _("“%(post)s” is waiting for your approval (%(stage)s).") % {"post": name, "stage": label}

    notify(
        stage_approvers(review.workspace, stage),
        workspace=review.workspace,
        kind="review.requested",
        title=title,
        body=body,
        url=review_path(review.workspace, post.pk),
        exclude=[actor],
    )


def _authors(post: Post, review: Review | None) -> list[User]:
    users = [u for u in (post.author, review.submitted_by if review else None) if u is not None]
    return users


def _notify_authors(
    post: Post, review: Review | None, actor: User | None, kind: str, who: str, comment: str = ""
) -> None:
    name = post.title or f"#{post.pk}"
    texts = {
        "review.approved": (
            lambda: _("Approved: %(post)s") % {"post": name},
            lambda: _("%(who)s approved “%(post)s”. It can be scheduled now.") % {"who": who, "post": name},
        ),
        "review.changes": (
            lambda: _("Changes requested: %(post)s") % {"post": name},
            lambda: (
                _("%(who)s asked for changes to “%(post)s”:\n\n%(comment)s")
                % {"who": who, "post": name, "comment": comment}
            ),
        ),
        "review.rejected": (
            lambda: _("Rejected: %(post)s") % {"post": name},
            lambda: _("%(who)s rejected “%(post)s”:\n\n%(comment)s") % {"who": who, "post": name, "comment": comment},
        ),
        "review.reset": (
            lambda: _("Review restarted: %(post)s") % {"post": name},
            lambda: _("%(who)s edited “%(post)s”, so its review starts again.") % {"who": who, "post": name},
        ),
    }
    title, body = texts[kind]
    notify(
        _authors(post, review),
        workspace=post.workspace,
        kind=kind,
        title=title,
        body=body,
        url=review_path(post.workspace, post.pk),
        exclude=[actor],
    )


def review_open(*, actor: Membership, post: Post, ip: str | None = None) -> Review:
    """Begin a review round (called by ``post_submit`` after the targets moved to in_review)."""
    workflow = workflow_of(actor.workspace)
    for stale in Review.objects.select_for_update().filter(post=post, status=ReviewStatus.OPEN):
        stale.status, stale.closed_at = ReviewStatus.RESET, timezone.now()
        stale.save(update_fields=["status", "closed_at"])
    review = Review.objects.create(
        workspace=actor.workspace,
        post=post,
        mode=workflow.mode,
        stages=_stage_snapshot(workflow),
        submitted_by=actor.user,
    )
    _notify_stage(review, post, actor.user)
    return review


def _decide(
    review: Review,
    kind: str,
    *,
    user: User | None,
    external_name: str = "",
    link: ApprovalLink | None = None,
    comment: str = "",
) -> Decision:
    return Decision.objects.create(
        workspace=review.workspace,
        review=review,
        stage=review.current,
        stage_name=stage_label(stage_of(review), review.current, len(review.stages)),
        kind=kind,
        user=user,
        external_name=external_name[:150],
        link=link,
        comment=comment,
    )


def _close(review: Review, status: str) -> None:
    review.status, review.closed_at = status, timezone.now()
    review.save(update_fields=["status", "closed_at", "current"])


def _check_member(actor: Membership, review: Review) -> None:
    if not role_can(actor.role, Perm.POSTS_APPROVE):
        raise NotAllowed(_("Your role may not approve posts."))
    if not eligible(actor.role, actor.user_id, stage_of(review)):
        label = stage_label(stage_of(review), review.current, len(review.stages))
        raise NotAllowed(
            _("This post is at the stage “%(stage)s”; you are not one of its approvers.") % {"stage": label}
        )


def _advance(
    review: Review,
    post: Post,
    rows: list[PostTarget],
    *,
    user: User | None,
    ip: str | None,
    external_name: str = "",
    link: ApprovalLink | None = None,
    comment: str = "",
) -> Review:
    """Record an approval at the current stage; move to the next stage, or approve the post."""
    waiting = [r for r in rows if r.state == S.IN_REVIEW]
    if not waiting:
        raise Conflict(_("No channel of this post is waiting for review."), code="invalid_transition")
    decision = _decide(review, DecisionKind.APPROVE, user=user, external_name=external_name, link=link, comment=comment)
    extra: dict[str, Any] = {"stage": review.current + 1, "stage_name": decision.stage_name, "review": review.pk}
    if link is not None:
        extra |= {"link": link.pk, "client_name": external_name}
    who = external_name or (user.display_name if user else "")
    if review.current + 1 < len(review.stages):
        _audit(review.workspace, user, "post.approve", post, ip, final=False, **extra)
        review.current += 1
        review.save(update_fields=["current"])
        _notify_stage(review, post, user)
        return review
    move_targets(review.workspace, user, post, waiting, S.APPROVED, action="post.approve", ip=ip, final=True, **extra)
    _close(review, ReviewStatus.APPROVED)
    _notify_authors(post, review, user, "review.approved", who)
    return review


def _send_back(
    review: Review | None,
    post: Post,
    rows: list[PostTarget],
    kind: str,
    *,
    workspace: Workspace,
    user: User | None,
    comment: str,
    ip: str | None,
    external_name: str = "",
    link: ApprovalLink | None = None,
) -> None:
    waiting = [r for r in rows if r.state == S.IN_REVIEW]
    if not waiting:
        raise Conflict(_("No channel of this post is waiting for review."), code="invalid_transition")
    action = "post.request_changes" if kind == DecisionKind.REQUEST_CHANGES else "post.reject"
    extra: dict[str, Any] = {}
    if review is not None:
        decision = _decide(review, kind, user=user, external_name=external_name, link=link, comment=comment)
        extra = {"stage": review.current + 1, "stage_name": decision.stage_name, "review": review.pk}
    if link is not None:
        extra |= {"link": link.pk, "client_name": external_name}
    data_key = "comment" if kind == DecisionKind.REQUEST_CHANGES else "reason"
    extra[data_key] = comment[:500]
    move_targets(workspace, user, post, waiting, S.DRAFT, action=action, ip=ip, **extra)
    if comment:
        Comment.objects.create(workspace=workspace, post=post, author=user, external_name=external_name, body=comment)
    if review is not None:
        _close(
            review, ReviewStatus.CHANGES_REQUESTED if kind == DecisionKind.REQUEST_CHANGES else ReviewStatus.REJECTED
        )
    who = external_name or (user.display_name if user else "")
    _notify_authors(
        post,
        review,
        user,
        "review.changes" if kind == DecisionKind.REQUEST_CHANGES else "review.rejected",
        who,
        comment,
    )


def _post(workspace: Workspace, post_id: int) -> Post:
    post = Post.objects.filter(workspace=workspace, pk=post_id).select_related("author", "workspace").first()
    if post is None:
        raise NotFound(_("No such post in this workspace."))
    return post


def review_approve(*, actor: Membership, post: Post, rows: list[PostTarget], ip: str | None = None) -> Post:
    """A member signs off (called by ``post_approve`` with the post's locked targets).

    Mode ``none``: draft or in_review targets → approved at once, as before the workflow existed.
    Otherwise the post must be in review and the member an approver of its current stage."""
    if not role_can(actor.role, Perm.POSTS_APPROVE):
        raise NotAllowed(_("Your role may not approve posts."))
    review = review_open_of(post, lock=True)
    if not workflow_on(actor.workspace):
        picked = [r for r in rows if r.state in (S.DRAFT, S.IN_REVIEW)]
        if not picked:
            raise Conflict(_("No channel of this post is in a state that allows this."), code="invalid_transition")
        move_targets(actor.workspace, actor.user, post, picked, S.APPROVED, action="post.approve", ip=ip)
        if review is not None:
            _decide(review, DecisionKind.APPROVE, user=actor.user)
            _close(review, ReviewStatus.APPROVED)
            _notify_authors(post, review, actor.user, "review.approved", actor.user.display_name)
        return post
    if review is None:
        raise Conflict(
            _("This post is not in review. Submit it for review first; only approved posts can be scheduled."),
            code="not_in_review",
        )
    _check_member(actor, review)
    _advance(review, post, rows, user=actor.user, ip=ip)
    return post


def review_send_back(
    *,
    actor: Membership,
    post: Post,
    rows: list[PostTarget],
    kind: str,
    comment: str,
    ip: str | None = None,
) -> Post:
    """Request changes (comment required) or reject (called by ``post_reject``): in_review → draft."""
    comment = comment.strip()
    if kind == DecisionKind.REQUEST_CHANGES and not comment:
        raise DomainError(_("Say what should change."), fields={"comment": "required"})
    if len(comment) > COMMENT_MAX:
        raise DomainError(_("The comment is too long."), fields={"comment": "too_long"})
    if not role_can(actor.role, Perm.POSTS_APPROVE):
        raise NotAllowed(_("Your role may not review posts."))
    review = review_open_of(post, lock=True)
    if review is not None and workflow_on(actor.workspace):
        _check_member(actor, review)
    _send_back(review, post, rows, kind, workspace=actor.workspace, user=actor.user, comment=comment, ip=ip)
    return post


@transaction.atomic
def review_request_changes(*, actor: Membership, post_id: int, comment: str, ip: str | None = None) -> Post:
    post = _post(actor.workspace, post_id)
    return review_send_back(
        actor=actor, post=post, rows=_locked_targets(post), kind=DecisionKind.REQUEST_CHANGES, comment=comment, ip=ip
    )


def review_reset_after_edit(*, actor: Membership, post: Post, previous: Iterable[str], ip: str | None = None) -> None:
    """An edit moved the targets back to draft (called by ``post_update``): close the open or
    approved review, revoke its links, and record it when approval is lost."""
    states = set(previous)
    review = review_current(post, lock=True)
    if review is None or review.status not in (ReviewStatus.OPEN, ReviewStatus.APPROVED):
        return
    if not states & {S.IN_REVIEW, S.APPROVED}:
        return
    was = review.status
    _close(review, ReviewStatus.RESET)
    _audit(actor.workspace, actor.user, "approval.reset", post, ip, review=review.pk, was=was, states=sorted(states))
    _notify_authors(post, review, actor.user, "review.reset", actor.user.display_name)


def review_close_scheduled(*, actor: Membership, post: Post) -> None:
    """Mode ``none``: scheduling approved the targets that were in review; close that round."""
    review = review_open_of(post, lock=True)
    if review is not None:
        _decide(review, DecisionKind.APPROVE, user=actor.user, comment="")
        _close(review, ReviewStatus.APPROVED)


def schedule_check(workspace: Workspace, rows: Iterable[PostTarget]) -> None:
    """With a workflow on, only approved targets may be scheduled (called by ``post_schedule``)."""
    if not workflow_on(workspace):
        return
    waiting = [r for r in rows if r.state in (S.DRAFT, S.IN_REVIEW)]
    if waiting:
        raise Conflict(
            _(
                "This post has not been approved yet. This workspace requires approval before scheduling: "
                "submit it for review and wait for the last stage to approve it."
            ),
            fields={f"channel.{r.channel_id}": r.state for r in waiting},
            code="approval_required",
        )


# ------------------------------------------------------------------ comments and @mentions

_MENTION = re.compile(r"@([^\s@,;:!?()\[\]<>]+(?:@[\w.-]+)?)")


def mentioned(workspace: Workspace, body: str) -> list[User]:
    """Members named in ``body`` as ``@email`` or ``@Full Name``."""
    text = body.casefold()
    tokens = {m.group(1).rstrip(".").casefold() for m in _MENTION.finditer(body)}
    found: list[User] = []
    for member in Membership.objects.filter(workspace=workspace).select_related("user").order_by("pk"):
        user = member.user
        email = user.email.casefold()
        names = [email, email.split("@", 1)[0]]
        if user.full_name.strip():
            names.append(user.full_name.strip().casefold())
        if any(name in tokens or (f"@{name}" in text and " " in name) for name in names):
            found.append(user)
    return found


@transaction.atomic
def comment_add(*, actor: Membership, post_id: int, body: str, ip: str | None = None) -> Comment:
    if not role_can(actor.role, Perm.POSTS_VIEW):
        raise NotAllowed(_("Your role may not comment on posts."))
    post = _post(actor.workspace, post_id)
    body = body.strip()
    if not body:
        raise DomainError(_("Write a comment first."), fields={"body": "required"})
    if len(body) > COMMENT_MAX:
        raise DomainError(
            _("A comment may be at most %(n)s characters.") % {"n": COMMENT_MAX}, fields={"body": "too_long"}
        )
    users = [u for u in mentioned(actor.workspace, body) if u.pk != actor.user_id]
    comment = Comment.objects.create(
        workspace=actor.workspace, post=post, author=actor.user, body=body, mentions=[u.pk for u in users]
    )
    _audit(actor.workspace, actor.user, "post.comment", post, ip, comment=comment.pk, mentions=[u.email for u in users])
    name = post.title or f"#{post.pk}"
    who = actor.user.display_name
    url = review_path(actor.workspace, post.pk) + f"#comment-{comment.pk}"
    notify(
        users,
        workspace=actor.workspace,
        kind="comment.mention",
        title=lambda: _("%(who)s mentioned you on %(post)s") % {"who": who, "post": name},
        body=body,
        url=url,
        exclude=[actor.user],
    )
    notify(
        [post.author] if post.author else [],
        workspace=actor.workspace,
        kind="comment.new",
        title=lambda: _("%(who)s commented on %(post)s") % {"who": who, "post": name},
        body=body,
        url=url,
        exclude=[actor.user, *users],
    )
    return comment


def comments_of(post: Post) -> list[Comment]:
    return list(Comment.objects.filter(post=post).select_related("author").order_by("created_at", "pk"))


# ------------------------------------------------------------------ external sign-off links


def may_manage_links(role: str) -> bool:
    return role_can(role, Perm.POSTS_APPROVE) or role_can(role, Perm.POSTS_PUBLISH)


def link_url(raw: str) -> str:
    return f"{settings.BASE_URL}{reverse('approvals:external', kwargs={'token': raw})}"


@transaction.atomic
def link_create(
    *, actor: Membership, post_id: int, days: int | None = None, ip: str | None = None
) -> tuple[ApprovalLink, str]:
    """A link for a client without an account to approve or request changes at the review's
    current stage. Returns the row and the secret token (shown once; only its hash is kept)."""
    if not may_manage_links(actor.role):
        raise NotAllowed(_("Your role may not create sign-off links."))
    post = _post(actor.workspace, post_id)
    review = review_open_of(post, lock=True)
    if review is None:
        raise Conflict(_("Submit the post for review before asking a client to sign it off."), code="not_in_review")
    lifetime = days or workflow_of(actor.workspace).link_days
    if not 1 <= lifetime <= LINK_DAYS_MAX:
        raise DomainError(
            _("External links may last from 1 to %(n)s days.") % {"n": LINK_DAYS_MAX}, fields={"days": "range"}
        )
    raw = secrets.token_urlsafe(32)
    link = ApprovalLink.objects.create(
        workspace=actor.workspace,
        post=post,
        review=review,
        stage=review.current,
        token_hash=_hash(raw),
        created_by=actor.user,
        expires_at=timezone.now() + timedelta(days=lifetime),
    )
    _audit(
        actor.workspace,
        actor.user,
        "approval.link_create",
        post,
        ip,
        link=link.pk,
        review=review.pk,
        stage=review.current + 1,
        expires_at=link.expires_at.isoformat(),
    )
    return link, raw


def active_links(workspace: Workspace, post: Post | None = None) -> list[ApprovalLink]:
    # Links of a closed review, or of a stage the review has left, no longer work (see link_lookup).
    rows = ApprovalLink.objects.filter(
        workspace=workspace,
        used_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
        review__status=ReviewStatus.OPEN,
        stage=F("review__current"),
    )
    if post is not None:
        rows = rows.filter(post=post)
    return list(rows.select_related("post", "created_by", "review").order_by("-created_at", "-pk"))


@transaction.atomic
def link_revoke(*, actor: Membership, link_id: int, ip: str | None = None) -> ApprovalLink:
    if not may_manage_links(actor.role):
        raise NotAllowed(_("Your role may not revoke sign-off links."))
    link = ApprovalLink.objects.select_for_update().filter(workspace=actor.workspace, pk=link_id).first()
    if link is None:
        raise NotFound(_("No such link."))
    if link.revoked_at is None and link.used_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
        _audit(actor.workspace, actor.user, "approval.link_revoke", link.post, ip, link=link.pk)
    return link


def link_lookup(raw: str, *, lock: bool = False) -> ApprovalLink:
    """The usable link for ``raw``: ``NotFound`` for an unknown (or tampered) token, ``LinkGone``
    for one that was used, revoked, expired, or whose review moved on."""
    rows = ApprovalLink.objects.select_related("workspace", "post", "review")
    if lock:
        rows = rows.select_for_update()
    link = rows.filter(token_hash=_hash(raw)).first() if raw else None
    if link is None:
        raise NotFound(_("This sign-off link is not valid. Check that you copied all of it."))
    if link.used_at is not None:
        raise LinkGone(_("This link has already been used."), link=link, reason="used")
    if link.revoked_at is not None:
        raise LinkGone(_("This link was withdrawn by the team."), link=link, reason="revoked")
    if link.expires_at <= timezone.now():
        raise LinkGone(_("This link has expired. Ask the team for a new one."), link=link, reason="expired")
    review = link.review
    if not review.is_open or review.current != link.stage:
        raise LinkGone(_("This post is no longer waiting for this sign-off."), link=link, reason="outdated")
    return link


@transaction.atomic
def link_decide(*, raw: str, decision: str, client_name: str, comment: str = "", ip: str | None = None) -> ApprovalLink:
    """The client's decision through the link: approve, or request changes (comment required)."""
    link = link_lookup(raw, lock=True)
    client_name = client_name.strip()[:150]
    comment = comment.strip()
    if not client_name:
        raise DomainError(_("Enter your name."), fields={"client_name": "required"})
    if decision not in (DecisionKind.APPROVE, DecisionKind.REQUEST_CHANGES):
        raise DomainError(_("Choose approve or request changes."), fields={"decision": "invalid"})
    if decision == DecisionKind.REQUEST_CHANGES and not comment:
        raise DomainError(_("Say what should change."), fields={"comment": "required"})
    if len(comment) > COMMENT_MAX:
        raise DomainError(_("The comment is too long."), fields={"comment": "too_long"})
    post, workspace = link.post, link.workspace
    rows = _locked_targets(post)
    review = Review.objects.select_for_update().get(pk=link.review_id)
    if not review.is_open or review.current != link.stage:
        raise LinkGone(_("This post is no longer waiting for this sign-off."), link=link, reason="outdated")
    link.used_at = timezone.now()
    link.decision = decision
    link.client_name = client_name
    link.comment = comment
    link.save(update_fields=["used_at", "decision", "client_name", "comment"])
    if decision == DecisionKind.APPROVE:
        if comment:
            Comment.objects.create(workspace=workspace, post=post, external_name=client_name, body=comment)
        _advance(review, post, rows, user=None, ip=ip, external_name=client_name, link=link, comment=comment)
        action = "approval.external_approve"
    else:
        _send_back(
            review,
            post,
            rows,
            DecisionKind.REQUEST_CHANGES,
            workspace=workspace,
            user=None,
            comment=comment,
            ip=ip,
            external_name=client_name,
            link=link,
        )
        action = "approval.external_request_changes"
    _audit(workspace, None, action, post, ip, link=link.pk, client_name=client_name, stage=link.stage + 1)
    return link


# ------------------------------------------------------------------ state for pages and the API


@dataclass
class StageView:
    index: int
    name: str
    state: str  # done | current | waiting | stopped
    decisions: list[Decision]
    approvers: list[User]


@dataclass
class ReviewView:
    mode: str
    review: Review | None
    status: str  # none | open | approved | changes_requested | rejected | reset
    stages: list[StageView]
    can_decide: bool
    can_submit: bool
    can_link: bool
    decisions: list[Decision]
    target_states: list[tuple[PostTarget, str]]


def review_view(membership: Membership, post: Post) -> ReviewView:
    workflow = workflow_of(membership.workspace)
    review = review_current(post)
    targets = list(PostTarget.objects.filter(post=post).select_related("channel").order_by("pk"))
    decisions = list(review.decisions.select_related("user").order_by("created_at", "pk")) if review else []
    stage_defs = review.stages if review else _stage_snapshot(workflow)
    stages: list[StageView] = []
    for index, stage in enumerate(stage_defs):
        if review is None:
            state = "waiting"
        elif review.status == ReviewStatus.APPROVED or index < review.current:
            state = "done"
        elif index == review.current:
            state = "current" if review.is_open else "stopped"
        else:
            state = "waiting"
        stages.append(
            StageView(
                index=index,
                name=stage_label(stage, index, len(stage_defs)),
                state=state,
                decisions=[d for d in decisions if d.stage == index],
                approvers=stage_approvers(membership.workspace, stage) if state in ("current", "waiting") else [],
            )
        )
    can_edit = role_can(membership.role, Perm.POSTS_EDIT) or (
        role_can(membership.role, Perm.POSTS_DRAFT) and post.author_id == membership.user_id
    )
    in_review = any(t.state == S.IN_REVIEW for t in targets)
    return ReviewView(
        mode=review.mode if review and review.is_open else workflow.mode,
        review=review,
        status=review.status if review else "none",
        stages=stages,
        can_decide=in_review
        and (
            may_decide(membership, review)
            if workflow.mode != Mode.NONE
            else role_can(membership.role, Perm.POSTS_APPROVE)
        ),
        can_submit=can_edit and any(t.state == S.DRAFT for t in targets),
        can_link=in_review and review is not None and review.is_open and may_manage_links(membership.role),
        decisions=decisions,
        target_states=[(t, t.state) for t in targets],
    )
