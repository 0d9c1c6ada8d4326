"""Template context for the workspace shell: channel alerts for a banner on every workspace page.

Wire it by adding ``"sokhan.channels.context.channel_alerts"`` to the template context processors
and ``{% include "channels/_alerts.html" %}`` to the base template. It runs a query only when the
template reads ``alerts``, and only for members allowed to see channels.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sokhan.channels.alerts import Alert
from sokhan.channels.alerts import channel_alerts as find_alerts
from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can


def channel_alerts(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("ws") if match else None
    user = getattr(request, "user", None)
    if not slug or user is None or not user.is_authenticated:
        return {}

    def load() -> list[Alert]:
        membership = Membership.objects.select_related("workspace").filter(workspace__slug=slug, user=user).first()
        if membership is None or not role_can(membership.role, Perm.CHANNELS_VIEW):
            return []
        return find_alerts(membership.workspace)

    return {"alerts": SimpleLazyObject(load)}
