"""A thin HTTP layer for connectors: one place that maps transport and status failures to typed errors
and reads rate-limit headers.

Connectors built on a network SDK map that SDK's exceptions themselves, but reuse
:func:`parse_rate_limit` and :func:`error_for_status`.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
)
from sokhan.networks.types import RateLimitInfo

USER_AGENT = "Sokhan/0.1 (+self-hosted social media manager)"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _reset_time(value: str | None, now: datetime) -> datetime | None:
    """Reset headers come as epoch seconds, seconds from now, or ISO 8601 (Mastodon)."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if number > 1_000_000_000:  # an epoch timestamp
        return datetime.fromtimestamp(number, tz=UTC)
    return now + timedelta(seconds=number)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After``: delta seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - now).total_seconds())


def parse_rate_limit(headers: Mapping[str, str], now: datetime | None = None) -> RateLimitInfo | None:
    """Read the common families: ``X-RateLimit-*`` (Mastodon, X as ``x-rate-limit-*``), IETF
    ``RateLimit-*`` (Bluesky), and ``Retry-After``."""
    now = now or datetime.now(UTC)
    lower = {k.lower(): v for k, v in headers.items()}
    for prefix in ("x-ratelimit-", "x-rate-limit-", "ratelimit-"):
        if f"{prefix}limit" in lower or f"{prefix}remaining" in lower:
            return RateLimitInfo(
                limit=_int(lower.get(f"{prefix}limit")),
                remaining=_int(lower.get(f"{prefix}remaining")),
                reset_at=_reset_time(lower.get(f"{prefix}reset"), now),
                retry_after=retry_after_seconds(lower.get("retry-after"), now),
            )
    if "retry-after" in lower:
        return RateLimitInfo(retry_after=retry_after_seconds(lower["retry-after"], now))
    return None


def error_for_status(
    network: str, status: int, detail: str, rate: RateLimitInfo | None, *, sent_write: bool
) -> ConnectorError:
    """The typed error for a failed HTTP status."""
    if status == 429:
        retry = rate.retry_after if rate else None
        if retry is None and rate and rate.reset_at:
            retry = max(0.0, (rate.reset_at - datetime.now(UTC)).total_seconds())
        return RateLimited("rate limited", retry_after=retry, network=network, detail=detail)
    if status == 401:
        return AuthExpired("credentials rejected", network=network, detail=detail)
    if status in (408, 425) or status >= 500:
        if sent_write and status in (502, 504):
            # A gateway timeout on a write may have reached the origin: the outcome is unknown.
            return OutcomeUnknown(f"HTTP {status} after sending", network=network, detail=detail)
        return Transient(f"HTTP {status}", network=network, detail=detail)
    return Rejected(f"HTTP {status}", network=network, detail=detail)


def _default_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in ("error_description", "error", "message", "detail", "description", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    return str(body)[:300]


class Http:
    """An httpx client bound to one network's base URL.

    ``classify`` lets a connector turn a response into a typed error the generic status mapping
    would get wrong (e.g. Graph API's HTTP 400 with error code 190 means an expired token).
    """

    def __init__(
        self,
        network: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 20.0,
        classify: Callable[[httpx.Response], ConnectorError | None] | None = None,
        detail: Callable[[httpx.Response], str] = _default_detail,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.network = network
        self.classify = classify
        self.detail = detail
        self.last_rate_limit: RateLimitInfo | None = None
        self.client = httpx.Client(
            base_url=base_url,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=timeout,
            follow_redirects=False,
            auth=auth,
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        method = method.upper()
        is_write = method not in SAFE_METHODS
        try:
            response = self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient("cannot reach the network", network=self.network, detail=str(exc)) from exc
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if is_write:
                raise OutcomeUnknown(
                    "the request was sent but no answer came back", network=self.network, detail=str(exc)
                ) from exc
            raise Transient("the network did not answer in time", network=self.network, detail=str(exc)) from exc
        except httpx.HTTPError as exc:
            raise Transient("HTTP failure", network=self.network, detail=str(exc)) from exc
        self.last_rate_limit = parse_rate_limit(response.headers) or self.last_rate_limit
        if self.classify is not None:
            error = self.classify(response)
            if error is not None:
                raise error
        if response.is_success:
            return response
        raise error_for_status(
            self.network,
            response.status_code,
            self.detail(response),
            self.last_rate_limit,
            sent_write=is_write,
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise Transient("the network answered with something that is not JSON", network=self.network) from exc


class RateLimitSink(Protocol):
    """Something that remembers the last rate-limit reading (a :class:`Connector`)."""

    last_rate_limit: RateLimitInfo | None


def send(http: Http, method: str, url: str, *, sink: RateLimitSink | None = None, **kwargs: Any) -> httpx.Response:
    """One request on a single-use ``http``: close it afterwards and, when ``sink`` is given, copy the
    last rate-limit reading to it (even when the request failed)."""
    return _once(http, http.request, method, url, sink, kwargs)


def send_json(http: Http, method: str, url: str, *, sink: RateLimitSink | None = None, **kwargs: Any) -> Any:
    """:func:`send`, decoding the answer with :meth:`Http.json`."""
    return _once(http, http.json, method, url, sink, kwargs)


def _once[T](
    http: Http, call: Callable[..., T], method: str, url: str, sink: RateLimitSink | None, kwargs: dict[str, Any]
) -> T:
    try:
        return call(method, url, **kwargs)
    finally:
        if sink is not None:
            sink.last_rate_limit = http.last_rate_limit or sink.last_rate_limit
        http.close()


def json_object(response: httpx.Response, *, network: str, label: str) -> dict[str, Any]:
    """The JSON object in ``response``; ``{}`` for an empty answer or one that is not an object.
    ``label`` names the provider in the error raised for an answer that is not JSON."""
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise Transient(f"{label} answered with something that is not JSON", network=network) from exc
    return body if isinstance(body, dict) else {}
