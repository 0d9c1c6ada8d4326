"""Inbox configuration pages: settings (business hours, escalation, teams), rules (list, order,
edit with a dry run), saved replies, and the response report with its CSV export.

Thin views: validation, saving and auditing live in ``inbox_settings``, ``rules`` and
``saved_replies``; the report comes from ``sokhan.metrics.inbox_report``. URL names are
``inbox:config_*`` (the patterns are in ``urls_config`` and included by ``inbox.urls``).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.calendars import CalendarName, first_weekday, format_date, weekday_name
from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.core.text import to_latin_digits, to_persian_digits
from sokhan.inbox import inbox_settings as settings_service
from sokhan.inbox import rules as rules_service
from sokhan.inbox import saved_replies as replies_service
from sokhan.inbox.models import Kind, Priority, Rule, SavedReply, Sentiment
from sokhan.metrics.inbox_report import ReportRow, report_csv, response_report, workspace_zone
from sokhan.metrics.response import GROUPS
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.forms import CalendarDateField
from sokhan.web.http import client_ip

DRY_RUN_DEFAULT = 50
DRY_RUN_MAX = 500
REPORT_DEFAULT_DAYS = 30
REPORT_MAX_DAYS = 731

GROUP_LABELS = {
    "total": gettext_lazy("Total"),
    "channel": gettext_lazy("Channel"),
    "agent": gettext_lazy("Agent"),
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week"),
    "month": gettext_lazy("Month"),
}
FIELD_LABELS = {
    "keywords": gettext_lazy("Keywords"),
    "sentiment": gettext_lazy("Sentiment"),
    "channel": gettext_lazy("Channel"),
    "type": gettext_lazy("Type"),
    "followers": gettext_lazy("Author's followers"),
    "language": gettext_lazy("Language"),
}
OP_LABELS = {
    "any": gettext_lazy("contains any of"),
    "all": gettext_lazy("contains all of"),
    "none": gettext_lazy("contains none of"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is not one of"),
    "gte": gettext_lazy("at least"),
    "lte": gettext_lazy("at most"),
}
ACTION_LABELS = {
    "tag": gettext_lazy("Add tag"),
    "assign": gettext_lazy("Assign"),
    "priority": gettext_lazy("Set priority"),
    "hide": gettext_lazy("Hide as spam"),
    "notify": gettext_lazy("Notify members"),
    "auto_reply": gettext_lazy("Reply automatically"),
    "close": gettext_lazy("Close the conversation"),
}
RESULT_LABELS = {
    rules_service.DONE: gettext_lazy("done"),
    rules_service.WOULD: gettext_lazy("would apply"),
    rules_service.NOT_SUPPORTED: gettext_lazy("not supported"),
    rules_service.NOT_ALLOWED: gettext_lazy("not allowed"),
    rules_service.FAILED: gettext_lazy("failed"),
}


def _calendar(request: HttpRequest) -> CalendarName:
    return "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"


def _language() -> str:
    return "fa" if (translation.get_language() or "").startswith("fa") else "en"


def _show_errors(form: forms.Form, error: DomainError, field_of: Any) -> None:
    """Each problem the service named on its form field (``field_of(key)``), else on the form."""
    placed = False
    for key, message in error.fields.items():
        name = field_of(key)
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _members(membership: Membership) -> list[Membership]:
    return list(
        Membership.objects.filter(workspace=membership.workspace, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


# ---------------------------------------------------------------------------------------------
# Inbox settings and teams

_HOURS_SPLIT = re.compile(r"[,،;]")
_RANGE_SPLIT = re.compile(r"\s*(?:-|–|—|تا)\s*")


def hours_text(intervals: list[list[str]]) -> str:
    """``[["09:00", "17:00"], …]`` as the form shows it: ``09:00-17:00, …``."""
    return ", ".join(f"{start}-{end}" for start, end in intervals)


def hours_parse(text: str) -> list[list[str]]:
    """The form's ``09:00-17:00, 18:00-20:00`` (Persian digits and «تا» accepted) as intervals;
    malformed parts are passed on as they are, for the business-hours check to name them."""
    intervals: list[list[str]] = []
    for part in _HOURS_SPLIT.split(to_latin_digits(text)):
        part = part.strip()
        if part:
            intervals.append([p.strip() for p in _RANGE_SPLIT.split(part, maxsplit=1)])
    return intervals


class InboxSettingsForm(forms.Form):
    timezone = forms.ChoiceField(label=gettext_lazy("Time zone of the business hours"))
    brand_name = forms.CharField(
        label=gettext_lazy("Brand name"),
        required=False,
        max_length=settings_service.BRAND_MAX,
        widget=forms.TextInput(attrs={"dir": "auto"}),
        help_text=gettext_lazy("Fills {brand_name} in saved replies; empty: the workspace's name."),
    )
    guidelines = forms.CharField(
        label=gettext_lazy("Response guidelines"),
        required=False,
        max_length=settings_service.GUIDELINES_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
        help_text=gettext_lazy("Shown to the team next to the reply box: tone, what to promise, when to escalate."),
    )
    escalation_owner = forms.ChoiceField(
        label=gettext_lazy("Escalation owner"),
        required=False,
        help_text=gettext_lazy(
            "Negative messages and messages with a crisis keyword are assigned to this member, raised in "
            "priority and reported to them. Nobody: no escalation."
        ),
    )
    escalate_negative = forms.BooleanField(label=gettext_lazy("Escalate negative messages"), required=False)
    crisis_keywords = forms.CharField(
        label=gettext_lazy("Crisis keywords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "dir": "auto"}),
        help_text=gettext_lazy(
            "One word or phrase per line. A message containing one is escalated as urgent. Whole words only; "
            "Arabic and Persian letter forms and digits are treated alike."
        ),
    )

    def __init__(self, *args: Any, members: list[Membership], week_start: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(available_timezones())
        self.fields["timezone"].choices = [(z, z) for z in zones]  # type: ignore[attr-defined]
        self.fields["escalation_owner"].choices = [  # type: ignore[attr-defined]
            ("", _("Nobody (no escalation)")),
            *((str(m.user_id), m.user.display_name) for m in members),
        ]
        self.weekdays = [(week_start + i) % 7 for i in range(7)]
        for day in self.weekdays:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=weekday_name(day),
                required=False,
                # An example of the format (not a value); what an empty day means is the help text.
                widget=forms.TextInput(attrs={"dir": "ltr", "placeholder": "09:00-17:00"}),
                help_text=gettext_lazy("Times like 09:00-17:00, several separated by commas; empty: closed."),
            )
        self.fields["timezone"].widget.attrs["dir"] = "ltr"

    @staticmethod
    def initial_for(row: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "timezone": row.timezone,
            "brand_name": row.brand_name,
            "guidelines": row.guidelines,
            "escalation_owner": str(row.escalation_owner_id or ""),
            "escalate_negative": row.escalate_negative,
            "crisis_keywords": "\n".join(row.crisis_keywords or []),
        }
        for day in range(7):
            initial[f"hours_{day}"] = hours_text(row.business_hours.get(str(day), []))
        return initial

    def hour_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in self.weekdays]

    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith("hours_")]

    def settings_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        hours = {str(day): hours_parse(data[f"hours_{day}"]) for day in range(7)}
        return {
            "business_hours": {day: value for day, value in hours.items() if value},
            "timezone": data["timezone"],
            "brand_name": data["brand_name"],
            "guidelines": data["guidelines"],
            "escalation_owner": int(data["escalation_owner"]) if data["escalation_owner"] else None,
            "escalate_negative": data["escalate_negative"],
            "crisis_keywords": [line.strip() for line in data["crisis_keywords"].splitlines() if line.strip()],
        }


def _settings_field(key: str) -> str:
    if key.startswith("business_hours."):
        return "hours_" + key.split(".")[1]
    return key


def _week_start(membership: Membership) -> int:
    # The hours are the workspace's: list them in its working week (Saturday first in Iran).
    workspace = membership.workspace
    calendar: CalendarName = "jalali" if workspace.calendar == "jalali" else "gregorian"
    return first_weekday(calendar=calendar, language=workspace.language)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    members = _members(membership)
    current = settings_service.inbox_settings_for(workspace)
    form = InboxSettingsForm(
        request.POST if request.method == "POST" else None,
        initial=InboxSettingsForm.initial_for(current),
        members=members,
        week_start=_week_start(membership),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                settings_service.inbox_settings_save(membership, form.settings_data(), ip=client_ip(request))
            except DomainError as error:
                _show_errors(form, error, _settings_field)
            else:
                messages.success(request, _("Inbox settings saved."))
                return redirect("inbox:config_settings", ws=workspace.slug)
        status = 400
    teams = settings_service.teams_for(workspace)
    context = workspace_context(
        membership,
        "inbox",
        tab="settings",
        form=form,
        saved=current if current.pk else None,
        teams=[(team, {u.pk for u in team.members.all()}) for team in teams],
        members=members,
    )
    return render(request, "inbox/config/settings.html", context, status=status)


def _team_data(request: HttpRequest) -> dict[str, Any]:
    return {"name": request.POST.get("name", ""), "members": request.POST.getlist("members")}


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def team_create_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    try:
        team = settings_service.team_save(membership, _team_data(request), ip=client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Team %(name)s created.") % {"name": team.name})
    return redirect("inbox:config_settings", ws=membership.workspace.slug)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def team_update_view(request: HttpRequest, membership: Membership, team_id: int) -> HttpResponse:
    try:
        team = settings_service.team_save(membership, _team_data(request), team_id=team_id, ip=client_ip(request))
    except NotFound:
        raise Http404("team not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
    return redirect("inbox:config_settings", ws=membership.workspace.slug)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def team_delete_view(request: HttpRequest, membership: Membership, team_id: int) -> HttpResponse:
    try:
        settings_service.team_delete(membership, team_id, ip=client_ip(request))
    except NotFound:
        raise Http404("team not found") from None
    messages.success(request, _("Team deleted."))
    return redirect("inbox:config_settings", ws=membership.workspace.slug)


# ---------------------------------------------------------------------------------------------
# Rules


class _Names:
    """Channel, member and team names by id, for describing rules."""

    def __init__(self, membership: Membership) -> None:
        from sokhan.channels.models import Channel
        from sokhan.inbox.models import Team

        workspace = membership.workspace
        self.channels = {c.pk: c.display_name for c in Channel.objects.filter(workspace=workspace)}
        self.members = {m.user_id: m.user.display_name for m in _members(membership)}
        self.teams = {t.pk: t.name for t in Team.objects.filter(workspace=workspace)}

    def builder_options(self) -> dict[str, Any]:
        """What the rule builder's selects offer (with translated labels)."""
        return {
            "channels": [{"id": k, "name": v} for k, v in self.channels.items()],
            "members": [{"id": k, "name": v} for k, v in self.members.items()],
            "teams": [{"id": k, "name": v} for k, v in self.teams.items()],
            "fields": [{"id": k, "name": str(v)} for k, v in FIELD_LABELS.items()],
            "ops": {k: str(v) for k, v in OP_LABELS.items()},
            "actions": [{"id": k, "name": str(v)} for k, v in ACTION_LABELS.items()],
            "sentiments": [{"id": s, "name": str(Sentiment(s).label)} for s in rules_service.SENTIMENTS],
            "types": [{"id": k.value, "name": str(k.label)} for k in Kind],
            "priorities": [{"id": p.value, "name": str(p.label)} for p in Priority],
            "variables": list(replies_service.VARIABLES),
            "text": {
                "conditions": _("Conditions"),
                "condition": _("Condition"),
                "actions": _("Actions"),
                "add_condition": _("Add a condition"),
                "add_action": _("Add an action"),
                "remove": _("Remove"),
                "field": _("Field"),
                "op": _("Operator"),
                "value": _("Value"),
                "action": pgettext("what a rule does", "Action"),
                "one_per_line": _("One word or phrase per line"),
                "codes": _("Language codes separated by commas, e.g. fa, en"),
                "member": _("Member"),
                "team": _("Team"),
                "nobody": _("(none)"),
                "no_value": _("No value needed."),
                "variables": _("Variables:"),
                "edit_json": _("Edit as JSON"),
            },
        }

    def condition(self, cond: dict[str, Any]) -> str:
        name, op, value = cond.get("field", ""), cond.get("op", ""), cond.get("value")
        if name == "channel":
            shown = ", ".join(self.channels.get(i, f"#{i}") for i in value or [])
        elif name == "sentiment":
            shown = ", ".join(str(Sentiment(v).label) for v in value or [] if v in Sentiment.values)
        elif name == "type":
            shown = ", ".join(str(Kind(v).label) for v in value or [] if v in Kind.values)
        elif isinstance(value, list):
            shown = ", ".join(f"“{v}”" if name == "keywords" else str(v) for v in value)
        else:
            shown = str(value)
        return f"{FIELD_LABELS.get(name, name)} {OP_LABELS.get(op, op)} {shown}"

    def action(self, act: dict[str, Any]) -> str:
        name, value = act.get("action", ""), act.get("value")
        label = str(ACTION_LABELS.get(name, name))
        if name == "assign" and isinstance(value, dict):
            who = [self.members.get(value["user"], f"#{value['user']}")] if value.get("user") else []
            who += [self.teams.get(value["team"], f"#{value['team']}")] if value.get("team") else []
            return f"{label}: {' / '.join(who)}"
        if name == "notify":
            return f"{label}: {', '.join(self.members.get(i, f'#{i}') for i in value or [])}"
        if name == "priority" and value in Priority.values:
            return f"{label}: {Priority(value).label}"
        if name in ("tag", "auto_reply"):
            return f"{label}: {value}"
        return label


@workspace_page(Perm.WORKSPACE_SETTINGS)
def rules_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    names = _Names(membership)
    rules = [
        (
            rule,
            [names.condition(c) for c in rule.conditions or []],
            [names.action(a) for a in rule.actions or []],
        )
        for rule in rules_service.rules_for(membership.workspace)
    ]
    context = workspace_context(membership, "inbox", tab="rules", rules=rules)
    return render(request, "inbox/config/rules.html", context)


class RuleForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=rules_service.NAME_MAX, widget=forms.TextInput(attrs={"dir": "auto"})
    )
    enabled = forms.BooleanField(label=gettext_lazy("Enabled"), required=False)
    match_all = forms.TypedChoiceField(
        label=gettext_lazy("The rule matches when"),
        choices=[("1", gettext_lazy("all conditions hold")), ("0", gettext_lazy("any condition holds"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    stop = forms.BooleanField(
        label=gettext_lazy("Stop here when it matches"),
        required=False,
        help_text=gettext_lazy("Later rules are not run on a message this rule matched."),
    )
    definition = forms.CharField(
        label=gettext_lazy("Conditions and actions (JSON)"),
        widget=forms.Textarea(attrs={"rows": 10, "dir": "ltr", "spellcheck": "false", "data-rule-definition": "1"}),
        help_text=gettext_lazy(
            '{"conditions": [{"field": "keywords", "op": "any", "value": ["price"]}], '
            '"actions": [{"action": "tag", "value": "sales"}]} — see docs/inbox-rules.md.'
        ),
    )
    last_n = forms.IntegerField(
        label=gettext_lazy("Dry run on the last N messages"),
        min_value=1,
        max_value=DRY_RUN_MAX,
        initial=DRY_RUN_DEFAULT,
        required=False,
        widget=forms.NumberInput(attrs={"dir": "ltr", "inputmode": "numeric"}),
    )

    @staticmethod
    def initial_for(rule: Rule | None) -> dict[str, Any]:
        if rule is None:
            return {"enabled": True, "match_all": "1", "stop": False, "definition": _definition([], [])}
        return {
            "name": rule.name,
            "enabled": rule.enabled,
            "match_all": "1" if rule.match_all else "0",
            "stop": rule.stop,
            "definition": _definition(rule.conditions, rule.actions),
        }

    def clean_definition(self) -> dict[str, Any]:
        raw = self.cleaned_data["definition"]
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": exc}) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_('Write an object: {"conditions": […], "actions": […]}.'))
        return data

    def rule_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        definition = data["definition"]
        return {
            "name": data["name"],
            "enabled": data["enabled"],
            "match_all": data["match_all"],
            "stop": data["stop"],
            "conditions": definition.get("conditions", []),
            "actions": definition.get("actions", []),
        }


def _definition(conditions: Any, actions: Any) -> str:
    return json.dumps({"conditions": conditions or [], "actions": actions or []}, ensure_ascii=False, indent=2)


def _rule_field(key: str) -> str:
    return key if key in ("name", "enabled", "match_all", "stop") else "definition"


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_http_methods(["GET", "POST"])
def rule_edit_view(request: HttpRequest, membership: Membership, rule_id: int | None = None) -> HttpResponse:
    workspace = membership.workspace
    rule: Rule | None = None
    if rule_id is not None:
        try:
            rule = rules_service.rule_get(workspace, rule_id)
        except NotFound:
            raise Http404("rule not found") from None
    form = RuleForm(request.POST if request.method == "POST" else None, initial=RuleForm.initial_for(rule))
    dry: list[rules_service.DryRunRow] | None = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "dry_run":
            try:
                dry = rules_service.dry_run(
                    workspace, form.rule_data(), last_n=form.cleaned_data["last_n"] or DRY_RUN_DEFAULT
                )
            except DomainError as error:
                _show_errors(form, error, _rule_field)
                status = 400
        else:
            try:
                if rule is None:
                    rule = rules_service.rule_create(membership, form.rule_data(), ip=client_ip(request))
                else:
                    rules_service.rule_update(membership, rule.pk, form.rule_data(), ip=client_ip(request))
            except DomainError as error:
                _show_errors(form, error, _rule_field)
                status = 400
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
                return redirect("inbox:config_rules", ws=workspace.slug)
    names = _Names(membership)
    context = workspace_context(
        membership,
        "inbox",
        tab="rules",
        form=form,
        rule=rule,
        dry=_dry_rows(dry) if dry is not None else None,
        dry_matches=sum(1 for row in dry if row.matches) if dry is not None else 0,
        builder=names.builder_options(),
    )
    return render(request, "inbox/config/rule_edit.html", context, status=status)


def _dry_rows(rows: list[rules_service.DryRunRow]) -> list[dict[str, Any]]:
    kinds = dict(Kind.choices)
    return [
        {
            "row": row,
            "kind": kinds.get(row.kind, row.kind),
            "actions": [{**a, "label": RESULT_LABELS.get(a["result"], a["result"])} for a in row.actions],
        }
        for row in rows
    ]


def _rule_post(request: HttpRequest, membership: Membership, rule_id: int, change: Any) -> HttpResponse:
    try:
        change()
    except NotFound:
        raise Http404("rule not found") from None
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("inbox:config_rules", ws=membership.workspace.slug)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def rule_move_view(request: HttpRequest, membership: Membership, rule_id: int) -> HttpResponse:
    offset = -1 if request.POST.get("direction") == "up" else 1
    return _rule_post(
        request,
        membership,
        rule_id,
        lambda: rules_service.rule_move(membership, rule_id, offset, ip=client_ip(request)),
    )


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def rule_toggle_view(request: HttpRequest, membership: Membership, rule_id: int) -> HttpResponse:
    def toggle() -> None:
        rule = rules_service.rule_get(membership.workspace, rule_id)
        rules_service.rule_update(membership, rule_id, {"enabled": not rule.enabled}, ip=client_ip(request))

    return _rule_post(request, membership, rule_id, toggle)


@workspace_page(Perm.WORKSPACE_SETTINGS)
@require_POST
def rule_delete_view(request: HttpRequest, membership: Membership, rule_id: int) -> HttpResponse:
    def delete() -> None:
        rules_service.rule_delete(membership, rule_id, ip=client_ip(request))
        messages.success(request, _("Rule deleted."))

    return _rule_post(request, membership, rule_id, delete)


# ---------------------------------------------------------------------------------------------
# Saved replies


class SavedReplyForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=replies_service.TITLE_MAX,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    text = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=replies_service.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=gettext_lazy(
            "Variables: {author_name}, {author_handle}, {brand_name}, {agent_name}, {channel_name}. "
            "Example: «سلام {author_name} عزیز، از {brand_name} ممنونیم»."
        ),
    )
    language = forms.CharField(
        label=gettext_lazy("Language"),
        required=False,
        max_length=replies_service.LANGUAGE_MAX,
        widget=forms.TextInput(attrs={"dir": "ltr", "placeholder": "fa"}),
        help_text=gettext_lazy("A code such as fa or en; empty: offered for every language."),
    )


@workspace_page(Perm.INBOX_VIEW)
def replies_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    replies = [
        (r, replies_service.saved_reply_check(r.text)) for r in replies_service.saved_replies_for(membership.workspace)
    ]
    context = workspace_context(membership, "inbox", tab="replies", replies=replies)
    return render(request, "inbox/config/replies.html", context)


def _unknown_warning(unknown: list[str]) -> str:
    return _("Unknown variables stay in the text as written: %(names)s. Known ones: %(known)s.") % {
        "names": ", ".join("{" + n + "}" for n in unknown),
        "known": ", ".join("{" + v + "}" for v in replies_service.VARIABLES),
    }


@workspace_page(Perm.INBOX_REPLY)
@require_http_methods(["GET", "POST"])
def reply_edit_view(request: HttpRequest, membership: Membership, reply_id: int | None = None) -> HttpResponse:
    workspace = membership.workspace
    reply: SavedReply | None = None
    if reply_id is not None:
        try:
            reply = replies_service.saved_reply_get(workspace, reply_id)
        except NotFound:
            raise Http404("saved reply not found") from None
    initial = {"title": reply.title, "text": reply.text, "language": reply.language} if reply else {}
    form = SavedReplyForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if reply is None:
                    reply = replies_service.saved_reply_create(membership, form.cleaned_data, ip=client_ip(request))
                else:
                    reply = replies_service.saved_reply_update(
                        membership, reply.pk, form.cleaned_data, ip=client_ip(request)
                    )
            except DomainError as error:
                _show_errors(form, error, lambda key: key)
            else:
                unknown = replies_service.saved_reply_check(reply.text)
                if unknown:  # saved, but back to the editor so the warning is seen next to the text
                    messages.warning(request, _unknown_warning(unknown))
                    return redirect("inbox:config_reply_edit", ws=workspace.slug, reply_id=reply.pk)
                messages.success(request, _("Saved reply “%(title)s” saved.") % {"title": reply.title})
                return redirect("inbox:config_replies", ws=workspace.slug)
        status = 400
    text = form.data.get("text", "") if form.is_bound else (reply.text if reply else "")
    unknown = replies_service.saved_reply_check(str(text))
    context = workspace_context(
        membership,
        "inbox",
        tab="replies",
        form=form,
        reply=reply,
        unknown=unknown,
        unknown_warning=_unknown_warning(unknown) if unknown else "",
        variables=replies_service.VARIABLES,
    )
    return render(request, "inbox/config/reply_edit.html", context, status=status)


@workspace_page(Perm.INBOX_REPLY)
@require_POST
def reply_delete_view(request: HttpRequest, membership: Membership, reply_id: int) -> HttpResponse:
    try:
        replies_service.saved_reply_delete(membership, reply_id, ip=client_ip(request))
    except NotFound:
        raise Http404("saved reply not found") from None
    messages.success(request, _("Saved reply deleted."))
    return redirect("inbox:config_replies", ws=membership.workspace.slug)


# ---------------------------------------------------------------------------------------------
# Response report


class ReportForm(forms.Form):
    start = CalendarDateField(label=gettext_lazy("From"), required=False, widget=forms.TextInput(attrs={"dir": "ltr"}))
    end = CalendarDateField(label=gettext_lazy("To"), required=False, widget=forms.TextInput(attrs={"dir": "ltr"}))
    group_by = forms.ChoiceField(
        label=gettext_lazy("Group by"), choices=[(g, GROUP_LABELS[g]) for g in GROUPS], required=False
    )
    business_hours = forms.BooleanField(label=gettext_lazy("Count business hours only"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period must end after it starts."))
            if (end - start).days > REPORT_MAX_DAYS:
                raise forms.ValidationError(_("Choose at most %(n)s days.") % {"n": REPORT_MAX_DAYS})
        return data


def _date_input(value: date, calendar: CalendarName) -> str:
    """A date as the period fields read it back (Latin digits, the viewer's calendar)."""
    return format_date(value, calendar=calendar, language="en", style="numeric")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if seconds < 60:
        text = _("%(n)s s") % {"n": round(seconds)}
    elif minutes < 60:
        text = _("%(n)s min") % {"n": minutes}
    elif minutes < 48 * 60:
        text = _("%(h)s h %(m)s min") % {"h": minutes // 60, "m": minutes % 60}
    else:
        text = _("%(d)s d %(h)s h") % {"d": minutes // (24 * 60), "h": (minutes // 60) % 24}
    return to_persian_digits(text) if _language() == "fa" else text


def rate_text(rate: float | None) -> str:
    if rate is None:
        return "—"
    text = f"{rate * 100:.1f}%"
    return to_persian_digits(text).replace("%", "٪") if _language() == "fa" else text


def _report_table(rows: list[ReportRow]) -> list[dict[str, Any]]:
    return [
        {
            "row": row,
            "rate": rate_text(row.response_rate),
            "first": duration_text(row.first_response_time),
            "average": duration_text(row.average_response_time),
            "median": duration_text(row.median_response_time),
        }
        for row in rows
    ]


@workspace_page(Perm.INBOX_VIEW)
def report_view(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    calendar = _calendar(request)
    zone = ZoneInfo(workspace_zone(workspace))
    today = timezone.now().astimezone(zone).date()
    default_start = today - timedelta(days=REPORT_DEFAULT_DAYS - 1)
    query = request.GET.copy()
    query.pop("format", None)
    form = ReportForm(
        query if query else None,
        initial={
            "start": _date_input(default_start, calendar),
            "end": _date_input(today, calendar),
            "group_by": "total",
        },
    )
    start, end, group_by, business = default_start, today, "total", False
    rows: list[ReportRow] = []
    error = ""
    if form.is_bound and not form.is_valid():
        error = _("Fix the period to see the report.")
    else:
        if form.is_bound:
            data = form.cleaned_data
            start, end = data.get("start") or default_start, data.get("end") or today
            group_by, business = data.get("group_by") or "total", bool(data.get("business_hours"))
        try:
            rows = response_report(
                workspace,
                datetime.combine(start, time.min, tzinfo=zone),
                datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
                group_by=group_by,
                business_hours=business,
            )
        except DomainError as exc:
            error = exc.message
    if request.GET.get("format") == "csv" and not error:
        response = HttpResponse(report_csv(rows, business_hours=business), content_type="text/csv; charset=utf-8")
        name = f"inbox-report-{workspace.slug}-{start.isoformat()}-{end.isoformat()}-{group_by}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    csv_query = query.copy()
    csv_query.update(
        {
            "start": _date_input(start, calendar),
            "end": _date_input(end, calendar),
            "group_by": group_by,
            "format": "csv",
        }
    )
    if business:
        csv_query["business_hours"] = "on"
    context = workspace_context(
        membership,
        "inbox",
        tab="report",
        form=form,
        start=start,
        end=end,
        group_label=GROUP_LABELS.get(group_by, group_by),
        business=business,
        rows=_report_table(rows),
        error=error,
        csv_query=csv_query.urlencode(),
        zone=str(zone),
    )
    return render(request, "inbox/config/report.html", context, status=400 if error else 200)
