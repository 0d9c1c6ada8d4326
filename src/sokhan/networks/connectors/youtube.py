"""YouTube Data API v3 over httpx: channel profile, resumable video upload, comments, moderation, metrics.

``Account.remote_id`` is the channel id (``UC…``); when empty it is read from ``channels?mine=true``.
Quota errors (``403 quotaExceeded``) become :class:`RateLimited` until the daily quota resets at
midnight Pacific time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, ConnectorError, RateLimited, Rejected, Transient
from sokhan.networks.http import Http, json_object, send
from sokhan.networks.oauth import token_credentials, token_request
from sokhan.networks.reconcile import find, normalise, unmatchable, window_start
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

PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded"})
AUTH_REASONS = frozenset({"authError", "invalidCredentials", "expired"})
PRIVACY = ("private", "unlisted", "public")


def seconds_until_pacific_midnight(now: datetime | None = None) -> float:
    """YouTube quotas reset at midnight Pacific time."""
    local = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
    return max(0.0, (midnight - local).total_seconds())


def _google_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", str(body)[:300]
    errors = error.get("errors") or [{}]
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return str(first.get("reason", "")), str(error.get("message", ""))


def _classify(response: httpx.Response) -> ConnectorError | None:
    if response.is_success or response.status_code == 308:
        return None
    reason, message = _google_error(response)
    if response.status_code == 401 or reason in AUTH_REASONS:
        return AuthExpired("Google rejected the access token", network="youtube", detail=message)
    if reason == "quotaExceeded" or reason == "dailyLimitExceeded":
        return RateLimited(
            "YouTube API quota exhausted",
            retry_after=seconds_until_pacific_midnight(),
            network="youtube",
            detail=message,
        )
    if reason in QUOTA_REASONS or response.status_code == 429:
        retry = response.headers.get("retry-after")
        return RateLimited(
            "YouTube rate limit", retry_after=float(retry) if retry and retry.isdigit() else 60.0, network="youtube"
        )
    if response.status_code in (400, 403, 404, 409):
        return Rejected(f"HTTP {response.status_code}: {reason or 'rejected'}", network="youtube", detail=message)
    return None


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else datetime.now(UTC)


def _video_text(title: str, description: str) -> str:
    """A video is matched on its title and description together."""
    return f"{normalise(title)} \u00a6 {normalise(description)}"


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@register
class YouTubeConnector(Connector):
    key = "youtube"
    name = "YouTube"
    auth = AuthKind.OAUTH2_PKCE
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_VIDEO,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.HIDE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=5000,
        counting=TextCounting.UTF8_BYTES,
        title_max=100,
        max_comment_text=10000,
        media=MediaLimits(
            max_count=1,
            video_types=(
                "video/mp4",
                "video/quicktime",
                "video/x-msvideo",
                "video/x-ms-wmv",
                "video/mpeg",
                "video/webm",
                "video/x-flv",
                "video/3gpp",
                "video/x-matroska",
            ),
            max_video_bytes=256 * 1024**3,
            max_video_seconds=12 * 3600,
        ),
        notes=(
            "Text is the description (5000 bytes); a title (100 characters) is required; neither may contain "
            "< or >. Unverified channels may upload at most 15 minutes. Uploads cost 1600 quota units."
        ),
    )
    docs_url = "https://developers.google.com/youtube/v3/docs"
    default_base_url = "https://www.googleapis.com"
    oauth = OAuthSpec(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",  # noqa: S106
        scopes=(
            "https://www.googleapis.com/auth/youtube.upload",
            "https://www.googleapis.com/auth/youtube.force-ssl",
        ),
        pkce=True,
    )
    max_comment_pages: ClassVar[int] = 10
    reconcile_pages: ClassVar[int] = 2

    # ----------------------------------------------------------------- plumbing

    def _http(self, base_url: str | None = None) -> Http:
        return Http(
            self.key,
            self.base_url if base_url is None else base_url,
            headers={"Authorization": f"Bearer {self.credentials.access_token}"},
            timeout=self.timeout,
            classify=_classify,
        )

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return send(self._http(), method, url, sink=self, **kwargs)

    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return json_object(self._call(method, url, **kwargs), network=self.key, label="YouTube")

    def _channel(self) -> dict[str, Any]:
        body = self._json("GET", "/youtube/v3/channels", params={"part": "snippet,statistics", "mine": "true"})
        items = body.get("items") or []
        if not items:
            raise Rejected("this Google account has no YouTube channel", network=self.key)
        channel: dict[str, Any] = items[0]
        return channel

    def _channel_id(self) -> str:
        return self.account.remote_id or str(self._channel().get("id", ""))

    # ----------------------------------------------------------------- profile and metrics

    def verify(self) -> Profile:
        channel = self._channel()
        snippet = channel.get("snippet", {})
        stats = channel.get("statistics", {})
        handle = str(snippet.get("customUrl", "")) or str(channel.get("id", ""))
        thumbs = snippet.get("thumbnails", {})
        avatar = (thumbs.get("high") or thumbs.get("medium") or thumbs.get("default") or {}).get("url", "")
        return Profile(
            remote_id=str(channel.get("id", "")),
            handle=handle,
            display_name=str(snippet.get("title", "")),
            bio=str(snippet.get("description", "")),
            url=f"https://www.youtube.com/{handle}"
            if handle.startswith("@")
            else f"https://www.youtube.com/channel/{channel.get('id', '')}",
            avatar_url=str(avatar),
            followers=None if stats.get("hiddenSubscriberCount") else _int(stats.get("subscriberCount")),
            posts=_int(stats.get("videoCount")),
            raw=channel,
        )

    def account_metrics(self) -> AccountMetrics:
        stats = self._channel().get("statistics", {})
        return AccountMetrics(
            followers=None if stats.get("hiddenSubscriberCount") else _int(stats.get("subscriberCount")),
            posts=_int(stats.get("videoCount")),
            views=_int(stats.get("viewCount")),
        )

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(remote_ids), 50):
            chunk = remote_ids[start : start + 50]
            body = self._json("GET", "/youtube/v3/videos", params={"part": "statistics", "id": ",".join(chunk)})
            for item in body.get("items", []):
                found[str(item.get("id"))] = item.get("statistics", {})
        return [
            PostMetrics(
                remote_id=video,
                likes=_int(found.get(video, {}).get("likeCount")),
                comments=_int(found.get(video, {}).get("commentCount")),
                views=_int(found.get(video, {}).get("viewCount")),
                saves=_int(found.get(video, {}).get("favoriteCount")),
            )
            for video in remote_ids
        ]

    # ----------------------------------------------------------------- publishing

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        if not request.media:
            raise Rejected("YouTube needs a video file", network=self.key, field="media")
        title = request.title.strip()
        if not title:
            raise Rejected("YouTube needs a title", network=self.key, field="title")
        if len(title) > 100:
            raise Rejected("YouTube titles hold at most 100 characters", network=self.key, field="title")
        if len(request.text.encode("utf-8")) > 5000:
            raise Rejected("YouTube descriptions hold at most 5000 bytes", network=self.key, field="text")
        for field, value in (("title", title), ("text", request.text)):
            if re.search(r"[<>]", value):
                raise Rejected(
                    "YouTube does not allow < or > in titles and descriptions", network=self.key, field=field
                )
        privacy = request.options.get("privacy_status", "public")
        if privacy not in PRIVACY:
            raise Rejected(f"privacy_status must be one of {', '.join(PRIVACY)}", network=self.key, field="options")

    def publish(self, request: PublishRequest) -> PublishResult:
        """Resumable upload: start a session (metadata), then PUT the bytes to the session URL."""
        self.check_publish(request)
        video = request.media[0]
        size = video.path.stat().st_size
        snippet: dict[str, Any] = {"title": request.title.strip(), "description": request.text}
        if request.options.get("category_id"):
            snippet["categoryId"] = request.options["category_id"]
        if request.options.get("tags"):
            snippet["tags"] = [t.strip() for t in request.options["tags"].split(",") if t.strip()]
        status: dict[str, Any] = {
            "privacyStatus": request.options.get("privacy_status", "public"),
            "selfDeclaredMadeForKids": request.options.get("made_for_kids", "false") == "true",
        }
        if request.options.get("publish_at"):
            status["privacyStatus"] = "private"
            status["publishAt"] = request.options["publish_at"]
        query = urlencode({"uploadType": "resumable", "part": "snippet,status"})
        started = self._call(
            "POST",
            f"/upload/youtube/v3/videos?{query}",
            json={"snippet": snippet, "status": status},
            headers={"X-Upload-Content-Length": str(size), "X-Upload-Content-Type": video.mime_type},
        )
        session = started.headers.get("location", "")
        if not session:
            raise Transient("YouTube did not return an upload session URL", network=self.key)
        with video.path.open("rb") as handle:
            body = self._json(
                "PUT", session, content=handle, headers={"Content-Length": str(size), "Content-Type": video.mime_type}
            )
        video_id = str(body.get("id", ""))
        if not video_id:
            raise Transient("YouTube did not return the video id", network=self.key, detail=str(body)[:300])
        published = body.get("snippet", {}).get("publishedAt", "")
        return PublishResult(
            remote_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            published_at=_time(published) if published else datetime.now(UTC),
            raw=body,
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The video an interrupted :meth:`publish` uploaded: the channel's uploads playlist
        (``channels.list`` → ``relatedPlaylists.uploads``, then ``playlistItems.list``, newest first,
        1 quota unit each) back to the first attempt; the oldest item whose title and description both
        equal the request's. Sokhan adds no marker to the video (tags and description are public)."""
        if not normalise(request.title):
            raise unmatchable(self.key, "the video has no title to look for")
        start = window_start(request)
        channel = self._json("GET", "/youtube/v3/channels", params={"part": "contentDetails", "mine": "true"})
        items = channel.get("items") or [{}]
        uploads = str(((items[0].get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads", ""))
        if not uploads:
            raise Rejected("this Google account has no YouTube channel", network=self.key)
        snippets: list[dict[str, Any]] = []
        params = {"part": "snippet", "playlistId": uploads, "maxResults": "50"}
        for _ in range(self.reconcile_pages):
            body = self._json("GET", "/youtube/v3/playlistItems", params=params)
            page = [i.get("snippet") or {} for i in body.get("items") or [] if isinstance(i, dict)]
            snippets.extend(page)
            token = str(body.get("nextPageToken") or "")
            if not token or not page or min(_time(str(p.get("publishedAt", ""))) for p in page) < start:
                break
            params["pageToken"] = token
        snippet = find(
            (p for p in snippets if (p.get("resourceId") or {}).get("videoId")),
            _video_text(request.title, request.text),
            start=start,
            created=lambda p: _time(str(p.get("publishedAt", ""))),
            text=lambda p: _video_text(str(p.get("title", "")), str(p.get("description", ""))),
        )
        if snippet is None:
            return None
        video_id = str(snippet["resourceId"]["videoId"])
        return PublishResult(
            remote_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            published_at=_time(str(snippet.get("publishedAt", ""))),
            raw=snippet,
        )

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", "/youtube/v3/videos", params={"id": remote_id})

    # ----------------------------------------------------------------- comments

    def _message(self, comment: dict[str, Any], video_id: str, parent: str = "") -> RemoteMessage:
        snippet = comment.get("snippet", {})
        author = snippet.get("authorChannelId", {})
        comment_id = str(comment.get("id", ""))
        return RemoteMessage(
            remote_id=comment_id,
            kind=MessageKind.COMMENT,
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay", "")),
            author_id=str(author.get("value", "") if isinstance(author, dict) else ""),
            author_handle=str(snippet.get("authorDisplayName", "")),
            author_name=str(snippet.get("authorDisplayName", "")),
            created_at=_time(str(snippet.get("publishedAt", ""))),
            in_reply_to=parent or video_id,
            root_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}",
            raw=comment,
        )

    def _threads(self, params: dict[str, str], since: datetime | None) -> list[RemoteMessage]:
        found: list[RemoteMessage] = []
        token = ""
        for _ in range(self.max_comment_pages):
            query = {
                **params,
                "part": "snippet,replies",
                "maxResults": "100",
                "order": "time",
                "textFormat": "plainText",
            }
            if token:
                query["pageToken"] = token
            body = self._json("GET", "/youtube/v3/commentThreads", params=query)
            reached_old = False
            for thread in body.get("items", []):
                snippet = thread.get("snippet", {})
                video_id = str(snippet.get("videoId", ""))
                top = snippet.get("topLevelComment", {})
                candidates = [self._message(top, video_id)]
                top_id = str(top.get("id", ""))
                for reply in thread.get("replies", {}).get("comments", []):
                    candidates.append(self._message(reply, video_id, parent=top_id))
                fresh = [m for m in candidates if since is None or m.created_at > since]
                found.extend(fresh)
                if since is not None and candidates[0].created_at <= since and len(fresh) == 0:
                    reached_old = True
            token = str(body.get("nextPageToken", ""))
            if not token or reached_old:
                break
        return found

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments newer than ``cursor`` (an ISO timestamp watermark), oldest first.

        Pages through ``commentThreads`` with ``pageToken`` (newest first) until it reaches comments
        at or before the watermark. Without ``post_ids`` it reads every thread on the channel.
        """
        since = _time(cursor) if cursor else None
        found: list[RemoteMessage] = []
        if post_ids:
            for video in post_ids:
                found.extend(self._threads({"videoId": video}, since))
        else:
            found.extend(self._threads({"allThreadsRelatedToChannelId": self._channel_id()}, since))
        own = self.account.remote_id
        items = sorted(
            {m.remote_id: m for m in found if not own or m.author_id != own}.values(), key=lambda m: m.created_at
        )
        newest = max([m.created_at for m in found], default=since)
        return Page(items=tuple(items), cursor=newest.isoformat().replace("+00:00", "Z") if newest else cursor)

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Answer a comment. Replies attach to the top-level comment (YouTube threads are one level deep)."""
        self.check_reply_media(media)  # YouTube comments are text only
        parent = to.in_reply_to if to.in_reply_to and to.in_reply_to != to.root_id else to.remote_id
        body = self._json(
            "POST",
            "/youtube/v3/comments",
            params={"part": "snippet"},
            json={"snippet": {"parentId": parent, "textOriginal": text}},
        )
        comment_id = str(body.get("id", ""))
        snippet = body.get("snippet", {})
        return PublishResult(
            remote_id=comment_id,
            url=f"https://www.youtube.com/watch?v={to.root_id}&lc={comment_id}" if to.root_id else "",
            published_at=_time(str(snippet.get("publishedAt", ""))),
            raw=body,
        )

    def hide(self, remote_id: str) -> None:
        """Hold a comment for review: it disappears from the public view until approved."""
        self._call(
            "POST",
            "/youtube/v3/comments/setModerationStatus",
            params={"id": remote_id, "moderationStatus": "heldForReview"},
        )

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def authorization_url(cls, client: OAuthClient, *, state: str, code_challenge: str, base_url: str = "") -> str:
        url = super().authorization_url(client, state=state, code_challenge=code_challenge, base_url=base_url)
        # Offline access returns a refresh token; consent makes Google return it on reconnects too.
        return url + "&" + urlencode({"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"})

    @classmethod
    def _token(cls, form: dict[str, str], base_url: str) -> dict[str, Any]:
        assert cls.oauth is not None
        url = f"{base_url.rstrip('/')}/token" if base_url else cls.oauth.token_url
        return token_request(url, form, network=cls.key, label="Google")

    @classmethod
    def _credentials(cls, body: dict[str, Any], previous: Credentials | None = None) -> Credentials:
        return token_credentials(body, previous, network=cls.key)

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        body = cls._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": client.redirect_uri,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
            base_url,
        )
        return cls._credentials(body)

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        if not credentials.refresh_token:
            raise AuthExpired("no refresh token: reconnect the YouTube channel", network=cls.key)
        body = cls._token(
            {
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
            base_url,
        )
        return cls._credentials(body, credentials)
