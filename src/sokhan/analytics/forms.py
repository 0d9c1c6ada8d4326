"""The goal form: the deadline is typed in either calendar (the hint shows the viewer's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sokhan.analytics.models import Goal, GoalMetric
from sokhan.channels.models import Channel
from sokhan.core.calendars import CalendarName, format_date
from sokhan.core.models import Workspace
from sokhan.web.forms import CalendarDateField


class GoalForm(forms.Form):
    metric = forms.ChoiceField(label=_("Metric"), choices=GoalMetric.choices)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    target = forms.FloatField(label=_("Target value"), help_text=_("A percentage for growth and rates."))
    deadline = CalendarDateField(label=_("Deadline"), widget=forms.TextInput(attrs={"dir": "ltr"}))

    def __init__(self, *args: Any, workspace: Workspace, calendar: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        channels = Channel.objects.filter(workspace=workspace).order_by("display_name", "pk")
        choices: list[tuple[str, Any]] = [("", _("All channels"))]
        choices += [(str(c.pk), c.display_name) for c in channels]
        self.fields["channel"].choices = choices  # type: ignore[attr-defined]
        example = "1404/11/01" if calendar == "jalali" else "2026-01-21"
        self.fields["deadline"].widget.attrs["placeholder"] = example

    @classmethod
    def initial_for(cls, goal: Goal, calendar: str) -> dict[str, Any]:
        cal: CalendarName = "jalali" if calendar == "jalali" else "gregorian"
        return {
            "metric": goal.metric,
            "channel": str(goal.channel_id or ""),
            "target": goal.target,
            "deadline": format_date(goal.deadline, calendar=cal, language="en", style="numeric"),
        }

    def clean_channel(self) -> Channel | None:
        value = self.cleaned_data.get("channel")
        if not value:
            return None
        channel = Channel.objects.filter(workspace=self.workspace, pk=value).first()
        if channel is None:
            raise forms.ValidationError(_("Choose one of the workspace's channels."))
        return channel

    def clean_deadline(self) -> dt.date:
        value: dt.date = self.cleaned_data["deadline"]
        if value < dt.date.today() - dt.timedelta(days=1):
            raise forms.ValidationError(_("The deadline must not be in the past."))
        return value

    def save(self, goal: Goal) -> Goal:
        goal.metric = self.cleaned_data["metric"]
        goal.channel = self.cleaned_data["channel"]
        goal.target = self.cleaned_data["target"]
        goal.deadline = self.cleaned_data["deadline"]
        goal.save()
        return goal
