"""Shared OAuth 2.0 token-endpoint handling (RFC 6749 §5) for the connectors that use it.

:func:`token_request` posts the form to the token endpoint and maps failures to typed errors;
:func:`token_credentials` turns the token response into :class:`Credentials`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sokhan.networks.errors import AuthExpired, Rejected
from sokhan.networks.http import Http
from sokhan.networks.types import Credentials


def token_request(
    url: str,
    form: Mapping[str, str],
    *,
    network: str,
    label: str,
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    errors_in_body: bool = False,
) -> dict[str, Any]:
    """POST ``form`` to the token endpoint ``url`` and return the JSON token response.

    A refused refresh grant raises :class:`AuthExpired` (the account must be reconnected); any
    other refusal, or an answer without an ``access_token``, raises :class:`Rejected`. ``label``
    names the provider in messages. ``errors_in_body`` is for providers that report token errors
    with HTTP 200 and ``{"error", "error_description"}`` (TikTok).
    """
    refreshing = form.get("grant_type") == "refresh_token"
    http = Http(network, "", timeout=20.0, auth=auth)
    try:
        body = http.json("POST", url, data=dict(form), headers=headers)
    except Rejected as exc:
        if refreshing:
            raise AuthExpired(f"{label} refused the refresh token", network=network, detail=exc.detail) from exc
        raise
    finally:
        http.close()
    if not isinstance(body, dict) or not body.get("access_token"):
        if not errors_in_body:
            raise Rejected(f"{label} returned no access token", network=network, detail=str(body)[:300])
        detail = str(body.get("error_description") or body.get("error") or body)[:300] if isinstance(body, dict) else ""
        if refreshing:
            raise AuthExpired(f"{label} refused the refresh token", network=network, detail=detail)
        raise Rejected(f"{label} returned no access token", network=network, detail=detail)
    return body


def token_credentials(
    body: Mapping[str, Any],
    previous: Credentials | None = None,
    *,
    network: str,
    scope_separator: str = r"\s+",
    data_keys: Sequence[str] = (),
) -> Credentials:
    """Credentials from a token response.

    A response without a refresh token (or scope) keeps the ``previous`` one; ``previous.data`` is
    carried over. ``scope_separator`` is a regular expression splitting the ``scope`` string;
    ``data_keys`` are response fields copied into ``Credentials.data`` when present (e.g. TikTok's
    ``open_id``).
    """
    if not body.get("access_token"):
        raise Rejected("the token response has no access token", network=network, detail=str(body)[:300])
    expires = body.get("expires_in")
    scope = str(body.get("scope", ""))
    data = dict(previous.data) if previous else {}
    for key in data_keys:
        if body.get(key):
            data[key] = str(body[key])
    return Credentials(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or (previous.refresh_token if previous else "")),
        expires_at=datetime.now(UTC) + timedelta(seconds=float(expires)) if expires else None,
        scopes=tuple(s for s in re.split(scope_separator, scope) if s) or (previous.scopes if previous else ()),
        data=data,
    )
