"""Fetching what a member points us at (feeds, media URLs in an import) without becoming a proxy
into the server's own network.

Only ``http``/``https``; at most ``MAX_REDIRECTS`` redirects, each checked again; a size limit read
while streaming; a timeout. Hosts resolving to private, loopback, link-local or reserved addresses
are refused unless ``AUTOMATION_FETCH_ALLOW_PRIVATE`` is true in the settings (or the environment
variable ``SOKHAN_FETCH_ALLOW_PRIVATE=1``), e.g. for a feed on the same intranet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from sokhan.networks.http import USER_AGENT

TIMEOUT_SECONDS = 15.0
MAX_REDIRECTS = 5
FEED_MAX_BYTES = 5 * 1024 * 1024
MEDIA_MAX_BYTES = 100 * 1024 * 1024


class FetchError(Exception):
    """The address could not be fetched; the message is for people."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 (not modified)
    body: bytes
    content_type: str
    etag: str
    last_modified: str


def private_allowed() -> bool:
    if getattr(settings, "AUTOMATION_FETCH_ALLOW_PRIVATE", False):
        return True
    return os.environ.get("SOKHAN_FETCH_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes")


def check_url(url: str) -> None:
    """Refuse addresses we will not fetch (scheme, and private hosts unless allowed)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchError(_("“%(url)s” is not a web address.") % {"url": url}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(_("Only http:// and https:// addresses can be fetched."))
    if private_allowed():
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        raise FetchError(_("The host %(host)s cannot be found.") % {"host": parts.hostname}) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise FetchError(
                _("%(host)s is an address inside this server's network; it cannot be fetched.")
                % {"host": parts.hostname}
            )


def fetch(
    url: str,
    *,
    max_bytes: int,
    etag: str = "",
    last_modified: str = "",
    accept: str = "*/*",
    timeout: float = TIMEOUT_SECONDS,
) -> Fetched:
    """GET ``url`` (conditionally when ``etag``/``last_modified`` are given)."""
    headers = {"User-Agent": USER_AGENT, "Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    if response.status_code == 304:
                        return Fetched(current, 304, b"", "", etag, last_modified)
                    if response.status_code != 200:
                        raise FetchError(_("The server answered HTTP %(status)s.") % {"status": response.status_code})
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // 1024**2})
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchError(_("The file is larger than %(mb)s MB.") % {"mb": max_bytes // 1024**2})
                        chunks.append(chunk)
                    return Fetched(
                        current,
                        200,
                        b"".join(chunks),
                        response.headers.get("content-type", ""),
                        response.headers.get("etag", ""),
                        response.headers.get("last-modified", ""),
                    )
            except httpx.TimeoutException:
                raise FetchError(_("The server did not answer in time.")) from None
            except httpx.HTTPError as exc:
                raise FetchError(_("The address could not be fetched: %(error)s") % {"error": exc}) from None
    raise FetchError(_("Too many redirects."))
