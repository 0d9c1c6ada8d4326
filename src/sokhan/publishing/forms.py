"""Composer forms: the post-wide fields, one variant form per channel, and the schedule.

They check shape only (lengths, dates); ``services`` validates the content against each network
and ``preview`` shows it. A variant's text left empty falls back to the main text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.calendars import (
    CalendarName,
    DateParseError,
    InvalidDateError,
    aware_datetime,
    parse_date,
    to_jalali,
)
from sokhan.core.text import to_latin_digits
from sokhan.media.models import Asset
from sokhan.networks.base import Connector
from sokhan.publishing import preview
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget
from sokhan.publishing.services import TargetInput

STATE_LABELS: dict[str, Any] = {
    S.DRAFT: gettext_lazy("Draft"),
    S.IN_REVIEW: gettext_lazy("In review"),
    S.APPROVED: gettext_lazy("Approved"),
    S.SCHEDULED: gettext_lazy("Scheduled"),
    S.PUBLISHING: gettext_lazy("Publishing"),
    S.PUBLISHED: gettext_lazy("Published"),
    S.FAILED: gettext_lazy("Failed"),
    S.OUTCOME_UNKNOWN: gettext_lazy("Needs checking"),
    S.RESOLVED: gettext_lazy("Published (checked)"),
}

THREAD_SEPARATOR = "---"
MEDIA_CHOICES = 60  # most recent library files offered in the composer
AUTOSAVE = "autosave"
ACTIONS = ("save", "submit", "schedule", "queue", "publish")


def split_labels(text: str) -> list[str]:
    """``"news, launch، sale"`` → ``["news", "launch", "sale"]`` (Latin or Persian commas)."""
    parts = [p.strip() for p in text.replace("،", ",").split(",")]
    return list(dict.fromkeys(p for p in parts if p))


def split_thread(text: str) -> list[str]:
    """Further thread parts, one block each, separated by a line holding only ``---``."""
    parts: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip() == THREAD_SEPARATOR:
            parts.append([])
        else:
            parts[-1].append(line)
    return [block for block in ("\n".join(p).strip() for p in parts) if block]


def join_thread(parts: Sequence[str]) -> str:
    return f"\n{THREAD_SEPARATOR}\n".join(parts)


def parse_when(day_text: str, time_text: str, *, calendar: CalendarName, tz: str) -> datetime | None:
    """The schedule fields in the viewer's calendar and time zone (Persian digits accepted);
    both empty → None. Raises ``forms.ValidationError`` naming what is wrong."""
    day_text, time_text = day_text.strip(), to_latin_digits(time_text.strip())
    if not day_text and not time_text:
        return None
    if not day_text:
        raise forms.ValidationError(_("Enter the date to publish on."), code="date")
    try:
        day = parse_date(day_text, calendar=calendar, tz=tz)
    except DateParseError as exc:
        raise forms.ValidationError(str(exc), code="date") from exc
    if isinstance(day, datetime):
        at = day.timetz().replace(tzinfo=None)
        day = day.date()
        if not time_text:
            time_text = at.strftime("%H:%M")
    try:
        hours, minutes = time_text.split(":")
        at = time(int(hours), int(minutes))
    except ValueError:
        raise forms.ValidationError(_("Enter the time as HH:MM, for example 09:30."), code="time") from None
    try:
        return aware_datetime(day, at, tz)
    except InvalidDateError as exc:
        raise forms.ValidationError(str(exc), code="time") from exc


def date_example(calendar: CalendarName, tz: str) -> str:
    """Today in the viewer's calendar and zone, as the date fields read it (an example to copy)."""
    today = datetime.now(ZoneInfo(tz)).date()
    if calendar == "jalali":
        j = to_jalali(today)
        return f"{j.year}/{j.month:02d}/{j.day:02d}"
    return today.isoformat()


class ComposerForm(forms.Form):
    post_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    channels = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Channels"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"data-channel-choice": "1"}),
    )
    main_text = forms.CharField(
        label=gettext_lazy("Main text"),
        help_text=gettext_lazy("Every channel starts from this text; change it per channel below."),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto", "data-main-text": "1"}),
    )
    title = forms.CharField(label=gettext_lazy("Internal title"), required=False, max_length=300)
    labels = forms.CharField(
        label=gettext_lazy("Labels"),
        help_text=gettext_lazy("Separate labels with commas."),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes for the team"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )
    sponsored = forms.BooleanField(
        label=gettext_lazy("Sponsored post"),
        help_text=gettext_lazy("Brand rules may require a disclosure on sponsored posts."),
        required=False,
    )
    schedule_date = forms.CharField(label=gettext_lazy("Date"), required=False, max_length=40)
    schedule_time = forms.CharField(
        label=gettext_lazy("Time"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"placeholder": "09:30", "dir": "ltr", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, channels: Sequence[Channel], calendar: CalendarName, tz: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendar, self.tz = calendar, tz
        field_ = self.fields["channels"]
        assert isinstance(field_, forms.TypedMultipleChoiceField)
        field_.choices = [(c.pk, channel_label(c)) for c in channels]
        example = date_example(calendar, tz)
        self.fields["schedule_date"].help_text = _("In your calendar, e.g. %(example)s.") % {"example": example}
        self.fields["schedule_date"].widget.attrs.update({"placeholder": example, "dir": "ltr"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            data["when"] = parse_when(
                data.get("schedule_date", ""), data.get("schedule_time", ""), calendar=self.calendar, tz=self.tz
            )
        except forms.ValidationError as exc:
            self.add_error("schedule_time" if exc.code == "time" else "schedule_date", exc)
            data["when"] = None
        return data


def network_name(channel: Channel) -> str:
    cls = preview.connector_of(channel)
    return cls.name if cls else channel.network


def channel_label(channel: Channel) -> str:
    network = network_name(channel)
    handle = f" ({channel.handle})" if channel.handle else ""
    return f"{network}: {channel.display_name}{handle}"


class VariantForm(forms.Form):
    """One channel's variant; fields the network cannot use are left out."""

    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto", "data-variant-text": "1"}),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"), required=False, max_length=300, widget=forms.TextInput(attrs={"dir": "auto"})
    )
    link = forms.CharField(
        label=gettext_lazy("Link"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "url"}),
    )
    first_comment = forms.CharField(
        label=gettext_lazy("First comment"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )
    thread = forms.CharField(
        label=gettext_lazy("Further thread parts"),
        help_text=gettext_lazy("Separate the parts with a line holding only ---."),
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )
    assets = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Media from the library"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, channel: Channel, assets: Sequence[Asset], **kwargs: Any) -> None:
        kwargs["prefix"] = f"c{channel.pk}"
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.connector: type[Connector] | None = preview.connector_of(channel)
        self.library: dict[int, Asset] = {}
        cls = self.connector
        if cls is None or not preview.supports_title(cls):
            del self.fields["title"]
        if cls is None or not preview.supports_first_comment(cls):
            del self.fields["first_comment"]
        if cls is None or not preview.supports_thread(cls):
            del self.fields["thread"]
        if cls is None or not preview.supports_media(cls):
            del self.fields["assets"]
        else:
            choice = self.fields["assets"]
            assert isinstance(choice, forms.TypedMultipleChoiceField)
            choice.choices = [(a.pk, str(a)) for a in assets]
            self.library = {a.pk: a for a in assets}
        self.network_name = cls.name if cls else channel.network

    def selected_media(self) -> set[int]:
        if "assets" not in self.fields:
            return set()
        value = self["assets"].value() or []
        return {int(v) for v in value if str(v).isdigit()}

    def media_options(self) -> list[tuple[Asset, bool]]:
        """Library files to offer, each with whether it is chosen."""
        chosen = self.selected_media()
        return [(a, a.pk in chosen) for a in self.library.values()]

    def variant(self, main_text: str) -> tuple[TargetInput, list[Asset]]:
        """The variant to save or check (call after ``is_valid``), and its library files."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        text = str(data.get("text") or "") or main_text
        chosen = [self.library[i] for i in data.get("assets", []) if i in self.library]
        media = [preview.media_entry(a, self.connector) for a in chosen] if self.connector else []
        variant = TargetInput(
            channel_id=self.channel.pk,
            text=text,
            title=str(data.get("title") or ""),
            link=str(data.get("link") or "").strip(),
            first_comment=str(data.get("first_comment") or ""),
            thread=split_thread(str(data.get("thread") or "")),
            media=media,
        )
        return variant, chosen


@dataclass
class Composed:
    """What the composer's forms say, ready for the services."""

    targets: list[TargetInput] = field(default_factory=list)
    assets: dict[int, list[Asset]] = field(default_factory=dict)  # channel id → chosen files
    title: str = ""
    notes: str = ""
    labels: list[str] = field(default_factory=list)
    sponsored: bool = False
    when: datetime | None = None


def composed(form: ComposerForm, variants: dict[int, VariantForm]) -> Composed:
    """Read the bound, validated forms (invalid fields are left empty, never raised)."""
    data = form.cleaned_data if hasattr(form, "cleaned_data") else {}
    main_text = str(data.get("main_text") or "")
    sponsored = bool(data.get("sponsored"))
    result = Composed(
        title=str(data.get("title") or ""),
        notes=str(data.get("notes") or ""),
        labels=split_labels(str(data.get("labels") or "")),
        sponsored=sponsored,
        when=data.get("when"),
    )
    for channel_id in data.get("channels", []):
        variant_form = variants.get(channel_id)
        if variant_form is None:
            continue
        variant, chosen = variant_form.variant(main_text)
        if sponsored:
            variant.options = {"sponsored": "true"}
        result.targets.append(variant)
        result.assets[channel_id] = chosen
    return result


def initial_for(post: Post, targets: Sequence[PostTarget]) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Form initial values of a saved post: the main text is the text most channels share."""
    texts = Counter(t.text for t in targets)
    main_text = texts.most_common(1)[0][0] if texts else ""
    post_initial = {
        "post_id": post.pk,
        "channels": [t.channel_id for t in targets],
        "main_text": main_text,
        "title": post.title,
        "labels": ", ".join(str(x) for x in post.labels or []),
        "notes": post.notes,
        "sponsored": any((t.options or {}).get("sponsored") == "true" for t in targets),
    }
    variants = {
        t.channel_id: {
            "text": t.text,
            "title": t.title,
            "link": t.link,
            "first_comment": t.first_comment,
            "thread": join_thread([str(p) for p in t.thread or []]),
            "assets": [int(m["asset_id"]) for m in t.media or [] if m.get("asset_id")],
        }
        for t in targets
    }
    return post_initial, variants


def target_variant(target: PostTarget) -> TargetInput:
    """A saved target as the variant the services take."""
    return TargetInput(
        channel_id=target.channel_id,
        text=target.text,
        title=target.title,
        link=target.link,
        first_comment=target.first_comment,
        thread=[str(p) for p in target.thread or []],
        options={str(k): str(v) for k, v in (target.options or {}).items()},
        media=list(target.media or []),
    )


def composer_channels(workspace: Any, keep: Sequence[int] = ()) -> list[Channel]:
    """Channels a post can go to: connected ones, plus any the post already uses."""
    rows = Channel.objects.filter(workspace=workspace).order_by("network", "display_name", "pk")
    return [c for c in rows if c.status != ChannelStatus.DISCONNECTED or c.pk in keep]


class PauseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        help_text=gettext_lazy("Shown to everyone in the workspace while publishing is paused."),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("What did you find on the account?"),
        choices=[
            ("published", gettext_lazy("It was posted")),
            ("failed", gettext_lazy("It was not posted; keep it failed")),
            ("retry", gettext_lazy("It was not posted; try again now")),
        ],
        widget=forms.RadioSelect,
    )
    url = forms.URLField(
        label=gettext_lazy("Address of the post"),
        help_text=gettext_lazy("Optional, when it was posted."),
        required=False,
        max_length=1000,
        widget=forms.URLInput(attrs={"dir": "ltr"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=2000, widget=forms.TextInput(attrs={"dir": "auto"})
    )


class ScheduleForm(forms.Form):
    schedule_date = forms.CharField(label=gettext_lazy("Date"), max_length=40)
    schedule_time = forms.CharField(
        label=gettext_lazy("Time"), max_length=10, widget=forms.TextInput(attrs={"placeholder": "09:30", "dir": "ltr"})
    )

    def __init__(self, *args: Any, calendar: CalendarName, tz: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calendar, self.tz = calendar, tz
        example = date_example(calendar, tz)
        self.fields["schedule_date"].widget.attrs.update({"placeholder": example, "dir": "ltr"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "schedule_date" in data and "schedule_time" in data:
            try:
                data["when"] = parse_when(
                    data["schedule_date"], data["schedule_time"], calendar=self.calendar, tz=self.tz
                )
            except forms.ValidationError as exc:
                self.add_error("schedule_time" if exc.code == "time" else "schedule_date", exc)
        return data


class PostFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    channel = forms.TypedChoiceField(label=gettext_lazy("Channel"), coerce=int, required=False, empty_value=None)
    label = forms.CharField(label=gettext_lazy("Label"), required=False, max_length=100)
    author = forms.TypedChoiceField(label=gettext_lazy("Author"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, channels: Sequence[Channel], authors: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_ = ("", _("Any"))
        self.fields["status"].choices = [any_, *((k, v) for k, v in STATE_LABELS.items())]  # type: ignore[attr-defined]
        self.fields["channel"].choices = [any_, *((c.pk, channel_label(c)) for c in channels)]  # type: ignore[attr-defined]
        self.fields["author"].choices = [any_, *((u.pk, u.display_name) for u in authors)]  # type: ignore[attr-defined]
