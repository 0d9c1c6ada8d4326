"""Publishing pages: the composer (new post, edit post), its live check and its draft autosave.
The post list, post page and their actions live in ``composer_posts``. Thin: ``services`` saves,
schedules and validates; ``preview`` says what each channel will show."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.calendars import format_time
from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.media.models import Asset
from sokhan.media.services import asset_list
from sokhan.publishing import forms as F
from sokhan.publishing import preview, queue, services
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.views import composer_posts as P
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip

# Which permission each composer button needs (on top of writing drafts).
ACTION_PERMS: dict[str, Perm] = {
    "save": Perm.POSTS_DRAFT,
    "submit": Perm.POSTS_DRAFT,
    "schedule": Perm.POSTS_PUBLISH,
    "queue": Perm.POSTS_PUBLISH,
    "publish": Perm.POSTS_PUBLISH,
}


@dataclass
class Composer:
    """The composer's bound (or initial) forms and what the live check says about them."""

    form: F.ComposerForm
    variants: dict[int, F.VariantForm]
    checks: dict[int, preview.ChannelCheck]
    data: F.Composed
    post: Post | None

    def rows(self) -> list[tuple[F.VariantForm, preview.ChannelCheck | None]]:
        return [(v, self.checks.get(channel_id)) for channel_id, v in self.variants.items()]

    @property
    def valid(self) -> bool:
        return self.form.is_valid() and all(v.is_valid() for v in self.variants.values())

    @property
    def valid_for_draft(self) -> bool:
        """Valid apart from the schedule fields, which a draft does not store (a half-typed date
        must not stop autosave)."""
        return set(self.form.errors) <= {"schedule_date", "schedule_time"} and all(
            v.is_valid() for v in self.variants.values()
        )


def _assets(membership: Membership, attached: set[int]) -> list[Asset]:
    recent = list(asset_list(membership.workspace)[: F.MEDIA_CHOICES])
    missing = attached - {a.pk for a in recent}
    if missing:
        recent += list(asset_list(membership.workspace).filter(pk__in=missing))
    return recent


def _targets(post: Post | None) -> list[PostTarget]:
    if post is None:
        return []
    return list(PostTarget.objects.filter(post=post).select_related("channel").order_by("pk"))


def build_composer(request: HttpRequest, membership: Membership, post: Post | None, *, bound: bool) -> Composer:
    calendar, tz = P.preferences(request)
    targets = _targets(post)
    attached = {int(m["asset_id"]) for t in targets for m in t.media or [] if m.get("asset_id")}
    if bound:
        attached |= {int(v) for k, vs in request.POST.lists() if k.endswith("-assets") for v in vs if v.isdigit()}
    assets = _assets(membership, attached)
    channels = F.composer_channels(membership.workspace, keep=[t.channel_id for t in targets])
    post_initial, variant_initial = F.initial_for(post, targets) if post else ({}, {})
    data = None
    if bound:
        data = request.POST.copy()
        if post is not None:  # the form goes on editing this post (and autosave updates it)
            data["post_id"] = str(post.pk)
    form = F.ComposerForm(data, initial=post_initial, channels=channels, calendar=calendar, tz=tz)
    variants = {
        c.pk: F.VariantForm(
            data,
            initial=variant_initial.get(c.pk, {"text": post_initial.get("main_text", "")}),
            channel=c,
            assets=assets,
        )
        for c in channels
    }
    if bound:
        form.is_valid()
        for variant in variants.values():
            variant.is_valid()
        composed = F.composed(form, variants)
    else:
        by_pk = {a.pk: a for a in assets}
        composed = F.Composed(
            targets=[F.target_variant(t) for t in targets],
            assets={
                t.channel_id: [by_pk[i] for i in variant_initial[t.channel_id]["assets"] if i in by_pk] for t in targets
            },
            sponsored=bool(post_initial.get("sponsored")),
        )
    rules = preview.brand_rules(membership.workspace)
    by_id = {c.pk: c for c in channels}
    checks = {
        v.channel_id: preview.check_variant(
            by_id[v.channel_id],
            v,
            rules=rules,
            sponsored=composed.sponsored,
            assets=composed.assets.get(v.channel_id, []),
        )
        for v in composed.targets
        if v.channel_id in by_id
    }
    return Composer(form=form, variants=variants, checks=checks, data=composed, post=post)


def _editable(post: Post | None) -> bool:
    return post is None or all(t.state in S.EDITABLE for t in _targets(post))


def _may_edit(membership: Membership, post: Post) -> bool:
    if role_can(membership.role, Perm.POSTS_EDIT):
        return True
    return role_can(membership.role, Perm.POSTS_DRAFT) and post.author_id == membership.user_id


def _apply_error(composer: Composer, error: DomainError) -> None:
    """Put a service's error next to the channel or field it names."""
    index_to_channel = {str(i): v.channel_id for i, v in enumerate(composer.data.targets)}
    placed = False
    for key, message in error.fields.items():
        parts = key.split(".")
        channel_id: int | None = None
        if parts[0] == "targets" and len(parts) >= 2 and parts[1] in index_to_channel:
            channel_id = index_to_channel[parts[1]]
        elif parts[0] == "channel" and len(parts) == 2 and parts[1].isdigit():
            channel_id = int(parts[1])
        text = message if len(message) > 20 or " " in message else error.message
        if channel_id is not None and channel_id in composer.variants:
            composer.variants[channel_id].add_error(None, text)
            placed = True
        elif key == "targets":
            composer.form.add_error("channels", error.message)
            placed = True
    if not placed:
        composer.form.add_error(None, error.message)


def _save(request: HttpRequest, membership: Membership, composer: Composer) -> Post:
    """Create or update the post from the composer. Raises ``DomainError``."""
    data = composer.data
    if composer.post is None:
        return services.post_create(
            actor=membership,
            targets=data.targets,
            title=data.title,
            notes=data.notes,
            labels=data.labels,
            ip=client_ip(request),
        )
    return services.post_update(
        actor=membership,
        post_id=composer.post.pk,
        targets=data.targets,
        title=data.title,
        notes=data.notes,
        labels=data.labels,
        ip=client_ip(request),
    )


def _unchanged(composer: Composer) -> bool:
    """The saved post already holds exactly what the form says (autosave then writes nothing)."""
    post = composer.post
    if post is None:
        return False
    saved = [F.target_variant(t) for t in _targets(post)]
    data = composer.data
    return (
        post.title == data.title
        and post.notes == data.notes
        and list(post.labels or []) == data.labels
        and sorted(saved, key=lambda v: v.channel_id) == sorted(data.targets, key=lambda v: v.channel_id)
    )


def _rule_blocks(composer: Composer) -> bool:
    blocked = False
    for channel_id, check in composer.checks.items():
        if check.rule_errors and channel_id in composer.variants:
            for message in check.rule_errors:
                composer.variants[channel_id].add_error(None, message)
            blocked = True
    return blocked


def _run_action(request: HttpRequest, membership: Membership, action: str, post: Post, composer: Composer) -> None:
    ip = client_ip(request)
    if action == "submit":
        services.post_submit(actor=membership, post_id=post.pk, ip=ip)
        messages.success(request, _("Sent for review."))
    elif action == "schedule":
        when = composer.data.when
        if when is None:
            raise DomainError(_("Choose the date and time to publish at."), fields={"schedule_date": "required"})
        if when <= timezone.now():
            raise DomainError(_("That time has passed; choose a later one."), fields={"schedule_date": "past"})
        services.post_schedule(actor=membership, post_id=post.pk, at=when, ip=ip)
        messages.success(request, _("Scheduled."))
    elif action == "queue":
        queue.post_queue(actor=membership, post_id=post.pk, ip=ip)
        messages.success(request, _("Added to each channel's queue."))
    elif action == "publish":
        services.post_schedule(actor=membership, post_id=post.pk, at=timezone.now(), ip=ip)
        messages.success(request, _("Publishing now."))
    else:
        messages.success(request, _("Draft saved."))


def _render(request: HttpRequest, membership: Membership, composer: Composer, status: int = 200) -> HttpResponse:
    ws = membership.workspace.slug
    post = composer.post
    context = workspace_context(
        membership,
        "posts",
        composer=composer,
        form=composer.form,
        rows=composer.rows(),
        post=post,
        action_url=(
            reverse("publishing:composer_edit", kwargs={"ws": ws, "post_id": post.pk})
            if post
            else reverse("publishing:composer_new", kwargs={"ws": ws})
        ),
        chosen={v.channel_id for v in composer.data.targets},
        control=services.publishing_control(membership.workspace),
    )
    return render(request, "publishing/composer.html", context, status=status)


def _compose(request: HttpRequest, membership: Membership, post: Post | None) -> HttpResponse:
    if post is not None and not _may_edit(membership, post):
        raise PermissionDenied(Perm.POSTS_EDIT.value)
    if post is not None and not _editable(post):
        messages.info(request, _("This post is scheduled or published; unschedule it before editing."))
        return redirect("publishing:post", ws=membership.workspace.slug, post_id=post.pk)
    if request.method != "POST":
        return _render(request, membership, build_composer(request, membership, post, bound=False))
    action = request.POST.get("action", "save")
    if action not in ACTION_PERMS:
        action = "save"
    if not role_can(membership.role, ACTION_PERMS[action]):
        raise PermissionDenied(ACTION_PERMS[action].value)
    composer = build_composer(request, membership, post, bound=True)
    if not composer.valid:
        return _render(request, membership, composer, status=400)
    if action != "save" and _rule_blocks(composer):
        composer.form.add_error(None, _("Brand rules stop this post; fix the problems marked below."))
        return _render(request, membership, composer, status=400)
    try:
        saved = _save(request, membership, composer)
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        _apply_error(composer, error)
        return _render(request, membership, composer, status=400)
    try:
        _run_action(request, membership, action, saved, composer)
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        messages.info(request, _("The post is saved as a draft."))
        composer = build_composer(request, membership, saved, bound=True)
        _apply_error(composer, error)
        if "schedule_date" in error.fields:
            composer.form.add_error("schedule_date", error.message)
        return _render(request, membership, composer, status=400)
    return redirect("publishing:post", ws=membership.workspace.slug, post_id=saved.pk)


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def composer_new(request: HttpRequest, membership: Membership) -> HttpResponse:
    post_id = request.POST.get("post_id", "") if request.method == "POST" else ""
    # A draft autosave already created: keep working on it, never make a second post.
    post = P.post_or_404(membership, int(post_id)) if post_id.isdigit() else None
    return _compose(request, membership, post)


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def composer_edit(request: HttpRequest, membership: Membership, post_id: int) -> HttpResponse:
    return _compose(request, membership, P.post_or_404(membership, post_id))


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def composer_check(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The live check: each chosen channel's count, problems and preview (HTMX partial)."""
    post_id = request.POST.get("post_id", "")
    post = P.post_or_404(membership, int(post_id)) if post_id.isdigit() else None
    composer = build_composer(request, membership, post, bound=True)
    context = workspace_context(membership, "posts", rows=composer.rows(), checks=composer.checks, oob=True)
    return render(request, "publishing/_composer_checks.html", context)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def composer_autosave(request: HttpRequest, membership: Membership) -> JsonResponse:
    """Save the composer as a draft (JSON for composer.js). Never schedules or submits.

    All or nothing: when the services refuse the post (a channel cannot take it as it is), nothing
    is written and the problems are returned; the text stays in the browser."""
    post_id = request.POST.get("post_id", "")
    post = P.post_or_404(membership, int(post_id)) if post_id.isdigit() else None
    if post is not None and (not _may_edit(membership, post) or not _editable(post)):
        return JsonResponse({"saved": False, "message": _("Not saved: this post can no longer be edited here.")})
    composer = build_composer(request, membership, post, bound=True)
    if not composer.valid_for_draft:
        return JsonResponse({"saved": False, "message": _("Not saved: some fields need attention.")})
    if not composer.data.targets:
        return JsonResponse({"saved": False, "message": _("Not saved yet: choose at least one channel.")})
    if post is None and not any(v.text.strip() or v.media or v.thread for v in composer.data.targets):
        return JsonResponse({"saved": False, "empty": True, "message": ""})  # nothing typed yet
    if _unchanged(composer):
        return JsonResponse({"saved": True, "post_id": post.pk if post else None, "message": ""})
    try:
        saved = _save(request, membership, composer)
    except DomainError as error:
        problems = [error.message, *(m for m in error.fields.values() if " " in m)]
        return JsonResponse({"saved": False, "message": _("Not saved: ") + " ".join(problems)})
    at = format_time(timezone.localtime(), language=request.LANGUAGE_CODE)
    ws = membership.workspace.slug
    return JsonResponse(
        {
            "saved": True,
            "post_id": saved.pk,
            "edit_url": reverse("publishing:composer_edit", kwargs={"ws": ws, "post_id": saved.pk}),
            "message": _("Saved at %(time)s") % {"time": at},
        }
    )


urlpatterns: list[URLPattern] = [
    path("w/<slug:ws>/posts/", P.posts, name="posts"),
    path("w/<slug:ws>/posts/new/", composer_new, name="composer_new"),
    path("w/<slug:ws>/posts/check/", composer_check, name="composer_check"),
    path("w/<slug:ws>/posts/autosave/", composer_autosave, name="composer_autosave"),
    path("w/<slug:ws>/posts/publishing/pause/", P.pause, name="publishing_pause"),
    path("w/<slug:ws>/posts/publishing/resume/", P.resume, name="publishing_resume"),
    path("w/<slug:ws>/posts/<int:post_id>/", P.post_detail, name="post"),
    path("w/<slug:ws>/posts/<int:post_id>/edit/", composer_edit, name="composer_edit"),
    path("w/<slug:ws>/posts/<int:post_id>/do/", P.post_action, name="post_action"),
    path("w/<slug:ws>/posts/targets/<int:post_target_id>/resolve/", P.target_resolve, name="target_resolve"),
]
