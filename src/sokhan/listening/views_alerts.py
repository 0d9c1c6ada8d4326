"""Alert pages: the alerts list (figures, top mentions, deliveries, acknowledge, start crisis mode
from one) and the alert destinations. Thin views over ``alerts`` and ``alert_destinations``; URL
names are ``crisis:*`` (``urls_crisis``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from sokhan.core.errors import DomainError, NotFound
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm
from sokhan.core.text import to_persian_digits
from sokhan.listening import alert_destinations as dest
from sokhan.listening import alerts as alert_service
from sokhan.listening.crisis import can_run, open_incident
from sokhan.listening.models import Alert, DestinationKind, Mention, Topic
from sokhan.web.access import workspace_context, workspace_page
from sokhan.web.http import client_ip
from sokhan.web.views.common import apply_domain_error, safe_next

PAGE_SIZE = 30
STATUS_LABELS = {
    dest.SENT: gettext_lazy("sent"),
    dest.FAILED: gettext_lazy("failed"),
    "pending": gettext_lazy("waiting to be sent"),
    "unconfirmed": gettext_lazy("not confirmed (the worker stopped while sending; not sent again)"),
}


def _fa(request: HttpRequest) -> bool:
    return (getattr(request, "LANGUAGE_CODE", "") or "").startswith("fa")


def chance_text(probability: float, fa: bool) -> str:
    """P as "about 1 in N" with N rounded to two significant digits."""
    if probability <= 0:
        return _("practically never")
    n = 1 / probability
    digits = max(len(str(int(n))) - 2, 0)
    rounded = int(round(n, -digits))
    text = _("about 1 in %(n)s") % {"n": f"{rounded:,}"}
    return to_persian_digits(text).replace(",", "٬") if fa else text


def _alert_rows(request: HttpRequest, membership: Membership, alerts: list[Alert]) -> list[dict[str, Any]]:
    workspace = membership.workspace
    wanted = {i for a in alerts for i in a.mention_ids}
    mentions = {m.pk: m for m in Mention.objects.filter(workspace=workspace, pk__in=wanted)}
    deliveries = dest.deliveries_of(workspace, alerts)
    fa = _fa(request)
    return [
        {
            "alert": alert,
            "title": alert_service.alert_title(alert),
            "summary": alert_service.alert_summary(alert),
            "chance": chance_text(alert.probability, fa),
            "mentions": [mentions[i] for i in alert.mention_ids if i in mentions],
            "mentions_url": alert_service.mentions_url(alert),
            "deliveries": [(d, STATUS_LABELS.get(d.status, d.status)) for d in deliveries.get(alert.pk, [])],
        }
        for alert in alerts
    ]


@workspace_page(Perm.LISTENING_VIEW)
def alerts(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    show = "open" if request.GET.get("show") == "open" else "all"
    topic = request.GET.get("topic", "")
    query = alert_service.alerts_for(
        workspace, open_only=show == "open", topic_id=int(topic) if topic.isdigit() else None
    )
    page = Paginator(query, PAGE_SIZE).get_page(request.GET.get("page"))
    context = workspace_context(
        membership,
        "crisis",
        tab="alerts",
        rows=_alert_rows(request, membership, list(page.object_list)),
        page=page,
        show=show,
        topic=topic,
        topics=list(Topic.objects.filter(workspace=workspace).order_by("name")),
        incident=open_incident(workspace),
        can_run=can_run(membership.role),
    )
    return render(request, "listening/alerts/alerts.html", context)


@workspace_page(Perm.LISTENING_VIEW)
@require_POST
def acknowledge(request: HttpRequest, membership: Membership, alert_id: int) -> HttpResponse:
    try:
        alert_service.alert_acknowledge(membership, alert_id, ip=client_ip(request))
    except NotFound:
        raise Http404("alert not found") from None
    messages.success(request, _("Alert acknowledged."))
    fallback = f"{alert_service.alerts_path(membership.workspace)}#alert-{alert_id}"
    return redirect(safe_next(request, fallback))


# ------------------------------------------------------------------------------ destinations


class DestinationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Send alerts to"), choices=DestinationKind.choices)
    target = forms.CharField(
        label=gettext_lazy("Address"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"dir": "ltr"}),
        help_text=gettext_lazy(
            "An email address; a webhook URL (https://…); or, for a bot, the chat's numeric id "
            "(e.g. -1001234567890) or @username. Nothing for in-app notifications."
        ),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Bot channel"),
        required=False,
        help_text=gettext_lazy("For a bot message: the connected Telegram or Bale channel whose bot writes it."),
    )

    def __init__(self, *args: Any, channels: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((str(c.pk), f"{c.display_name} ({c.network})") for c in channels),
        ]


def _destination_rows(membership: Membership) -> list[dict[str, Any]]:
    manage = can_run(membership.role)
    return [
        {
            "destination": d,
            "label": dest.destination_label(d),
            # The signing secret is shown only to those who manage destinations.
            "secret": dest.webhook_secret(d) if manage and d.kind == DestinationKind.WEBHOOK else "",
        }
        for d in dest.destinations_for(membership.workspace)
    ]


@workspace_page(Perm.LISTENING_VIEW)
@require_http_methods(["GET", "POST"])
def destinations(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    channels = dest.bot_channels(workspace)
    form = DestinationForm(request.POST if request.method == "POST" else None, channels=channels)
    status = 200
    if request.method == "POST":
        if not can_run(membership.role):
            raise PermissionDenied(Perm.LISTENING_MANAGE.value)
        if form.is_valid():
            try:
                dest.destination_create(membership, form.cleaned_data, ip=client_ip(request))
            except DomainError as error:
                apply_domain_error(form, error)
            else:
                messages.success(request, _("Alert destination added."))
                return redirect("crisis:destinations", ws=workspace.slug)
        status = 400
    context = workspace_context(
        membership,
        "crisis",
        tab="destinations",
        form=form,
        rows=_destination_rows(membership),
        can_run=can_run(membership.role),
        default_in_app=not dest.destinations_for(workspace),
    )
    return render(request, "listening/alerts/destinations.html", context, status=status)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def destination_toggle(request: HttpRequest, membership: Membership, destination_id: int) -> HttpResponse:
    try:
        current = dest.destination_get(membership.workspace, destination_id)
        dest.destination_set_enabled(membership, destination_id, not current.enabled, ip=client_ip(request))
    except NotFound:
        raise Http404("destination not found") from None
    return redirect("crisis:destinations", ws=membership.workspace.slug)


@workspace_page(Perm.LISTENING_MANAGE)
@require_POST
def destination_delete(request: HttpRequest, membership: Membership, destination_id: int) -> HttpResponse:
    try:
        dest.destination_delete(membership, destination_id, ip=client_ip(request))
    except NotFound:
        raise Http404("destination not found") from None
    messages.success(request, _("Alert destination removed."))
    return redirect("crisis:destinations", ws=membership.workspace.slug)
