"""TikTok Content Posting API (Direct Post) and Display API over httpx.

Publishing follows TikTok's required order: query creator info (privacy options, longest video),
initialise the post, transfer the video (``FILE_UPLOAD`` in chunks to ``upload_url``, or
``PULL_FROM_URL`` with ``options["video_url"]``), then poll ``status/fetch``. Photo posts are
``PULL_FROM_URL`` only: ``options["photo_urls"]`` lists one public URL (on a verified domain) per
image, one per line.

While TikTok is still processing, :meth:`publish` returns the ``publish_id`` as the remote id;
:meth:`publish_status` resolves it later and :meth:`post_metrics` resolves it on the fly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, ConnectorError, RateLimited, Rejected, Transient
from sokhan.networks.http import Http, send
from sokhan.networks.oauth import token_credentials, token_request
from sokhan.networks.registry import register
from sokhan.networks.types import (
    AccountMetrics,
    AuthKind,
    Capability,
    Credentials,
    Limits,
    MediaFile,
    MediaLimits,
    PostMetrics,
    Profile,
    PublishRequest,
    PublishResult,
    TextCounting,
)

MB = 1024 * 1024
MAX_CHUNK = 64 * MB
USER_FIELDS = (
    "open_id,union_id,avatar_url,display_name,bio_description,profile_deep_link,is_verified,username,"
    "follower_count,following_count,likes_count,video_count"
)
AUTH_CODES = frozenset(
    {"access_token_invalid", "scope_not_authorized", "scope_permission_missed", "token_not_authorized"}
)
RATE_CODES = frozenset({"rate_limit_exceeded", "spam_risk_too_many_posts", "spam_risk_too_many_pending_share"})
TRANSIENT_CODES = frozenset({"internal_error", "server_error", "service_unavailable"})


def _error(body: Any) -> tuple[str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code", "")), str(error.get("message", ""))


def _classify(response: httpx.Response) -> ConnectorError | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code, message = _error(body)
    if not code or code == "ok":
        return None
    if code in AUTH_CODES or response.status_code == 401:
        return AuthExpired(f"TikTok: {code}", network="tiktok", detail=message)
    if code in RATE_CODES or response.status_code == 429:
        retry = response.headers.get("retry-after")
        return RateLimited(
            f"TikTok: {code}",
            retry_after=float(retry) if retry and retry.isdigit() else 60.0,
            network="tiktok",
            detail=message,
        )
    if code in TRANSIENT_CODES or response.status_code >= 500:
        return Transient(f"TikTok: {code}", network="tiktok", detail=message)
    return Rejected(f"TikTok: {code}", network="tiktok", detail=message)


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) following the Media Transfer Guide's chunk rules."""
    if size <= MAX_CHUNK:  # under 5 MB must go whole; up to 64 MB may
        return size, 1
    chunk = 10 * MB
    count = size // chunk  # the last chunk absorbs the remainder (up to 128 MB)
    return chunk, max(1, count)


@dataclass(frozen=True)
class CreatorInfo:
    username: str
    nickname: str
    privacy_options: tuple[str, ...]
    max_video_seconds: int | None
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool


@dataclass(frozen=True)
class PublishStatus:
    status: str  # PROCESSING_UPLOAD | PROCESSING_DOWNLOAD | SEND_TO_USER_INBOX | PUBLISH_COMPLETE | FAILED
    post_ids: tuple[str, ...] = ()
    fail_reason: str = ""

    @property
    def done(self) -> bool:
        return self.status in ("PUBLISH_COMPLETE", "FAILED")


@register
class TikTokConnector(Connector):
    key = "tiktok"
    name = "TikTok"
    auth = AuthKind.OAUTH2_PKCE
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_IMAGE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
        }
    )
    limits = Limits(
        max_text=2200,
        counting=TextCounting.UTF16,
        title_max=90,  # photo post titles; a video's caption is its title (2200)
        media=MediaLimits(
            max_count=35,
            image_types=("image/jpeg", "image/webp"),
            video_types=("video/mp4", "video/webm", "video/quicktime"),
            max_image_bytes=20 * MB,
            max_video_bytes=4 * 1024 * MB,
            min_video_seconds=3,
            max_video_seconds=600,
        ),
        notes=(
            "Video caption 2200 UTF-16 units; photo title 90 and description 4000. One video or up to 35 photos. "
            "The creator's own maximum video duration and privacy options are checked before posting. "
            "Posts by unaudited apps are private."
        ),
    )
    docs_url = "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post"
    default_base_url = "https://open.tiktokapis.com"
    oauth = OAuthSpec(
        authorize_url="https://www.tiktok.com/v2/auth/authorize/",
        token_url="https://open.tiktokapis.com/v2/oauth/token/",  # noqa: S106
        scopes=("user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.list"),
        pkce=True,
        scope_separator=",",
    )
    status_poll_attempts: ClassVar[int] = 5
    status_poll_interval: ClassVar[float] = 3.0

    # ----------------------------------------------------------------- plumbing

    def _http(self, *, authorised: bool = True) -> Http:
        headers = {"Authorization": f"Bearer {self.credentials.access_token}"} if authorised else {}
        return Http(self.key, self.base_url, headers=headers, timeout=self.timeout, classify=_classify)

    def _call(self, method: str, url: str, *, authorised: bool = True, **kwargs: Any) -> httpx.Response:
        return send(self._http(authorised=authorised), method, url, sink=self if authorised else None, **kwargs)

    def _data(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, url, **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise Transient("TikTok answered with something that is not JSON", network=self.key) from exc
        data = body.get("data") if isinstance(body, dict) else None
        return data if isinstance(data, dict) else {}

    # ----------------------------------------------------------------- profile

    def _user(self) -> dict[str, Any]:
        user = self._data("GET", "/v2/user/info/", params={"fields": USER_FIELDS}).get("user", {})
        return user if isinstance(user, dict) else {}

    def verify(self) -> Profile:
        user = self._user()
        username = str(user.get("username", ""))
        return Profile(
            remote_id=str(user.get("open_id", "")),
            handle=username,
            display_name=str(user.get("display_name", "")),
            bio=str(user.get("bio_description", "")),
            url=str(user.get("profile_deep_link") or (f"https://www.tiktok.com/@{username}" if username else "")),
            avatar_url=str(user.get("avatar_url", "")),
            followers=user.get("follower_count"),
            following=user.get("following_count"),
            posts=user.get("video_count"),
            raw=user,
        )

    def account_metrics(self) -> AccountMetrics:
        user = self._user()
        return AccountMetrics(
            followers=user.get("follower_count"),
            following=user.get("following_count"),
            posts=user.get("video_count"),
        )

    def creator_info(self) -> CreatorInfo:
        """What this creator may post right now (TikTok requires asking before every post)."""
        data = self._data("POST", "/v2/post/publish/creator_info/query/", json={})
        duration = data.get("max_video_post_duration_sec")
        return CreatorInfo(
            username=str(data.get("creator_username", "")),
            nickname=str(data.get("creator_nickname", "")),
            privacy_options=tuple(str(p) for p in data.get("privacy_level_options", [])),
            max_video_seconds=int(duration) if isinstance(duration, int) else None,
            comment_disabled=bool(data.get("comment_disabled")),
            duet_disabled=bool(data.get("duet_disabled")),
            stitch_disabled=bool(data.get("stitch_disabled")),
        )

    # ----------------------------------------------------------------- publishing

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        videos = [m for m in request.media if m.is_video]
        if not request.media:
            raise Rejected("TikTok posts need a video or photos", network=self.key, field="media")
        if len(videos) > 1:
            raise Rejected("a TikTok post holds one video", network=self.key, field="media")
        if len(request.text.encode("utf-16-le")) // 2 > 2200 and videos:
            raise Rejected("TikTok captions hold at most 2200 UTF-16 units", network=self.key, field="text")
        if not videos:
            if len(request.title) > 90:
                raise Rejected("TikTok photo titles hold at most 90 characters", network=self.key, field="title")
            if len(request.text) > 4000:
                raise Rejected("TikTok photo descriptions hold at most 4000 characters", network=self.key, field="text")
            urls = self._photo_urls(request)
            if len(urls) != len(request.media):
                raise Rejected(
                    "TikTok pulls photos from public URLs: give one URL per image in options['photo_urls']",
                    network=self.key,
                    field="media",
                )

    @staticmethod
    def _photo_urls(request: PublishRequest) -> list[str]:
        return [u.strip() for u in request.options.get("photo_urls", "").splitlines() if u.strip()]

    def _post_info(self, request: PublishRequest, creator: CreatorInfo) -> dict[str, Any]:
        privacy = request.options.get("privacy_level") or (
            "PUBLIC_TO_EVERYONE" if "PUBLIC_TO_EVERYONE" in creator.privacy_options else "SELF_ONLY"
        )
        if creator.privacy_options and privacy not in creator.privacy_options:
            raise Rejected(
                f"privacy_level must be one of {', '.join(creator.privacy_options)}", network=self.key, field="options"
            )
        return {
            "privacy_level": privacy,
            "disable_comment": creator.comment_disabled or request.options.get("disable_comment") == "true",
        }

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        creator = self.creator_info()
        info = self._post_info(request, creator)
        videos = [m for m in request.media if m.is_video]
        if videos:
            publish_id = self._publish_video(request, videos[0], creator, info)
        else:
            publish_id = self._publish_photos(request, info)
        status = self._wait(publish_id)
        if status.status == "FAILED":
            raise Rejected("TikTok could not publish the post", network=self.key, detail=status.fail_reason)
        if status.post_ids:
            post_id = status.post_ids[0]
            handle = creator.username
            return PublishResult(
                remote_id=post_id,
                url=f"https://www.tiktok.com/@{handle}/video/{post_id}" if handle else "",
                published_at=datetime.now(UTC),
                raw={"publish_id": publish_id, "status": status.status},
            )
        return PublishResult(remote_id=publish_id, raw={"publish_id": publish_id, "status": status.status})

    def _publish_video(
        self, request: PublishRequest, video: MediaFile, creator: CreatorInfo, info: dict[str, Any]
    ) -> str:
        if creator.max_video_seconds and video.duration_seconds and video.duration_seconds > creator.max_video_seconds:
            raise Rejected(
                f"this creator may post videos up to {creator.max_video_seconds} seconds",
                network=self.key,
                field="media",
            )
        post_info = {
            **info,
            "title": request.text,
            "disable_duet": creator.duet_disabled or request.options.get("disable_duet") == "true",
            "disable_stitch": creator.stitch_disabled or request.options.get("disable_stitch") == "true",
        }
        if request.options.get("video_cover_timestamp_ms"):
            post_info["video_cover_timestamp_ms"] = int(request.options["video_cover_timestamp_ms"])
        pull_url = request.options.get("video_url", "")
        size = 0 if pull_url else video.path.stat().st_size
        if pull_url:
            source: dict[str, Any] = {"source": "PULL_FROM_URL", "video_url": pull_url}
        else:
            chunk, count = chunk_plan(size)
            source = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count}
        data = self._data("POST", "/v2/post/publish/video/init/", json={"post_info": post_info, "source_info": source})
        publish_id = str(data.get("publish_id", ""))
        if not publish_id:
            raise Transient("TikTok did not return a publish id", network=self.key)
        if not pull_url:
            self._upload(
                str(data.get("upload_url", "")), video, size, source["chunk_size"], source["total_chunk_count"]
            )
        return publish_id

    def _upload(self, upload_url: str, video: MediaFile, size: int, chunk: int, count: int) -> None:
        if not upload_url:
            raise Transient("TikTok did not return an upload URL", network=self.key)
        with video.path.open("rb") as handle:
            for index in range(count):
                first = index * chunk
                last = size - 1 if index == count - 1 else first + chunk - 1
                handle.seek(first)
                body = handle.read(last - first + 1)
                self._call(
                    "PUT",
                    upload_url,
                    authorised=False,
                    content=body,
                    headers={"Content-Type": video.mime_type, "Content-Range": f"bytes {first}-{last}/{size}"},
                )

    def _publish_photos(self, request: PublishRequest, info: dict[str, Any]) -> str:
        post_info = {**info, "title": request.title, "description": request.text}
        post_info["auto_add_music"] = request.options.get("auto_add_music", "true") == "true"
        body = {
            "post_info": post_info,
            "source_info": {
                "source": "PULL_FROM_URL",
                "photo_cover_index": int(request.options.get("photo_cover_index", "0")),
                "photo_images": self._photo_urls(request),
            },
            "post_mode": "DIRECT_POST",
            "media_type": "PHOTO",
        }
        publish_id = str(self._data("POST", "/v2/post/publish/content/init/", json=body).get("publish_id", ""))
        if not publish_id:
            raise Transient("TikTok did not return a publish id", network=self.key)
        return publish_id

    def publish_status(self, publish_id: str) -> PublishStatus:
        data = self._data("POST", "/v2/post/publish/status/fetch/", json={"publish_id": publish_id})
        # The field name is spelled "publicaly" in TikTok's API.
        ids = data.get("publicaly_available_post_id") or data.get("publicly_available_post_id") or []
        return PublishStatus(
            status=str(data.get("status", "")),
            post_ids=tuple(str(i) for i in ids),
            fail_reason=str(data.get("fail_reason", "")),
        )

    def _wait(self, publish_id: str) -> PublishStatus:
        status = PublishStatus(status="PROCESSING_UPLOAD")
        for attempt in range(self.status_poll_attempts):
            status = self.publish_status(publish_id)
            if status.done:
                return status
            if attempt + 1 < self.status_poll_attempts:
                time.sleep(self.status_poll_interval)
        return status

    # ----------------------------------------------------------------- metrics

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        """Metrics per video; ``publish_id`` values are resolved to post ids first."""
        resolved: dict[str, str] = {}
        for remote_id in remote_ids:
            if "_pub_" in remote_id:
                ids = self.publish_status(remote_id).post_ids
                if ids:
                    resolved[remote_id] = ids[0]
            else:
                resolved[remote_id] = remote_id
        videos: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(resolved.values()))
        fields = urlencode({"fields": "id,like_count,comment_count,share_count,view_count"})
        for start in range(0, len(wanted), 20):
            data = self._data(
                "POST", f"/v2/video/query/?{fields}", json={"filters": {"video_ids": wanted[start : start + 20]}}
            )
            for video in data.get("videos", []):
                videos[str(video.get("id"))] = video
        result = []
        for remote_id in remote_ids:
            video = videos.get(resolved.get(remote_id, ""), {})
            result.append(
                PostMetrics(
                    remote_id=remote_id,
                    likes=video.get("like_count"),
                    comments=video.get("comment_count"),
                    shares=video.get("share_count"),
                    views=video.get("view_count"),
                )
            )
        return result

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def authorization_url(cls, client: OAuthClient, *, state: str, code_challenge: str, base_url: str = "") -> str:
        """TikTok names the client id ``client_key``."""
        assert cls.oauth is not None
        params = {
            "client_key": client.client_id,
            "response_type": "code",
            "scope": cls.oauth.scope_separator.join(cls.oauth.scopes),
            "redirect_uri": client.redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{cls.oauth.authorize_url}?{urlencode(params)}"

    @classmethod
    def _token(cls, form: dict[str, str], base_url: str) -> dict[str, Any]:
        assert cls.oauth is not None
        url = f"{base_url.rstrip('/')}/v2/oauth/token/" if base_url else cls.oauth.token_url
        # TikTok answers token errors with HTTP 200 and {"error": ..., "error_description": ...}.
        return token_request(
            url, form, network=cls.key, label="TikTok", headers={"Cache-Control": "no-cache"}, errors_in_body=True
        )

    @classmethod
    def _credentials(cls, body: dict[str, Any], previous: Credentials | None = None) -> Credentials:
        return token_credentials(body, previous, network=cls.key, scope_separator=",", data_keys=("open_id",))

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        form = {
            "client_key": client.client_id,
            "client_secret": client.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": client.redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        return cls._credentials(cls._token(form, base_url))

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        if not credentials.refresh_token:
            raise AuthExpired("no refresh token: reconnect the TikTok account", network=cls.key)
        form = {
            "client_key": client.client_id,
            "client_secret": client.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
        }
        return cls._credentials(cls._token(form, base_url), credentials)
