"""Instagram professional accounts through the Instagram API with Instagram Login
(https://developers.facebook.com/docs/instagram-platform), host ``graph.instagram.com``.

Publishing uses media containers: ``POST /{ig-user-id}/media`` (image_url / video_url / carousel children),
wait for ``status_code=FINISHED`` where processing is needed, then ``POST /{ig-user-id}/media_publish``.
Instagram fetches media from public URLs, so ``PublishRequest.options["media_urls"]`` must hold one public
URL per media file (see ``_graph.MediaUrls``). A thin httpx client: the community SDKs hard-code the host.
"""

from __future__ import annotations

import re
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

API = f"https://graph.instagram.com/{_graph.GRAPH_VERSION}"
LOGIN_HOST = "https://api.instagram.com"
PROFILE_FIELDS = "user_id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count"
COMMENT_FIELDS = "id,text,timestamp,username,from,parent_id,replies{id,text,timestamp,username,from,parent_id}"
MEDIA_METRICS = "reach,likes,comments,saved,shares,views"
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
RECENT_POSTS = 25
NOT_ENOUGH_VIEWERS = 10
HASHTAG = re.compile(r"(?<![\w&])#\w+")
MENTION = re.compile(r"(?<![\w@])@[\w.]+")


@register
class InstagramConnector(Connector):
    key = "instagram"
    name = "Instagram"
    auth = AuthKind.OAUTH2
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.FIRST_COMMENT,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.PRIVATE_REPLY,
            Capability.SEND_DM,
            Capability.HIDE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=2200,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(
            max_count=10,
            image_types=("image/jpeg",),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=8 * 1024 * 1024,
            max_video_bytes=300 * 1024 * 1024,
            max_video_seconds=15 * 60,
            min_video_seconds=3,
            max_image_pixels=(1440, 1800),
            min_image_pixels=(320, 320),
            aspect_ratio=(4 / 5, 1.91),
            alt_text_max=1000,
            mixed_types=True,
        ),
        max_comment_text=2200,
        notes=(
            "Caption: 2,200 characters, 30 hashtags, 20 @mentions. Images JPEG only, aspect ratio 4:5 to 1.91:1. "
            "Carousels: up to 10 images/videos. Videos publish as Reels (3 s to 15 min). 100 API-published posts "
            "per 24 hours (content_publishing_limit). Media must be on a public URL (options['media_urls']). "
            "No text-only posts."
        ),
    )
    docs_url = "https://developers.facebook.com/docs/instagram-platform/content-publishing/"
    default_base_url = API
    oauth = OAuthSpec(
        authorize_url="https://www.instagram.com/oauth/authorize",
        token_url=f"{LOGIN_HOST}/oauth/access_token",
        scopes=(
            "instagram_business_basic",
            "instagram_business_content_publish",
            "instagram_business_manage_comments",
            "instagram_business_manage_insights",
            "instagram_business_manage_messages",  # private replies and answers to direct messages
        ),
        pkce=False,
        scope_separator=",",
    )
    poll_interval = 10.0
    poll_attempts = 30
    private_reply_kinds = frozenset({MessageKind.COMMENT})  # a mention in a caption has no comment to answer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep: Callable[[float], None] = time.sleep

    # ----------------------------------------------------------------- plumbing

    def _http(self) -> Http:
        return _graph.client(self.key, self.base_url, self.credentials.access_token, timeout=self.timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return send_json(self._http(), method, path, **kwargs)

    @property
    def _user(self) -> str:
        return self.account.remote_id or "me"

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        body = self._call("GET", "/me", params={"fields": PROFILE_FIELDS})
        handle = str(body.get("username", ""))
        return Profile(
            remote_id=str(body.get("user_id") or body["id"]),
            handle=handle,
            display_name=str(body.get("name", "")),
            bio=str(body.get("biography", "")),
            url=f"https://www.instagram.com/{handle}/" if handle else "",
            avatar_url=str(body.get("profile_picture_url", "")),
            links=(str(body["website"]),) if body.get("website") else (),
            followers=body.get("followers_count"),
            following=body.get("follows_count"),
            posts=body.get("media_count"),
            raw=body,
        )

    def account_metrics(self) -> AccountMetrics:
        body = self._call("GET", "/me", params={"fields": "followers_count,follows_count,media_count"})
        return AccountMetrics(
            followers=body.get("followers_count"), following=body.get("follows_count"), posts=body.get("media_count")
        )

    # ----------------------------------------------------------------- publishing

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        if not request.media:
            raise Rejected("Instagram posts need at least one image or video", network=self.key, field="media")
        if len(HASHTAG.findall(request.text)) > MAX_HASHTAGS:
            raise Rejected(f"Instagram allows at most {MAX_HASHTAGS} hashtags", network=self.key, field="text")
        if len(MENTION.findall(request.text)) > MAX_MENTIONS:
            raise Rejected(f"Instagram allows at most {MAX_MENTIONS} @mentions", network=self.key, field="text")

    def _container(self, http: Http, fields: dict[str, str]) -> str:
        body = http.json("POST", f"/{self._user}/media", data=fields)
        container = str(body.get("id", ""))
        if not container:
            raise Rejected("Instagram did not return a media container id", network=self.key, detail=str(body)[:300])
        return container

    def _wait(self, http: Http, container: str) -> None:
        _graph.wait_for_container(
            http,
            container,
            status_field="status_code",
            network=self.key,
            sleep=self.sleep,
            interval=self.poll_interval,
            attempts=self.poll_attempts,
        )

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        urls = _graph.MediaUrls.from_options(request.options, len(request.media), network=self.key).urls
        caption = {"caption": request.text} if request.text else {}
        http = self._http()
        try:
            if len(request.media) == 1:
                item, url = request.media[0], urls[0]
                if item.is_video:
                    fields = {"media_type": "REELS", "video_url": url, **caption}
                else:
                    fields = {"image_url": url, **caption}
                    if item.alt_text:
                        fields["alt_text"] = item.alt_text
                container = self._container(http, fields)
                if item.is_video:
                    self._wait(http, container)
            else:
                children = []
                for item, url in zip(request.media, urls, strict=True):
                    child_fields = {"media_type": "VIDEO", "video_url": url} if item.is_video else {"image_url": url}
                    child = self._container(http, {**child_fields, "is_carousel_item": "true"})
                    if item.is_video:
                        self._wait(http, child)
                    children.append(child)
                container = self._container(http, {"media_type": "CAROUSEL", "children": ",".join(children), **caption})
                self._wait(http, container)
            body = http.json("POST", f"/{self._user}/media_publish", data={"creation_id": container})
            media_id = str(body.get("id", ""))
            if not media_id:
                raise Rejected("Instagram did not return the published media id", network=self.key)
            comment_id = ""
            if request.first_comment:
                comment = http.json("POST", f"/{media_id}/comments", data={"message": request.first_comment})
                comment_id = str(comment.get("id", ""))
            url, published = self._permalink(http, media_id)
        finally:
            http.close()
        return PublishResult(
            remote_id=media_id, url=url, published_at=published or datetime.now(UTC), first_comment_id=comment_id
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an interrupted :meth:`publish` made: the oldest of the account's media created since
        the first attempt (``GET /{ig-user-id}/media?since=…``) of the kind published (image, Reel or
        carousel) whose caption equals the request's text; with a first comment, the account's own
        comment with that text on it. Posts without a caption cannot be told apart."""
        wanted = needs_text(request, self.key)
        if len(request.media) > 1:
            kind = "CAROUSEL_ALBUM"
        else:
            kind = "VIDEO" if request.media and request.media[0].is_video else "IMAGE"
        start = window_start(request)
        params = {
            "fields": "id,caption,media_type,permalink,timestamp",
            "since": str(int(start.timestamp())),
            "limit": "50",
        }
        http = self._http()
        try:
            media = find(
                (m for m in _graph.pages(http, f"/{self._user}/media", params) if m.get("media_type") == kind),
                wanted,
                start=start,
                created=lambda m: _graph.parse_time(m.get("timestamp")),
                text=lambda m: str(m.get("caption") or ""),
            )
            if media is None:
                return None
            media_id = str(media["id"])
            comment_id = ""
            if request.first_comment:
                mine = {self.account.remote_id, self.account.handle} - {""}
                comment = find(
                    (
                        c
                        for c in _graph.pages(http, f"/{media_id}/comments", {"fields": "id,text,timestamp,from"})
                        if {str((c.get("from") or {}).get("id", "")), str((c.get("from") or {}).get("username", ""))}
                        & mine
                    ),
                    normalise(request.first_comment),
                    start=start,
                    created=lambda c: _graph.parse_time(c.get("timestamp")),
                    text=lambda c: str(c.get("text") or ""),
                )
                if comment is None:
                    raise only_in_part(self.key, media_id, "first comment")
                comment_id = str(comment["id"])
        finally:
            http.close()
        return PublishResult(
            remote_id=media_id,
            url=str(media.get("permalink", "")),
            published_at=_graph.parse_time(media.get("timestamp")),
            first_comment_id=comment_id,
            raw=media,
        )

    def _permalink(self, http: Http, media_id: str) -> tuple[str, datetime | None]:
        """Best effort: the post exists already, so a failure here must not fail the publish."""
        try:
            body = http.json("GET", f"/{media_id}", params={"fields": "id,permalink,timestamp"})
        except ConnectorError:
            return "", None
        stamp = body.get("timestamp")
        return str(body.get("permalink", "")), _graph.parse_time(stamp) if stamp else None

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Reply under a comment, or comment on a post that tagged the account (text only: Instagram
        comments take no media)."""
        self.check_reply_media(media)
        path = f"/{to.remote_id}/comments" if to.kind is MessageKind.MENTION else f"/{to.remote_id}/replies"
        body = self._call("POST", path, data={"message": text})
        return PublishResult(remote_id=str(body["id"]), published_at=datetime.now(UTC))

    def private_reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Instagram's private reply: one direct message to a commenter, within 7 days of the comment
        (``POST /{ig-id}/messages`` with ``recipient.comment_id``; text only)."""
        self.check_reply_media(media, direct=True)
        if to.kind is not MessageKind.COMMENT:
            raise Rejected("Instagram sends private replies to comments only", network=self.key, field="to")
        return self._direct_send({"recipient": {"comment_id": to.remote_id}, "message": {"text": text}})

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A direct message to someone who wrote to the account (their Instagram-scoped id), inside the
        24-hour window Instagram allows."""
        self.check_reply_media(media, direct=True)
        return self._direct_send({"recipient": {"id": recipient_id}, "message": {"text": text}})

    def _direct_send(self, payload: dict[str, Any]) -> PublishResult:
        """``POST /{ig-id}/messages``; ``conversation_id``: the person's Instagram-scoped id."""
        try:
            body = self._call("POST", f"/{self._user}/messages", json=payload)
        except _graph.GraphRejected as exc:
            raise _graph.messaging_error(exc) from exc
        if not body.get("message_id"):
            raise Rejected("Instagram did not return the message id", network=self.key, detail=str(body)[:300])
        return PublishResult(
            remote_id=str(body["message_id"]),
            published_at=datetime.now(UTC),
            conversation_id=str(body.get("recipient_id") or ""),
            raw=body,
        )

    def hide(self, remote_id: str) -> None:
        body = self._call("POST", f"/{remote_id}", data={"hide": "true"})
        if body.get("success") is not True:
            raise Rejected("Instagram did not confirm hiding the comment", network=self.key, detail=str(body)[:300])

    def delete_comment(self, comment_id: str) -> None:
        """Remove a comment on the account's media (the API cannot delete published media)."""
        body = self._call("DELETE", f"/{comment_id}")
        if body.get("success") is not True:
            raise Rejected("Instagram did not confirm the deletion", network=self.key, detail=str(body)[:300])

    # ----------------------------------------------------------------- reading

    def _message(self, item: dict[str, Any], kind: MessageKind, root: str) -> RemoteMessage:
        author = item.get("from") or {}
        handle = str(item.get("username") or author.get("username", ""))
        return RemoteMessage(
            remote_id=str(item["id"]),
            kind=kind,
            text=str(item.get("text") or item.get("caption") or ""),
            author_id=str(author.get("id", "")),
            author_handle=handle,
            created_at=_graph.parse_time(item.get("timestamp")),
            in_reply_to=str(item.get("parent_id") or root),
            root_id=root,
            url=str(item.get("permalink", "")),
            raw=item,
        )

    @staticmethod
    def _newer(found: list[RemoteMessage], cursor: str) -> Page[RemoteMessage]:
        since = datetime.fromisoformat(cursor) if cursor else None
        fresh = sorted((m for m in found if since is None or m.created_at > since), key=lambda m: m.created_at)
        newest = max((m.created_at for m in found), default=since)
        return Page(items=tuple(fresh), cursor=newest.isoformat() if newest else "")

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments and their replies; the cursor is the newest comment time seen (ISO 8601)."""
        http = self._http()
        own = self.account.handle
        try:
            ids = list(post_ids) or [
                str(p["id"])
                for p in _graph.pages(
                    http, f"/{self._user}/media", {"fields": "id", "limit": str(RECENT_POSTS)}, max_pages=1
                )
            ]
            found: list[RemoteMessage] = []
            for media_id in ids:
                for item in _graph.pages(http, f"/{media_id}/comments", {"fields": COMMENT_FIELDS}):
                    replies = (item.get("replies") or {}).get("data", [])
                    for entry in [item, *replies]:
                        if own and entry.get("username") == own:
                            continue  # our own replies are not inbound messages
                        found.append(self._message(entry, MessageKind.COMMENT, media_id))
        finally:
            http.close()
        return self._newer(found, cursor)

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        """Media the account is tagged in (``GET /{ig-user-id}/tags``); cursor as for comments."""
        http = self._http()
        try:
            params = {"fields": "id,caption,timestamp,username,permalink,media_type"}
            found = [
                self._message(item, MessageKind.MENTION, "")
                for item in _graph.pages(http, f"/{self._user}/tags", params)
            ]
        finally:
            http.close()
        return self._newer(found, cursor)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        results: list[PostMetrics] = []
        for remote_id in remote_ids:
            try:
                body = self._call("GET", f"/{remote_id}/insights", params={"metric": MEDIA_METRICS})
            except _graph.GraphRejected as exc:
                if exc.code != NOT_ENOUGH_VIEWERS:
                    raise
                body = {"data": []}  # "(#10) Not enough viewers for the media to show insights"
            values = _graph.insight_values(body)
            results.append(
                PostMetrics(
                    remote_id=remote_id,
                    likes=values.get("likes"),
                    comments=values.get("comments"),
                    shares=values.get("shares"),
                    saves=values.get("saved"),
                    views=values.get("views"),
                    reach=values.get("reach"),
                )
            )
        return results

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _hosts(cls, base_url: str) -> tuple[str, str]:
        """(token host for the code exchange, graph host for long-lived tokens); one replay host in tests."""
        if base_url:
            host = _graph.origin(base_url)
            return host, host
        return LOGIN_HOST, _graph.origin(API)

    @classmethod
    def _json(cls, host: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        http = Http(cls.key, host, classify=_graph.classifier(cls.key), detail=_graph.detail)
        try:
            body: Any = http.json(method, path, **kwargs)
        finally:
            http.close()
        if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
            body = body["data"][0]  # Business Login wraps the short-lived token in "data"
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthExpired("Instagram returned no access token", network=cls.key, detail=str(body)[:300])
        return body

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        """Code → short-lived token (1 hour) → long-lived token (60 days, refreshable)."""
        token_host, graph_host = cls._hosts(base_url)
        short = cls._json(
            token_host,
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
        long = cls._json(
            graph_host,
            "GET",
            "/access_token",
            params={
                "grant_type": "ig_exchange_token",
                "client_secret": client.client_secret,
                "access_token": short["access_token"],
            },
        )
        permissions = short.get("permissions", "")
        scopes = tuple(str(permissions).split(",")) if isinstance(permissions, str) and permissions else ()
        return Credentials(
            access_token=str(long["access_token"]),
            expires_at=_graph.expires_at(long),
            scopes=scopes or (cls.oauth.scopes if cls.oauth else ()),
            data={"user_id": str(short.get("user_id", ""))},
        )

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        if not credentials.access_token:
            raise AuthExpired("no Instagram token stored; reconnect the account", network=cls.key)
        _, graph_host = cls._hosts(base_url)
        body = cls._json(
            graph_host,
            "GET",
            "/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": credentials.access_token},
        )
        return Credentials(
            access_token=str(body["access_token"]),
            refresh_token=credentials.refresh_token,
            expires_at=_graph.expires_at(body) or credentials.expires_at,
            scopes=credentials.scopes,
            data=dict(credentials.data),
        )
