"""Threads through the Threads API (https://developers.facebook.com/docs/threads).

Publishing is two steps: create a media container (``POST /{user-id}/threads``), then publish it
(``POST /{user-id}/threads_publish``). Media is fetched by Meta from public URLs (see ``_graph.MediaUrls``).
A thin httpx client: the community SDKs hard-code ``graph.threads.net`` and cannot be pointed at a replay
server cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.connectors import _graph
from sokhan.networks.errors import AuthExpired, ConnectorError, Rejected
from sokhan.networks.http import Http, send_json
from sokhan.networks.reconcile import find, needs_text, normalise, only_in_part, window_start
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
    PublishRequest,
    PublishResult,
    RemoteMessage,
    TextCounting,
)

API = "https://graph.threads.net/v1.0"
POST_FIELDS = "id,text,username,permalink,timestamp,media_type,is_reply,root_post,replied_to,is_reply_owned_by_me"
# Keyword search: the fields documented for ``/keyword_search`` (``owner`` is never returned).
SEARCH_FIELDS = "id,text,media_type,permalink,timestamp,username,has_replies,is_quote_post,is_reply"
# Every search request counts against 2,200 queries per user per rolling 24 hours: follow few pages.
SEARCH_PAGES = 3
# The mentions and keyword search endpoints refuse ``since`` earlier than this (docs: Limitations).
EARLIEST_SINCE = 1688540400


@register
class ThreadsConnector(Connector):
    key = "threads"
    name = "Threads"
    auth = AuthKind.OAUTH2
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_THREAD,
            Capability.PUBLISH_REPLY,
            Capability.FIRST_COMMENT,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.HIDE,
            Capability.SEARCH,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=500,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(
            max_count=20,
            image_types=("image/jpeg", "image/png"),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=8 * 1024 * 1024,
            max_video_bytes=1024 * 1024 * 1024,
            max_video_seconds=300,
            mixed_types=True,
        ),
        max_thread_parts=20,
        max_comment_text=500,
        notes=(
            "500 characters per post (emoji count as their UTF-8 bytes). Carousels hold 2–20 images/videos. "
            "Media must be on a public URL (options['media_urls']). 250 API-published posts and 1,000 replies "
            "per 24 hours; 100 deletes per day. Thread length is a Sokhan limit."
        ),
    )
    docs_url = "https://developers.facebook.com/docs/threads/posts"
    default_base_url = API
    oauth = OAuthSpec(
        authorize_url="https://threads.com/oauth/authorize",
        token_url=f"{_graph.origin(API)}/oauth/access_token",
        scopes=(
            "threads_basic",
            "threads_content_publish",
            "threads_manage_replies",
            "threads_read_replies",
            "threads_manage_insights",
            "threads_manage_mentions",
            "threads_delete",
            "threads_keyword_search",
        ),
        pkce=False,
        scope_separator=",",
    )
    poll_interval = 10.0
    poll_attempts = 30

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep: Callable[[float], None] = time.sleep

    # ----------------------------------------------------------------- plumbing

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return send_json(self._http(), method, path, **kwargs)

    def _http(self) -> Http:
        return _graph.client(self.key, self.base_url, self.credentials.access_token, timeout=self.timeout)

    @property
    def _user(self) -> str:
        return self.account.remote_id or "me"

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        body = self._call(
            "GET", "/me", params={"fields": "id,username,name,threads_profile_picture_url,threads_biography"}
        )
        handle = str(body.get("username", ""))
        return Profile(
            remote_id=str(body["id"]),
            handle=handle,
            display_name=str(body.get("name", "")),
            bio=str(body.get("threads_biography", "")),
            url=f"https://www.threads.com/@{handle}" if handle else "",
            avatar_url=str(body.get("threads_profile_picture_url", "")),
            raw=body,
        )

    def account_metrics(self) -> AccountMetrics:
        body = self._call("GET", f"/{self._user}/threads_insights", params={"metric": "views,followers_count"})
        values = _graph.insight_values(body)
        return AccountMetrics(followers=values.get("followers_count"), views=values.get("views"))

    # ----------------------------------------------------------------- publishing

    def _container(self, http: Http, fields: dict[str, str]) -> str:
        body = http.json("POST", f"/{self._user}/threads", data=fields)
        container = str(body.get("id", ""))
        if not container:
            raise Rejected("Threads did not return a media container id", network=self.key, detail=str(body)[:300])
        return container

    def _publish_container(self, http: Http, container: str, *, wait: bool) -> str:
        if wait:
            _graph.wait_for_container(
                http,
                container,
                status_field="status",
                network=self.key,
                sleep=self.sleep,
                interval=self.poll_interval,
                attempts=self.poll_attempts,
            )
        body = http.json("POST", f"/{self._user}/threads_publish", data={"creation_id": container})
        media_id = str(body.get("id", ""))
        if not media_id:
            raise Rejected("Threads did not return the published post id", network=self.key, detail=str(body)[:300])
        return media_id

    def _post(self, http: Http, request: PublishRequest, reply_to: str) -> str:
        base: dict[str, str] = {"text": request.text} if request.text else {}
        if reply_to:
            base["reply_to_id"] = reply_to
        if not request.media:
            return self._publish_container(http, self._container(http, {"media_type": "TEXT", **base}), wait=False)
        urls = _graph.MediaUrls.from_options(request.options, len(request.media), network=self.key).urls
        items = []
        for media, url in zip(request.media, urls, strict=True):
            fields = (
                {"media_type": "VIDEO", "video_url": url}
                if media.is_video
                else {"media_type": "IMAGE", "image_url": url}
            )
            if media.alt_text:
                fields["alt_text"] = media.alt_text
            items.append(fields)
        if len(items) == 1:
            return self._publish_container(http, self._container(http, {**items[0], **base}), wait=True)
        children = []
        for fields in items:
            child = self._container(http, {**fields, "is_carousel_item": "true"})
            children.append(child)
        carousel = self._container(http, {"media_type": "CAROUSEL", "children": ",".join(children), **base})
        return self._publish_container(http, carousel, wait=True)

    def _permalink(self, http: Http, media_id: str) -> tuple[str, datetime | None]:
        """Best effort: the post exists already, so a failure here must not fail the publish."""
        try:
            body = http.json("GET", f"/{media_id}", params={"fields": "id,permalink,timestamp"})
        except ConnectorError:
            return "", None
        stamp = body.get("timestamp")
        return str(body.get("permalink", "")), _graph.parse_time(stamp) if stamp else None

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        http = self._http()
        try:
            first = self._post(http, request, request.reply_to)
            ids = [first]
            for part in request.thread:
                ids.append(self._post(http, PublishRequest(text=part, idempotency_key=""), ids[-1]))
            comment = ""
            if request.first_comment:
                comment = self._post(http, PublishRequest(text=request.first_comment, idempotency_key=""), ids[-1])
            url, published = self._permalink(http, first)
        finally:
            http.close()
        return PublishResult(
            remote_id=first,
            url=url,
            published_at=published or datetime.now(UTC),
            thread_ids=tuple(ids[1:]),
            first_comment_id=comment,
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an interrupted :meth:`publish` made: the oldest of the account's posts created since
        the first attempt (``GET /{user-id}/threads?since=…``; a reply: ``GET /{user-id}/replies``) whose
        text equals the request's; then each thread part and the first comment among the account's
        replies, each answering the part before it. Posts without text cannot be told apart."""
        wanted = needs_text(request, self.key)
        start = window_start(request)
        since = str(int(start.timestamp()))
        fields = "id,text,permalink,timestamp,replied_to"
        http = self._http()
        try:
            replies: list[dict[str, Any]] | None = None

            def own_replies() -> list[dict[str, Any]]:
                nonlocal replies
                if replies is None:
                    params = {"fields": fields, "since": since, "limit": "100"}
                    replies = list(_graph.pages(http, f"/{self._user}/replies", params))
                return replies

            def answering(parent: str, text: str) -> dict[str, Any] | None:
                return find(
                    (r for r in own_replies() if str((r.get("replied_to") or {}).get("id", "")) == parent),
                    text,
                    start=start,
                    created=lambda r: _graph.parse_time(r.get("timestamp")),
                    text=lambda r: str(r.get("text") or ""),
                )

            if request.reply_to:
                head = answering(request.reply_to, wanted)
            else:
                params = {"fields": "id,text,permalink,timestamp", "since": since, "limit": "100"}
                head = find(
                    _graph.pages(http, f"/{self._user}/threads", params),
                    wanted,
                    start=start,
                    created=lambda p: _graph.parse_time(p.get("timestamp")),
                    text=lambda p: str(p.get("text") or ""),
                )
            if head is None:
                return None
            ids = [str(head["id"])]
            for part in request.thread:
                found = answering(ids[-1], normalise(part))
                if found is None:
                    raise only_in_part(self.key, ids[0], f"thread part {len(ids) + 1}")
                ids.append(str(found["id"]))
            comment = ""
            if request.first_comment:
                found = answering(ids[-1], normalise(request.first_comment))
                if found is None:
                    raise only_in_part(self.key, ids[0], "first comment")
                comment = str(found["id"])
        finally:
            http.close()
        return PublishResult(
            remote_id=ids[0],
            url=str(head.get("permalink", "")),
            published_at=_graph.parse_time(head.get("timestamp")),
            thread_ids=tuple(ids[1:]),
            first_comment_id=comment,
            raw=head,
        )

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        self.check_reply_media(media)  # Threads replies are sent as text only here: media would need a public URL
        http = self._http()
        try:
            media_id = self._post(http, PublishRequest(text=text, idempotency_key=idempotency_key), to.remote_id)
        finally:
            http.close()
        return PublishResult(remote_id=media_id, published_at=datetime.now(UTC))

    def delete(self, remote_id: str) -> None:
        body = self._call("DELETE", f"/{remote_id}")
        if body.get("success") is not True:
            raise Rejected("Threads did not confirm the deletion", network=self.key, detail=str(body)[:300])

    def hide(self, remote_id: str) -> None:
        body = self._call("POST", f"/{remote_id}/manage_reply", data={"hide": "true"})
        if body.get("success") is not True:
            raise Rejected("Threads did not confirm hiding the reply", network=self.key, detail=str(body)[:300])

    # ----------------------------------------------------------------- reading

    def _message(self, item: dict[str, Any], kind: MessageKind, root: str = "") -> RemoteMessage:
        replied = item.get("replied_to") or {}
        root_post = item.get("root_post") or {}
        return RemoteMessage(
            remote_id=str(item["id"]),
            kind=kind,
            text=str(item.get("text", "")),
            author_id=str(item.get("username", "")),  # the API exposes no author id on replies
            author_handle=str(item.get("username", "")),
            created_at=_graph.parse_time(item.get("timestamp")),
            in_reply_to=str(replied.get("id", "")) if isinstance(replied, dict) else "",
            root_id=str(root_post.get("id", "")) if isinstance(root_post, dict) and root_post else root,
            url=str(item.get("permalink", "")),
            raw=item,
        )

    @staticmethod
    def _newer(messages: list[RemoteMessage], cursor: str) -> tuple[tuple[RemoteMessage, ...], str]:
        since = datetime.fromisoformat(cursor) if cursor else None
        fresh = sorted((m for m in messages if since is None or m.created_at > since), key=lambda m: m.created_at)
        newest = max((m.created_at for m in messages), default=since)
        return tuple(fresh), newest.isoformat() if newest else ""

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Every reply (any depth) under ``post_ids``; the cursor is the newest reply time seen (ISO 8601)."""
        http = self._http()
        try:
            found: list[RemoteMessage] = []
            for post_id in post_ids:
                params = {"fields": POST_FIELDS, "reverse": "false"}
                for item in _graph.pages(http, f"/{post_id}/conversation", params):
                    if item.get("is_reply_owned_by_me") is True:
                        continue
                    found.append(self._message(item, MessageKind.COMMENT, root=post_id))
        finally:
            http.close()
        items, newest = self._newer(found, cursor)
        return Page(items=items, cursor=newest)

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        """Public posts tagging the account; the cursor is the newest mention time seen (ISO 8601)."""
        params = {"fields": POST_FIELDS}
        if cursor:
            since = int(datetime.fromisoformat(cursor).timestamp())
            params["since"] = str(max(since, EARLIEST_SINCE))
        http = self._http()
        try:
            found = [
                self._message(item, MessageKind.MENTION)
                for item in _graph.pages(http, f"/{self._user}/mentions", params)
            ]
        finally:
            http.close()
        items, newest = self._newer(found, cursor)
        return Page(items=items, cursor=newest)

    def search(self, query: str, cursor: str = "") -> Page[RemoteMessage]:
        """Public posts matching ``query``, newest first from ``GET /keyword_search?search_type=RECENT``.

        The cursor is the newest post time seen (ISO 8601), sent back as ``since`` (Unix seconds). Without the
        ``threads_keyword_search`` permission approved, Threads searches only the account's own posts.
        """
        if not query.strip():
            raise Rejected("a Threads search needs a keyword", network=self.key, field="query")
        params = {"q": query, "search_type": "RECENT", "fields": SEARCH_FIELDS}
        if cursor:
            since = int(datetime.fromisoformat(cursor).timestamp())
            params["since"] = str(max(since, EARLIEST_SINCE))
        http = self._http()
        try:
            found = [
                self._message(item, MessageKind.POST)
                for item in _graph.pages(http, "/keyword_search", params, max_pages=SEARCH_PAGES)
            ]
        finally:
            http.close()
        items, newest = self._newer(found, cursor)
        return Page(items=items, cursor=newest)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        results = []
        for remote_id in remote_ids:
            body = self._call("GET", f"/{remote_id}/insights", params={"metric": "views,likes,replies,reposts,quotes"})
            values = _graph.insight_values(body)
            shared = [values[k] for k in ("reposts", "quotes") if k in values]
            results.append(
                PostMetrics(
                    remote_id=remote_id,
                    views=values.get("views"),
                    likes=values.get("likes"),
                    comments=values.get("replies"),
                    shares=sum(shared) if shared else None,
                )
            )
        return results

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _host(cls, base_url: str) -> str:
        return _graph.origin(base_url or API)

    @classmethod
    def _long_lived(cls, host: str, params: dict[str, str], path: str) -> dict[str, Any]:
        http = Http(cls.key, host, classify=_graph.classifier(cls.key), detail=_graph.detail)
        try:
            body: dict[str, Any] = http.json("GET", path, params=params)
        finally:
            http.close()
        if not body.get("access_token"):
            raise AuthExpired("Threads returned no access token", network=cls.key, detail=str(body)[:300])
        return body

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        """Code → short-lived token (1 hour) → long-lived token (60 days, refreshable)."""
        host = cls._host(base_url)
        http = Http(cls.key, host, classify=_graph.classifier(cls.key), detail=_graph.detail)
        try:
            short: dict[str, Any] = http.json(
                "POST",
                "/oauth/access_token",
                data={
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "grant_type": "authorization_code",
                    "redirect_uri": client.redirect_uri,
                    "code": code,
                },
            )
        finally:
            http.close()
        if not short.get("access_token"):
            raise AuthExpired("Threads returned no access token", network=cls.key, detail=str(short)[:300])
        long = cls._long_lived(
            host,
            {
                "grant_type": "th_exchange_token",
                "client_secret": client.client_secret,
                "access_token": short["access_token"],
            },
            "/access_token",
        )
        return Credentials(
            access_token=str(long["access_token"]),
            expires_at=_graph.expires_at(long),
            scopes=cls.oauth.scopes if cls.oauth else (),
            data={"user_id": str(short.get("user_id", ""))},
        )

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        """Long-lived tokens refresh themselves (at least 24 hours old, not yet expired)."""
        if not credentials.access_token:
            raise AuthExpired("no Threads token stored; reconnect the account", network=cls.key)
        body = cls._long_lived(
            cls._host(base_url),
            {"grant_type": "th_refresh_token", "access_token": credentials.access_token},
            "/refresh_access_token",
        )
        return Credentials(
            access_token=str(body["access_token"]),
            refresh_token=credentials.refresh_token,
            expires_at=_graph.expires_at(body) or credentials.expires_at,
            scopes=credentials.scopes,
            data=dict(credentials.data),
        )
