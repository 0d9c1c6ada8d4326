"""Pages for bulk import, feed watches and recurring series. Thin: the service modules do the work."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone as dj_timezone
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokhan.automation import feeds, recurring
from sokhan.automation.imports import ImportOptions, import_confirm, import_validate, usable_channels
from sokhan.automation.models import FeedItemSeen, FeedWatch, ImportBatch, RecurringOccurrence, RecurringSeries
from sokhan.core.calendars import CalendarName, InvalidDateError, parse_date_guess
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, Workspace
from sokhan.core.permissions import Perm, role_can
from sokhan.publishing import recurrence
from sokhan.publishing.models import Post
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error

# ------------------------------------------------------------------ shared


def _channel_choices(workspace: Workspace) -> list[tuple[int, str]]:
    return [(c.pk, f"{c.display_name} ({c.network})") for c in usable_channels(workspace)]


def _ui(request: HttpRequest) -> tuple[str, CalendarName]:
    language = translation.get_language() or "en"
    calendar: CalendarName = "jalali" if getattr(request, "sokhan_calendar", "") == "jalali" else "gregorian"
    return language, calendar


def _read_date(value: str) -> date:
    try:
        parsed = parse_date_guess(value.strip())
    except InvalidDateError as exc:
        raise forms.ValidationError(str(exc)) from None
    if isinstance(parsed, datetime):
        raise forms.ValidationError(_("Give a date without a time."))
    return parsed


# ------------------------------------------------------------------ import


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv"}))
    file_format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[
            ("sokhan", gettext_lazy("Sokhan: a header row with date, time, channels, text, link, media_urls, labels")),
            ("hootsuite", gettext_lazy("Hootsuite bulk composer: date/time, message, link (no header)")),
        ],
        widget=forms.RadioSelect,
        initial="sokhan",
    )
    channels = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Channels for Hootsuite rows"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Every row of a Hootsuite file goes to these channels."),
    )
    date_order = forms.ChoiceField(
        label=gettext_lazy("Date order in Hootsuite files"),
        choices=[("dmy", gettext_lazy("day/month/year")), ("mdy", gettext_lazy("month/day/year"))],
        initial="dmy",
    )
    timezone = forms.CharField(
        label=gettext_lazy("Time zone of the times in the file"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Empty: the workspace's time zone."),
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = _channel_choices(workspace)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("file_format") == "hootsuite" and not data.get("channels"):
            self.add_error("channels", _("Choose the channels the rows go to."))
        return data


class ConfirmForm(forms.Form):
    token = forms.UUIDField(widget=forms.HiddenInput)
    mode = forms.ChoiceField(choices=ImportBatch.MODES)
    as_drafts = forms.BooleanField(required=False)


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    form = UploadForm(workspace=workspace)
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, workspace=workspace)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = import_validate(
                    actor=membership,
                    data=upload.read(),
                    file_name=upload.name or "",
                    options=ImportOptions(
                        file_format=form.cleaned_data["file_format"],
                        channel_ids=list(form.cleaned_data["channels"]),
                        date_order=form.cleaned_data["date_order"],
                        timezone=form.cleaned_data["timezone"].strip(),
                    ),
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error, {"channel_ids": "channels"})
                status = 400
            else:
                return redirect("automation:import_batch", ws=workspace.slug, batch_id=batch.pk)
        else:
            status = 400
    recent = ImportBatch.objects.filter(workspace=workspace).select_related("created_by")[:20]
    context = workspace_context(membership, "import", form=form, batches=recent)
    return render(request, "automation/import.html", context, status=status)


def _batch(membership: Membership, batch_id: int) -> ImportBatch:
    batch = ImportBatch.objects.filter(workspace=membership.workspace, pk=batch_id).first()
    if batch is None:
        raise Http404("no such import")
    return batch


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def import_batch(request: HttpRequest, membership: Membership, batch_id: int) -> HttpResponse:
    batch = _batch(membership, batch_id)
    may_schedule = role_can(membership.role, Perm.POSTS_PUBLISH)
    problem = ""
    status = 200
    if request.method == "POST":
        form = ConfirmForm(request.POST)
        if not form.is_valid() or form.cleaned_data["token"] != batch.token:
            problem = _("This form is out of date; open the import again.")
            status = 400
        else:
            as_drafts = form.cleaned_data["as_drafts"] or not may_schedule
            try:
                was_done = batch.state == ImportBatch.IMPORTED
                batch = import_confirm(
                    actor=membership,
                    batch_id=batch.pk,
                    mode=form.cleaned_data["mode"],
                    as_drafts=as_drafts,
                    ip=client_ip(request),
                )
            except DomainError as error:
                problem = error.message
                status = error.status if error.status in (400, 403, 409, 422) else 400
            else:
                if was_done:
                    messages.info(request, _("This file was already imported; nothing was added."))
                else:
                    messages.success(request, _("Imported %(n)s post(s).") % {"n": batch.posts_created})
                return redirect("automation:import_batch", ws=membership.workspace.slug, batch_id=batch.pk)
    errors_by_row: dict[int, list[dict[str, str]]] = {}
    for row_error in batch.errors:
        errors_by_row.setdefault(int(row_error["row"]), []).append(row_error)
    context = workspace_context(
        membership,
        "import",
        batch=batch,
        errors_by_row=sorted(errors_by_row.items()),
        valid_rows=[{**row, "when": datetime.fromisoformat(row["scheduled_at"])} for row in batch.rows],
        may_schedule=may_schedule,
        problem=problem,
    )
    return render(request, "automation/import_batch.html", context, status=status)


@workspace_page(Perm.POSTS_DRAFT)
@require_GET
def import_errors(request: HttpRequest, membership: Membership, batch_id: int) -> HttpResponse:
    batch = _batch(membership, batch_id)
    if not batch.error_report:
        raise Http404("no errors")
    response = HttpResponse(batch.error_report, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response


# ------------------------------------------------------------------ feeds


class FeedForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    url = forms.URLField(
        label=gettext_lazy("Feed address (RSS or Atom)"), max_length=1000, widget=forms.URLInput(attrs={"dir": "ltr"})
    )
    channels = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Channels"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    template = forms.CharField(
        label=gettext_lazy("Post template"),
        initial="{title}\n{link}",
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text=gettext_lazy("Placeholders: {title}, {link}, {summary}, {author}, {feed_title}."),
    )
    mode = forms.ChoiceField(label=gettext_lazy("New items become"), choices=FeedWatch.MODES, initial=FeedWatch.DRAFT)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = _channel_choices(workspace)  # type: ignore[attr-defined]


def _watch(membership: Membership, watch_id: int) -> FeedWatch:
    watch = FeedWatch.objects.filter(workspace=membership.workspace, pk=watch_id).first()
    if watch is None:
        raise Http404("no such feed")
    return watch


def _save_watch(request: HttpRequest, membership: Membership, form: FeedForm, watch_id: int | None) -> bool:
    if not form.is_valid():
        return False
    try:
        feeds.watch_save(
            actor=membership,
            url=form.cleaned_data["url"],
            channel_ids=list(form.cleaned_data["channels"]),
            template=form.cleaned_data["template"],
            mode=form.cleaned_data["mode"],
            name=form.cleaned_data["name"],
            watch_id=watch_id,
            ip=client_ip(request),
        )
    except DomainError as error:
        apply_domain_error(form, error)
        return False
    return True


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def feed_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    form = FeedForm(workspace=workspace)
    status = 200
    if request.method == "POST":
        form = FeedForm(request.POST, workspace=workspace)
        if _save_watch(request, membership, form, None):
            messages.success(request, _("Feed added. New items are checked every 10 minutes."))
            return redirect("automation:feeds", ws=workspace.slug)
        status = 400
    watches = FeedWatch.objects.filter(workspace=workspace).prefetch_related("channels")
    context = workspace_context(membership, "feeds", form=form, watches=watches)
    return render(request, "automation/feeds.html", context, status=status)


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def feed_edit(request: HttpRequest, membership: Membership, watch_id: int) -> HttpResponse:
    watch = _watch(membership, watch_id)
    initial = {
        "name": watch.name,
        "url": watch.url,
        "channels": [c.pk for c in watch.channels.all()],
        "template": watch.template,
        "mode": watch.mode,
    }
    form = FeedForm(initial=initial, workspace=membership.workspace)
    status = 200
    if request.method == "POST":
        form = FeedForm(request.POST, workspace=membership.workspace)
        if _save_watch(request, membership, form, watch.pk):
            messages.success(request, _("Feed saved."))
            return redirect("automation:feed_edit", ws=membership.workspace.slug, watch_id=watch.pk)
        status = 400
    preview: dict[str, Any] | None = None
    if request.GET.get("preview"):
        item, text, error = feeds.preview_latest(watch)
        preview = {"item": item, "text": text, "error": error}
    seen = FeedItemSeen.objects.filter(watch=watch).select_related("post")[:20]
    context = workspace_context(membership, "feeds", form=form, watch=watch, preview=preview, seen=seen)
    return render(request, "automation/feed_edit.html", context, status=status)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def feed_check(request: HttpRequest, membership: Membership, watch_id: int) -> HttpResponse:
    watch = _watch(membership, watch_id)
    result = feeds.poll_watch(watch)
    if result.status == "error":
        messages.error(request, _("The feed could not be read: %(error)s") % {"error": result.error})
    elif result.status == "not_modified":
        messages.info(request, _("The feed has not changed since the last check."))
    else:
        messages.success(request, _("Checked: %(n)s new post(s).") % {"n": result.created})
    return redirect("automation:feeds", ws=membership.workspace.slug)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def feed_toggle(request: HttpRequest, membership: Membership, watch_id: int) -> HttpResponse:
    watch = _watch(membership, watch_id)
    feeds.watch_set_active(actor=membership, watch_id=watch.pk, active=not watch.active, ip=client_ip(request))
    messages.success(request, _("Feed resumed.") if not watch.active else _("Feed paused."))
    return redirect("automation:feeds", ws=membership.workspace.slug)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def feed_delete(request: HttpRequest, membership: Membership, watch_id: int) -> HttpResponse:
    watch = _watch(membership, watch_id)
    feeds.watch_delete(actor=membership, watch_id=watch.pk, ip=client_ip(request))
    messages.success(request, _("Feed removed. Posts it made stay."))
    return redirect("automation:feeds", ws=membership.workspace.slug)


# ------------------------------------------------------------------ recurring

WEEKDAY_CHOICES = [
    ("MO", gettext_lazy("Monday")),
    ("TU", gettext_lazy("Tuesday")),
    ("WE", gettext_lazy("Wednesday")),
    ("TH", gettext_lazy("Thursday")),
    ("FR", gettext_lazy("Friday")),
    ("SA", gettext_lazy("Saturday")),
    ("SU", gettext_lazy("Sunday")),
]


class SeriesForm(forms.Form):
    post = forms.TypedChoiceField(label=gettext_lazy("Post to repeat"), coerce=int)
    freq = forms.ChoiceField(
        label=gettext_lazy("Repeat"),
        choices=[
            ("DAILY", gettext_lazy("daily")),
            ("WEEKLY", gettext_lazy("weekly")),
            ("MONTHLY", gettext_lazy("monthly")),
            ("YEARLY", gettext_lazy("yearly")),
        ],
        initial="WEEKLY",
    )
    interval = forms.IntegerField(label=gettext_lazy("Every"), min_value=1, max_value=365, initial=1)
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("On"), choices=WEEKDAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    start_date = forms.CharField(
        label=gettext_lazy("Starting"),
        max_length=40,
        help_text=gettext_lazy("A date such as 1404/09/01 or 2025-11-22."),
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    time = forms.TimeField(label=gettext_lazy("At (local time)"), widget=forms.TimeInput(attrs={"type": "time"}))
    until = forms.CharField(label=gettext_lazy("Until (optional)"), max_length=40, required=False)
    count = forms.IntegerField(label=gettext_lazy("Number of times (optional)"), min_value=1, required=False)
    rrule = forms.CharField(
        label=gettext_lazy("Or a raw RRULE"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("For example FREQ=MONTHLY;BYDAY=-1FR. When filled in, it replaces the fields above."),
        widget=forms.TextInput(attrs={"dir": "ltr"}),
    )
    evergreen = forms.BooleanField(
        label=gettext_lazy("Evergreen: re-share the same content each time"),
        required=False,
        help_text=gettext_lazy("The posts made get the label “evergreen”."),
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        posts = Post.objects.filter(workspace=workspace).order_by("-created_at")[:200]
        choices = [(p.pk, f"#{p.pk} {p.title or _('(untitled)')}") for p in posts]
        self.fields["post"].choices = choices  # type: ignore[attr-defined]

    def clean_start_date(self) -> date:
        return _read_date(self.cleaned_data["start_date"])

    def clean_until(self) -> date | None:
        value = self.cleaned_data["until"]
        return _read_date(value) if value.strip() else None

    def rule(self) -> str:
        data = self.cleaned_data
        if data["rrule"].strip():
            return str(data["rrule"])
        return recurring.build_rrule(
            freq=data["freq"],
            interval=data["interval"] or 1,
            weekdays=data["weekdays"],
            until=data["until"],
            count=data["count"],
        )


@workspace_page(Perm.POSTS_DRAFT)
@require_http_methods(["GET", "POST"])
def recurring_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    initial: dict[str, Any] = {"start_date": dj_timezone.localdate().isoformat(), "time": time(9, 0)}
    if request.GET.get("post", "").isdigit():
        initial["post"] = int(request.GET["post"])
    form = SeriesForm(initial=initial, workspace=workspace)
    status = 200
    if request.method == "POST":
        form = SeriesForm(request.POST, workspace=workspace)
        if form.is_valid():
            try:
                recurring.series_create(
                    actor=membership,
                    post_id=form.cleaned_data["post"],
                    rrule=form.rule(),
                    start_date=form.cleaned_data["start_date"],
                    start_time=form.cleaned_data["time"],
                    evergreen=form.cleaned_data["evergreen"],
                    ip=client_ip(request),
                )
            except DomainError as error:
                apply_domain_error(form, error)
                status = 400
            else:
                messages.success(request, _("Recurring series created."))
                return redirect("automation:recurring", ws=workspace.slug)
        else:
            status = 400
    language, calendar = _ui(request)
    rows = []
    for series in RecurringSeries.objects.filter(workspace=workspace).select_related("source_post"):
        try:
            description = recurrence.describe(
                series.rrule, language=language, calendar=calendar, start_local=series.start_local
            )
        except recurrence.RecurrenceError:
            description = series.rrule
        made = RecurringOccurrence.objects.filter(series=series).select_related("post").order_by("-occurrence_at")
        rows.append(
            {
                "series": series,
                "description": description,
                "upcoming": recurring.upcoming(series) if series.active else [],
                "made": list(made[:5]),
                "made_count": made.count(),
            }
        )
    context = workspace_context(membership, "recurring", form=form, rows=rows)
    return render(request, "automation/recurring.html", context, status=status)


def _series(membership: Membership, series_id: int) -> RecurringSeries:
    series = RecurringSeries.objects.filter(workspace=membership.workspace, pk=series_id).first()
    if series is None:
        raise Http404("no such series")
    return series


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def recurring_toggle(request: HttpRequest, membership: Membership, series_id: int) -> HttpResponse:
    series = _series(membership, series_id)
    recurring.series_set_active(actor=membership, series_id=series.pk, active=not series.active, ip=client_ip(request))
    messages.success(request, _("Series resumed.") if not series.active else _("Series paused."))
    return redirect("automation:recurring", ws=membership.workspace.slug)


@workspace_page(Perm.POSTS_DRAFT)
@require_POST
def recurring_delete(request: HttpRequest, membership: Membership, series_id: int) -> HttpResponse:
    series = _series(membership, series_id)
    recurring.series_delete(actor=membership, series_id=series.pk, ip=client_ip(request))
    messages.success(request, _("Series deleted. Posts it made stay."))
    return redirect("automation:recurring", ws=membership.workspace.slug)
