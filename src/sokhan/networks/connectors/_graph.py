"""Shared helpers for Meta's Graph-style APIs (Facebook Pages, Instagram, Threads).

Graph API errors arrive as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
with HTTP 400/403/500 regardless of meaning, so the generic status mapping is not enough: code 190
means an expired or revoked token, codes 4/17/32/613/80001… mean throttling, and so on
(https://developers.facebook.com/docs/graph-api/guides/error-handling). Throttled responses carry
usage headers whose ``estimated_time_to_regain_access`` (minutes) tells us when to retry
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).

This module is private to the Meta connectors; it holds no state and touches no database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from sokhan.networks.errors import AuthExpired, ConnectorError, RateLimited, Rejected, Transient
from sokhan.networks.http import Http

GRAPH_VERSION = "v25.0"

# https://developers.facebook.com/docs/graph-api/guides/error-handling#errorcodes
AUTH_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008, 80014})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
# Instagram content publishing: code 9, subcode 2207042 = the 24-hour publishing limit was reached.
PUBLISH_LIMIT_SUBCODES = frozenset({2207042})
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-ad-account-usage", "x-app-usage")


class GraphRejected(Rejected):
    """A Graph API refusal; keeps the network's numeric ``code`` and ``subcode`` for callers that care."""

    def __init__(self, reason: str, *, network: str = "", detail: str = "", code: int = 0, subcode: int = 0) -> None:
        super().__init__(reason, network=network, detail=detail)
        self.code = code
        self.subcode = subcode


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def usage_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until access returns, from the largest ``estimated_time_to_regain_access`` (minutes).

    ``X-Business-Use-Case-Usage`` maps a business object id to a list of usage dicts;
    ``X-Page-Usage``/``X-Ad-Account-Usage`` are one usage dict; ``X-App-Usage`` carries no estimate.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    minutes: list[float] = []

    def visit(node: object) -> None:
        if isinstance(node, dict):
            found = _number(node.get("estimated_time_to_regain_access"))
            if found is not None:
                minutes.append(found)
            for value in node.values():
                if isinstance(value, dict | list):
                    visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for name in USAGE_HEADERS:
        raw = lower.get(name)
        if not raw:
            continue
        try:
            visit(json.loads(raw))
        except ValueError:
            continue
    return max(minutes) * 60.0 if minutes else None


def error_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error: dict[str, Any] = body["error"]
        return error
    return None


def detail(response: httpx.Response) -> str:
    error = error_body(response)
    if error is None:
        return response.text[:300]
    user_msg = error.get("error_user_msg")
    message = str(error.get("message", ""))
    return f"{message} — {user_msg}" if isinstance(user_msg, str) and user_msg else message


def classifier(network: str) -> Callable[[httpx.Response], ConnectorError | None]:
    """A ``classify`` hook for :class:`~sokhan.networks.http.Http` that reads Graph error codes."""

    def classify(response: httpx.Response) -> ConnectorError | None:
        if response.is_success:
            return None
        error = error_body(response)
        if error is None:
            return None  # no Graph error body (e.g. a proxy's 502): the generic mapping applies
        code = int(_number(error.get("code")) or 0)
        subcode = int(_number(error.get("error_subcode")) or 0)
        text = detail(response)
        if code in AUTH_CODES or (error.get("type") == "OAuthException" and code == 0):
            return AuthExpired("the access token has expired or was revoked", network=network, detail=text)
        if code in RATE_LIMIT_CODES or (code == 9 and subcode in PUBLISH_LIMIT_SUBCODES):
            retry = usage_retry_after(response.headers)
            if retry is None:
                retry_header = response.headers.get("retry-after")
                retry = _number(retry_header) if retry_header else None
            return RateLimited("rate limited", retry_after=retry, network=network, detail=text)
        if code in TRANSIENT_CODES or response.status_code >= 500 or error.get("is_transient") is True:
            return Transient(f"temporary Graph API failure (code {code})", network=network, detail=text)
        if code in PERMISSION_CODES:
            return GraphRejected(
                "a permission is missing; reconnect the account",
                network=network,
                detail=text,
                code=code,
                subcode=subcode,
            )
        return GraphRejected(
            f"the network refused the request (code {code})", network=network, detail=text, code=code, subcode=subcode
        )

    return classify


# Send API refusals a person can act on (https://developers.facebook.com/docs/messenger-platform/error-codes);
# code 10 alone would read as a missing permission.
_ALREADY_REPLIED = 10900
_OUTSIDE_WINDOW = (10, 2018278)
_UNAVAILABLE = 551


def messaging_error(exc: GraphRejected) -> Rejected:
    """A clearer refusal for the Send API's usual answers (private replies, direct messages)."""
    if exc.code == _ALREADY_REPLIED:
        reason = "a private reply was already sent for this comment; Meta allows one"
    elif (exc.code, exc.subcode) == _OUTSIDE_WINDOW:
        reason = "the time Meta allows has passed (7 days after a comment, 24 hours after their last message)"
    elif exc.code == _UNAVAILABLE:
        reason = "this person cannot be messaged now"
    else:
        return exc
    return GraphRejected(reason, network=exc.network, detail=exc.detail, code=exc.code, subcode=exc.subcode)


def client(network: str, base_url: str, token: str, *, timeout: float) -> Http:
    """An :class:`Http` for a Graph host; the token goes in the ``Authorization`` header, not the URL."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Http(network, base_url, headers=headers, timeout=timeout, classify=classifier(network), detail=detail)


def origin(url: str) -> str:
    """``https://graph.threads.net/v1.0`` → ``https://graph.threads.net``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def parse_time(value: object) -> datetime:
    """Graph timestamps: ISO 8601 (``2024-05-01T10:00:00+0000``) or Unix seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def expires_at(payload: Mapping[str, Any]) -> datetime | None:
    seconds = _number(payload.get("expires_in"))
    return datetime.fromtimestamp(time.time() + seconds, tz=UTC) if seconds else None


def pages(http: Http, path: str, params: dict[str, str], *, max_pages: int = 5) -> Iterator[dict[str, Any]]:
    """Items of a cursor-paginated edge, following ``paging.cursors.after`` while ``paging.next`` exists."""
    query = dict(params)
    for _ in range(max_pages):
        body = http.json("GET", path, params=query)
        data = body.get("data", []) if isinstance(body, dict) else []
        yield from (item for item in data if isinstance(item, dict))
        paging = body.get("paging", {}) if isinstance(body, dict) else {}
        after = (paging.get("cursors") or {}).get("after") if isinstance(paging, dict) else None
        if not data or not after or not paging.get("next"):
            return
        query["after"] = str(after)


def insight_values(body: Mapping[str, Any]) -> dict[str, int]:
    """``{"data": [{"name": "likes", "values": [{"value": 3}]}, {"name": "followers_count",
    "total_value": {"value": 9}}]}`` → ``{"likes": 3, "followers_count": 9}`` (time series summed)."""
    result: dict[str, int] = {}
    for item in body.get("data", []) or []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        total = item.get("total_value")
        if isinstance(total, dict) and _number(total.get("value")) is not None:
            result[str(item["name"])] = int(_number(total.get("value")) or 0)
            continue
        values = [_number(v.get("value")) for v in item.get("values", []) if isinstance(v, dict)]
        numbers = [v for v in values if v is not None]
        if numbers:
            result[str(item["name"])] = int(sum(numbers))
    return result


@dataclass(frozen=True)
class MediaUrls:
    """Public URLs of a post's media, one per :class:`MediaFile`, in order.

    Meta's publishing APIs fetch media by URL (they cURL it from a public server); Sokhan's publishing
    layer passes the URLs it serves in ``PublishRequest.options["media_urls"]`` (newline separated).
    """

    urls: tuple[str, ...]

    @classmethod
    def from_options(cls, options: Mapping[str, str], count: int, *, network: str) -> MediaUrls:
        raw = options.get("media_urls", "")
        urls = tuple(u.strip() for u in raw.replace(",", "\n").splitlines() if u.strip())
        if len(urls) != count:
            raise Rejected(
                f"{count} media file(s) need {count} public URL(s) in options['media_urls'], got {len(urls)}",
                network=network,
                field="media",
            )
        for url in urls:
            if urlsplit(url).scheme not in ("http", "https"):
                raise Rejected(f"media URL {url!r} is not a public http(s) URL", network=network, field="media")
        return cls(urls)


def wait_for_container(
    http: Http,
    container_id: str,
    *,
    status_field: str,
    network: str,
    sleep: Callable[[float], None],
    interval: float,
    attempts: int,
) -> None:
    """Poll a media container until it is ready to publish (``FINISHED``) or fails."""
    for attempt in range(attempts):
        fields = ",".join(dict.fromkeys(("id", status_field, "status", "error_message")))
        body = http.json("GET", f"/{container_id}", params={"fields": fields})
        status = str(body.get(status_field, "")).upper()
        if status in ("FINISHED", "PUBLISHED"):
            return
        if status in ("ERROR", "EXPIRED"):
            reason = str(body.get("error_message") or body.get("status") or status)
            raise Rejected(f"the media container failed: {reason}", network=network, field="media", detail=reason)
        if attempt + 1 < attempts:
            sleep(interval)
    raise Transient("the media is still processing; try publishing again later", network=network)
