"""Template context for the crisis banner on every workspace page while an incident is open.

Wired as ``"sokhan.listening.crisis_context.crisis_banner"`` in the template context processors and
``{% include "listening/crisis/_banner.html" %}`` in the base template. It runs one query, only
when the template reads ``crisis_incident`` on a workspace page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can
from sokhan.listening.models import Incident, IncidentStatus


def crisis_banner(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("ws") if match else None
    user = getattr(request, "user", None)
    if not slug or user is None or not user.is_authenticated:
        return {}

    def load() -> dict[str, Any]:
        membership = Membership.objects.filter(workspace__slug=slug, user=user).only("role").first()
        if membership is None:
            return {}
        incident = Incident.objects.filter(workspace__slug=slug, status=IncidentStatus.OPEN).only("pk", "title").first()
        if incident is None:
            return {}
        return {"incident": incident, "linked": role_can(membership.role, Perm.LISTENING_VIEW)}

    return {"crisis_incident": SimpleLazyObject(load), "crisis_ws": slug}
