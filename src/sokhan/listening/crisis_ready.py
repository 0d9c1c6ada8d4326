"""What alerts and crisis mode add when the app loads (called from ``ListeningConfig.ready``): the
detection schedule and delivery tasks (``spike_tasks``), a navigation entry, and the audit log's
labels for their actions."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def ready() -> None:
    from sokhan.core.permissions import Perm
    from sokhan.listening import spike_tasks  # noqa: F401 - registers the detection schedule
    from sokhan.web.activity import ACTION_LABELS
    from sokhan.web.nav import NavEntry, register

    register(NavEntry("crisis", _("Alerts and crisis"), "crisis:alerts", Perm.LISTENING_VIEW, 72))
    for action, label in {
        "listening.alert.acknowledge": _("Acknowledged a listening alert"),
        "listening.alert.delivery": _("Sent a listening alert"),
        "listening.destination.create": _("Added an alert destination"),
        "listening.destination.enable": _("Turned on an alert destination"),
        "listening.destination.disable": _("Turned off an alert destination"),
        "listening.destination.delete": _("Removed an alert destination"),
        "listening.crisis.start": _("Started crisis mode"),
        "listening.crisis.end": _("Ended crisis mode"),
        "listening.crisis.owner": _("Changed an incident's owner"),
        "listening.crisis.postmortem": _("Edited a post-mortem"),
        "listening.statement.create": _("Added a holding statement"),
        "listening.statement.update": _("Changed a holding statement"),
        "listening.statement.delete": _("Deleted a holding statement"),
    }.items():
        ACTION_LABELS.setdefault(action, label)
