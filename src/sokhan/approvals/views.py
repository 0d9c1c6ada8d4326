"""Approval pages: the workflow settings, the review page of a post (its panel), the actions the
panel posts to, the list of posts waiting for review and active links, and the public sign-off
page for clients without an account."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from sokhan.approvals import services
from sokhan.approvals.models import DecisionKind, Mode, Review, ReviewStatus
from sokhan.approvals.templatetags.approvals import LINK_KEY
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import ROLE_LABELS, Perm, role_can
from sokhan.publishing import services as publishing
from sokhan.publishing.models import Post, PostTarget
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import safe_next

EMPTY_STAGE_ROWS = 2


def _post_or_404(membership: Membership, post_id: int) -> Post:
    try:
        return publishing.post_get(membership.workspace, post_id)
    except NotFound:
        raise Http404("post not found") from None


def _back(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    fallback = reverse("approvals:review", kwargs={"ws": membership.workspace.slug, "post_id": post_id})
    return redirect(safe_next(request, fallback))


# ------------------------------------------------------------------ settings


def _stage_rows(request: HttpRequest | None, workflow: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if request is not None:
        count = int(request.POST.get("stage_count") or 0)
        for i in range(min(count, 20)):
            rows.append(
                {
                    "index": i,
                    "name": request.POST.get(f"stage-{i}-name", ""),
                    "order": request.POST.get(f"stage-{i}-order", str(i + 1)),
                    "min_role": request.POST.get(f"stage-{i}-min_role", ""),
                    "approver_ids": [int(v) for v in request.POST.getlist(f"stage-{i}-approvers") if v.isdigit()],
                }
            )
        return rows
    if workflow.pk is not None:
        for i, stage in enumerate(workflow.stages.prefetch_related("approvers").order_by("position", "pk")):
            rows.append(
                {
                    "index": i,
                    "name": stage.name,
                    "order": str(i + 1),
                    "min_role": stage.min_role,
                    "approver_ids": [u.pk for u in stage.approvers.all()],
                }
            )
    for _extra in range(EMPTY_STAGE_ROWS):
        i = len(rows)
        rows.append({"index": i, "name": "", "order": str(i + 1), "min_role": "", "approver_ids": []})
    return rows


def _render_settings(
    request: HttpRequest, membership: Membership, rows: list[dict[str, Any]], error: str = "", status: int = 200
) -> HttpResponse:
    workflow = services.workflow_of(membership.workspace)
    members = [
        m
        for m in Membership.objects.filter(workspace=membership.workspace).select_related("user").order_by("pk")
        if role_can(m.role, Perm.POSTS_APPROVE)
    ]
    context = workspace_context(
        membership,
        "approvals",
        workflow=workflow,
        mode=request.POST.get("mode", workflow.mode) if request.method == "POST" else workflow.mode,
        link_days=request.POST.get("link_days", workflow.link_days) if request.method == "POST" else workflow.link_days,
        modes=Mode.choices,
        roles=[(r.value, ROLE_LABELS[r]) for r in services.approving_roles()],
        approvers=members,
        rows=rows,
        error=error,
    )
    return render(request, "approvals/settings.html", context, status=status)


@workspace_page(Perm.WORKSPACE_SETTINGS)
def settings_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    workflow = services.workflow_of(membership.workspace)
    if request.method != "POST":
        return _render_settings(request, membership, _stage_rows(None, workflow))
    rows = _stage_rows(request, workflow)
    filled = sorted(
        (r for r in rows if r["name"].strip() or r["approver_ids"] or r["min_role"]),
        key=lambda r: (int(r["order"]) if str(r["order"]).isdigit() else 999, r["index"]),
    )
    mode = request.POST.get("mode", "")
    try:
        link_days = int(request.POST.get("link_days") or 7)
    except ValueError:
        link_days = 0
    try:
        services.workflow_update(
            actor=membership,
            mode=mode,
            stages=[
                services.StageInput(name=r["name"], min_role=r["min_role"], approver_ids=r["approver_ids"])
                for r in filled
            ]
            if mode == Mode.STAGES
            else [],
            link_days=link_days,
            ip=client_ip(request),
        )
    except DomainError as error:
        return _render_settings(request, membership, rows, error=error.message, status=400)
    messages.success(request, _("Approval settings saved."))
    return redirect("approvals:settings", ws=membership.workspace.slug)


# ------------------------------------------------------------------ overview


@workspace_page(Perm.POSTS_VIEW)
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    reviews = list(
        Review.objects.filter(workspace=membership.workspace, status=ReviewStatus.OPEN)
        .select_related("post", "submitted_by")
        .order_by("created_at", "pk")[:200]
    )
    waiting = [(r, services.may_decide(membership, r)) for r in reviews]
    manage_links = services.may_manage_links(membership.role)
    context = workspace_context(
        membership,
        "approvals",
        workflow=services.workflow_of(membership.workspace),
        waiting=waiting,
        links=services.active_links(membership.workspace) if manage_links else [],
        manage_links=manage_links,
    )
    return render(request, "approvals/overview.html", context)


@workspace_page(Perm.POSTS_VIEW)
@require_POST
def link_revoke(request: HttpRequest, membership: Membership, link_id: int) -> HttpResponse:
    try:
        link = services.link_revoke(actor=membership, link_id=link_id, ip=client_ip(request))
    except NotFound:
        raise Http404("link not found") from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(safe_next(request, reverse("approvals:overview", kwargs={"ws": membership.workspace.slug})))
    messages.success(request, _("The link no longer works."))
    fallback = reverse("approvals:review", kwargs={"ws": membership.workspace.slug, "post_id": link.post_id})
    return redirect(safe_next(request, fallback))


# ------------------------------------------------------------------ the review page and its actions


@workspace_page(Perm.POSTS_VIEW)
def review_page(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    post = _post_or_404(membership, post_id)
    targets = list(PostTarget.objects.filter(post=post).select_related("channel").order_by("pk"))
    context = workspace_context(membership, "approvals", post=post, targets=targets)
    return render(request, "approvals/review.html", context)


def _act(request: HttpRequest, membership: Membership, post_id: int, action: Any, done: str) -> HttpResponse:
    _post_or_404(membership, post_id)
    try:
        action()
    except NotFound:
        raise Http404("post not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return _back(request, membership, post_id)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def submit(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    return _act(
        request,
        membership,
        post_id,
        lambda: publishing.post_submit(actor=membership, post_id=post_id, ip=client_ip(request)),
        _("Submitted for review. The approvers have been notified."),
    )


@workspace_page(Perm.POSTS_APPROVE)
@require_POST
def approve(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    return _act(
        request,
        membership,
        post_id,
        lambda: publishing.post_approve(actor=membership, post_id=post_id, ip=client_ip(request)),
        _("Approved."),
    )


@workspace_page(Perm.POSTS_APPROVE)
@require_POST
def request_changes(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    return _act(
        request,
        membership,
        post_id,
        lambda: services.review_request_changes(
            actor=membership, post_id=post_id, comment=request.POST.get("comment", ""), ip=client_ip(request)
        ),
        _("Sent back to the author with your comment."),
    )


@workspace_page(Perm.POSTS_APPROVE)
@require_POST
def reject(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "").strip()
    if not reason:
        _post_or_404(membership, post_id)
        messages.error(request, _("Give a reason for the rejection."))
        return _back(request, membership, post_id)
    return _act(
        request,
        membership,
        post_id,
        lambda: publishing.post_reject(actor=membership, post_id=post_id, reason=reason, ip=client_ip(request)),
        _("Rejected. The author has been told why."),
    )


@workspace_page(Perm.POSTS_VIEW)
@require_POST
def comment(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    return _act(
        request,
        membership,
        post_id,
        lambda: services.comment_add(
            actor=membership, post_id=post_id, body=request.POST.get("body", ""), ip=client_ip(request)
        ),
        _("Comment added."),
    )


@workspace_page(Perm.POSTS_VIEW)
@require_POST
def link_create(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    def create() -> None:
        days = request.POST.get("days", "")
        _link, raw = services.link_create(
            actor=membership, post_id=post_id, days=int(days) if days.isdigit() else None, ip=client_ip(request)
        )
        request.session[LINK_KEY] = services.link_url(raw)

    return _act(request, membership, post_id, create, _("Sign-off link created. Copy it now: it is shown only once."))


# ------------------------------------------------------------------ the public sign-off page


def _media_names(target: PostTarget) -> list[str]:
    names = []
    for item in target.media or []:
        path = str(item.get("path", "")) if isinstance(item, dict) else ""
        names.append(str(item.get("alt_text") or "") if isinstance(item, dict) else "")
        names[-1] = names[-1] or path.replace("\\", "/").rsplit("/", 1)[-1]
    return names


@never_cache
def external(request: HttpRequest, token: str) -> HttpResponse:
    """``/approve/<token>/``: no sign-in. Shows only this post's variants and takes one decision."""
    try:
        link = services.link_lookup(token)
    except NotFound:
        return render(request, "approvals/external_invalid.html", {"reason": "invalid"}, status=404)
    except services.LinkGone as gone:
        with translation.override(gone.link.workspace.language):
            context = {"reason": gone.reason, "link": gone.link, "message": gone.message}
            return render(request, "approvals/external_invalid.html", context, status=410)
    errors: dict[str, str] = {}
    values = {"client_name": "", "comment": ""}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            services.link_decide(
                raw=token,
                decision=request.POST.get("decision", ""),
                client_name=values["client_name"],
                comment=values["comment"],
                ip=client_ip(request),
            )
        except services.LinkGone as gone:
            with translation.override(gone.link.workspace.language):
                context = {"reason": gone.reason, "link": gone.link, "message": gone.message}
                return render(request, "approvals/external_invalid.html", context, status=410)
        except NotFound:
            return render(request, "approvals/external_invalid.html", {"reason": "invalid"}, status=404)
        except DomainError as error:
            errors = {name: error.message for name in error.fields} or {"form": error.message}
        else:
            link.refresh_from_db()
            with translation.override(link.workspace.language):
                return render(request, "approvals/external_invalid.html", {"reason": "used", "link": link})
    review = link.review
    stage = services.stage_label(services.stage_of(review, link.stage), link.stage, len(review.stages))
    targets = list(PostTarget.objects.filter(post=link.post).select_related("channel").order_by("pk"))
    with translation.override(link.workspace.language):
        context = {
            "link": link,
            "post": link.post,
            "workspace_name": link.workspace.name,
            "stage": stage,
            "variants": [(t, _media_names(t)) for t in targets],
            "errors": errors,
            "values": values,
            "decisions": DecisionKind,
        }
        return render(request, "approvals/external.html", context, status=400 if errors else 200)
