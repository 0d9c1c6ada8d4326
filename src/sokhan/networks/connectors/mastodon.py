"""Mastodon (and Mastodon-API compatible servers) through Mastodon.py.

Auth: OAuth 2.0 authorization code per instance (apps are registered per instance with
``POST /api/v1/apps``; PKCE S256 is sent, Mastodon 4.3+ enforces it, older servers ignore it), or a
personal access token pasted from *Preferences → Development*.
Reference: https://docs.joinmastodon.org/client/intro/

Statuses are posted through the Mastodon.py client's HTTP session but without its response mapping
(``_post``); clients are reused per thread (``_per_thread``).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import requests
from django.utils.translation import gettext_lazy as _
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonBadGatewayError,
    MastodonError,
    MastodonGatewayTimeoutError,
    MastodonIllegalArgumentError,
    MastodonInternalServerError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonServiceUnavailableError,
    MastodonUnauthorizedError,
)

from sokhan.networks.base import Connector, CredentialField, OAuthClient, OAuthSpec
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
)
from sokhan.networks.http import USER_AGENT, Http, parse_rate_limit
from sokhan.networks.registry import register
from sokhan.networks.types import (
    AccountMetrics,
    AuthKind,
    Capability,
    Credentials,
    Limits,
    MediaFile,
    MediaLimits,
    MessageKind,
    Page,
    PostMetrics,
    Profile,
    ProfileUpdate,
    PublishRequest,
    PublishResult,
    RemoteMessage,
    TextCounting,
)

SCOPES = ("read", "write")
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)


def html_to_text(content: str) -> str:
    """Mastodon returns status text as HTML; the inbox wants plain text."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", content or ""))).strip()


def _id_key(remote_id: str) -> tuple[int, str]:
    """Mastodon ids are numeric strings (snowflakes); compare them as numbers."""
    return (int(remote_id), "") if remote_id.isdigit() else (0, remote_id)


def _newer(remote_id: str, cursor: str) -> bool:
    return not cursor or _id_key(remote_id) > _id_key(cursor)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


# Clients (and their HTTP sessions, which keep connections to the instance open) are reused per
# thread for the same instance, token, version and timeout: building one is a noticeable part of a
# publish. Per thread, because a connector points its client's rate-limit hook at itself.
_per_thread = threading.local()
_MAX_CLIENTS = 256


class _RateLimitHook:
    """The session's response hook: hands each response's rate-limit headers to the connector
    currently using the client."""

    def __init__(self) -> None:
        self.connector: MastodonConnector | None = None

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if self.connector is not None:
            self.connector._record_rate_limit(response)


_VISIBILITIES = ("private", "public", "unlisted", "direct")
_ERRORS: dict[int, type[MastodonAPIError]] = {
    404: MastodonNotFoundError,
    401: MastodonUnauthorizedError,
    500: MastodonInternalServerError,
    502: MastodonBadGatewayError,
    503: MastodonServiceUnavailableError,
    504: MastodonGatewayTimeoutError,
}


@register
class MastodonConnector(Connector):
    key = "mastodon"
    idempotent_publish = True
    name = "Mastodon"
    auth = AuthKind.OAUTH2_PKCE
    docs_url = "https://docs.joinmastodon.org/methods/statuses/"
    # Paths on the instance: authorization_url/exchange_code prefix them with the instance URL.
    oauth = OAuthSpec(
        authorize_url="/oauth/authorize",
        token_url="/oauth/token",  # noqa: S106
        scopes=SCOPES,
        pkce=True,
    )
    credential_fields: ClassVar[Sequence[CredentialField]] = (
        CredentialField("base_url", _("Instance URL"), help=_("For example https://mastodon.social")),
        CredentialField(
            "access_token",
            _("Access token"),
            secret=True,
            help=_("Preferences → Development → New application, scopes read and write"),
        ),
    )
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_THREAD,
            Capability.PUBLISH_REPLY,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.DMS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.SEND_DM,
            Capability.DM_MEDIA,
            Capability.LIKE,
            Capability.SEARCH,
            Capability.HASHTAG,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.PROFILE_READ,
            Capability.PROFILE_UPDATE,
        }
    )
    limits = Limits(
        max_text=500,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(
            max_count=4,
            image_types=(
                "image/jpeg",
                "image/png",
                "image/gif",
                "image/webp",
                "image/heic",
                "image/heif",
                "image/avif",
            ),
            video_types=("video/mp4", "video/webm", "video/quicktime"),
            max_image_bytes=16 * 1024 * 1024,
            max_video_bytes=99 * 1024 * 1024,
            alt_text_max=1500,
            mixed_types=False,
        ),
        max_thread_parts=25,
        max_comment_text=500,
        notes=(
            "Defaults of a stock Mastodon 4.4 instance; each instance may change them (GET /api/v2/instance, "
            "configuration.statuses / media_attachments). Up to 4 images or 1 video. Text is counted in "
            "grapheme clusters; every URL counts as 23 characters and a mention counts only its username "
            "(not @domain)."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Mastodon | None = None
        self._hook: _RateLimitHook | None = None

    # ----------------------------------------------------------------- plumbing

    @property
    def client(self) -> Mastodon:
        if self._client is None:
            version = self.account.options.get("mastodon_version", "4.3.0")
            key = (self.base_url, self.credentials.access_token, version, self.timeout)
            clients: dict[tuple[str, str, str, float], tuple[Mastodon, _RateLimitHook]] | None = getattr(
                _per_thread, "clients", None
            )
            if clients is None:
                clients = _per_thread.clients = {}
            cached = clients.get(key)
            if cached is None:
                if len(clients) >= _MAX_CLIENTS:
                    for _client, old_hook in clients.values():
                        old_hook.connector = None
                        _client.session.close()
                    clients.clear()
                cached = clients[key] = self._new_client(version)
            self._client, self._hook = cached
        return self._client

    def _new_client(self, version: str) -> tuple[Mastodon, _RateLimitHook]:
        hook = _RateLimitHook()
        session = requests.Session()
        session.hooks["response"].append(hook)
        client = Mastodon(
            mastodon_version=version,
            access_token=self.credentials.access_token or None,
            api_base_url=self.base_url,
            ratelimit_method="throw",
            request_timeout=self.timeout,
            version_check_mode="none",
            session=session,
            user_agent=USER_AGENT,
        )
        # A known version keeps Mastodon.py from probing GET /api/v1/instance before some calls
        # (media, search); "4.3.0" unless the account says otherwise.
        client.mastodon_major, client.mastodon_minor, client.mastodon_patch = (int(x) for x in version.split("."))
        return client, hook

    def _record_rate_limit(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_rate_limit = parse_rate_limit(response.headers) or self.last_rate_limit

    def _call[T](self, fn: Callable[[], T], *, write: bool = False) -> T:
        self.client  # noqa: B018 - built (or taken from the thread's cache) before the hook is pointed here
        assert self._hook is not None
        self._hook.connector = self  # this call's rate-limit headers are this connector's
        try:
            return fn()
        except MastodonError as exc:
            raise self._map(exc, write=write) from exc

    def _map(self, exc: MastodonError, *, write: bool) -> ConnectorError:
        args = exc.args
        detail = str(args[3]) if len(args) > 3 and args[3] else str(exc)
        if isinstance(exc, MastodonRatelimitError):
            rate = self.last_rate_limit
            retry = rate.retry_after if rate else None
            if retry is None and rate and rate.reset_at:
                retry = max(0.0, (rate.reset_at - datetime.now(UTC)).total_seconds())
            return RateLimited("rate limited", retry_after=retry, network=self.key, detail=detail)
        if isinstance(exc, MastodonUnauthorizedError):
            return AuthExpired("the access token was revoked or is invalid", network=self.key, detail=detail)
        if isinstance(exc, MastodonNetworkError):
            cause = exc.__context__
            sent = not isinstance(cause, requests.ConnectionError | requests.ConnectTimeout) or isinstance(
                cause, requests.ReadTimeout
            )
            if write and sent:
                return OutcomeUnknown("the request was sent but no answer came back", network=self.key, detail=detail)
            return Transient("cannot reach the instance", network=self.key, detail=detail)
        if isinstance(exc, MastodonGatewayTimeoutError) and write:
            return OutcomeUnknown("HTTP 504 after sending", network=self.key, detail=detail)
        if isinstance(exc, MastodonServerError):
            status = args[1] if len(args) > 1 else "5xx"
            return Transient(f"HTTP {status}", network=self.key, detail=detail)
        if isinstance(exc, MastodonNotFoundError):
            return Rejected("not found", network=self.key, detail=detail)
        if isinstance(exc, MastodonAPIError):
            status = args[1] if len(args) > 1 else 0
            if status == 403 and "scope" in detail.lower():
                return AuthExpired("the token lacks a needed scope", network=self.key, detail=detail)
            if status == 408:
                return Transient("HTTP 408", network=self.key, detail=detail)
            return Rejected(detail, network=self.key, detail=f"HTTP {status}")
        if isinstance(exc, MastodonIllegalArgumentError):
            return Rejected(str(exc), network=self.key)
        return Transient(str(exc), network=self.key)

    # ----------------------------------------------------------------- mapping

    def _message(self, status: dict[str, Any], kind: MessageKind, **extra: str) -> RemoteMessage:
        account = status.get("account") or {}
        return RemoteMessage(
            remote_id=str(status["id"]),
            kind=kind,
            text=html_to_text(str(status.get("content") or "")),
            author_id=str(account.get("id", "")),
            author_handle=str(account.get("acct", "")),
            author_name=str(account.get("display_name") or ""),
            author_followers=account.get("followers_count"),
            created_at=_when(status.get("created_at")),
            in_reply_to=str(status.get("in_reply_to_id") or ""),
            url=str(status.get("url") or status.get("uri") or ""),
            lang=str(status.get("language") or ""),
            raw=dict(status),
            **extra,
        )

    @staticmethod
    def _profile(account: dict[str, Any]) -> Profile:
        fields = account.get("fields") or []
        return Profile(
            remote_id=str(account["id"]),
            handle=str(account.get("acct", "")),
            display_name=str(account.get("display_name") or ""),
            bio=html_to_text(str(account.get("note") or "")),
            url=str(account.get("url") or ""),
            avatar_url=str(account.get("avatar") or ""),
            header_url=str(account.get("header") or ""),
            links=tuple(html_to_text(str(f.get("value", ""))) for f in fields),
            followers=account.get("followers_count"),
            following=account.get("following_count"),
            posts=account.get("statuses_count"),
            raw=dict(account),
        )

    # ----------------------------------------------------------------- operations

    def verify(self) -> Profile:
        return self._profile(dict(self._call(self.client.account_verify_credentials)))

    def _upload(self, media: MediaFile) -> str:
        if media.alt_text and len(media.alt_text) > (self.limits.media.alt_text_max or 1500):
            raise Rejected("alt text is longer than 1500 characters", network=self.key, field="media")
        attachment = self._call(
            lambda: self.client.media_post(
                str(media.path),
                mime_type=media.mime_type,
                description=media.alt_text or None,
                synchronous=media.is_video,
            ),
            write=True,
        )
        return str(attachment["id"])

    def _post(
        self,
        text: str,
        *,
        key: str,
        reply_to: str = "",
        media_ids: Iterable[str] = (),
        visibility: str | None = None,
        spoiler_text: str | None = None,
        language: str | None = None,
        sensitive: bool = False,
    ) -> dict[str, Any]:
        """``POST /api/v1/statuses`` through the client's session: the form fields and headers
        Mastodon.py's ``status_post`` sends (``Idempotency-Key`` included) and the same errors, but
        the answer stays plain JSON (Mastodon.py's mapping into typed objects is a noticeable part
        of a publish)."""
        form: dict[str, Any] = {"status": text}
        if reply_to:
            form["in_reply_to_id"] = reply_to
        form["sensitive"] = "1" if sensitive else "0"
        if visibility is not None:
            visibility = visibility.lower()
            if visibility not in _VISIBILITIES:
                raise ValueError(f"Invalid visibility value! Acceptable values are {list(_VISIBILITIES)}")
            form["visibility"] = visibility
        if spoiler_text is not None:
            form["spoiler_text"] = spoiler_text
        if language is not None:
            form["language"] = language
        ids = list(media_ids)
        if ids:
            form["media_ids[]"] = ids
        return self._call(lambda: self._send_status(form, key), write=True)

    def _send_status(self, form: dict[str, Any], key: str) -> dict[str, Any]:
        status: dict[str, Any] = self._raw("POST", "/api/v1/statuses", data=form, key=key)
        return status

    def _raw(
        self, method: str, path: str, *, data: dict[str, Any] | None = None, params: Any = None, key: str = ""
    ) -> Any:
        """What Mastodon.py's request code does for this call, raising its exceptions (``_map``)."""
        client = self.client
        headers = {"User-Agent": USER_AGENT}
        if client.access_token is not None:
            headers["Authorization"] = f"Bearer {client.access_token}"
        if key:
            headers["Idempotency-Key"] = key
        try:
            # The no-op ``auth`` keeps requests from replacing the header with .netrc credentials.
            response = client.session.request(
                method,
                f"{client.api_base_url}{path}",
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout,
                auth=lambda r: r,
            )
        except Exception as exc:  # as Mastodon.py: ``_map`` tells sent from unsent by the cause
            raise MastodonNetworkError(f"Could not complete request: {exc}") from exc
        if not response.ok:
            error: Any = None
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" in body:
                error = body["error"]
            elif isinstance(body, str):
                error = body
            status = response.status_code
            if status == 429:
                raise MastodonRatelimitError("Hit rate limit.")
            if status == 404 and not error:
                error = "Endpoint not found."
            kind = _ERRORS.get(status) or (MastodonServerError if 500 <= status <= 511 else MastodonAPIError)
            raise kind("Mastodon API returned error", status, response.reason, error)
        try:
            status_json = response.json()
        except ValueError as exc:
            raise MastodonAPIError(
                f"Could not parse response as JSON, response code was {response.status_code}, "
                f"bad json content was {response.content!r}.",
                f"Exception was: {exc}",
            ) from exc
        return status_json

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        media_ids = [self._upload(m) for m in request.media]
        options: dict[str, Any] = {}
        for name in ("visibility", "language", "spoiler_text"):
            if request.options.get(name):
                options[name] = request.options[name]
        if request.options.get("sensitive"):
            options["sensitive"] = request.options["sensitive"] in ("1", "true", "yes")
        first = self._post(
            request.text, key=request.idempotency_key, reply_to=request.reply_to, media_ids=media_ids, **options
        )
        parent = str(first["id"])
        thread_ids: list[str] = []
        for index, part in enumerate(request.thread, start=1):
            status = self._post(part, key=f"{request.idempotency_key}-{index}", reply_to=parent, **options)
            parent = str(status["id"])
            thread_ids.append(parent)
        return PublishResult(
            remote_id=str(first["id"]),
            url=str(first.get("url") or first.get("uri") or ""),
            published_at=_when(first.get("created_at")),
            thread_ids=tuple(thread_ids),
            raw=dict(first),
        )

    def delete(self, remote_id: str) -> None:
        self._call(lambda: self.client.status_delete(remote_id), write=True)

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Replies under our posts (``GET /api/v1/statuses/:id/context`` descendants) newer than ``cursor``."""
        found: dict[str, RemoteMessage] = {}
        for post_id in post_ids:
            context = self._call(partial(self.client.status_context, post_id))
            for status in context["descendants"]:
                status_id = str(status["id"])
                if _newer(status_id, cursor):
                    found[status_id] = self._message(dict(status), MessageKind.COMMENT, root_id=post_id)
        items = sorted(found.values(), key=lambda m: _id_key(m.remote_id))
        return Page(items=tuple(items), cursor=items[-1].remote_id if items else cursor)

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        """``GET /api/v1/notifications?types[]=mention``; direct-visibility mentions are DMs, not listed here."""
        notes = self._call(lambda: self.client.notifications(types=["mention"], since_id=cursor or None, limit=40))
        items: list[RemoteMessage] = []
        newest = cursor
        for note in notes:
            note_id = str(note["id"])
            if not newest or _id_key(note_id) > _id_key(newest):
                newest = note_id
            status = note.get("status")
            if not status or status.get("visibility") == "direct":
                continue
            items.append(self._message(dict(status), MessageKind.MENTION))
        items.sort(key=lambda m: _id_key(m.remote_id))
        return Page(items=tuple(items), cursor=newest)

    def fetch_dms(self, cursor: str = "") -> Page[RemoteMessage]:
        """Last messages of direct conversations (``GET /api/v1/conversations``) newer than ``cursor``."""
        conversations = self._call(lambda: self.client.conversations(limit=40))
        items: list[RemoteMessage] = []
        for conversation in conversations:
            status = conversation.get("last_status")
            if not status or not _newer(str(status["id"]), cursor):
                continue
            items.append(self._message(dict(status), MessageKind.DM, conversation_id=str(conversation["id"])))
        items.sort(key=lambda m: _id_key(m.remote_id))
        return Page(items=tuple(items), cursor=items[-1].remote_id if items else cursor)

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Answer with a status in reply to ``to`` (media as ``media_ids[]``); mentions its author so they
        are notified."""
        self.check_reply_media(media)
        handle = to.author_handle
        if handle and f"@{handle}" not in text:
            text = f"@{handle} {text}"
        visibility = "direct" if to.kind is MessageKind.DM else None
        media_ids = [self._upload(m) for m in media]
        status = self._post(
            text, key=idempotency_key, reply_to=to.remote_id, media_ids=media_ids, visibility=visibility
        )
        return self._sent(status)

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A direct-visibility status mentioning the recipient (an account id or ``user@domain``)."""
        self.check_reply_media(media, direct=True)
        acct = recipient_id.lstrip("@")
        if acct.isdigit():
            acct = str(self._call(lambda: self.client.account(recipient_id))["acct"])
        media_ids = [self._upload(m) for m in media]
        status = self._post(f"@{acct} {text}".rstrip(), key=idempotency_key, media_ids=media_ids, visibility="direct")
        return self._sent(status)

    @staticmethod
    def _sent(status: dict[str, Any]) -> PublishResult:
        return PublishResult(
            remote_id=str(status["id"]), url=str(status.get("url") or ""), published_at=_when(status.get("created_at"))
        )

    def like(self, remote_id: str) -> None:
        self._call(lambda: self.client.status_favourite(remote_id), write=True)

    def search(self, query: str, cursor: str = "") -> Page[RemoteMessage]:
        """``GET /api/v2/search?type=statuses`` (needs a token); results newer than ``cursor``."""
        result = self._call(
            lambda: self.client.search_v2(query, result_type="statuses", min_id=cursor or None, resolve=False)
        )
        statuses = [dict(s) for s in result["statuses"] if _newer(str(s["id"]), cursor)]
        items = sorted((self._message(s, MessageKind.POST) for s in statuses), key=lambda m: _id_key(m.remote_id))
        return Page(items=tuple(items), cursor=items[-1].remote_id if items else cursor)

    def hashtag_timeline(self, tag: str, cursor: str = "") -> Page[RemoteMessage]:
        """``GET /api/v1/timelines/tag/:hashtag`` with ``min_id``: the statuses immediately newer than
        ``cursor`` (so polling page by page leaves no gap); the newest 40 when there is no cursor."""
        name = quote(tag.lstrip("#"), safe="")  # Persian tags go in the path percent-encoded
        params = {"limit": 40, **({"min_id": cursor} if cursor else {})}
        # Not Mastodon.py's timeline_hashtag: it asks /api/v2/instance first on every call.
        found = self._call(lambda: self._raw("GET", f"/api/v1/timelines/tag/{name}", params=params))
        statuses = [dict(s) for s in found if _newer(str(s["id"]), cursor)]
        items = sorted((self._message(s, MessageKind.POST) for s in statuses), key=lambda m: _id_key(m.remote_id))
        return Page(items=tuple(items), cursor=items[-1].remote_id if items else cursor)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        metrics = []
        for remote_id in remote_ids:
            status = self._call(partial(self.client.status, remote_id))
            metrics.append(
                PostMetrics(
                    remote_id=str(status["id"]),
                    likes=status.get("favourites_count"),
                    comments=status.get("replies_count"),
                    shares=status.get("reblogs_count"),
                )
            )
        return metrics

    def account_metrics(self) -> AccountMetrics:
        profile = self.verify()
        return AccountMetrics(followers=profile.followers, following=profile.following, posts=profile.posts)

    def update_profile(self, update: ProfileUpdate) -> Profile:
        """``PATCH /api/v1/accounts/update_credentials``. Mastodon has no website field: ``url`` becomes the
        first profile field ("Website")."""
        kwargs: dict[str, Any] = {}
        if update.display_name is not None:
            kwargs["display_name"] = update.display_name
        if update.bio is not None:
            kwargs["note"] = update.bio
        if update.avatar is not None:
            kwargs.update(avatar=str(update.avatar.path), avatar_mime_type=update.avatar.mime_type)
        if update.header is not None:
            kwargs.update(header=str(update.header.path), header_mime_type=update.header.mime_type)
        if update.url is not None:
            current = self._call(self.client.account_verify_credentials)
            source = current.get("source") or {}
            others = [
                (str(f["name"]), str(f["value"]))
                for f in (source.get("fields") or [])
                if str(f.get("name", "")).lower() != "website"
            ]
            kwargs["fields"] = [("Website", update.url), *others][:4]
        account = self._call(lambda: self.client.account_update_credentials(**kwargs), write=True)
        return self._profile(dict(account))

    # ----------------------------------------------------------------- OAuth, per instance

    @classmethod
    def register_app(
        cls, base_url: str, *, redirect_uri: str, client_name: str = "Sokhan", website: str = ""
    ) -> OAuthClient:
        """``POST /api/v1/apps`` on one instance: the client to use with :meth:`authorization_url`."""
        http = Http(cls.key, base_url.rstrip("/"))
        try:
            payload: dict[str, Any] = {
                "client_name": client_name,
                "redirect_uris": redirect_uri,
                "scopes": " ".join(SCOPES),
            }
            if website:
                payload["website"] = website
            app = http.json("POST", "/api/v1/apps", data=payload)
        finally:
            http.close()
        return OAuthClient(
            client_id=str(app["client_id"]), client_secret=str(app["client_secret"]), redirect_uri=redirect_uri
        )

    @classmethod
    def authorization_url(cls, client: OAuthClient, *, state: str, code_challenge: str, base_url: str = "") -> str:
        if not base_url:
            raise Rejected("the Mastodon instance URL is required", network=cls.key, field="base_url")
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": " ".join(SCOPES),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{base_url.rstrip('/')}/oauth/authorize?{urlencode(params)}"

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        """``POST /oauth/token`` (grant_type=authorization_code). Mastodon tokens do not expire."""
        if not base_url:
            raise Rejected("the Mastodon instance URL is required", network=cls.key, field="base_url")
        http = Http(cls.key, base_url.rstrip("/"))
        try:
            token = http.json(
                "POST",
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "redirect_uri": client.redirect_uri,
                    "code_verifier": code_verifier,
                    "scope": " ".join(SCOPES),
                },
            )
        finally:
            http.close()
        scope = str(token.get("scope") or " ".join(SCOPES))
        return Credentials(access_token=str(token["access_token"]), scopes=tuple(scope.split()))
