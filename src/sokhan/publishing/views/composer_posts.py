"""Publishing pages: the post list (filters, the pause switch), one post (per-channel state,
results, resolve, review and schedule buttons, audit trail). Thin: ``services`` does the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError, NotAllowed, NotFound
from sokhan.core.models import AuditEvent, Membership, User
from sokhan.core.permissions import Perm, role_can
from sokhan.core.text import fold_for_match
from sokhan.publishing import forms as F
from sokhan.publishing import queue, services
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip

PAGE_SIZE = 50

AUDIT_LABELS: dict[str, Any] = {
    "post.create": gettext_lazy("created the post"),
    "post.update": gettext_lazy("edited the post"),
    "post.submit": gettext_lazy("sent it for review"),
    "post.approve": gettext_lazy("approved it"),
    "post.reject": gettext_lazy("sent it back to draft"),
    "post.schedule": gettext_lazy("scheduled it"),
    "post.unschedule": gettext_lazy("unscheduled it"),
    "post.resolve": gettext_lazy("resolved an unknown outcome"),
    "post.reschedule": gettext_lazy("moved it to another time"),
    "post.request_changes": gettext_lazy("asked for changes"),
    "post.comment": gettext_lazy("commented"),
    "approval.reset": gettext_lazy("edited it after review, so the review starts again"),
    "approval.link_create": gettext_lazy("created a sign-off link for a client"),
    "approval.link_revoke": gettext_lazy("revoked a sign-off link"),
    "approval.external_approve": gettext_lazy("approved it through a sign-off link"),
    "approval.external_request_changes": gettext_lazy("asked for changes through a sign-off link"),
}

ERROR_WORDS: dict[str, Any] = {
    "needs_reconnect": gettext_lazy("The network refused Sokhan's access; reconnect the channel, then try again."),
    "channel_unavailable": gettext_lazy("The channel could not publish (paused, disconnected or failing)."),
    "rejected": gettext_lazy("The network refused the post."),
    "interrupted": gettext_lazy(
        "Publishing was interrupted and Sokhan cannot tell whether the post went out. Check the account."
    ),
}


def preferences(request: HttpRequest) -> tuple[Any, str]:
    """The viewer's calendar and time zone (set by the middleware from their preferences)."""
    calendar = getattr(request, "sokhan_calendar", "gregorian")
    return ("jalali" if calendar == "jalali" else "gregorian"), str(getattr(request, "sokhan_timezone", "UTC"))


def post_or_404(membership: Membership, post_id: int) -> Post:
    try:
        return services.post_get(membership.workspace, post_id)
    except NotFound:
        raise Http404("post not found") from None


def _row(post: Post) -> dict[str, Any]:
    targets = sorted(post.targets.all(), key=lambda t: t.pk)
    scheduled = [t.scheduled_at for t in targets if t.scheduled_at and t.state in (S.SCHEDULED, S.PUBLISHING)]
    published = [t.published_at for t in targets if t.published_at]
    first_text = next((t.text for t in targets if t.text), "")
    return {
        "post": post,
        "heading": post.title or first_text,
        "targets": [{"target": t, "network": F.network_name(t.channel)} for t in targets],
        "status": services.post_status(targets),
        "scheduled_at": min(scheduled) if scheduled else None,
        "published_at": max(published) if published else None,
    }


@workspace_page(Perm.POSTS_VIEW)
@require_GET
def posts(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    channels = list(Channel.objects.filter(workspace=workspace).order_by("network", "display_name"))
    authors = list(User.objects.filter(memberships__workspace=workspace).order_by("email"))
    filters = F.PostFilterForm(request.GET or None, channels=channels, authors=authors)
    rows = services.posts_query(workspace)
    label = ""
    if filters.is_valid():
        data = filters.cleaned_data
        rows = services.posts_query(workspace, status=data.get("status") or "", channel_id=data.get("channel"))
        if data.get("author"):
            rows = rows.filter(author_id=data["author"])
        label = fold_for_match(data.get("label") or "")
    found: Any = rows.select_related("author")
    if label:  # labels are a JSON list: matched here, folded the way people type them
        found = [p for p in found if any(fold_for_match(str(x)) == label for x in p.labels or [])]
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = workspace_context(
        membership,
        "posts",
        filters=filters,
        page=page,
        rows=[_row(p) for p in page.object_list],
        state_labels=F.STATE_LABELS,
        control=services.publishing_control(workspace),
        pause_form=F.PauseForm(),
        query=query.urlencode(),
    )
    return render(request, "publishing/posts.html", context)


def _detail_context(request: HttpRequest, membership: Membership, post: Post, **extra: Any) -> dict[str, Any]:
    calendar, tz = preferences(request)
    targets = list(PostTarget.objects.filter(post=post).select_related("channel").order_by("pk"))
    states = {t.state for t in targets}
    events = AuditEvent.objects.filter(workspace=membership.workspace, target=f"post:{post.pk}").select_related(
        "actor"
    )[:200]
    may_edit = role_can(membership.role, Perm.POSTS_EDIT) or (
        role_can(membership.role, Perm.POSTS_DRAFT) and post.author_id == membership.user_id
    )
    return workspace_context(
        membership,
        "posts",
        post=post,
        heading=post.title or next((t.text for t in targets if t.text), ""),
        targets=[
            {
                "target": t,
                "label": F.channel_label(t.channel),
                "error_words": ERROR_WORDS.get(t.error_code, ""),
                "resolve_form": F.ResolveForm(prefix=f"t{t.pk}"),
            }
            for t in targets
        ],
        status=services.post_status(targets),
        state_labels=F.STATE_LABELS,
        events=[{"event": e, "label": AUDIT_LABELS.get(e.action, e.action)} for e in events],
        editable=may_edit and bool(targets) and states <= S.EDITABLE,
        can_schedule=bool(states & {S.DRAFT, S.APPROVED, S.FAILED, S.IN_REVIEW}),
        can_unschedule=S.SCHEDULED in states,
        schedule_form=extra.pop("schedule_form", None) or F.ScheduleForm(calendar=calendar, tz=tz),
        control=services.publishing_control(membership.workspace),
        **extra,
    )


@workspace_page(Perm.POSTS_VIEW)
@require_GET
def post_detail(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    post = post_or_404(membership, post_id)
    return render(request, "publishing/post_detail.html", _detail_context(request, membership, post))


# Each publishing button on the post page: the permission it needs. Review actions (submit,
# approve, request changes, reject) live in the review panel (sokhan.approvals).
POST_ACTIONS: dict[str, Perm] = {
    "schedule": Perm.POSTS_PUBLISH,
    "publish": Perm.POSTS_PUBLISH,
    "queue": Perm.POSTS_PUBLISH,
    "unschedule": Perm.POSTS_PUBLISH,
}


@workspace_page(Perm.POSTS_VIEW)
@require_POST
def post_action(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    post = post_or_404(membership, post_id)
    action = request.POST.get("action", "")
    if action not in POST_ACTIONS:
        raise Http404("unknown action")
    if not role_can(membership.role, POST_ACTIONS[action]):
        raise PermissionDenied(POST_ACTIONS[action].value)
    ip = client_ip(request)
    calendar, tz = preferences(request)
    try:
        if action == "schedule":
            form = F.ScheduleForm(request.POST, calendar=calendar, tz=tz)
            if not form.is_valid():
                context = _detail_context(request, membership, post, schedule_form=form)
                return render(request, "publishing/post_detail.html", context, status=400)
            when = form.cleaned_data["when"]
            if when <= timezone.now():
                form.add_error("schedule_date", _("That time has passed; choose a later one."))
                context = _detail_context(request, membership, post, schedule_form=form)
                return render(request, "publishing/post_detail.html", context, status=400)
            services.post_schedule(actor=membership, post_id=post.pk, at=when, ip=ip)
            messages.success(request, _("Scheduled."))
        elif action == "publish":
            services.post_schedule(actor=membership, post_id=post.pk, at=timezone.now(), ip=ip)
            messages.success(request, _("Publishing now."))
        elif action == "queue":
            queue.post_queue(actor=membership, post_id=post.pk, ip=ip)
            messages.success(request, _("Added to each channel's queue."))
        elif action == "unschedule":
            services.post_unschedule(actor=membership, post_id=post.pk, ip=ip)
            messages.success(request, _("Taken off the schedule."))
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        details = [m for m in error.fields.values() if " " in m]
        messages.error(request, " ".join([error.message, *details]))
    return redirect("publishing:post", ws=membership.workspace.slug, post_id=post.pk)


@workspace_page(Perm.POSTS_PUBLISH)
@require_POST
def target_resolve(request: HttpRequest, membership: Membership, post_target_id: int) -> HttpResponse:
    try:
        target = services.target_get(membership.workspace, post_target_id)
    except NotFound:
        raise Http404("post target not found") from None
    form = F.ResolveForm(request.POST, prefix=f"t{target.pk}")
    if not form.is_valid():
        context = _detail_context(request, membership, target.post)
        for row in context["targets"]:
            if row["target"].pk == target.pk:
                row["resolve_form"] = form
        return render(request, "publishing/post_detail.html", context, status=400)
    try:
        services.target_resolve(
            actor=membership,
            post_target_id=target.pk,
            outcome=form.cleaned_data["outcome"],
            url=form.cleaned_data["url"],
            note=form.cleaned_data["note"],
            ip=client_ip(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you; the channel's result is recorded."))
    return redirect("publishing:post", ws=membership.workspace.slug, post_id=target.post_id)


@workspace_page(Perm.POSTS_PUBLISH)
@require_POST
def pause(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = F.PauseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.publishing_pause(actor=membership, reason=reason, ip=client_ip(request))
    messages.success(request, _("Publishing is paused. Due posts wait until you resume."))
    return redirect("publishing:posts", ws=membership.workspace.slug)


@workspace_page(Perm.POSTS_PUBLISH)
@require_POST
def resume(request: HttpRequest, membership: Membership) -> HttpResponse:
    services.publishing_resume(actor=membership, ip=client_ip(request))
    messages.success(request, _("Publishing is on again; posts held while paused go out now."))
    return redirect("publishing:posts", ws=membership.workspace.slug)
