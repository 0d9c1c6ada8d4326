"""Publishing actions: create and edit posts, review, schedule, resolve, pause. Each checks the
actor's permission, validates, writes, and records an audit event in one transaction.

Moves of a target made here are checked against :data:`sokhan.publishing.states.USER_MOVES`
(anything else is refused with a ``Conflict``, code ``invalid_transition``); rows are locked
first and a target the worker is holding right now (leased) is not moved under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.calls import connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import Conflict, DomainError, NotAllowed, NotFound
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.core.services import audit_record
from sokhan.networks.base import Connector
from sokhan.networks.errors import Rejected
from sokhan.networks.types import Credentials, MediaFile, PublishRequest
from sokhan.publishing import states as S
from sokhan.publishing.brand_rules import brand_rules_for, is_sponsored, variant_findings
from sokhan.publishing.models import Post, PostTarget, PublishingControl
from sokhan.publishing.validation import validate_media, validate_text
from sokhan.runtime.graph import InvalidTransition


@dataclass
class TargetInput:
    """One channel's variant of a post."""

    channel_id: int
    text: str = ""
    title: str = ""
    link: str = ""
    first_comment: str = ""
    thread: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    media: list[dict[str, Any]] = field(default_factory=list)  # internal callers only (media library)


def _require(actor: Membership, perm: Perm) -> None:
    if not role_can(actor.role, perm):
        raise NotAllowed(_("Your role may not do this."))


def _audit(actor: Membership, action: str, post: Post, ip: str | None, **data: Any) -> None:
    audit_record(workspace=actor.workspace, actor=actor.user, action=action, target=f"post:{post.pk}", data=data, ip=ip)


def post_get(workspace: Workspace, post_id: int) -> Post:
    post = Post.objects.filter(workspace=workspace, pk=post_id).first()
    if post is None:
        raise NotFound(_("No such post in this workspace."))
    return post


def target_get(workspace: Workspace, post_target_id: int) -> PostTarget:
    target = PostTarget.objects.filter(workspace=workspace, pk=post_target_id).select_related("channel").first()
    if target is None:
        raise NotFound(_("No such post target in this workspace."))
    return target


def posts_query(
    workspace: Workspace,
    *,
    status: str = "",
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Post]:
    """Posts with at least one target matching the filters (state, channel, scheduled/published in range)."""
    targets = PostTarget.objects.filter(workspace=workspace)
    filtered = False
    if status:
        targets, filtered = targets.filter(state=status), True
    if channel_id is not None:
        targets, filtered = targets.filter(channel_id=channel_id), True
    if since is not None:
        targets, filtered = targets.filter(scheduled_at__gte=since), True
    if until is not None:
        targets, filtered = targets.filter(scheduled_at__lt=until), True
    rows = Post.objects.filter(workspace=workspace)
    if filtered:
        rows = rows.filter(pk__in=targets.values("post_id"))
    return rows.prefetch_related("targets__channel").order_by("-created_at", "-pk")


# ------------------------------------------------------------------ validation


def _connector(channel: Channel) -> type[Connector]:
    return connector_class(channel.network)


def _media_files(media: Iterable[dict[str, Any]]) -> list[MediaFile]:
    return [
        MediaFile(
            path=Path(str(m["path"])),
            mime_type=str(m.get("mime_type", "")),
            alt_text=str(m.get("alt_text", "")),
            width=m.get("width"),
            height=m.get("height"),
            duration_seconds=m.get("duration_seconds"),
        )
        for m in media
    ]


def validate_variant(channel: Channel, variant: TargetInput) -> list[str]:
    """Every problem of this variant on this channel's network, as sentences."""
    cls = _connector(channel)
    media = _media_files(variant.media)
    errors: list[str] = []
    errors += validate_text(variant.text, cls.limits, network_name=cls.name, allow_empty=bool(media)).errors
    for index, part in enumerate(variant.thread, start=2):
        errors += [
            _("Thread part %(n)s: %(error)s") % {"n": index, "error": e}
            for e in validate_text(part, cls.limits, network_name=cls.name).errors
        ]
    if variant.first_comment:
        errors += [
            _("First comment: %(error)s") % {"error": e}
            for e in validate_text(
                variant.first_comment,
                cls.limits,
                network_name=cls.name,
                max_length=cls.limits.max_comment_text or cls.limits.max_text,
            ).errors
        ]
    if variant.title and cls.limits.title_max and len(variant.title) > cls.limits.title_max:
        errors.append(_("Title is longer than %(n)s characters.") % {"n": cls.limits.title_max})
    errors += validate_media(media, cls.limits, network_name=cls.name).errors
    request = PublishRequest(
        text=variant.text,
        idempotency_key="check",
        media=tuple(media),
        title=variant.title,
        link=variant.link,
        thread=tuple(variant.thread),
        first_comment=variant.first_comment,
    )
    try:
        cls(channel.account, Credentials()).check_publish(request)
    except Rejected as exc:
        if exc.reason not in errors:
            errors.append(exc.reason)
    return list(dict.fromkeys(errors))


def _validate_all(workspace: Workspace, variants: Sequence[TargetInput]) -> dict[int, Channel]:
    if not variants:
        raise DomainError(_("Choose at least one channel."), fields={"targets": "required"})
    channels = {c.pk: c for c in Channel.objects.filter(workspace=workspace, pk__in=[v.channel_id for v in variants])}
    fields: dict[str, str] = {}
    seen: set[int] = set()
    for index, variant in enumerate(variants):
        key = f"targets.{index}"
        channel = channels.get(variant.channel_id)
        if channel is None:
            fields[f"{key}.channel_id"] = _("No such channel in this workspace.")
            continue
        if variant.channel_id in seen:
            fields[f"{key}.channel_id"] = _("This channel is listed twice.")
            continue
        seen.add(variant.channel_id)
        if channel.status == ChannelStatus.DISCONNECTED:
            fields[f"{key}.channel_id"] = _("This channel is disconnected.")
            continue
        errors = validate_variant(channel, variant)
        if errors:
            fields[key] = " ".join(errors)
    if fields:
        raise DomainError(_("Some channels cannot take this post as it is."), fields=fields, code="invalid_post")
    return channels


def _apply_variant(target: PostTarget, variant: TargetInput) -> None:
    target.text = variant.text
    target.title = variant.title
    target.link = variant.link
    target.first_comment = variant.first_comment
    target.thread = list(variant.thread)
    target.options = dict(variant.options)
    target.media = list(variant.media)


# ------------------------------------------------------------------ posts


@transaction.atomic
def post_create(
    *,
    actor: Membership,
    targets: Sequence[TargetInput],
    title: str = "",
    notes: str = "",
    labels: Sequence[str] = (),
    ip: str | None = None,
) -> Post:
    _require(actor, Perm.POSTS_DRAFT)
    channels = _validate_all(actor.workspace, targets)
    post = Post.objects.create(
        workspace=actor.workspace, author=actor.user, title=title, notes=notes, labels=list(labels)
    )
    for variant in targets:
        row = PostTarget(workspace=actor.workspace, post=post, channel=channels[variant.channel_id])
        _apply_variant(row, variant)
        row.enter_state(S.DRAFT, active=False)
        row.save()
    _audit(actor, "post.create", post, ip, channels=[v.channel_id for v in targets])
    return post


def _locked_targets(post: Post) -> list[PostTarget]:
    return list(PostTarget.objects.select_for_update().filter(post=post).select_related("channel").order_by("pk"))


def _may_edit(actor: Membership, post: Post) -> None:
    if role_can(actor.role, Perm.POSTS_EDIT):
        return
    if role_can(actor.role, Perm.POSTS_DRAFT) and post.author_id == actor.user_id:
        return
    raise NotAllowed(_("Your role may not edit this post."))


@transaction.atomic
def post_update(
    *,
    actor: Membership,
    post_id: int,
    targets: Sequence[TargetInput] | None = None,
    title: str | None = None,
    notes: str | None = None,
    labels: Sequence[str] | None = None,
    ip: str | None = None,
) -> Post:
    """Edit a post that is not scheduled or published. Edited targets go back to draft.

    ``targets`` (when given) is the full list: channels not in it are removed from the post."""
    post = post_get(actor.workspace, post_id)
    _may_edit(actor, post)
    rows = _locked_targets(post)
    if title is not None:
        post.title = title
    if notes is not None:
        post.notes = notes
    if labels is not None:
        post.labels = list(labels)
    previous = [r.state for r in rows]
    if targets is not None:
        channels = _validate_all(actor.workspace, targets)
        by_channel = {r.channel_id: r for r in rows}
        for row in rows:
            if row.state not in S.EDITABLE:
                raise Conflict(
                    _("This post is %(state)s on a channel; unschedule it before editing.") % {"state": row.state}
                )
        wanted = {v.channel_id for v in targets}
        for row in rows:
            if row.channel_id not in wanted:
                row.delete()
        for variant in targets:
            row = by_channel.get(variant.channel_id) or PostTarget(
                workspace=actor.workspace, post=post, channel=channels[variant.channel_id]
            )
            _apply_variant(row, variant)
            row.enter_state(S.DRAFT, active=False)
            row.last_error, row.error_code = "", ""
            row.save()
        # Approval was for the old content: the review starts again (sokhan.approvals).
        from sokhan.approvals.services import review_reset_after_edit

        review_reset_after_edit(actor=actor, post=post, previous=previous, ip=ip)
    post.updated_at = timezone.now()
    post.save()
    _audit(actor, "post.update", post, ip)
    return post


def move_targets(
    workspace: Workspace,
    user: User | None,
    post: Post,
    rows: Iterable[PostTarget],
    to: str,
    *,
    action: str,
    ip: str | None,
    due_at: datetime | None = None,
    **data: Any,
) -> list[PostTarget]:
    """A person's move of locked target rows, one audit event each. ``user`` is None for someone
    without an account (a client deciding through a sign-off link)."""
    now = timezone.now()
    moved: list[PostTarget] = []
    for row in rows:
        if row.state_locked_until is not None and row.state_locked_until > now:
            raise Conflict(_("This post is being published right now; try again in a moment."))
        try:
            S.check_user_move(row.state, to)
        except InvalidTransition as exc:
            raise Conflict(str(exc), code="invalid_transition") from exc
        before = row.state
        row.enter_state(to, due_at=due_at, active=to in S.ACTIVE)
        row.save()
        moved.append(row)
        audit_record(
            workspace=workspace,
            actor=user,
            action=action,
            target=f"post:{post.pk}",
            data={"post_target": row.pk, "channel": row.channel_id, "from": before, "to": to, **data},
            ip=ip,
        )
    return moved


def _move(
    actor: Membership,
    post: Post,
    rows: Iterable[PostTarget],
    to: str,
    *,
    action: str,
    ip: str | None,
    due_at: datetime | None = None,
    **data: Any,
) -> list[PostTarget]:
    return move_targets(actor.workspace, actor.user, post, rows, to, action=action, ip=ip, due_at=due_at, **data)


def _pick(rows: list[PostTarget], channel_ids: Sequence[int] | None, states: Iterable[str]) -> list[PostTarget]:
    wanted = set(states)
    picked = [r for r in rows if (channel_ids is None or r.channel_id in channel_ids) and r.state in wanted]
    if not picked:
        raise Conflict(_("No channel of this post is in a state that allows this."), code="invalid_transition")
    return picked


@transaction.atomic
def post_submit(*, actor: Membership, post_id: int, ip: str | None = None) -> Post:
    """Ask for review: draft targets → in_review. Opens a review round and notifies the approvers
    of its first stage (see :mod:`sokhan.approvals.services`)."""
    from sokhan.approvals.services import review_open

    post = post_get(actor.workspace, post_id)
    _may_edit(actor, post)
    _move(actor, post, _pick(_locked_targets(post), None, [S.DRAFT]), S.IN_REVIEW, action="post.submit", ip=ip)
    review_open(actor=actor, post=post, ip=ip)
    return post


@transaction.atomic
def post_approve(*, actor: Membership, post_id: int, ip: str | None = None) -> Post:
    """Sign off. Without an approval workflow (mode ``none``): draft or in_review targets →
    approved. With one: an approver of the review's current stage approves that stage; the last
    stage's approval moves the in_review targets → approved (see :mod:`sokhan.approvals.services`)."""
    from sokhan.approvals.services import review_approve

    _require(actor, Perm.POSTS_APPROVE)
    post = post_get(actor.workspace, post_id)
    return review_approve(actor=actor, post=post, rows=_locked_targets(post), ip=ip)


@transaction.atomic
def post_reject(*, actor: Membership, post_id: int, reason: str = "", ip: str | None = None) -> Post:
    """Reject: in_review targets → draft, closing the review round (with a workflow on, only an
    approver of the current stage may)."""
    from sokhan.approvals.models import DecisionKind
    from sokhan.approvals.services import review_send_back

    _require(actor, Perm.POSTS_APPROVE)
    post = post_get(actor.workspace, post_id)
    rows = _locked_targets(post)
    _pick(rows, None, [S.IN_REVIEW])
    return review_send_back(actor=actor, post=post, rows=rows, kind=DecisionKind.REJECT, comment=reason[:500], ip=ip)


@transaction.atomic
def post_schedule(
    *,
    actor: Membership,
    post_id: int,
    at: datetime | None = None,
    channel_ids: Sequence[int] | None = None,
    ip: str | None = None,
) -> Post:
    """Schedule targets at ``at`` (now when None).

    With an approval workflow on (see :mod:`sokhan.approvals`), only approved targets (and failed
    ones, again) may be scheduled: a draft or in_review target is refused with ``Conflict``
    (code ``approval_required``), whoever asks. With mode ``none``: approved, failed and draft
    targets; targets waiting in review need someone who may approve, and scheduling them records
    that approval."""
    from sokhan.approvals.services import review_close_scheduled, schedule_check

    _require(actor, Perm.POSTS_PUBLISH)
    post = post_get(actor.workspace, post_id)
    rows = _locked_targets(post)
    schedule_check(actor.workspace, [r for r in rows if channel_ids is None or r.channel_id in channel_ids])
    states = [S.APPROVED, S.FAILED, S.DRAFT]
    may_approve = role_can(actor.role, Perm.POSTS_APPROVE)
    if may_approve:
        states.append(S.IN_REVIEW)
    waiting = [r for r in rows if r.state == S.IN_REVIEW and (channel_ids is None or r.channel_id in channel_ids)]
    if waiting and not may_approve:
        raise NotAllowed(_("This post is waiting for approval; it cannot be scheduled yet."))
    picked = _pick(rows, channel_ids, states)
    errors = {
        f"channel.{r.channel_id}": " ".join(e) for r in picked if (e := validate_variant(r.channel, _variant_of(r)))
    }
    if errors:
        raise DomainError(_("Some channels cannot take this post as it is."), fields=errors, code="invalid_post")
    _check_brand_rules(actor.workspace, picked)
    when = at or timezone.now()
    for row in picked:
        if row.state == S.IN_REVIEW:
            _move(actor, post, [row], S.APPROVED, action="post.approve", ip=ip, implicit=True)
        row.scheduled_at = when
        row.last_error, row.error_code = "", ""
    _move(actor, post, picked, S.SCHEDULED, action="post.schedule", ip=ip, due_at=when, at=when.isoformat())
    if waiting:
        review_close_scheduled(actor=actor, post=post)
    return post


def _check_brand_rules(workspace: Workspace, rows: Sequence[PostTarget]) -> None:
    """Refuse (code ``brand_rules``) when a blocking brand rule fails for any row's text, thread
    parts or first comment; warnings do not stop scheduling."""
    rules = brand_rules_for(workspace)
    blocked: dict[str, str] = {}
    for row in rows:
        found = variant_findings(
            row.text,
            rules=rules,
            sponsored=is_sponsored(row.options),
            thread=[str(part) for part in row.thread or []],
            first_comment=row.first_comment,
        )
        messages = [_("Brand rule: %(problem)s") % {"problem": f.message} for f in found if f.severity == "error"]
        if messages:
            blocked[f"channel.{row.channel_id}"] = " ".join(messages)
    if blocked:
        raise DomainError(_("Brand rules stop this post."), fields=blocked, code="brand_rules")


def _variant_of(row: PostTarget) -> TargetInput:
    return TargetInput(
        channel_id=row.channel_id,
        text=row.text,
        title=row.title,
        link=row.link,
        first_comment=row.first_comment,
        thread=list(row.thread or []),
        options=dict(row.options or {}),
        media=list(row.media or []),
    )


@transaction.atomic
def post_unschedule(
    *, actor: Membership, post_id: int, channel_ids: Sequence[int] | None = None, ip: str | None = None
) -> Post:
    """Take scheduled targets off the schedule. With an approval workflow on they were approved to
    be scheduled, so they stay approved (not back to draft, which would need a new review)."""
    from sokhan.approvals.services import workflow_on

    _require(actor, Perm.POSTS_PUBLISH)
    post = post_get(actor.workspace, post_id)
    rows = _pick(_locked_targets(post), channel_ids, [S.SCHEDULED])
    to = S.APPROVED if workflow_on(actor.workspace) else S.DRAFT
    _move(actor, post, rows, to, action="post.unschedule", ip=ip)
    return post


RESOLUTIONS = ("published", "failed", "retry")


@transaction.atomic
def target_resolve(
    *, actor: Membership, post_target_id: int, outcome: str, url: str = "", note: str = "", ip: str | None = None
) -> PostTarget:
    """A person checked the account after ``outcome_unknown``: it was posted (optionally with its
    URL), it was not and should stay failed, or it was not and should be tried again now."""
    _require(actor, Perm.POSTS_PUBLISH)
    target = target_get(actor.workspace, post_target_id)
    target = PostTarget.objects.select_for_update().select_related("channel", "post").get(pk=target.pk)
    if outcome not in RESOLUTIONS:
        raise DomainError(_("Choose published, failed or retry."), fields={"outcome": "invalid"})
    to = {"published": S.RESOLVED, "failed": S.FAILED, "retry": S.SCHEDULED}[outcome]
    if outcome == "published":
        target.remote_url = url[:1000]
        target.published_at = timezone.now()
    if outcome == "retry":
        target.scheduled_at = timezone.now()
    target.last_error = note[:4000] if note else target.last_error
    _move(actor, target.post, [target], to, action="post.resolve", ip=ip, outcome=outcome, url=url[:500])
    return target


# ------------------------------------------------------------------ pause / resume


def publishing_control(workspace: Workspace) -> PublishingControl:
    control, _created = PublishingControl.objects.get_or_create(workspace=workspace)
    return control


@transaction.atomic
def publishing_pause(*, actor: Membership, reason: str = "", ip: str | None = None) -> PublishingControl:
    _require(actor, Perm.POSTS_PUBLISH)
    control = publishing_control(actor.workspace)
    control = PublishingControl.objects.select_for_update().get(pk=control.pk)
    control.paused, control.paused_by, control.paused_at, control.reason = True, actor.user, timezone.now(), reason
    control.save()
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="publishing.pause", data={"reason": reason[:500]}, ip=ip
    )
    return control


@transaction.atomic
def publishing_resume(*, actor: Membership, ip: str | None = None) -> PublishingControl:
    """Publishing on again; posts held while paused are due at once."""
    _require(actor, Perm.POSTS_PUBLISH)
    control = publishing_control(actor.workspace)
    control = PublishingControl.objects.select_for_update().get(pk=control.pk)
    control.paused, control.paused_by, control.paused_at, control.reason = False, None, None, ""
    control.save()
    now = timezone.now()
    held = PostTarget.objects.filter(
        workspace=actor.workspace,
        state__in=list(S.ACTIVE),
        scheduled_at__lte=now,
        state_due_at__gt=now,
        state_locked_until__isnull=True,
    ).update(state_due_at=now)
    audit_record(
        workspace=actor.workspace, actor=actor.user, action="publishing.resume", data={"released": held}, ip=ip
    )
    return control


def post_status(targets: Sequence[PostTarget]) -> str:
    """One word for a post from its targets (for lists and the calendar)."""
    states = {t.state for t in targets}
    if not states:
        return S.DRAFT
    if len(states) == 1:
        return next(iter(states))
    for state in (S.OUTCOME_UNKNOWN, S.FAILED, S.PUBLISHING, S.SCHEDULED, S.IN_REVIEW, S.DRAFT, S.APPROVED):
        if state in states:
            return state
    return S.PUBLISHED
