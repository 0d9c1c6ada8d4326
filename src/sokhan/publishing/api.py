"""Posts over the API: create with per-channel variants, edit, submit/approve, schedule/unschedule,
list and read with per-channel state, resolve an unknown outcome, pause/resume publishing.
See docs/publishing.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from sokhan.api.auth import Scope, access, access_of, client_ip
from sokhan.api.pagination import PageParams, paginate
from sokhan.api.schemas import ERRORS, PageMeta
from sokhan.core.permissions import Perm
from sokhan.publishing import services
from sokhan.publishing.models import Post, PostTarget, PublishingControl

router = Router(tags=["posts"])


class TargetIn(Schema):
    channel_id: int
    text: str = Field("", max_length=100_000)
    title: str = Field("", max_length=300)
    link: str = Field("", max_length=1000)
    first_comment: str = Field("", max_length=20_000)
    thread: list[str] = Field(default_factory=list, description="Further parts after `text`.")
    options: dict[str, str] = Field(default_factory=dict, description="Network options (visibility, language…).")


class PostIn(Schema):
    title: str = Field("", max_length=300)
    notes: str = Field("", max_length=20_000)
    labels: list[str] = Field(default_factory=list)
    targets: list[TargetIn]


class PostPatch(Schema):
    title: str | None = Field(None, max_length=300)
    notes: str | None = Field(None, max_length=20_000)
    labels: list[str] | None = None
    targets: list[TargetIn] | None = Field(None, description="The full list; channels left out are removed.")


class ScheduleIn(Schema):
    at: datetime | None = Field(None, description="When to publish (ISO 8601 with zone); now when empty.")
    channel_ids: list[int] | None = None


class UnscheduleIn(Schema):
    channel_ids: list[int] | None = None


class RejectIn(Schema):
    reason: str = Field("", max_length=500)


class ResolveIn(Schema):
    outcome: Literal["published", "failed", "retry"]
    url: str = Field("", max_length=1000)
    note: str = Field("", max_length=2000)


class PauseIn(Schema):
    reason: str = Field("", max_length=500)


class TargetOut(Schema):
    id: int
    channel_id: int
    network: str
    channel: str
    state: str
    text: str
    title: str
    link: str
    first_comment: str
    thread: list[str]
    options: dict[str, Any]
    scheduled_at: datetime | None
    published_at: datetime | None
    remote_id: str
    remote_url: str
    last_error: str
    error_code: str
    attempts: int
    needs_action: bool = Field(description="outcome_unknown: check the account and resolve.")


class PostOut(Schema):
    id: int
    title: str
    notes: str
    labels: list[str]
    author: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    targets: list[TargetOut]


class PostPage(PageMeta):
    results: list[PostOut]


class ControlOut(Schema):
    paused: bool
    paused_by: str | None
    paused_at: datetime | None
    reason: str


def target_out(t: PostTarget) -> dict[str, Any]:
    return {
        "id": t.pk,
        "channel_id": t.channel_id,
        "network": t.channel.network,
        "channel": t.channel.display_name,
        "state": t.state,
        "text": t.text,
        "title": t.title,
        "link": t.link,
        "first_comment": t.first_comment,
        "thread": [str(p) for p in t.thread or []],
        "options": t.options or {},
        "scheduled_at": t.scheduled_at,
        "published_at": t.published_at,
        "remote_id": t.remote_id,
        "remote_url": t.remote_url,
        "last_error": t.last_error,
        "error_code": t.error_code,
        "attempts": t.attempts,
        "needs_action": t.state == "outcome_unknown",
    }


def post_out(post: Post) -> dict[str, Any]:
    targets = sorted(post.targets.all(), key=lambda t: t.pk)
    return {
        "id": post.pk,
        "title": post.title,
        "notes": post.notes,
        "labels": [str(x) for x in post.labels or []],
        "author": post.author.email if post.author else None,
        "status": services.post_status(targets),
        "created_at": post.created_at,
        "updated_at": post.updated_at,
        "targets": [target_out(t) for t in targets],
    }


def control_out(c: PublishingControl) -> dict[str, Any]:
    return {
        "paused": c.paused,
        "paused_by": c.paused_by.email if c.paused_by else None,
        "paused_at": c.paused_at,
        "reason": c.reason,
    }


def _variants(items: list[TargetIn]) -> list[services.TargetInput]:
    return [services.TargetInput(**item.dict()) for item in items]


def _fresh(post: Post) -> dict[str, Any]:
    return post_out(Post.objects.select_related("author").prefetch_related("targets__channel").get(pk=post.pk))


@router.get("/workspaces/{ws}/posts", response={200: PostPage, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def posts_list(
    request: HttpRequest,
    ws: str,
    page: Query[PageParams],
    status: str = "",
    channel_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """Posts with a channel matching the filters: ``status`` (a target state), ``channel_id``,
    ``since``/``until`` (scheduled time)."""
    workspace = access_of(request).workspace_membership.workspace
    rows = services.posts_query(workspace, status=status, channel_id=channel_id, since=since, until=until)
    return paginate(request, rows.select_related("author"), page, post_out)


@router.post("/workspaces/{ws}/posts", response={201: PostOut, **ERRORS}, auth=access(Perm.POSTS_DRAFT, Scope.WRITE))
def posts_create(request: HttpRequest, ws: str, payload: PostIn) -> Status[dict[str, Any]]:
    membership = access_of(request).workspace_membership
    post = services.post_create(
        actor=membership,
        targets=_variants(payload.targets),
        title=payload.title,
        notes=payload.notes,
        labels=payload.labels,
        ip=client_ip(request),
    )
    return Status(201, _fresh(post))


@router.get("/workspaces/{ws}/posts/publishing", response={200: ControlOut, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def publishing_state(request: HttpRequest, ws: str) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return control_out(services.publishing_control(workspace))


@router.post(
    "/workspaces/{ws}/posts/publishing/pause",
    response={200: ControlOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def publishing_pause(request: HttpRequest, ws: str, payload: PauseIn) -> dict[str, Any]:
    """Hold every due post of the workspace (they stay scheduled, not failed)."""
    membership = access_of(request).workspace_membership
    return control_out(services.publishing_pause(actor=membership, reason=payload.reason, ip=client_ip(request)))


@router.post(
    "/workspaces/{ws}/posts/publishing/resume",
    response={200: ControlOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def publishing_resume(request: HttpRequest, ws: str) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return control_out(services.publishing_resume(actor=membership, ip=client_ip(request)))


@router.get("/workspaces/{ws}/posts/{post_id}", response={200: PostOut, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def posts_get(request: HttpRequest, ws: str, post_id: int) -> dict[str, Any]:
    workspace = access_of(request).workspace_membership.workspace
    return _fresh(services.post_get(workspace, post_id))


@router.patch(
    "/workspaces/{ws}/posts/{post_id}", response={200: PostOut, **ERRORS}, auth=access(Perm.POSTS_DRAFT, Scope.WRITE)
)
def posts_update(request: HttpRequest, ws: str, post_id: int, payload: PostPatch) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    post = services.post_update(
        actor=membership,
        post_id=post_id,
        targets=_variants(payload.targets) if payload.targets is not None else None,
        title=payload.title,
        notes=payload.notes,
        labels=payload.labels,
        ip=client_ip(request),
    )
    return _fresh(post)


@router.post(
    "/workspaces/{ws}/posts/{post_id}/submit",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_DRAFT, Scope.WRITE),
)
def posts_submit(request: HttpRequest, ws: str, post_id: int) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return _fresh(services.post_submit(actor=membership, post_id=post_id, ip=client_ip(request)))


@router.post(
    "/workspaces/{ws}/posts/{post_id}/approve",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_APPROVE, Scope.WRITE),
)
def posts_approve(request: HttpRequest, ws: str, post_id: int) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    return _fresh(services.post_approve(actor=membership, post_id=post_id, ip=client_ip(request)))


@router.post(
    "/workspaces/{ws}/posts/{post_id}/reject",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_APPROVE, Scope.WRITE),
)
def posts_reject(request: HttpRequest, ws: str, post_id: int, payload: RejectIn) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    post = services.post_reject(actor=membership, post_id=post_id, reason=payload.reason, ip=client_ip(request))
    return _fresh(post)


@router.post(
    "/workspaces/{ws}/posts/{post_id}/schedule",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def posts_schedule(request: HttpRequest, ws: str, post_id: int, payload: ScheduleIn) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    post = services.post_schedule(
        actor=membership, post_id=post_id, at=payload.at, channel_ids=payload.channel_ids, ip=client_ip(request)
    )
    return _fresh(post)


@router.post(
    "/workspaces/{ws}/posts/{post_id}/unschedule",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def posts_unschedule(request: HttpRequest, ws: str, post_id: int, payload: UnscheduleIn) -> dict[str, Any]:
    membership = access_of(request).workspace_membership
    post = services.post_unschedule(
        actor=membership, post_id=post_id, channel_ids=payload.channel_ids, ip=client_ip(request)
    )
    return _fresh(post)


@router.post(
    "/workspaces/{ws}/post-targets/{post_target_id}/resolve",
    response={200: TargetOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def targets_resolve(request: HttpRequest, ws: str, post_target_id: int, payload: ResolveIn) -> dict[str, Any]:
    """After ``outcome_unknown``: say what you found on the account — ``published`` (with its URL),
    ``failed``, or ``retry`` (it is not there; publish it now)."""
    membership = access_of(request).workspace_membership
    target = services.target_resolve(
        actor=membership,
        post_target_id=post_target_id,
        outcome=payload.outcome,
        url=payload.url,
        note=payload.note,
        ip=client_ip(request),
    )
    return target_out(target)


# ------------------------------------------------------------------ calendar feed, posting queue


class CalendarFeedOut(Schema):
    url: str = Field(description="Private iCalendar address; anyone with it can read the calendar.")


class SlotIn(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday.")
    time: str = Field(description="Wall-clock HH:MM in the workspace's time zone.", max_length=8)


class SlotsIn(Schema):
    slots: list[SlotIn]


class SlotOut(Schema):
    weekday: int
    time: str


class SlotsOut(Schema):
    channel_id: int
    timezone: str
    slots: list[SlotOut]


def _slots_out(workspace: Any, channel_id: int, slots: list[Any]) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "timezone": workspace.timezone,
        "slots": [{"weekday": s.weekday, "time": s.time.strftime("%H:%M")} for s in slots],
    }


@router.get("/workspaces/{ws}/calendar-feed", response={200: CalendarFeedOut, **ERRORS}, auth=access(Perm.POSTS_VIEW))
def calendar_feed_get(request: HttpRequest, ws: str) -> dict[str, Any]:
    """The workspace's private iCalendar feed of scheduled and published posts."""
    from sokhan.publishing.calendar_feed import calendar_url

    return {"url": calendar_url(access_of(request).workspace_membership.workspace)}


@router.get(
    "/workspaces/{ws}/channels/{channel_id}/slots", response={200: SlotsOut, **ERRORS}, auth=access(Perm.POSTS_VIEW)
)
def slots_get(request: HttpRequest, ws: str, channel_id: int) -> dict[str, Any]:
    """The channel's weekly posting times (its queue)."""
    from sokhan.publishing import queue

    workspace = access_of(request).workspace_membership.workspace
    return _slots_out(workspace, channel_id, queue.slots_list(workspace, channel_id))


@router.put(
    "/workspaces/{ws}/channels/{channel_id}/slots",
    response={200: SlotsOut, **ERRORS},
    auth=access(Perm.POSTS_EDIT, Scope.WRITE),
)
def slots_put(request: HttpRequest, ws: str, channel_id: int, payload: SlotsIn) -> dict[str, Any]:
    """Replace the channel's whole weekly list of posting times."""
    from sokhan.publishing import queue

    membership = access_of(request).workspace_membership
    slots = queue.slots_replace(
        actor=membership,
        channel_id=channel_id,
        slots=[queue.SlotInput(weekday=s.weekday, time=s.time) for s in payload.slots],
        ip=client_ip(request),
    )
    return _slots_out(membership.workspace, channel_id, slots)


@router.post(
    "/workspaces/{ws}/posts/{post_id}/queue",
    response={200: PostOut, **ERRORS},
    auth=access(Perm.POSTS_PUBLISH, Scope.WRITE),
)
def posts_queue(request: HttpRequest, ws: str, post_id: int) -> dict[str, Any]:
    """Schedule each channel of the post at that channel's next free posting time."""
    from sokhan.publishing import queue

    membership = access_of(request).workspace_membership
    return _fresh(queue.post_queue(actor=membership, post_id=post_id, ip=client_ip(request)))
