"""Topic pages: the list, a topic's form with the query check ("understood as …", or the column of
a syntax error) and the query tester, and the enable/disable and delete actions. Reading needs
listening.view (the tester too); changes need listening.manage, which the services check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.listening import services
from sokhan.listening.forms import QueryTestForm, TopicForm
from sokhan.listening.models import HourlyCount, Topic
from sokhan.listening.query import QuerySyntaxError, parse
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error

RECENT_DAYS = 7


def _topic(membership: Membership, topic_id: int) -> Topic:
    try:
        return services.topic_get(membership.workspace, topic_id)
    except DomainError:
        raise Http404("no such topic") from None


def _canonical(query: str) -> str:
    try:
        return str(parse(query))
    except QuerySyntaxError:
        return ""


@workspace_page(Perm.LISTENING_VIEW)
@require_http_methods(["GET"])
def topics(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    recent = dict(
        HourlyCount.objects.filter(topic__workspace=workspace, hour__gte=since)
        .values("topic_id")
        .annotate(n=Sum("total"))
        .values_list("topic_id", "n")
    )
    rows = [(t, _canonical(t.query), recent.get(t.pk, 0)) for t in Topic.objects.filter(workspace=workspace)]
    context = workspace_context(membership, "listening", tab="topics", rows=rows, recent_days=RECENT_DAYS)
    return render(request, "listening/topics.html", context)


def _marked(query: str, syntax: QuerySyntaxError | None) -> tuple[str, str, str] | None:
    """The query cut around the error's position, for highlighting it."""
    if syntax is None:
        return None
    at = min(syntax.position, len(query))
    return query[:at], query[at : at + 1], query[at + 1 :]


def _topic_form(request: HttpRequest, membership: Membership, topic: Topic | None) -> HttpResponse:
    """GET: the form (and the saved query's canonical form). POST ``action=test``: check the query
    and run the tester without saving; otherwise save and go back to the topic."""
    initial: dict[str, Any] = {}
    if topic is not None:
        initial = {f: getattr(topic, f) for f in ("name", "kind", "query", "enabled", "route_to_inbox")}
    form, tester = TopicForm(initial=initial), QueryTestForm()
    canonical, syntax, results, status = _canonical(topic.query) if topic else "", None, None, 200
    typed = ""  # the query as the parser saw it (the form strips it), for marking an error's place
    if request.method == "POST":
        form, tester = TopicForm(request.POST), QueryTestForm(request.POST)
        canonical = ""  # only the query just typed is "understood as" anything
        testing = request.POST.get("action") == "test"
        if form.is_valid() and tester.is_valid():
            data = form.cleaned_data
            typed = data["query"]
            try:
                parsed = services.check_query(typed)
                canonical = str(parsed)
                if testing:
                    results = services.match_lines(
                        parsed,
                        tester.cleaned_data["texts"].splitlines(),
                        lang=tester.cleaned_data["test_lang"].strip(),
                        channel=tester.cleaned_data["test_channel"].strip(),
                    )
                else:
                    saved = _save(request, membership, topic, data)
                    messages.success(request, _("Topic “%(name)s” saved.") % {"name": saved.name})
                    return redirect("listening:topic", ws=membership.workspace.slug, topic_id=saved.pk)
            except services.TopicQueryError as error:
                form.add_error("query", error.message)
                syntax = error.syntax
            except NotAllowed:
                raise PermissionDenied(Perm.LISTENING_MANAGE.value) from None
            except DomainError as error:
                apply_domain_error(form, error)
        status = 400 if form.errors or tester.errors else 200
    context = workspace_context(
        membership,
        "listening",
        tab="topics",
        topic=topic,
        form=form,
        tester=tester,
        canonical=canonical,
        # The parser's own wording (English) when it says more than "expected …, found …".
        syntax_detail=syntax.detail if syntax and not syntax.detail.startswith("expected") else "",
        marked=_marked(typed, syntax),
        results=results,
        matched=sum(1 for r in results if r.matched) if results is not None else 0,
    )
    return render(request, "listening/topic_edit.html", context, status=status)


def _save(request: HttpRequest, membership: Membership, topic: Topic | None, data: dict[str, Any]) -> Topic:
    fields = {f: data[f] for f in ("name", "kind", "query", "enabled", "route_to_inbox")}
    if topic is None:
        return services.topic_create(actor=membership, ip=client_ip(request), **fields)
    return services.topic_update(actor=membership, topic_id=topic.pk, ip=client_ip(request), **fields)


@workspace_page(Perm.LISTENING_MANAGE)
@require_http_methods(["GET", "POST"])
def topic_new(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _topic_form(request, membership, None)


@workspace_page(Perm.LISTENING_VIEW)
@require_http_methods(["GET", "POST"])
def topic_edit(request: HttpRequest, membership: Membership, topic_id: int) -> HttpResponse:
    return _topic_form(request, membership, _topic(membership, topic_id))


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def topic_toggle(request: HttpRequest, membership: Membership, topic_id: int) -> HttpResponse:
    topic = _topic(membership, topic_id)
    services.topic_update(actor=membership, topic_id=topic.pk, enabled=not topic.enabled, ip=client_ip(request))
    if topic.enabled:
        messages.success(request, _("Topic “%(name)s” no longer matches new mentions.") % {"name": topic.name})
    else:
        messages.success(request, _("Topic “%(name)s” matches new mentions again.") % {"name": topic.name})
    return redirect("listening:topics", ws=membership.workspace.slug)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def topic_delete(request: HttpRequest, membership: Membership, topic_id: int) -> HttpResponse:
    topic = _topic(membership, topic_id)
    services.topic_delete(actor=membership, topic_id=topic.pk, ip=client_ip(request))
    messages.success(request, _("Topic “%(name)s” deleted.") % {"name": topic.name})
    return redirect("listening:topics", ws=membership.workspace.slug)
