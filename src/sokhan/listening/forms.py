"""Forms of the listening pages. They shape and label the input; the services validate it (a
query's syntax included) and the views put a service's error on the field it names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.listening.imports import FORMATS as IMPORT_FORMATS
from sokhan.listening.insight import MAX_DAYS, MAX_HOURLY_DAYS, Granularity, Period
from sokhan.listening.mention_filters import SENTIMENT_LABELS, SENTIMENTS, parse_day
from sokhan.listening.mentions_page import Viewer
from sokhan.listening.models import SourceKind, Topic, TopicKind
from sokhan.listening.services_sources import CHANNEL_KINDS

DEFAULT_DAYS = 30
AUTO_HOURLY_DAYS = 2


class TopicForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Type"), choices=TopicKind.choices, initial=TopicKind.BRAND)
    query = forms.CharField(
        label=gettext_lazy("Query"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto", "spellcheck": "false"}),
        help_text=gettext_lazy(
            'Words, "phrases", #hashtags and @accounts with AND, OR, NOT, -exclusions and (groups); '
            "lang:fa and channel:telegram narrow it."
        ),
    )
    enabled = forms.BooleanField(label=gettext_lazy("Listening (match new mentions)"), required=False, initial=True)
    route_to_inbox = forms.BooleanField(label=gettext_lazy("Send matching mentions to the inbox"), required=False)


class QueryTestForm(forms.Form):
    texts = forms.CharField(
        label=gettext_lazy("Texts to test, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
    )
    test_lang = forms.CharField(
        label=gettext_lazy("Their language (for lang:)"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"dir": "ltr", "size": 6}),
    )
    test_channel = forms.CharField(
        label=gettext_lazy("Their network (for channel:)"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"dir": "ltr", "size": 10}),
    )


class SourceForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"), choices=[(k, SourceKind(k).label) for k in (*CHANNEL_KINDS, SourceKind.FEED)]
    )
    channel = forms.TypedChoiceField(label=gettext_lazy("Channel"), coerce=int, required=False, empty_value=None)
    target = forms.CharField(
        label=gettext_lazy("Search, hashtag or feed address"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "auto"}),
        help_text=gettext_lazy(
            "Search: the words to search for. Hashtag: the tag without #. Feed: its address. "
            "Bot's channels and groups: leave empty."
        ),
    )
    name = forms.CharField(label=gettext_lazy("Name (optional)"), required=False, max_length=120)

    def __init__(self, *args: Any, channels: dict[str, list[Channel]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        usable = {c.pk: c for kind_channels in channels.values() for c in kind_channels}
        self.fields["channel"].choices = [  # type: ignore[attr-defined]
            ("", _("None (feeds)")),
            *((pk, f"{c.display_name or c.handle} ({c.network})") for pk, c in sorted(usable.items())),
        ]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"), widget=forms.ClearableFileInput(attrs={"accept": ".jsonl,.json,.csv,.txt"})
    )
    file_format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[(f, f.upper()) for f in IMPORT_FORMATS],
        initial=IMPORT_FORMATS[0],
        widget=forms.RadioSelect,
    )


class CorrectionForm(forms.Form):
    label = forms.ChoiceField(label=gettext_lazy("Sentiment"), choices=[(s, SENTIMENT_LABELS[s]) for s in SENTIMENTS])


@dataclass(frozen=True)
class InsightChoice:
    period: Period
    by: Granularity
    topics: list[Topic]


class InsightForm(forms.Form):
    """Date range (in either calendar), day or hour, and the topics. ``choice()`` is the cleaned
    result; an empty form means the last 30 days of the enabled topics."""

    by = forms.ChoiceField(
        label=gettext_lazy("Per"),
        required=False,
        choices=[("", gettext_lazy("Automatic")), ("day", gettext_lazy("Day")), ("hour", gettext_lazy("Hour"))],
    )
    topics = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Topics"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, data: Any, *, topics: list[Topic], viewer: Viewer) -> None:
        super().__init__(data)
        self.viewer = viewer
        self.all_topics = topics
        self.fields["from"] = forms.CharField(
            label=_("From"), required=False, widget=forms.TextInput(attrs={"dir": "ltr"})
        )
        self.fields["to"] = forms.CharField(label=_("To"), required=False, widget=forms.TextInput(attrs={"dir": "ltr"}))
        self.order_fields(["from", "to", "by", "topics"])
        self.fields["topics"].choices = [(t.pk, t.name) for t in topics]  # type: ignore[attr-defined]

    def _day(self, name: str) -> date | None:
        try:
            return parse_day(self.cleaned_data.get(name) or "", name)
        except DomainError as error:
            self.add_error(name, error.message)
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.now().astimezone(self.viewer.zone).date()
        last = self._day("to") or today
        first = self._day("from") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            self.add_error("to", _("The end date is before the start date."))
        elif (last - first).days + 1 > MAX_DAYS:
            self.add_error("from", _("Choose at most %(n)s days.") % {"n": MAX_DAYS})
        days = (last - first).days + 1
        by = data.get("by") or ("hour" if days <= AUTO_HOURLY_DAYS else "day")
        if by == "hour" and days > MAX_HOURLY_DAYS:
            self.add_error("by", _("Hours can be shown for at most %(n)s days.") % {"n": MAX_HOURLY_DAYS})
        data.update(first=first, last=last, by_resolved=by)
        return data

    def choice(self) -> InsightChoice:
        data = self.cleaned_data
        chosen = set(data.get("topics") or [])
        default = [t for t in self.all_topics if t.enabled] or self.all_topics
        topics = [t for t in self.all_topics if t.pk in chosen] if chosen else default
        by: Granularity = "hour" if data["by_resolved"] == "hour" else "day"
        return InsightChoice(Period(data["first"], data["last"], self.viewer.zone), by, topics)
