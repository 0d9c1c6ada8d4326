"""Template context for the header's unread-notifications badge.

Wire it by adding ``"sokhan.notifications.context.notifications"`` to the template context
processors and ``{% include "notifications/_badge.html" %}`` in the header. It runs one query,
only when the template reads ``unread_notifications`` on a workspace page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sokhan.core.models import Membership
from sokhan.notifications.services import unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("ws") if match else None
    user = getattr(request, "user", None)
    if not slug or user is None or not user.is_authenticated:
        return {}

    def load() -> int:
        membership = Membership.objects.select_related("workspace").filter(workspace__slug=slug, user=user).first()
        return unread_count(user, membership.workspace) if membership is not None else 0

    return {"unread_notifications": SimpleLazyObject(load), "notifications_ws": slug}
