"""Who is calling, and may they call this operation?

Every operation declares ``auth=access(perm, scope)``. Ninja runs these checks *before* it parses
the request body, so a foreign workspace answers 404 (and a missing permission 403) even when the
body is malformed: nothing about another workspace leaks through validation errors.

Order of checks: identity (401) → rate limit (429) → workspace membership and token binding
(404) → token scope and role permission (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from sokhan.api.errors import ApiError
from sokhan.api.ratelimit import RateState, rate_limit_hit
from sokhan.core.models import Membership, PersonalAccessToken, User
from sokhan.core.permissions import Perm, role_can
from sokhan.core.scoping import access_membership
from sokhan.core.services import token_access

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Scope(StrEnum):
    """Token scopes; each includes the ones below it (admin ⊃ write ⊃ read)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


_SCOPE_RANK = {Scope.READ: 1, Scope.WRITE: 2, Scope.ADMIN: 3}


def scopes_allow(granted: list[str], needed: Scope) -> bool:
    ranks = [_SCOPE_RANK[Scope(s)] for s in granted if s in Scope.__members__.values()]
    return bool(ranks) and max(ranks) >= _SCOPE_RANK[needed]


@dataclass(frozen=True)
class Access:
    """The authenticated caller; ``membership`` is set on workspace routes (``{ws}`` in the path)."""

    user: User
    token: PersonalAccessToken | None
    membership: Membership | None
    rate: RateState | None

    @property
    def workspace_membership(self) -> Membership:
        if self.membership is None:  # a route without {ws} asked for a workspace: a wiring bug
            raise RuntimeError("this route is not workspace-scoped")
        return self.membership


def access_of(request: HttpRequest) -> Access:
    auth = getattr(request, "auth", None)
    if not isinstance(auth, Access):
        raise RuntimeError("route has no access() auth")
    return auth


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class _Check:
    def __init__(self, perm: Perm | None, scope: Scope | None) -> None:
        self.perm = perm
        self.scope = scope

    def authorize(
        self,
        request: HttpRequest,
        user: User,
        token: PersonalAccessToken | None,
        token_membership: Membership | None = None,
    ) -> Access:
        ident = f"token:{token.pk}" if token else f"user:{user.pk}"
        rate = rate_limit_hit(ident)
        request.sokhan_rate = rate  # type: ignore[attr-defined]  # read by SokhanAPI for headers
        match = request.resolver_match
        kwargs: dict[str, Any] = match.kwargs if match else {}
        slug = kwargs.get("ws")
        membership: Membership | None = None
        if token is not None:
            # A token is bound to one workspace: anywhere else it behaves as if nothing exists.
            if slug is not None and slug != token.workspace.slug:
                raise Http404("workspace not found")
            membership = token_membership or access_membership(user, token.workspace.slug)
            if not role_can(membership.role, Perm.TOKENS_USE):
                raise ApiError(403, "forbidden", _("Your role may not use API tokens."))
            needed = self.scope or (Scope.READ if request.method in SAFE_METHODS else Scope.WRITE)
            if not scopes_allow(list(token.scopes), needed):
                raise ApiError(
                    403,
                    "insufficient_scope",
                    _("This token lacks the %(s)s scope.") % {"s": needed.value},
                )
        elif slug is not None:
            membership = access_membership(user, str(slug))
        if slug is None:
            membership = None
        if self.perm is not None:
            if membership is None:
                raise RuntimeError("a permission check needs a {ws} route")
            if not role_can(membership.role, self.perm):
                raise ApiError(403, "forbidden", _("Your role may not do this."))
        return Access(user=user, token=token, membership=membership, rate=rate)


class TokenAccess(HttpBearer):
    """``Authorization: Bearer skn_…``. A present but bad header is a 401, never a fallback."""

    def __init__(self, perm: Perm | None, scope: Scope | None) -> None:
        super().__init__()
        self.check = _Check(perm, scope)

    def __call__(self, request: HttpRequest) -> Access | None:
        header = request.headers.get("Authorization")
        if not header:
            return None  # let session auth try
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise ApiError(401, "invalid_token", _("Use 'Authorization: Bearer <token>'."))
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Access:
        found = token_access(token)
        if found is None:
            raise ApiError(401, "invalid_token", _("This token is unknown, revoked or expired."))
        held, membership = found
        return self.check.authorize(request, held.user, held, membership)


class SessionAccess(APIKeyCookie):
    """The browser's Django session; unsafe methods must carry the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, perm: Perm | None, scope: Scope | None) -> None:
        super().__init__(csrf=True)
        self.check = _Check(perm, scope)

    def __call__(self, request: HttpRequest) -> Access | None:
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> Access | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise ApiError(403, "csrf_failed", _("CSRF check failed: send the X-CSRFToken header."))
        return self.check.authorize(request, user, None)


def access(perm: Perm | None = None, scope: Scope | None = None) -> list[TokenAccess | SessionAccess]:
    """Auth for an operation: token or session, then ``perm`` from the role matrix and ``scope``
    for tokens (default: read for safe methods, write otherwise)."""
    return [TokenAccess(perm, scope), SessionAccess(perm, scope)]


def session_only(perm: Perm | None = None) -> list[TokenAccess | SessionAccess]:
    return [SessionAccess(perm, Scope.WRITE)]
