"""The analytics pages: overview, channel, post, content types, hashtags and goals. Each table has
a CSV export (``?export=<table>``); what the pages show is built in ``sokhan.analytics.pages``."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sokhan.analytics import pages
from sokhan.analytics.dashboard import PERIODS, axis_label, by_hashtag, by_kind, post_rows, totals
from sokhan.analytics.forms import GoalForm
from sokhan.analytics.models import Goal
from sokhan.analytics.queries import account_series, post_metrics
from sokhan.channels.models import Channel
from sokhan.core.calendars import weekday_name
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.publishing.models import PostTarget
from sokhan.web.access import workspace_context, workspace_page


def _render(request: HttpRequest, membership: Membership, template: str, **extra: object) -> HttpResponse:
    return render(request, template, workspace_context(membership, "analytics", **{"periods": PERIODS, **extra}))


@workspace_page(Perm.ANALYTICS_VIEW)
def overview(request: HttpRequest, membership: Membership) -> HttpResponse:
    ctx = pages.overview(request, membership.workspace)
    export = request.GET.get("export")
    if export == "channels":
        rows = [[s["channel"].display_name, s["followers"], s["growth"], s["growth_rate"]] for s in ctx["summaries"]]
        return pages.csv_response("channels", ("channel", "followers", "growth", "growth_rate"), rows)
    if export == "comparison":
        rows = [[k, c.current, c.previous, c.delta, c.percent] for k, c in ctx["changes"].items()]
        return pages.csv_response("comparison", ("metric", "current", "previous", "change", "change_percent"), rows)
    if export == "top":
        return pages.csv_response("top-posts", pages.POST_HEADER, pages.post_cells(ctx["top"]))
    if export == "besttime":
        cells = [
            [weekday_name(c.weekday, language="en"), c.hour, c.posts, c.rate]
            for d in ctx["best"].weekdays
            for c in ctx["best"].row(d)
        ]
        return pages.csv_response("best-time", ("weekday", "hour", "posts", "engagement_rate"), cells)
    if export == "goals":
        rows = [
            [
                s.goal.metric,
                s.goal.channel.display_name if s.goal.channel else "",
                s.goal.target,
                s.goal.deadline.isoformat(),
                s.current,
                s.projected,
                s.state,
            ]
            for s in ctx["goals"]
        ]
        header = ("metric", "channel", "target", "deadline", "current", "projected", "state")
        return pages.csv_response("goals", header, rows)
    return _render(request, membership, "analytics/overview.html", **ctx)


@workspace_page(Perm.ANALYTICS_VIEW)
def channel_page(request: HttpRequest, membership: Membership, channel_id: int) -> HttpResponse:
    workspace = membership.workspace
    channel = Channel.objects.filter(workspace=workspace, pk=channel_id).first()
    if channel is None:
        raise Http404("channel not found")
    period = pages.period_of(request, workspace)
    series = account_series(workspace, channel, period.start, period.end, "day")
    rows = post_rows(workspace, period, channel_id=channel.pk)
    export = request.GET.get("export")
    if export == "series":
        fields = ("followers", "following", "posts", "reach", "impressions", "views")
        cells = [[p.at.date().isoformat(), *(p.values[f] for f in fields)] for p in series.points]
        return pages.csv_response(f"channel-{channel.pk}", ("day", *fields), cells)
    if export == "posts":
        return pages.csv_response(f"channel-{channel.pk}-posts", pages.POST_HEADER, pages.post_cells(rows))
    calendar, language = pages.calendar_of(request), pages.language_of(request)
    labels = [axis_label(p.at.date(), calendar=calendar, language=language) for p in series.points]
    followers = [None if p.values["followers"] is None else float(p.values["followers"] or 0) for p in series.points]
    chart = pages.chart("line", labels, [(_("Followers"), followers)])
    return _render(
        request,
        membership,
        "analytics/channel.html",
        channel=channel,
        period=period,
        series=series,
        rows=rows,
        totals=totals(rows),
        chart=chart,
        kinds=pages.kind_labels(),
    )


@workspace_page(Perm.ANALYTICS_VIEW)
def post_page(request: HttpRequest, membership: Membership, target_id: int) -> HttpResponse:
    workspace = membership.workspace
    target = PostTarget.objects.filter(workspace=workspace, pk=target_id, published_at__isnull=False).first()
    if target is None:
        raise Http404("post not found")
    view = post_metrics(workspace, target)
    labels = pages.field_labels()
    fields = tuple(labels)
    if request.GET.get("export") == "steps":
        cells = [[s.label, *((s.snapshot or {}).get(f) for f in fields)] for s in view.steps]
        return pages.csv_response(f"post-{target.pk}", ("step", *fields), cells)
    datasets = [(_("Likes"), "likes"), (_("Comments"), "comments"), (_("Shares"), "shares")]
    steps = pages.step_labels()
    chart = pages.chart(
        "bar",
        [steps[s.label] for s in view.steps],
        [
            (name, [None if s.snapshot is None or s.snapshot[f] is None else float(s.snapshot[f]) for s in view.steps])
            for name, f in datasets
        ],
    )
    rows = [(steps[s.label], None if s.snapshot is None else [s.snapshot[f] for f in fields]) for s in view.steps]
    return _render(
        request, membership, "analytics/post.html", target=target, view=view, labels=labels, rows=rows, chart=chart
    )


def _groups_page(request: HttpRequest, membership: Membership, *, hashtags: bool) -> HttpResponse:
    period = pages.period_of(request, membership.workspace)
    rows = post_rows(membership.workspace, period)
    groups = by_hashtag(rows) if hashtags else by_kind(rows)
    if not hashtags:
        labels = pages.kind_labels()
        for group in groups:
            group.label = labels[group.key]
    if request.GET.get("export") == "groups":
        return pages.csv_response(
            "hashtags" if hashtags else "content-types", pages.GROUP_HEADER, pages.group_cells(groups)
        )
    chart = pages.chart(
        "bar",
        [g.label for g in groups[:15]],
        [(_("Engagements per post"), [g.totals.engagements_per_post for g in groups[:15]])],
    )
    template = "analytics/hashtags.html" if hashtags else "analytics/content.html"
    return _render(request, membership, template, period=period, groups=groups, chart=chart)


@workspace_page(Perm.ANALYTICS_VIEW)
def content(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _groups_page(request, membership, hashtags=False)


@workspace_page(Perm.ANALYTICS_VIEW)
def hashtags(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _groups_page(request, membership, hashtags=True)


def _goal(membership: Membership, goal_id: int) -> Goal:
    goal = Goal.objects.filter(workspace=membership.workspace, pk=goal_id).first()
    if goal is None:
        raise Http404("goal not found")
    return goal


def _goal_form(request: HttpRequest, membership: Membership, goal: Goal) -> HttpResponse:
    calendar = getattr(request, "sokhan_calendar", "")
    initial = GoalForm.initial_for(goal, calendar) if goal.pk else None
    form = GoalForm(request.POST or None, initial=initial, workspace=membership.workspace, calendar=calendar)
    if request.method == "POST" and form.is_valid():
        form.save(goal)
        messages.success(request, _("Goal saved."))
        return redirect("analytics:overview", ws=membership.workspace.slug)
    return _render(request, membership, "analytics/goal_form.html", form=form, goal=goal)


@workspace_page(Perm.REPORTS_MANAGE)
def goal_new(request: HttpRequest, membership: Membership) -> HttpResponse:
    goal = Goal(workspace=membership.workspace, created_by=membership.user, start=pages.today(membership.workspace))
    return _goal_form(request, membership, goal)


@workspace_page(Perm.REPORTS_MANAGE)
def goal_edit(request: HttpRequest, membership: Membership, goal_id: int) -> HttpResponse:
    return _goal_form(request, membership, _goal(membership, goal_id))


@workspace_page(Perm.REPORTS_MANAGE)
@require_POST
def goal_delete(request: HttpRequest, membership: Membership, goal_id: int) -> HttpResponse:
    _goal(membership, goal_id).delete()
    messages.success(request, _("Goal deleted."))
    return redirect("analytics:overview", ws=membership.workspace.slug)
