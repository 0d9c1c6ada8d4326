"""The workspace navigation: one list of entries, each shown only when the role may use it.

Domains that ship pages (publishing, inbox, listening, analytics) add their entries with
``register`` from their app's ``ready()``; nothing appears here before its pages exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokhan.core.models import Membership
from sokhan.core.permissions import Perm, role_can


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str | Promise
    url_name: str  # a URL taking only the ``ws`` kwarg
    perm: Perm
    order: int


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str | Promise
    url: str


_ENTRIES: list[NavEntry] = [
    NavEntry("overview", _("Overview"), "web:workspace", Perm.WORKSPACE_VIEW, 0),
    # Domain pages slot in between overview (0) and administration (900+), e.g. publishing at 100.
    NavEntry("members", _("Members"), "web:members", Perm.MEMBERS_VIEW, 900),
    NavEntry("settings", _("Settings"), "web:settings", Perm.WORKSPACE_SETTINGS, 910),
    NavEntry("audit", _("Audit log"), "web:audit", Perm.AUDIT_VIEW, 920),
    NavEntry("tokens", _("API tokens"), "web:tokens", Perm.TOKENS_USE, 930),
]


def register(entry: NavEntry) -> None:
    """Add a domain's page to the workspace navigation (idempotent per key)."""
    if any(e.key == entry.key for e in _ENTRIES):
        return
    _ENTRIES.append(entry)


def workspace_nav(membership: Membership) -> list[NavLink]:
    slug = membership.workspace.slug
    return [
        NavLink(e.key, e.label, reverse(e.url_name, kwargs={"ws": slug}))
        for e in sorted(_ENTRIES, key=lambda e: e.order)
        if role_can(membership.role, e.perm)
    ]
