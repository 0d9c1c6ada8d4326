"""Facebook Pages through the Graph API Pages endpoints (https://developers.facebook.com/docs/pages-api).

The person connects with Facebook Login; the channel layer then lists their Pages with
:meth:`FacebookConnector.list_pages` and stores the chosen Page's token in
``Credentials.data["page_access_token"]`` and its id in ``Account.target``. Every operation acts as the
Page. A thin httpx client: ``facebook-business`` targets the Marketing API and hard-codes its host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.connectors import _graph
from sokhan.networks.errors import AuthExpired, Rejected
from sokhan.networks.http import Http, send_json
from sokhan.networks.reconcile import find, needs_text, normalise, only_in_part, unmatchable, window_start
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

API = f"https://graph.facebook.com/{_graph.GRAPH_VERSION}"
COMMENT_FIELDS = "id,message,from{id,name},created_time,parent{id},permalink_url"
PROFILE_FIELDS = "id,name,username,about,website,link,picture{url},fan_count,followers_count"
RECENT_POSTS = 25


@dataclass(frozen=True)
class FacebookPage:
    """A Page the person can act for, as listed by ``GET /me/accounts``."""

    id: str
    name: str
    access_token: str
    tasks: tuple[str, ...] = ()


def _video_text(title: str, description: str) -> str:
    """A video is matched on its title and description together (either may be empty)."""
    return f"{normalise(title)} \u00a6 {normalise(description)}"


@register
class FacebookConnector(Connector):
    key = "facebook"
    name = "Facebook Page"
    auth = AuthKind.OAUTH2
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PROFILE_UPDATE,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.FIRST_COMMENT,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.PRIVATE_REPLY,
            Capability.SEND_DM,
            Capability.HIDE,
            Capability.LIKE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=63206,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(
            max_count=10,
            image_types=("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"),
            video_types=("video/mp4", "video/quicktime"),
            max_image_bytes=4 * 1024 * 1024,
            # Non-resumable upload (multipart ``source``): up to 1 GB and 20 minutes.
            max_video_bytes=1024 * 1024 * 1024,
            max_video_seconds=20 * 60,
        ),
        max_comment_text=8000,
        notes=(
            "Page posts: text, a link (PublishRequest.link), photos (several photos are uploaded unpublished "
            "and attached to one feed post) or one video on its own (MP4/MOV, up to 1 GB and 20 minutes; "
            "PublishRequest.title becomes the video title). A comment reply may carry one photo "
            "(attachment_id); Messenger messages (private replies, answers) are text only here."
        ),
        reply_media=MediaLimits(
            max_count=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"),
            max_image_bytes=4 * 1024 * 1024,
        ),
    )
    docs_url = "https://developers.facebook.com/docs/pages-api/posts"
    default_base_url = API
    oauth = OAuthSpec(
        authorize_url=f"https://www.facebook.com/{_graph.GRAPH_VERSION}/dialog/oauth",
        token_url=f"{API}/oauth/access_token",
        scopes=(
            "pages_show_list",
            "pages_read_engagement",
            "pages_read_user_content",
            "pages_manage_posts",
            "pages_manage_engagement",
            "pages_manage_metadata",
            "pages_messaging",  # private replies and Messenger answers
            "read_insights",
        ),
        pkce=False,
        scope_separator=",",
    )

    # ----------------------------------------------------------------- plumbing

    @property
    def page_id(self) -> str:
        page = self.account.target or self.account.remote_id
        if not page:
            raise Rejected("no Facebook Page chosen for this channel", network=self.key, field="target")
        return page

    def _http(self) -> Http:
        token = self.credentials.data.get("page_access_token") or self.credentials.access_token
        return _graph.client(self.key, self.base_url, token, timeout=self.timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return send_json(self._http(), method, path, sink=self, **kwargs)

    @staticmethod
    def _success(body: Any, what: str, network: str) -> None:
        if not (isinstance(body, dict) and body.get("success") is True):
            raise Rejected(f"Facebook did not confirm {what}", network=network, detail=str(body)[:300])

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        body = self._call("GET", f"/{self.page_id}", params={"fields": PROFILE_FIELDS})
        picture = (body.get("picture") or {}).get("data") or {}
        return Profile(
            remote_id=str(body["id"]),
            handle=str(body.get("username") or body["id"]),
            display_name=str(body.get("name", "")),
            bio=str(body.get("about", "")),
            url=str(body.get("link", "")),
            avatar_url=str(picture.get("url", "")),
            links=(str(body["website"]),) if body.get("website") else (),
            followers=body.get("followers_count"),
            raw=body,
        )

    def update_profile(self, update: ProfileUpdate) -> Profile:
        if update.display_name is not None or update.avatar is not None or update.header is not None:
            raise Rejected(
                "the Pages API can change only the About text and the website", network=self.key, field="profile"
            )
        fields = {k: v for k, v in (("about", update.bio), ("website", update.url)) if v is not None}
        if fields:
            self._success(self._call("POST", f"/{self.page_id}", data=fields), "the profile update", self.key)
        return self.verify()

    def account_metrics(self) -> AccountMetrics:
        body = self._call("GET", f"/{self.page_id}", params={"fields": "fan_count,followers_count"})
        return AccountMetrics(followers=body.get("followers_count"))

    # ----------------------------------------------------------------- publishing

    def _photo(self, http: Http, item: MediaFile, *, caption: str, published: bool) -> dict[str, Any]:
        data = {"published": "true" if published else "false"}
        if caption:
            data["message"] = caption
        if item.alt_text:
            data["alt_text_custom"] = item.alt_text
        with item.path.open("rb") as handle:
            body: dict[str, Any] = http.json(
                "POST",
                f"/{self.page_id}/photos",
                data=data,
                files={"source": (item.path.name, handle, item.mime_type)},
            )
        if not body.get("id"):
            raise Rejected("Facebook did not return the photo id", network=self.key, detail=str(body)[:300])
        return body

    def _check_video(self, request: PublishRequest) -> None:
        media = self.limits.media
        if len(request.media) > 1:
            raise Rejected("a Facebook video post holds one video on its own", network=self.key, field="media")
        item = request.media[0]
        if media.max_video_bytes is not None and item.path.stat().st_size > media.max_video_bytes:
            raise Rejected("Facebook takes uploaded videos up to 1 GB", network=self.key, field="media")
        seconds = item.duration_seconds
        if seconds is not None and media.max_video_seconds is not None and seconds > media.max_video_seconds:
            raise Rejected("Facebook takes uploaded videos up to 20 minutes", network=self.key, field="media")

    def _video(self, http: Http, item: MediaFile, request: PublishRequest) -> dict[str, Any]:
        """``POST /{page}/videos`` as multipart form data: the file in ``source``, the text in ``description``."""
        data: dict[str, str] = {}
        if request.text:
            data["description"] = request.text
        if request.title:
            data["title"] = request.title
        with item.path.open("rb") as handle:
            body: dict[str, Any] = http.json(
                "POST",
                f"/{self.page_id}/videos",
                data=data,
                files={"source": (item.path.name, handle, item.mime_type)},
            )
        if not body.get("id"):
            raise Rejected("Facebook did not return the video id", network=self.key, detail=str(body)[:300])
        return body

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        is_video = any(item.is_video for item in request.media)
        if is_video:
            self._check_video(request)
        http = self._http()
        url = ""
        try:
            if is_video:
                body = self._video(http, request.media[0], request)
                post_id = str(body["id"])
                url = f"https://www.facebook.com/{self.page_id}/videos/{post_id}"
            elif len(request.media) == 1:
                body = self._photo(http, request.media[0], caption=request.text, published=True)
                post_id = str(body.get("post_id") or body["id"])
            else:
                fields: dict[str, str] = {"message": request.text} if request.text else {}
                if request.link:
                    fields["link"] = request.link
                for index, item in enumerate(request.media):
                    photo = self._photo(http, item, caption="", published=False)
                    fields[f"attached_media[{index}]"] = f'{{"media_fbid":"{photo["id"]}"}}'
                body = http.json("POST", f"/{self.page_id}/feed", data=fields)
                post_id = str(body.get("id", ""))
                if not post_id:
                    raise Rejected("Facebook did not return the post id", network=self.key, detail=str(body)[:300])
            comment_id = ""
            if request.first_comment:
                comment = http.json("POST", f"/{post_id}/comments", data={"message": request.first_comment})
                comment_id = str(comment.get("id", ""))
        finally:
            self.last_rate_limit = http.last_rate_limit or self.last_rate_limit
            http.close()
        return PublishResult(
            remote_id=post_id,
            url=url or f"https://www.facebook.com/{post_id}",
            published_at=datetime.now(UTC),
            first_comment_id=comment_id,
            raw=body,
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an interrupted :meth:`publish` made: the oldest of the Page's posts created since the
        first attempt (``GET /{page-id}/published_posts?since=…``; a video: ``GET /{page-id}/videos``,
        its ``description``) whose text equals the request's; with a first comment, the Page's own
        comment with that text on it. Photo or video posts without text cannot be told apart."""
        is_video = any(item.is_video for item in request.media)
        if not normalise(request.text) and not (is_video and normalise(request.title)):
            raise unmatchable(self.key, "the post has no text to look for")
        start = window_start(request)
        http = self._http()
        try:
            if is_video:
                params = {"fields": "id,title,description,created_time", "type": "uploaded", "limit": "25"}
                video = find(
                    _graph.pages(http, f"/{self.page_id}/videos", params, max_pages=2),
                    _video_text(request.title, request.text),
                    start=start,
                    created=lambda v: _graph.parse_time(v.get("created_time")),
                    text=lambda v: _video_text(str(v.get("title") or ""), str(v.get("description") or "")),
                )
                if video is None:
                    return None
                found, url = video, f"https://www.facebook.com/{self.page_id}/videos/{video['id']}"
            else:
                params = {
                    "fields": "id,message,created_time",
                    "since": str(int(start.timestamp())),
                    "limit": "100",
                }
                post = find(
                    _graph.pages(http, f"/{self.page_id}/published_posts", params),
                    needs_text(request, self.key),
                    start=start,
                    created=lambda p: _graph.parse_time(p.get("created_time")),
                    text=lambda p: str(p.get("message") or ""),
                )
                if post is None:
                    return None
                found, url = post, f"https://www.facebook.com/{post['id']}"
            post_id = str(found["id"])
            comment_id = ""
            if request.first_comment:
                comment = find(
                    (
                        c
                        for c in _graph.pages(
                            http, f"/{post_id}/comments", {"fields": "id,message,from{id},created_time", "limit": "100"}
                        )
                        if str((c.get("from") or {}).get("id", "")) == self.page_id
                    ),
                    normalise(request.first_comment),
                    start=start,
                    created=lambda c: _graph.parse_time(c.get("created_time")),
                    text=lambda c: str(c.get("message") or ""),
                )
                if comment is None:
                    raise only_in_part(self.key, post_id, "first comment")
                comment_id = str(comment["id"])
        finally:
            self.last_rate_limit = http.last_rate_limit or self.last_rate_limit
            http.close()
        return PublishResult(
            remote_id=post_id,
            url=url,
            published_at=_graph.parse_time(found.get("created_time")),
            first_comment_id=comment_id,
            raw=found,
        )

    def delete(self, remote_id: str) -> None:
        self._success(self._call("DELETE", f"/{remote_id}"), "the deletion", self.key)

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Answer a comment (a threaded reply) or comment on a post that mentioned the Page. A photo is
        uploaded unpublished, as for a multi-photo post, and attached by ``attachment_id``."""
        self.check_reply_media(media)
        data = {"message": text} if text or not media else {}
        http = self._http()
        try:
            if media:
                data["attachment_id"] = str(self._photo(http, media[0], caption="", published=False)["id"])
            body = http.json("POST", f"/{to.remote_id}/comments", data=data)
        finally:
            self.last_rate_limit = http.last_rate_limit or self.last_rate_limit
            http.close()
        return PublishResult(remote_id=str(body["id"]), published_at=datetime.now(UTC), raw=body)

    def private_reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Meta's private reply: one Messenger message to the author of a comment (or of a post on the
        Page), within 7 days of it: ``POST /{page-id}/messages`` with ``recipient.comment_id``."""
        self.check_reply_media(media, direct=True)
        recipient = {"post_id": to.remote_id} if to.kind is MessageKind.MENTION else {"comment_id": to.remote_id}
        return self._messenger_send({"recipient": recipient, "message": {"text": text}})

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A Messenger answer to a person who wrote to the Page (their page-scoped id), inside the
        24-hour window Meta allows (``messaging_type: RESPONSE``)."""
        self.check_reply_media(media, direct=True)
        payload = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE", "message": {"text": text}}
        return self._messenger_send(payload)

    def _messenger_send(self, payload: dict[str, Any]) -> PublishResult:
        """``POST /{page-id}/messages`` (the Send API); ``conversation_id``: the person's page-scoped id."""
        try:
            body = self._call("POST", f"/{self.page_id}/messages", json=payload)
        except _graph.GraphRejected as exc:
            raise _graph.messaging_error(exc) from exc
        if not body.get("message_id"):
            raise Rejected("Facebook did not return the message id", network=self.key, detail=str(body)[:300])
        return PublishResult(
            remote_id=str(body["message_id"]),
            published_at=datetime.now(UTC),
            conversation_id=str(body.get("recipient_id") or ""),
            raw=body,
        )

    def hide(self, remote_id: str) -> None:
        self._success(self._call("POST", f"/{remote_id}", data={"is_hidden": "true"}), "hiding the comment", self.key)

    def like(self, remote_id: str) -> None:
        self._success(self._call("POST", f"/{remote_id}/likes"), "the like", self.key)

    # ----------------------------------------------------------------- reading

    def _message(self, item: dict[str, Any], kind: MessageKind, root: str) -> RemoteMessage:
        author = item.get("from") or {}
        parent = item.get("parent") or {}
        return RemoteMessage(
            remote_id=str(item["id"]),
            kind=kind,
            text=str(item.get("message", "")),
            author_id=str(author.get("id", "")),
            author_handle=str(author.get("id", "")),
            author_name=str(author.get("name", "")),
            created_at=_graph.parse_time(item.get("created_time")),
            in_reply_to=str(parent.get("id") or root),
            root_id=root,
            url=str(item.get("permalink_url", "")),
            raw=item,
        )

    def _since(self, cursor: str) -> dict[str, str]:
        return {"since": cursor} if cursor else {}

    @staticmethod
    def _page(found: list[RemoteMessage], cursor: str) -> Page[RemoteMessage]:
        found.sort(key=lambda m: m.created_at)
        newest = int(found[-1].created_at.timestamp()) if found else 0
        return Page(items=tuple(found), cursor=str(max(newest, int(cursor or 0))) if newest or cursor else "")

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments and replies since ``cursor`` (Unix seconds) on ``post_ids`` or the Page's recent posts."""
        http = self._http()
        try:
            ids = list(post_ids) or [
                str(p["id"])
                for p in _graph.pages(
                    http, f"/{self.page_id}/posts", {"fields": "id", "limit": str(RECENT_POSTS)}, max_pages=1
                )
            ]
            found: list[RemoteMessage] = []
            for post_id in ids:
                params = {"fields": COMMENT_FIELDS, "filter": "stream", "order": "chronological", **self._since(cursor)}
                for item in _graph.pages(http, f"/{post_id}/comments", params):
                    if str((item.get("from") or {}).get("id", "")) == self.page_id:
                        continue  # the Page's own replies are not inbound messages
                    if cursor and int(_graph.parse_time(item.get("created_time")).timestamp()) <= int(cursor):
                        continue
                    found.append(self._message(item, MessageKind.COMMENT, post_id))
        finally:
            http.close()
        return self._page(found, cursor)

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        """Posts that tag the Page (``GET /{page-id}/tagged``) since ``cursor`` (Unix seconds)."""
        http = self._http()
        try:
            params = {"fields": "id,message,from{id,name},created_time,permalink_url", **self._since(cursor)}
            found = [
                self._message(item, MessageKind.MENTION, "")
                for item in _graph.pages(http, f"/{self.page_id}/tagged", params)
                if not cursor or int(_graph.parse_time(item.get("created_time")).timestamp()) > int(cursor)
            ]
        finally:
            http.close()
        return self._page(found, cursor)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        results: list[PostMetrics] = []
        ids = list(remote_ids)
        fields = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            body = self._call("GET", "/", params={"ids": ",".join(chunk), "fields": fields})
            for remote_id in chunk:
                post = body.get(remote_id)
                if not isinstance(post, dict):
                    continue
                reactions = ((post.get("reactions") or {}).get("summary") or {}).get("total_count")
                comments = ((post.get("comments") or {}).get("summary") or {}).get("total_count")
                # Graph leaves ``shares`` out for a never-shared post, but also whenever it does not
                # show the count; absent is missing (None), never a guessed 0.
                shares = (post.get("shares") or {}).get("count")
                results.append(PostMetrics(remote_id=remote_id, likes=reactions, comments=comments, shares=shares))
        return results

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _get(cls, base_url: str, path: str, params: dict[str, str], token: str = "") -> Any:
        http = _graph.client(cls.key, (base_url or API).rstrip("/"), token, timeout=20.0)
        try:
            return http.json("GET", path, params=params)
        finally:
            http.close()

    @classmethod
    def _long_lived(cls, client: OAuthClient, token: str, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = cls._get(
            base_url,
            "/oauth/access_token",
            {
                "grant_type": "fb_exchange_token",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "fb_exchange_token": token,
            },
        )
        if not body.get("access_token"):
            raise AuthExpired("Facebook returned no access token", network=cls.key, detail=str(body)[:300])
        return body

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        """Code → short-lived user token → long-lived user token (about 60 days).

        Page tokens read with a long-lived user token (:meth:`list_pages`) do not expire.
        """
        short = cls._get(
            base_url,
            "/oauth/access_token",
            {
                "client_id": client.client_id,
                "redirect_uri": client.redirect_uri,
                "client_secret": client.client_secret,
                "code": code,
            },
        )
        if not short.get("access_token"):
            raise AuthExpired("Facebook returned no access token", network=cls.key, detail=str(short)[:300])
        long = cls._long_lived(client, str(short["access_token"]), base_url)
        return Credentials(
            access_token=str(long["access_token"]),
            expires_at=_graph.expires_at(long),
            scopes=cls.oauth.scopes if cls.oauth else (),
        )

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        """Re-exchange a still-valid long-lived user token; the stored Page token is kept."""
        if not credentials.access_token:
            raise AuthExpired("no Facebook token stored; reconnect the account", network=cls.key)
        body = cls._long_lived(client, credentials.access_token, base_url)
        return Credentials(
            access_token=str(body["access_token"]),
            refresh_token=credentials.refresh_token,
            expires_at=_graph.expires_at(body) or credentials.expires_at,
            scopes=credentials.scopes,
            data=dict(credentials.data),
        )

    @classmethod
    def list_pages(cls, credentials: Credentials, *, base_url: str = "") -> list[FacebookPage]:
        """The Pages the person can act for, each with its Page access token."""
        http = _graph.client(cls.key, (base_url or API).rstrip("/"), credentials.access_token, timeout=20.0)
        try:
            return [
                FacebookPage(
                    id=str(item["id"]),
                    name=str(item.get("name", "")),
                    access_token=str(item.get("access_token", "")),
                    tasks=tuple(str(t) for t in item.get("tasks", [])),
                )
                for item in _graph.pages(http, "/me/accounts", {"fields": "id,name,access_token,tasks"})
            ]
        finally:
            http.close()
