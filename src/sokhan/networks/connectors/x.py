"""X (formerly Twitter) through the X API v2 (https://docs.x.com/x-api).

A thin httpx client: the official SDK (``xdk``) hard-codes its hosts per call path and cannot be pointed
at a replay server cleanly, so this module speaks the documented JSON directly.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, ConnectorError, Rejected, Transient
from sokhan.networks.http import Http, send_json
from sokhan.networks.oauth import token_credentials
from sokhan.networks.reconcile import needs_text, normalise, only_in_part, window_start
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

API = "https://api.x.com/2"
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,public_metrics"
USER_FIELDS = "username,name,public_metrics"
ME_FIELDS = "created_at,description,profile_image_url,public_metrics,url,username,name,verified"
MAX_PAGES = 5
# Chunked video upload: APPEND segments of this size (X takes up to 1,000 segments per upload).
VIDEO_CHUNK_BYTES = 4 * 1024 * 1024
MAX_SEGMENTS = 1000
PROCESSING_STATES = frozenset({"pending", "in_progress"})


def _detail(response: httpx.Response) -> str:
    """X problem details: ``{"title", "detail", "errors": [{"message"}]}`` or OAuth ``error_description``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, dict):
        return str(body)[:300]
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("message"):
        return str(errors[0]["message"])
    for key in ("detail", "error_description", "title", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    return str(body)[:300]


def _token_classify(response: httpx.Response) -> ConnectorError | None:
    """A refused code or refresh token (``invalid_grant``/``invalid_request``) means reconnecting."""
    if response.status_code in (400, 401):
        return AuthExpired("X refused the authorization grant", network="x", detail=_detail(response))
    return None


def _time(value: object) -> datetime:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.now(UTC)


def _replied_to(tweet: dict[str, Any]) -> str:
    return next(
        (str(r.get("id")) for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"),
        "",
    )


def _posted_text(tweet: dict[str, Any]) -> str:
    """A post's text as its author wrote it: X shortens every link to t.co (``entities.urls``; media
    appear as a trailing link with a ``media_key``) and escapes ``&``, ``<`` and ``>`` as entities."""
    text = str(tweet.get("text", ""))
    for entity in (tweet.get("entities") or {}).get("urls") or []:
        short = str(entity.get("url") or "")
        if short:
            text = text.replace(short, "" if entity.get("media_key") else str(entity.get("expanded_url") or short))
    return html.unescape(text)


@register
class XConnector(Connector):
    key = "x"
    name = "X"
    auth = AuthKind.OAUTH2_PKCE
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
            Capability.MENTIONS,
            Capability.SEARCH,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.LIKE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=280,
        counting=TextCounting.TWITTER_WEIGHTED,
        media=MediaLimits(
            max_count=4,
            image_types=("image/jpeg", "image/png", "image/webp", "image/gif"),
            video_types=("video/mp4",),
            max_image_bytes=5 * 1024 * 1024,
            max_video_bytes=512 * 1024 * 1024,
            max_video_seconds=140,
            min_video_seconds=0.5,
            alt_text_max=1000,
        ),
        max_thread_parts=25,
        max_comment_text=280,
        notes=(
            "280 weighted characters (twitter-text v3). Up to 4 images, or 1 MP4 video (512 MB, 0.5–140 s, "
            "chunked upload) per post. Thread length is a Sokhan limit."
        ),
    )
    docs_url = "https://docs.x.com/x-api/posts/creation-of-a-post"
    default_base_url = API
    oauth = OAuthSpec(
        authorize_url="https://x.com/i/oauth2/authorize",
        token_url=f"{API}/oauth2/token",
        scopes=("tweet.read", "tweet.write", "users.read", "offline.access", "like.write", "media.write"),
        pkce=True,
    )
    chunk_size = VIDEO_CHUNK_BYTES
    status_attempts = 60  # STATUS polls before giving up on a video still processing

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep: Callable[[float], None] = time.sleep

    # ----------------------------------------------------------------- plumbing

    def _http(self) -> Http:
        http = Http(
            self.key,
            self.base_url,
            headers={"Authorization": f"Bearer {self.credentials.access_token}"},
            timeout=self.timeout,
            detail=_detail,
        )
        return http

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return send_json(self._http(), method, path, sink=self, **kwargs)

    def _user_id(self) -> str:
        return self.account.remote_id or self.verify().remote_id

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        body = self._call("GET", "/users/me", params={"user.fields": ME_FIELDS})
        user = body.get("data") or {}
        metrics = user.get("public_metrics") or {}
        return Profile(
            remote_id=str(user["id"]),
            handle=str(user.get("username", "")),
            display_name=str(user.get("name", "")),
            bio=str(user.get("description", "")),
            url=f"https://x.com/{user.get('username', '')}",
            avatar_url=str(user.get("profile_image_url", "")),
            links=(str(user["url"]),) if user.get("url") else (),
            followers=metrics.get("followers_count"),
            following=metrics.get("following_count"),
            posts=metrics.get("tweet_count"),
            raw=user,
        )

    def account_metrics(self) -> AccountMetrics:
        profile = self.verify()
        return AccountMetrics(followers=profile.followers, following=profile.following, posts=profile.posts)

    # ----------------------------------------------------------------- publishing

    def _upload(self, item: MediaFile) -> str:
        """``POST /2/media/upload`` (JSON, base64 media) then alt text via ``POST /2/media/metadata``."""
        if item.is_video:
            return self._upload_video(item)
        payload = {
            "media": base64.b64encode(item.path.read_bytes()).decode("ascii"),
            "media_category": "tweet_image",
            "media_type": item.mime_type,
        }
        body = self._call("POST", "/media/upload", json=payload)
        media_id = str((body.get("data") or {}).get("id", ""))
        if not media_id:
            raise Rejected("X did not return a media id", network=self.key, field="media")
        if item.alt_text:
            self._call(
                "POST",
                "/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text[:1000]}}},
            )
        return media_id

    def _check_video(self, item: MediaFile) -> int:
        media = self.limits.media
        size = item.path.stat().st_size
        if media.max_video_bytes is not None and size > media.max_video_bytes:
            raise Rejected(
                f"X takes videos up to {media.max_video_bytes // (1024 * 1024)} MB", network=self.key, field="media"
            )
        seconds = item.duration_seconds
        if seconds is not None and media.max_video_seconds is not None and seconds > media.max_video_seconds:
            raise Rejected(f"X takes videos up to {media.max_video_seconds:g} s", network=self.key, field="media")
        if seconds is not None and media.min_video_seconds is not None and seconds < media.min_video_seconds:
            raise Rejected(f"X takes videos of at least {media.min_video_seconds:g} s", network=self.key, field="media")
        if -(-size // self.chunk_size) > MAX_SEGMENTS:
            raise Rejected("the video needs more than 1,000 upload segments", network=self.key, field="media")
        return size

    def _upload_video(self, item: MediaFile) -> str:
        """Chunked upload: ``POST /2/media/upload/initialize``, ``…/{id}/append`` per segment (multipart ``media``
        + ``segment_index``), ``…/{id}/finalize``, then ``GET /2/media/upload?command=STATUS`` while processing."""
        size = self._check_video(item)
        body = self._call(
            "POST",
            "/media/upload/initialize",
            json={"media_type": item.mime_type, "total_bytes": size, "media_category": "tweet_video"},
        )
        media_id = str((body.get("data") or {}).get("id", ""))
        if not media_id:
            raise Rejected("X did not return a media id", network=self.key, field="media", detail=str(body)[:300])
        with item.path.open("rb") as handle:
            index = 0
            while chunk := handle.read(self.chunk_size):
                self._call(
                    "POST",
                    f"/media/upload/{media_id}/append",
                    data={"segment_index": str(index)},
                    files={"media": (item.path.name, chunk, "application/octet-stream")},
                )
                index += 1
        body = self._call("POST", f"/media/upload/{media_id}/finalize")
        self._await_processing(media_id, (body.get("data") or {}).get("processing_info"))
        return media_id

    def _await_processing(self, media_id: str, info: object) -> None:
        """Poll STATUS while ``processing_info.state`` is pending/in_progress, waiting ``check_after_secs``."""
        for _ in range(self.status_attempts):
            if not isinstance(info, dict):
                return  # no processing_info: the media is ready to use
            state = str(info.get("state", ""))
            if state == "failed":
                error = info.get("error")
                reason = "processing failed"
                if isinstance(error, dict):  # not in the v2 schema, but v1.1-style details are kept if sent
                    reason = str(error.get("message") or error.get("name") or reason)
                raise Rejected(f"X could not process the video: {reason}", network=self.key, field="media")
            if state not in PROCESSING_STATES:
                return  # succeeded
            wait = info.get("check_after_secs")
            self.sleep(float(wait) if isinstance(wait, int | float) and wait > 0 else 1.0)
            body = self._call("GET", "/media/upload", params={"command": "STATUS", "media_id": media_id})
            info = (body.get("data") or {}).get("processing_info")
        raise Transient("X is still processing the video; try publishing again later", network=self.key)

    def _tweet(self, text: str, *, reply_to: str = "", media_ids: Sequence[str] = ()) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": text}
        if media_ids:
            payload["media"] = {"media_ids": list(media_ids)}
        if reply_to:
            payload["reply"] = {"in_reply_to_tweet_id": reply_to}
        body = self._call("POST", "/tweets", json=payload)
        data: dict[str, Any] = body.get("data") or {}
        if not data.get("id"):
            raise Rejected("X did not return the new post's id", network=self.key, detail=str(body)[:300])
        return data

    def _url(self, tweet_id: str) -> str:
        handle = self.account.handle or "i"
        return f"https://x.com/{handle}/status/{tweet_id}"

    def _media_ids(self, media: Sequence[MediaFile]) -> list[str]:
        if any(item.is_video for item in media) and len(media) > 1:
            raise Rejected("X takes one video per post, on its own", network=self.key, field="media")
        return [self._upload(item) for item in media]

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        media_ids = self._media_ids(request.media)
        first = self._tweet(request.text, reply_to=request.reply_to, media_ids=media_ids)
        ids = [str(first["id"])]
        for part in request.thread:
            ids.append(str(self._tweet(part, reply_to=ids[-1])["id"]))
        comment_id = ""
        if request.first_comment:
            comment_id = str(self._tweet(request.first_comment, reply_to=ids[-1])["id"])
        return PublishResult(
            remote_id=ids[0],
            url=self._url(ids[0]),
            published_at=datetime.now(UTC),
            thread_ids=tuple(ids[1:]),
            first_comment_id=comment_id,
            raw=first,
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an interrupted :meth:`publish` made, from ``GET /2/users/:id/tweets`` since the first
        attempt: the oldest post whose text (t.co links expanded, media links dropped, entities decoded)
        equals the request's, answering ``reply_to`` when set; then each thread part and the first
        comment as a reply to the part before it. X refuses a second post with the same text, so an
        identical post by other means in the window is the only way to mismatch."""
        wanted = needs_text(request, self.key)
        start = window_start(request).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = {
            "start_time": start,
            "max_results": "100",
            "exclude": "retweets",
            "tweet.fields": "created_at,entities,referenced_tweets",
        }
        path = f"/users/{self._user_id()}/tweets"
        tweets: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            body = self._call("GET", path, params=query)
            tweets.extend(t for t in body.get("data") or [] if isinstance(t, dict) and t.get("id"))
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                break
            query["pagination_token"] = str(token)
        tweets.sort(key=lambda t: int(t["id"]))  # ids grow with creation time: oldest first

        def find(text: str, reply_to: str) -> dict[str, Any] | None:
            return next(
                (t for t in tweets if _replied_to(t) == reply_to and normalise(_posted_text(t)) == text),
                None,
            )

        head = find(wanted, request.reply_to)
        if head is None:
            return None
        ids = [str(head["id"])]
        for part in request.thread:
            found = find(normalise(part), ids[-1])
            if found is None:
                raise only_in_part(self.key, ids[0], f"thread part {len(ids) + 1}")
            ids.append(str(found["id"]))
        comment_id = ""
        if request.first_comment:
            comment = find(normalise(request.first_comment), ids[-1])
            if comment is None:
                raise only_in_part(self.key, ids[0], "first comment")
            comment_id = str(comment["id"])
        return PublishResult(
            remote_id=ids[0],
            url=self._url(ids[0]),
            published_at=_time(head.get("created_at")),
            thread_ids=tuple(ids[1:]),
            first_comment_id=comment_id,
            raw=head,
        )

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A post with ``reply.in_reply_to_tweet_id``; media are uploaded as for a post (``media.media_ids``)."""
        self.check_reply_media(media)
        data = self._tweet(text, reply_to=to.remote_id, media_ids=self._media_ids(media))
        return PublishResult(remote_id=str(data["id"]), url=self._url(str(data["id"])), raw=data)

    def delete(self, remote_id: str) -> None:
        body = self._call("DELETE", f"/tweets/{remote_id}")
        if not (body.get("data") or {}).get("deleted"):
            raise Rejected("X did not confirm the deletion", network=self.key, detail=str(body)[:300])

    def like(self, remote_id: str) -> None:
        body = self._call("POST", f"/users/{self._user_id()}/likes", json={"tweet_id": remote_id})
        if not (body.get("data") or {}).get("liked"):
            raise Rejected("X did not confirm the like", network=self.key, detail=str(body)[:300])

    # ----------------------------------------------------------------- reading

    def _timeline(self, path: str, params: dict[str, str], kind: MessageKind, cursor: str) -> Page[RemoteMessage]:
        """Newest-first pages of posts since ``cursor`` (a post id), returned oldest first."""
        query = {
            **params,
            "max_results": "100",
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        if cursor:
            query["since_id"] = cursor
        items: list[RemoteMessage] = []
        newest = ""
        for page in range(MAX_PAGES):
            body = self._call("GET", path, params=query)
            meta = body.get("meta") or {}
            if page == 0:
                newest = str(meta.get("newest_id") or "")  # the first page holds the newest posts
            users = {u["id"]: u for u in (body.get("includes") or {}).get("users", []) if "id" in u}
            items.extend(self._message(tweet, users, kind) for tweet in body.get("data") or [])
            token = meta.get("next_token")
            if not token:
                break
            query["pagination_token"] = str(token)
        items.sort(key=lambda m: int(m.remote_id))
        return Page(items=tuple(items), cursor=newest or cursor)

    def _message(self, tweet: dict[str, Any], users: dict[str, dict[str, Any]], kind: MessageKind) -> RemoteMessage:
        author = users.get(str(tweet.get("author_id", "")), {})
        replied = next(
            (r["id"] for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"),
            "",
        )
        handle = str(author.get("username", ""))
        return RemoteMessage(
            remote_id=str(tweet["id"]),
            kind=kind,
            text=str(tweet.get("text", "")),
            author_id=str(tweet.get("author_id", "")),
            author_handle=handle,
            author_name=str(author.get("name", "")),
            author_followers=(author.get("public_metrics") or {}).get("followers_count"),
            created_at=_time(tweet.get("created_at")),
            in_reply_to=str(replied),
            root_id=str(tweet.get("conversation_id", "")),
            url=f"https://x.com/{handle or 'i'}/status/{tweet['id']}",
            lang=str(tweet.get("lang", "")),
            raw=tweet,
        )

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        return self._timeline(f"/users/{self._user_id()}/mentions", {}, MessageKind.MENTION, cursor)

    def search(self, query: str, cursor: str = "") -> Page[RemoteMessage]:
        return self._timeline("/tweets/search/recent", {"query": query}, MessageKind.POST, cursor)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        results: list[PostMetrics] = []
        ids = list(remote_ids)
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            body = self._call("GET", "/tweets", params={"ids": ",".join(chunk), "tweet.fields": "public_metrics"})
            found = {str(t["id"]): t.get("public_metrics") or {} for t in body.get("data") or []}
            for remote_id in chunk:
                if remote_id not in found:
                    continue  # deleted or not visible: reported in body["errors"]
                m = found[remote_id]
                reposts, quotes = m.get("retweet_count"), m.get("quote_count")
                results.append(
                    PostMetrics(
                        remote_id=remote_id,
                        likes=m.get("like_count"),
                        comments=m.get("reply_count"),
                        shares=(reposts or 0) + (quotes or 0) if reposts is not None or quotes is not None else None,
                        saves=m.get("bookmark_count"),
                        impressions=m.get("impression_count"),
                    )
                )
        return results

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _token(cls, client: OAuthClient, data: dict[str, str], base_url: str) -> dict[str, Any]:
        auth = httpx.BasicAuth(client.client_id, client.client_secret) if client.client_secret else None
        if auth is None:
            data = {**data, "client_id": client.client_id}
        http = Http(cls.key, (base_url or API).rstrip("/"), auth=auth, classify=_token_classify, detail=_detail)
        try:
            body: dict[str, Any] = http.json("POST", "/oauth2/token", data=data)
        finally:
            http.close()
        if not body.get("access_token"):
            raise AuthExpired("X returned no access token", network=cls.key, detail=str(body)[:300])
        return body

    @classmethod
    def _credentials(cls, body: dict[str, Any], previous: Credentials | None = None) -> Credentials:
        return token_credentials(body, previous, network=cls.key)

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        body = cls._token(
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uri,
                "code_verifier": code_verifier,
            },
            base_url,
        )
        return cls._credentials(body)

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        if not credentials.refresh_token:
            raise AuthExpired("no refresh token stored; reconnect the account", network=cls.key)
        body = cls._token(client, {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}, base_url)
        return cls._credentials(body, credentials)
