"""URLs of alerts and crisis mode, in their own ``crisis`` namespace (``listening`` is the
topics, insight and mentions pages')."""

from __future__ import annotations

from django.urls import URLPattern, path

from sokhan.listening import views_alerts, views_crisis

app_name = "crisis"

_A = "w/<slug:ws>/listening/alerts/"
_C = "w/<slug:ws>/listening/crisis/"
_I = f"{_C}<int:incident_id>/"
_S = f"{_C}statements/"

urlpatterns: list[URLPattern] = [
    path(_A, views_alerts.alerts, name="alerts"),
    path(f"{_A}<int:alert_id>/acknowledge/", views_alerts.acknowledge, name="acknowledge"),
    path(f"{_A}destinations/", views_alerts.destinations, name="destinations"),
    path(f"{_A}destinations/<int:destination_id>/toggle/", views_alerts.destination_toggle, name="destination_toggle"),
    path(f"{_A}destinations/<int:destination_id>/delete/", views_alerts.destination_delete, name="destination_delete"),
    path(_C, views_crisis.home, name="home"),
    path(f"{_C}start/", views_crisis.start, name="start"),
    path(_I, views_crisis.incident_page, name="incident"),
    path(f"{_I}note/", views_crisis.note, name="note"),
    path(f"{_I}owner/", views_crisis.owner, name="owner"),
    path(f"{_I}checklist/", views_crisis.checklist, name="checklist"),
    path(f"{_I}statement/", views_crisis.statement_sent, name="statement_sent"),
    path(f"{_I}end/", views_crisis.end, name="end"),
    path(f"{_I}postmortem/", views_crisis.postmortem, name="postmortem"),
    path(_S, views_crisis.statement_list, name="statements"),
    path(f"{_S}new/", views_crisis.statement_edit, name="statement_new"),
    path(f"{_S}examples/", views_crisis.statement_examples, name="statement_examples"),
    path(f"{_S}<int:statement_id>/", views_crisis.statement_edit, name="statement_edit"),
    path(f"{_S}<int:statement_id>/delete/", views_crisis.statement_delete, name="statement_delete"),
]
