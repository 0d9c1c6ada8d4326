"""Listening pages: insight, the mentions list, a mention's sentiment correction and the export of
corrections. Thin: ``insight``/``insight_page`` and ``mentions_page`` build what they show,
``services`` does the changes. Topics and sources are in ``views_topics`` and ``views_sources``."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokhan.core.errors import DomainError
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.listening import insight_page, mentions_page, services
from sokhan.listening.forms import DEFAULT_DAYS, CorrectionForm, InsightForm
from sokhan.listening.insight import insight_for
from sokhan.listening.mention_filters import SENTIMENT_LABELS
from sokhan.listening.models import Topic
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import safe_next


def _insight_data(request: HttpRequest, viewer: mentions_page.Viewer) -> QueryDict:
    """The form's data; without any, the last 30 days written in the viewer's calendar."""
    if request.GET:
        return request.GET
    today = timezone.now().astimezone(viewer.zone).date()
    data = QueryDict(mutable=True)
    data["from"] = viewer.date(today - timedelta(days=DEFAULT_DAYS - 1), "numeric")
    data["to"] = viewer.date(today, "numeric")
    return data


@workspace_page(Perm.LISTENING_VIEW)
@require_GET
def insight(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    viewer = mentions_page.viewer_of(request)
    topics = list(Topic.objects.filter(workspace=workspace).order_by("name"))
    form = InsightForm(_insight_data(request, viewer), topics=topics, viewer=viewer)
    if not form.is_valid():
        form_ok = InsightForm(QueryDict(), topics=topics, viewer=viewer)
        form_ok.is_valid()
        choice = form_ok.choice()
    else:
        choice = form.choice()
    found = insight_for(workspace, choice.topics, choice.period, choice.by)
    context = workspace_context(
        membership,
        "listening",
        form=form,
        tab="insight",
        has_topics=bool(topics),
        chosen_ids={t.pk for t in choice.topics},
        period_first=viewer.date(choice.period.first, "long"),
        period_last=viewer.date(choice.period.last, "long"),
        baseline_first=viewer.date(choice.period.baseline().first, "long"),
        baseline_last=viewer.date(choice.period.baseline().last, "long"),
        **insight_page.page_context(workspace, found, viewer),
    )
    return render(request, "listening/insight.html", context, status=200 if form.is_valid() else 400)


@workspace_page(Perm.LISTENING_VIEW)
@require_GET
def mentions(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    viewer = mentions_page.viewer_of(request)
    state = mentions_page.list_state(workspace, request.GET, viewer, before=request.GET.get("before", ""))
    here = mentions_page.mentions_url(workspace, state.filters)
    context = workspace_context(
        membership,
        "listening",
        tab="mentions",
        state=state,
        options=mentions_page.options_for(workspace),
        correction_form=CorrectionForm(),
        date_hint=viewer.date(timezone.now().astimezone(viewer.zone).date(), "numeric"),
        here=here,
        more_url=mentions_page.mentions_url(workspace, state.filters, before=state.cursor) if state.cursor else "",
    )
    return render(request, "listening/mentions.html", context, status=400 if state.error else 200)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def correct(request: HttpRequest, membership: Membership, mention_id: int) -> HttpResponse:
    back = safe_next(request, mentions_page.mentions_url(membership.workspace))
    form = CorrectionForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Choose positive, neutral or negative."), fields={"label": "unknown"})
        mention = services.mention_correct(
            actor=membership, mention_id=mention_id, label=form.cleaned_data["label"], ip=client_ip(request)
        )
    except DomainError as error:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": error.message}, status=error.status)
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
        return redirect(back)
    label = str(SENTIMENT_LABELS[mention.corrected_sentiment])
    if _wants_json(request):
        return JsonResponse({"ok": True, "label": mention.corrected_sentiment, "shown": label})
    messages.success(request, _("Sentiment set to %(label)s.") % {"label": label})
    return redirect(f"{back}#mention-{mention.pk}")


@workspace_page(Perm.LISTENING_VIEW)
@require_GET
def corrections_export(request: HttpRequest, membership: Membership) -> StreamingHttpResponse:
    """Every correction as JSON lines ``{"text", "lang", "label"}`` for retraining the model."""
    response = StreamingHttpResponse(
        services.corrections_jsonl(membership.workspace), content_type="application/x-ndjson; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{membership.workspace.slug}-sentiment-corrections.jsonl"'
    return response
