"""Walk every URL of the project as a member of a *different* workspace: each must answer 404.

Workspace A has a member, an invitation, a token and audit events; the caller is B's owner, signed
in by session (and, for API routes, also with B's token). Every route with a ``ws`` parameter is
requested with A's slug and A's real object ids, with each method it accepts. A route without
``ws`` must be in ``ALLOWLIST`` with a reason, so a new route the walk cannot cover fails here by name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern
from tests.conftest import PASSWORD

from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import audit_record, invitation_create, token_create, workspace_create

# Routes without a workspace in their path. Key: the full route as Django spells it.
ALLOWLIST: dict[str, str] = {
    # API
    "api/v1/openapi.json": "public API description",
    "api/v1/docs": "interactive docs page, no data",
    "api/v1/docs/assets/<str:name>": "static files of the docs page",
    "api/v1/": "API root, always a JSON 404",
    "api/v1/^(?P<rest>.*)$": "catch-all JSON 404 for unknown API paths",
    "api/v1/me": "the caller themself",
    "api/v1/workspaces": "lists only the caller's memberships; creates a new workspace",
    # Runtime
    "health/": "liveness probe, no data",
    # Web: authentication and the user's own account
    "": "home: the signed-in user's own workspaces",
    "setup/<str:token>/": "first-start setup, guarded by a one-time token",
    "login/": "sign in",
    "login/code/": "second sign-in step (two-factor code)",
    "logout/": "sign out",
    "language/": "sets the interface language cookie",
    "password-reset/": "request a reset email",
    "password-reset/sent/": "reset email sent notice",
    "password-reset/<uidb64>/<token>/": "reset link, guarded by a signed token",
    "password-reset/complete/": "reset done notice",
    "account/": "the user's own profile",
    "account/password/": "the user's own password",
    "account/two-factor/": "the user's own two-factor setup",
    "account/two-factor/disable/": "the user's own two-factor setup",
    "workspaces/new/": "creates a workspace the user will own",
    "invite/<str:token>/": "invitation link, guarded by a secret token sent to the invitee",
    # Channels
    "channels/oauth/callback/": "OAuth redirect from the networks; the single-use state names the user and workspace",
    # Publishing
    "feeds/<str:token>/rss.xml": "a feed channel's public feed, addressed by a signed token (test_feed.py)",
    "feeds/<str:token>/atom.xml": "a feed channel's public feed, addressed by a signed token (test_feed.py)",
    "calendar/<str:token>.ics": "private iCalendar feed, signed token (test_calendar_feed.py)",
    # Approvals
    "approve/<str:token>/": "a client's sign-off link for one post and stage, guarded by a secret single-use token "
    "stored hashed (tests/approvals/test_links.py)",
    # Inbox: pushes from the networks, authenticated by their signature or secret, not by a member
    "api/v1/webhooks/meta": "Meta webhooks: verify token (GET) and X-Hub-Signature-256 (POST); entries map to "
    "channels by the account id (tests/inbox/test_webhooks.py)",
    "api/v1/webhooks/telegram/<int:channel_id>": "a Telegram channel's bot updates, guarded by the channel's "
    "secret token (tests/inbox/test_webhooks.py)",
    "api/v1/webhooks/bale/<int:channel_id>": "a Bale channel's bot updates, guarded by the channel's secret "
    "token (tests/inbox/test_webhooks.py)",
}

# Static files served by Django in DEBUG, if anyone mounts them.
ALLOWLIST_PREFIXES: dict[str, str] = {
    "static/": "static files",
    "media/": "uploaded files, served by the web server",
}

WEB_METHODS = ("GET", "POST")
API_PREFIX = "api/v1/"
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str
    params: dict[str, Any]  # name -> converter (None for regex groups)
    pattern: URLPattern
    regexes: tuple[bool, ...]


def _params(pattern: URLPattern | URLResolver) -> dict[str, Any]:
    if isinstance(pattern.pattern, RoutePattern):
        return dict(pattern.pattern.converters)
    if isinstance(pattern.pattern, RegexPattern):
        return dict.fromkeys(pattern.pattern.regex.groupindex)
    return {}


def walk(patterns: list[Any], prefix: str = "", params: dict[str, Any] | None = None) -> Iterator[Route]:
    params = params or {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        merged = {**params, **_params(pattern)}
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route, merged)
        else:
            yield Route(route, merged, pattern, ())


@dataclass
class World:
    a: Workspace
    b: Workspace
    a_owner: User
    b_owner: User
    b_token: str
    ids: dict[str, int]


@pytest.fixture
def world(db: None, settings: Any) -> World:
    settings.API_RATE_LIMIT_PER_MINUTE = 0  # the walk makes many requests with one token
    cache.clear()
    a_owner = User.objects.create_user("a-owner@example.com", PASSWORD)
    b_owner = User.objects.create_user("b-owner@example.com", PASSWORD)
    a = workspace_create(owner=a_owner, name="Alpha", slug="alpha")
    b = workspace_create(owner=b_owner, name="Beta", slug="beta")
    a_editor = User.objects.create_user("a-editor@example.com", PASSWORD)
    member = Membership.objects.create(workspace=a, user=a_editor, role=Role.EDITOR)
    a_owner_membership = Membership.objects.get(workspace=a, user=a_owner)
    invitation, _raw = invitation_create(actor=a_owner_membership, email="new@example.com", role="viewer", send=False)
    token, _raw = token_create(actor=a_owner_membership, name="A token", scopes=["admin"])
    event = audit_record(workspace=a, actor=a_owner, action="test.event", target="x")
    _b_token, b_raw = token_create(actor=Membership.objects.get(workspace=b, user=b_owner), name="B", scopes=["admin"])
    ids = {
        "member_id": member.pk,
        "membership_id": member.pk,
        "user_id": a_editor.pk,
        "invitation_id": invitation.pk,
        "token_id": token.pk,
        "event_id": event.pk,
        "audit_id": event.pk,
    }
    return World(a=a, b=b, a_owner=a_owner, b_owner=b_owner, b_token=b_raw, ids=ids)


def _object_id(world: World, name: str) -> int:
    """A's row for ``<model>_id``/``<model>``, found generically so new routes need no edit here."""
    if name in world.ids:
        return world.ids[name]
    wanted = name.removesuffix("_id").replace("_", "")
    for model in apps.get_models():
        if model._meta.model_name == wanted and any(f.name == "workspace" for f in model._meta.fields):
            row = model._default_manager.filter(workspace=world.a).order_by("pk").first()
            if row is not None:
                return int(row.pk)
    # No such row in A: any id still must not reveal anything through A's address.
    return AuditEvent.objects.filter(workspace=world.a).values_list("pk", flat=True).first() or 1


def _value(world: World, name: str, converter: Any) -> str:
    if name == "ws":
        return world.a.slug
    if isinstance(converter, UUIDConverter):
        return str(uuid.uuid4())
    if isinstance(converter, IntConverter) or name.endswith("_id") or name in {"id", "pk"}:
        return str(_object_id(world, name))
    return "x"


def _regex_to_path(regex: str, values: dict[str, str]) -> str:
    """``^w/(?P<ws>[-\\w]+)/$`` → ``w/alpha/``, for re_path routes."""
    out, i = [], 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            name = regex[i + 4 : regex.index(">", i)]
            depth, j = 0, i
            while True:
                depth += {"(": 1, ")": -1}.get(regex[j], 0) if regex[j - 1 : j] != "\\" else 0
                j += 1
                if depth == 0:
                    break
            out.append(values[name])
            i = j
        elif regex[i] in "^$":
            i += 1
        elif regex[i] == "\\" and i + 1 < len(regex):
            out.append(regex[i + 1])
            i += 2
        else:
            out.append(regex[i])
            i += 1
    return "".join(out)


def build_url(world: World, route: Route) -> str:
    values = {name: _value(world, name, conv) for name, conv in route.params.items()}
    if "(?P<" in route.route or "^" in route.route:
        return "/" + _regex_to_path(route.route, values)
    return "/" + _ROUTE_PARAM.sub(lambda m: values[m.group("name")], route.route)


def _openapi_methods(client: Client) -> dict[str, set[str]]:
    doc = client.get(f"/{API_PREFIX}openapi.json").json()
    return {path: {m.upper() for m in ops} for path, ops in doc["paths"].items()}


def _as_openapi_path(route: str) -> str:
    return "/" + _ROUTE_PARAM.sub(lambda m: "{" + m.group("name") + "}", route)


def _allowlisted(route: str) -> bool:
    return route in ALLOWLIST or any(route.startswith(p) for p in ALLOWLIST_PREFIXES)


def test_every_route_is_scoped_or_allowlisted(world: World) -> None:
    session = Client()
    session.force_login(world.b_owner)
    token_client = Client()
    token_headers = {"Authorization": f"Bearer {world.b_token}"}
    a_owner = Client()
    a_owner.force_login(world.a_owner)
    openapi = _openapi_methods(Client())

    unscoped: list[str] = []
    leaks: list[str] = []
    broken_controls: list[str] = []
    covered_api_ops: set[tuple[str, str]] = set()
    scoped_routes = 0

    for route in walk(get_resolver().url_patterns):
        if "ws" not in route.params:
            if not _allowlisted(route.route):
                unscoped.append(route.route)
            continue
        scoped_routes += 1
        url = build_url(world, route)
        is_api = route.route.startswith(API_PREFIX)
        if is_api:
            oa_path = _as_openapi_path(route.route)
            methods = sorted(openapi.get(oa_path, {"GET", "POST", "PUT", "PATCH", "DELETE"}))
            covered_api_ops.update((oa_path, m) for m in methods)
            callers = [("session", session, {}), ("token", token_client, token_headers)]
        else:
            methods = list(WEB_METHODS)
            callers = [("session", session, {})]
        for method in methods:
            for label, client, headers in callers:
                response = client.generic(method, url, headers=headers)
                if response.status_code != 404:
                    leaks.append(f"{method} {url} ({route.route}) as B's owner by {label}: {response.status_code}")
        # Control: A's own owner finds the same address, so the 404s above come from scoping.
        real_ids = all(n == "ws" or n in world.ids for n in route.params)
        if "GET" in methods and real_ids and a_owner.get(url).status_code == 404:
            broken_controls.append(f"GET {url} ({route.route}) is 404 even for A's owner")

    assert not unscoped, (
        "Routes with no workspace in their path and not in ALLOWLIST (add a reason there, or scope them): "
        + ", ".join(unscoped)
    )
    assert not leaks, "Foreign-workspace requests that did not answer 404:\n" + "\n".join(leaks)
    assert not broken_controls, "\n".join(broken_controls)
    missing = {
        (path, method)
        for path, methods in openapi.items()
        for method in methods
        if "{ws}" in path and (path, method) not in covered_api_ops
    }
    assert not missing, f"API operations the walk did not reach: {sorted(missing)}"
    assert scoped_routes >= 12  # the API alone has 12 workspace routes; the walk must see them


def test_walk_catches_an_unscoped_route() -> None:
    """The walk's own machinery: a route without ``ws`` and without an allowlist entry is reported."""
    from django.http import HttpResponse
    from django.urls import include, path

    def view(request: Any) -> HttpResponse:
        return HttpResponse()

    patterns = [path("x/", include([path("secret/<int:member_id>/", view), path("w/<slug:ws>/ok/", view)]))]
    routes = list(walk(patterns))
    assert [r.route for r in routes] == ["x/secret/<int:member_id>/", "x/w/<slug:ws>/ok/"]
    assert [("ws" in r.params, _allowlisted(r.route)) for r in routes] == [(False, False), (True, False)]


def test_regex_routes_are_filled() -> None:
    assert _regex_to_path(r"^w/(?P<ws>[-\w]+)/items/(?P<item_id>[0-9]+)\.json$", {"ws": "alpha", "item_id": "7"}) == (
        "w/alpha/items/7.json"
    )
