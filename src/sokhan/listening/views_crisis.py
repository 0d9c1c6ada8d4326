"""Crisis mode pages: start it (from the crisis page or from an alert), the incident page (timeline,
checklist, holding statements to adapt and record as sent, notes, owner, end), the post-mortem, and
the holding statement templates. Thin views over ``crisis`` and ``crisis_statements``; URL names
are ``crisis:*`` (``urls_crisis``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.core.text import to_persian_digits
from sokhan.listening import crisis
from sokhan.listening import crisis_statements as statements
from sokhan.listening.alerts import alert_get, alert_title
from sokhan.listening.crisis_summary import duration_text, summarize
from sokhan.listening.models import HoldingStatement, Incident, IncidentEvent, IncidentStatus, Topic
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error


def _members(membership: Membership) -> list[Membership]:
    return list(
        Membership.objects.filter(workspace=membership.workspace, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


class StartForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        required=False,
        max_length=crisis.TITLE_MAX,
        widget=forms.TextInput(attrs={"dir": "auto"}),
        help_text=gettext_lazy("What is happening, in a few words. From an alert: its description."),
    )
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    topics = forms.MultipleChoiceField(
        label=gettext_lazy("Topics"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every topic. Their new mentions go to the inbox as urgent."),
    )
    alert = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, members: list[Membership], topics: list[Topic], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(str(m.user_id), m.user.display_name) for m in members]  # type: ignore[attr-defined]
        self.fields["topics"].choices = [(str(t.pk), t.name) for t in topics]  # type: ignore[attr-defined]


def _start_form(request: HttpRequest, membership: Membership, data: Any = None) -> StartForm:
    initial: dict[str, Any] = {"owner": str(membership.user_id)}
    alert_id = request.GET.get("alert", "")
    if alert_id.isdigit():
        try:
            alert = alert_get(membership.workspace, int(alert_id))
        except NotFound:
            pass
        else:
            initial.update(title=alert_title(alert), topics=[str(alert.topic_id)], alert=str(alert.pk))
    topics = list(Topic.objects.filter(workspace=membership.workspace).order_by("name"))
    return StartForm(data, initial=initial, members=_members(membership), topics=topics)


def _home(request: HttpRequest, membership: Membership, form: StartForm, status: int = 200) -> HttpResponse:
    workspace = membership.workspace
    past = [
        (i, duration_text((i.closed_at - i.opened_at).total_seconds()) if i.closed_at else "")
        for i in crisis.incidents_for(workspace).filter(status=IncidentStatus.CLOSED)[:50]
    ]
    context = workspace_context(
        membership,
        "crisis",
        tab="crisis",
        incident=crisis.open_incident(workspace),
        form=form,
        past=past,
        can_run=crisis.can_run(membership.role),
    )
    return render(request, "listening/crisis/home.html", context, status=status)


@workspace_page(Perm.LISTENING_VIEW)
def home(request: HttpRequest, membership: Membership) -> HttpResponse:
    return _home(request, membership, _start_form(request, membership))


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def start(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = _start_form(request, membership, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            incident = crisis.crisis_start(
                membership,
                title=data["title"],
                owner_id=data["owner"],
                topic_ids=data["topics"],
                alert_id=data["alert"],
                ip=client_ip(request),
            )
        except DomainError as error:
            if error.code == "incident_open":
                messages.error(request, error.message)
                return redirect("crisis:home", ws=membership.workspace.slug)
            apply_domain_error(form, error, {"alert": "title"})
        else:
            messages.success(request, _("Crisis mode is on. Publishing is paused."))
            return redirect("crisis:incident", ws=membership.workspace.slug, incident_id=incident.pk)
    return _home(request, membership, form, status=400)


# ------------------------------------------------------------------------------ the incident


def _fa(request: HttpRequest) -> bool:
    return (getattr(request, "LANGUAGE_CODE", "") or "").startswith("fa")


def _n(value: object, fa: bool) -> str:
    return to_persian_digits(str(value)) if fa else str(value)


def event_line(event: IncidentEvent, fa: bool) -> str:
    """One timeline line, in the viewer's language."""
    who = event.actor.display_name if event.actor else _("Sokhan")
    data = event.data
    if event.kind == "opened":
        paused = _("Publishing was already paused.") if data.get("paused_before") else _("Publishing paused.")
        return _("%(who)s started crisis mode.") % {"who": who} + " " + paused
    if event.kind == "note":
        return _("%(who)s wrote a note.") % {"who": who}
    if event.kind == "owner":
        return _("%(who)s made %(owner)s the owner.") % {"who": who, "owner": data.get("owner", "")}
    if event.kind == "checklist":
        item = data.get("item", "")
        if data.get("added"):
            return _("%(who)s added “%(item)s” to the checklist.") % {"who": who, "item": item}
        if data.get("removed"):
            return _("%(who)s removed “%(item)s” from the checklist.") % {"who": who, "item": item}
        if data.get("done"):
            return _("%(who)s ticked “%(item)s”.") % {"who": who, "item": item}
        return _("%(who)s unticked “%(item)s”.") % {"who": who, "item": item}
    if event.kind == "statement":
        name = data.get("name") or _("a holding statement")
        where = data.get("where", "")
        if where:
            return _("%(who)s sent “%(name)s” (%(where)s).") % {"who": who, "name": name, "where": where}
        return _("%(who)s sent “%(name)s”.") % {"who": who, "name": name}
    if event.kind == "mentions":
        return _(
            "%(total)s mentions in the hour, %(negative)s negative; %(routed)s urgent mentions reached the inbox."
        ) % {
            "total": _n(data.get("total", 0), fa),
            "negative": _n(data.get("negative", 0), fa),
            "routed": _n(data.get("routed", 0), fa),
        }
    if event.kind == "closed":
        resumed = _("Publishing resumed.") if data.get("resumed") else _("Publishing stays paused.")
        return _("%(who)s ended crisis mode.") % {"who": who} + " " + resumed
    return event.kind


def _statement_rows(membership: Membership, incident: Incident) -> list[dict[str, Any]]:
    found = statements.statements_for(membership.workspace)
    language = membership.workspace.language
    found.sort(key=lambda s: (s.language != language, s.language, s.name))
    return [{"statement": s, "text": statements.statement_render(s, incident, membership.user)} for s in found]


@workspace_page(Perm.LISTENING_VIEW)
def incident_page(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    try:
        incident = crisis.incident_get(membership.workspace, incident_id)
    except NotFound:
        raise Http404("incident not found") from None
    fa = _fa(request)
    is_open = incident.status == IncidentStatus.OPEN
    events = incident.events.select_related("actor").order_by("-at", "-pk")
    so_far = summarize(incident, now=timezone.now(), resumed=False) if is_open else incident.summary
    context = workspace_context(
        membership,
        "crisis",
        tab="crisis",
        incident=incident,
        is_open=is_open,
        topics=list(incident.topics.order_by("name")),
        timeline=[(e, event_line(e, fa)) for e in events],
        checklist=list(enumerate(incident.checklist)),
        statements=_statement_rows(membership, incident) if is_open else [],
        figures=so_far,
        duration=duration_text(so_far.get("duration_seconds")) if so_far else "",
        members=_members(membership),
        can_run=crisis.can_run(membership.role),
        can_work=crisis.can_work(membership.role),
    )
    return render(request, "listening/crisis/incident.html", context)


def _act(
    request: HttpRequest, membership: Membership, incident_id: int, change: Callable[[], Any], done: str = ""
) -> HttpResponse:
    """Run a POST's service call; its error or ``done`` as a message; back to the incident."""
    try:
        change()
    except NotFound:
        raise Http404("incident not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if done:
            messages.success(request, done)
    return redirect("crisis:incident", ws=membership.workspace.slug, incident_id=incident_id)


@workspace_page(Perm.LISTENING_VIEW)
@require_POST
def note(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    text = request.POST.get("text", "")
    return _act(request, membership, incident_id, lambda: crisis.crisis_note(membership, incident_id, text))


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def owner(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    chosen, ip = request.POST.get("owner", ""), client_ip(request)
    return _act(
        request, membership, incident_id, lambda: crisis.crisis_owner_set(membership, incident_id, chosen, ip=ip)
    )


@workspace_page(Perm.LISTENING_VIEW)
@require_POST
def checklist(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    action, index = request.POST.get("action", ""), request.POST.get("index", "")

    def change() -> Any:
        if action == "add":
            return crisis.crisis_checklist_add(membership, incident_id, request.POST.get("item", ""))
        if action == "remove":
            return crisis.crisis_checklist_remove(membership, incident_id, index)
        return crisis.crisis_checklist_mark(membership, incident_id, index, action == "done")

    return _act(request, membership, incident_id, change)


@workspace_page(Perm.LISTENING_VIEW)
@require_POST
def statement_sent(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    post = request.POST

    def record() -> Any:
        return crisis.crisis_statement_sent(
            membership,
            incident_id,
            text=post.get("text", ""),
            name=post.get("name", ""),
            where=post.get("where", ""),
            statement_id=post.get("statement", ""),
        )

    return _act(request, membership, incident_id, record, _("Recorded in the timeline."))


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def end(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    notes, ip = request.POST.get("notes", ""), client_ip(request)
    return _act(
        request,
        membership,
        incident_id,
        lambda: crisis.crisis_end(membership, incident_id, notes=notes, ip=ip),
        _("Crisis mode ended. The post-mortem is below."),
    )


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def postmortem(request: HttpRequest, membership: Membership, incident_id: int) -> HttpResponse:
    text, ip = request.POST.get("postmortem", ""), client_ip(request)
    return _act(
        request,
        membership,
        incident_id,
        lambda: crisis.crisis_postmortem_save(membership, incident_id, text, ip=ip),
        _("Post-mortem saved."),
    )


# ------------------------------------------------------------------------------ holding statements


class StatementForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=statements.NAME_MAX, widget=forms.TextInput(attrs={"dir": "auto"})
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"), choices=[("fa", gettext_lazy("Persian")), ("en", gettext_lazy("English"))]
    )
    text = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=statements.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=gettext_lazy(
            "Variables: {brand_name}, {agent_name}, {incident_title}, {topic_names}; they are filled in when "
            "the statement is used during an incident."
        ),
    )


@workspace_page(Perm.LISTENING_VIEW)
def statement_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    rows = [(s, statements.statement_check(s.text)) for s in statements.statements_for(membership.workspace)]
    context = workspace_context(
        membership, "crisis", tab="statements", rows=rows, can_run=crisis.can_run(membership.role)
    )
    return render(request, "listening/crisis/statements.html", context)


@workspace_page(Perm.LISTENING_MANAGE)
@require_http_methods(["GET", "POST"])
def statement_edit(request: HttpRequest, membership: Membership, statement_id: int | None = None) -> HttpResponse:
    workspace = membership.workspace
    statement: HoldingStatement | None = None
    if statement_id is not None:
        try:
            statement = statements.statement_get(workspace, statement_id)
        except NotFound:
            raise Http404("statement not found") from None
    initial = (
        {"name": statement.name, "language": statement.language, "text": statement.text}
        if statement
        else {"language": workspace.language}
    )
    form = StatementForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if statement is None:
                    statement = statements.statement_create(membership, form.cleaned_data, ip=client_ip(request))
                else:
                    statement = statements.statement_update(
                        membership, statement.pk, form.cleaned_data, ip=client_ip(request)
                    )
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Holding statement “%(name)s” saved.") % {"name": statement.name})
                return redirect("crisis:statements", ws=workspace.slug)
        status = 400
    text = str(form.data.get("text", "")) if form.is_bound else (statement.text if statement else "")
    context = workspace_context(
        membership,
        "crisis",
        tab="statements",
        form=form,
        statement=statement,
        unknown=statements.statement_check(text),
        variables=statements.VARIABLES,
    )
    return render(request, "listening/crisis/statement_edit.html", context, status=status)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def statement_delete(request: HttpRequest, membership: Membership, statement_id: int) -> HttpResponse:
    try:
        statements.statement_delete(membership, statement_id, ip=client_ip(request))
    except NotFound:
        raise Http404("statement not found") from None
    messages.success(request, _("Holding statement deleted."))
    return redirect("crisis:statements", ws=membership.workspace.slug)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def statement_examples(request: HttpRequest, membership: Membership) -> HttpResponse:
    made = statements.statement_examples(membership, ip=client_ip(request))
    if made:
        messages.success(request, _("Example statements added. Adapt them to your brand."))
    return redirect("crisis:statements", ws=membership.workspace.slug)
