"""OAuth apps (environment or per workspace) and the two halves of the authorisation round trip.

``oauth_start`` stores an :class:`OAuthAttempt` (random ``state``, PKCE ``code_verifier`` encrypted,
the user, the workspace, the instance) and returns the network's authorisation URL.
``oauth_attempt_claim`` checks a callback's ``state``: known, unused, unexpired, the same user; and
marks it used with a conditional update, so a state works once however many callbacks race.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels import conf
from sokhan.channels.models import OAuthApp, OAuthAttempt
from sokhan.core.errors import DomainError, NotAllowed
from sokhan.core.models import Membership, User, Workspace
from sokhan.networks.base import Connector, OAuthClient
from sokhan.networks.errors import ConnectorError


def redirect_uri() -> str:
    return f"{settings.BASE_URL}{reverse('channels:oauth_callback')}"


def env_name(network: str, part: str) -> str:
    return f"SOKHAN_OAUTH_{network.upper()}_{part}"


def normalize_base_url(value: str) -> str:
    value = (value or "").strip().rstrip("/")
    if value and "://" not in value:
        value = "https://" + value
    return value


def env_client(cls: type[Connector], base_url: str) -> OAuthClient | None:
    """The install-wide app from ``SOKHAN_OAUTH_<KEY>_CLIENT_ID`` / ``_CLIENT_SECRET``.

    For networks where every server has its own apps, the variable ``SOKHAN_OAUTH_<KEY>_BASE_URL``
    says which server the app belongs to; without it the app serves the network's default server.
    """
    client_id = os.environ.get(env_name(cls.key, "CLIENT_ID"), "").strip()
    if not client_id:
        return None
    home = normalize_base_url(os.environ.get(env_name(cls.key, "BASE_URL"), "") or cls.default_base_url)
    if base_url and home and normalize_base_url(base_url) != home:
        return None
    if base_url and not home:
        return None
    return OAuthClient(
        client_id=client_id,
        client_secret=os.environ.get(env_name(cls.key, "CLIENT_SECRET"), ""),
        redirect_uri=redirect_uri(),
    )


def workspace_app(workspace: Workspace, network: str, base_url: str) -> OAuthApp | None:
    return OAuthApp.objects.filter(workspace=workspace, network=network, base_url=normalize_base_url(base_url)).first()


def oauth_client(
    workspace: Workspace, cls: type[Connector], base_url: str, *, register: bool = False
) -> OAuthClient | None:
    """The app to use: this workspace's own, else the environment's, else (with ``register`` and a
    network that supports it) one registered on the server now and kept for next time."""
    base_url = normalize_base_url(base_url)
    row = workspace_app(workspace, cls.key, base_url)
    if row is not None:
        return OAuthClient(client_id=row.client_id, client_secret=row.client_secret, redirect_uri=redirect_uri())
    found = env_client(cls, base_url)
    if found is not None or not register:
        return found
    register_app = getattr(cls, "register_app", None)  # dynamic client registration, where offered
    if register_app is None or not base_url:
        return None
    client: OAuthClient = register_app(base_url, redirect_uri=redirect_uri(), website=settings.BASE_URL)
    try:
        with transaction.atomic():
            OAuthApp.objects.create(
                workspace=workspace,
                network=cls.key,
                base_url=base_url,
                client_id=client.client_id,
                client_secret=client.client_secret,
            )
    except IntegrityError:  # registered concurrently: use the one that was stored
        existing = workspace_app(workspace, cls.key, base_url)
        if existing is not None:
            return OAuthClient(existing.client_id, existing.client_secret, redirect_uri())
    return client


def can_start(workspace: Workspace, cls: type[Connector], base_url: str = "") -> bool:
    """Is there (or could there be) an app to authorise with?"""
    if cls.oauth is None:
        return False
    if getattr(cls, "register_app", None) is not None:
        return True
    return oauth_client(workspace, cls, base_url) is not None


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]  # 43–128 characters of [A-Za-z0-9-._~]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def attempt_create(
    *,
    membership: Membership,
    cls: type[Connector],
    base_url: str,
    account: dict[str, Any],
    redirect_to: str = "",
    reconnect_id: int | None = None,
) -> tuple[OAuthAttempt, str]:
    """Store the attempt; returns it and the PKCE challenge (empty when the network has no PKCE)."""
    verifier, challenge = pkce_pair()
    pkce = bool(cls.oauth and cls.oauth.pkce)
    attempt = OAuthAttempt.objects.create(
        workspace=membership.workspace,
        user=membership.user,
        network=cls.key,
        state=secrets.token_urlsafe(32),
        code_verifier=verifier if pkce else "",
        base_url=normalize_base_url(base_url),
        account=account,
        redirect_to=redirect_to[:500],
        reconnect_id=reconnect_id,
        expires_at=timezone.now() + conf.oauth_lifetime(),
    )
    return attempt, challenge if pkce else ""


def oauth_attempt_claim(*, user: User, state: str, now: datetime | None = None) -> OAuthAttempt:
    """The attempt this callback belongs to, marked used. Refuses unknown, used, expired or foreign ones."""
    now = now or timezone.now()
    attempt = OAuthAttempt.objects.select_related("workspace").filter(state=state).first() if state else None
    if attempt is None:
        raise DomainError(_("This connection attempt is unknown. Start again."), code="oauth_state_unknown")
    if attempt.user_id != user.pk:
        raise NotAllowed(_("This connection attempt was started by someone else."), code="oauth_state_user")
    if attempt.used_at is not None:
        raise DomainError(_("This connection attempt was already used. Start again."), code="oauth_state_used")
    if attempt.expires_at <= now:
        raise DomainError(_("This connection attempt expired. Start again."), code="oauth_state_expired")
    claimed = OAuthAttempt.objects.filter(pk=attempt.pk, used_at__isnull=True).update(used_at=now)
    if claimed != 1:
        raise DomainError(_("This connection attempt was already used. Start again."), code="oauth_state_used")
    attempt.used_at = now
    return attempt


def authorize_url(cls: type[Connector], client: OAuthClient, attempt: OAuthAttempt, challenge: str) -> str:
    try:
        return cls.authorization_url(client, state=attempt.state, code_challenge=challenge, base_url=attempt.base_url)
    except ConnectorError as exc:
        raise DomainError(exc.message, fields={"base_url": exc.message} if attempt.base_url == "" else None) from exc
