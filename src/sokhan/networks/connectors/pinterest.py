"""Pinterest API v5 over httpx: image, carousel and video Pins, analytics, boards.

``Account.target`` is the board id Pins are saved to (``Account.options["board_section_id"]`` is
optional). Rate-limit headers (``x-ratelimit-*``) are read by the shared HTTP layer.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, ConnectorError, Rejected, Transient
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
    PostMetrics,
    Profile,
    PublishRequest,
    PublishResult,
    TextCounting,
)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/x-m4v")
METRICS = ("IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK")


def _classify(response: httpx.Response) -> ConnectorError | None:
    if response.is_success:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    if response.status_code == 401:
        return AuthExpired("Pinterest rejected the access token", network="pinterest", detail=message)
    if response.status_code in (400, 403, 404, 409):
        return Rejected(f"HTTP {response.status_code}", network="pinterest", detail=message)
    return None


def _pin_text(title: str, description: str) -> str:
    """A Pin is matched on its title and description together (either may be empty)."""
    return f"{normalise(title)} \u00a6 {normalise(description)}"


def _pin_time(value: object) -> datetime:
    """Pinterest timestamps are ISO 8601 in UTC, sometimes without an offset."""
    if not isinstance(value, str) or not value:
        return datetime.min.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@register
class PinterestConnector(Connector):
    key = "pinterest"
    name = "Pinterest"
    auth = AuthKind.OAUTH2
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.DELETE,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=500,
        counting=TextCounting.CODE_POINTS,
        title_max=100,
        media=MediaLimits(
            max_count=5,
            image_types=IMAGE_TYPES,
            video_types=VIDEO_TYPES,
            max_image_bytes=20 * 1024 * 1024,
            max_video_bytes=2 * 1024**3,
            min_video_seconds=4,
            max_video_seconds=15 * 60,
            alt_text_max=500,
        ),
        notes="Text is the Pin description. One image, a 2-5 image carousel, or one video per Pin.",
    )
    docs_url = "https://developers.pinterest.com/docs/api/v5/"
    default_base_url = "https://api.pinterest.com"
    oauth = OAuthSpec(
        authorize_url="https://www.pinterest.com/oauth/",
        token_url="https://api.pinterest.com/v5/oauth/token",  # noqa: S106
        scopes=("user_accounts:read", "boards:read", "pins:read", "pins:write"),
        pkce=False,
        scope_separator=",",
    )
    video_poll_attempts: ClassVar[int] = 30
    video_poll_interval: ClassVar[float] = 2.0
    reconcile_page_size: ClassVar[int] = 100
    reconcile_pages: ClassVar[int] = 3

    # ----------------------------------------------------------------- plumbing

    def _http(self, *, authorised: bool = True) -> Http:
        headers = {"Authorization": f"Bearer {self.credentials.access_token}"} if authorised else {}
        return Http(self.key, self.base_url, headers=headers, timeout=self.timeout, classify=_classify)

    def _call(self, method: str, url: str, *, authorised: bool = True, **kwargs: Any) -> httpx.Response:
        return send(self._http(authorised=authorised), method, url, sink=self if authorised else None, **kwargs)

    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return json_object(self._call(method, url, **kwargs), network=self.key, label="Pinterest")

    # ----------------------------------------------------------------- profile

    def _user(self) -> dict[str, Any]:
        return self._json("GET", "/v5/user_account")

    def verify(self) -> Profile:
        user = self._user()
        username = str(user.get("username", ""))
        return Profile(
            remote_id=str(user.get("id", "")),
            handle=username,
            display_name=str(user.get("business_name") or user.get("username") or ""),
            bio=str(user.get("about", "")),
            url=f"https://www.pinterest.com/{username}/" if username else "",
            avatar_url=str(user.get("profile_image", "")),
            links=tuple(filter(None, [str(user.get("website_url") or "")])),
            followers=user.get("follower_count"),
            following=user.get("following_count"),
            posts=user.get("pin_count"),
            raw=user,
        )

    def boards(self) -> list[dict[str, str]]:
        """The account's boards (id, name, privacy), for picking ``Account.target``."""
        found: list[dict[str, str]] = []
        bookmark = ""
        while True:
            params = {"page_size": "250"}
            if bookmark:
                params["bookmark"] = bookmark
            body = self._json("GET", "/v5/boards", params=params)
            for board in body.get("items", []):
                found.append(
                    {
                        "id": str(board.get("id")),
                        "name": str(board.get("name", "")),
                        "privacy": str(board.get("privacy", "")),
                    }
                )
            bookmark = str(body.get("bookmark") or "")
            if not bookmark:
                return found

    # ----------------------------------------------------------------- publishing

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        if not self.account.target:
            raise Rejected("choose the board to pin to", network=self.key, field="target")
        if not request.media:
            raise Rejected("a Pin needs an image or a video", network=self.key, field="media")
        if len([m for m in request.media if m.is_video]) > 1:
            raise Rejected("a Pin holds one video", network=self.key, field="media")
        if len(request.title) > 100:
            raise Rejected("Pinterest titles hold at most 100 characters", network=self.key, field="title")
        if len(request.text) > 500:
            raise Rejected("Pinterest descriptions hold at most 500 characters", network=self.key, field="text")
        if len(request.link) > 2048:
            raise Rejected("Pinterest links hold at most 2048 characters", network=self.key, field="link")

    @staticmethod
    def _b64(item: MediaFile) -> str:
        return base64.b64encode(item.path.read_bytes()).decode("ascii")

    def _upload_video(self, video: MediaFile) -> str:
        registered = self._json("POST", "/v5/media", json={"media_type": "video"})
        media_id = str(registered.get("media_id", ""))
        upload_url = str(registered.get("upload_url", ""))
        fields = {str(k): str(v) for k, v in (registered.get("upload_parameters") or {}).items()}
        if not media_id or not upload_url:
            raise Transient(
                "Pinterest did not register the video upload", network=self.key, detail=str(registered)[:300]
            )
        with video.path.open("rb") as handle:
            # A presigned S3 form: no Pinterest token goes to the storage host.
            self._call(
                "POST",
                upload_url,
                authorised=False,
                data=fields,
                files={"file": (video.path.name, handle, video.mime_type)},
            )
        for attempt in range(self.video_poll_attempts):
            status = self._json("GET", f"/v5/media/{media_id}")
            state = str(status.get("status", ""))
            if state == "succeeded":
                return media_id
            if state == "failed":
                raise Rejected("Pinterest could not process the video", network=self.key, field="media")
            if attempt + 1 < self.video_poll_attempts:
                time.sleep(self.video_poll_interval)
        raise Transient("Pinterest is still processing the video", network=self.key, detail=media_id)

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        payload: dict[str, Any] = {"board_id": self.account.target}
        if self.account.options.get("board_section_id"):
            payload["board_section_id"] = self.account.options["board_section_id"]
        if request.title:
            payload["title"] = request.title
        if request.text:
            payload["description"] = request.text
        if request.link:
            payload["link"] = request.link
        videos = [m for m in request.media if m.is_video]
        if videos:
            media_id = self._upload_video(videos[0])
            source: dict[str, Any] = {"source_type": "video_id", "media_id": media_id}
            if request.options.get("cover_image_url"):
                source["cover_image_url"] = request.options["cover_image_url"]
            else:
                source["cover_image_key_frame_time"] = int(request.options.get("cover_key_frame_time", "0"))
            payload["media_source"] = source
        elif len(request.media) == 1:
            image = request.media[0]
            payload["media_source"] = {
                "source_type": "image_base64",
                "content_type": image.mime_type,
                "data": self._b64(image),
            }
            if image.alt_text:
                payload["alt_text"] = image.alt_text
        else:
            payload["media_source"] = {
                "source_type": "multiple_image_base64",
                "items": [{"content_type": m.mime_type, "data": self._b64(m)} for m in request.media],
            }
        pin = self._json("POST", "/v5/pins", json=payload)
        pin_id = str(pin.get("id", ""))
        if not pin_id:
            raise Transient("Pinterest did not return the Pin id", network=self.key, detail=str(pin)[:300])
        created = str(pin.get("created_at", ""))
        return PublishResult(
            remote_id=pin_id,
            url=f"https://www.pinterest.com/pin/{pin_id}/",
            published_at=datetime.fromisoformat(created) if created else datetime.now(UTC),
            raw=pin,
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The Pin an interrupted :meth:`publish` made: the board's Pins (``GET /v5/boards/{id}/pins``,
        a few pages: a board may be ordered by hand, so every listed Pin is checked) created since the
        first attempt, the oldest whose title and description both equal the request's. A Pin with
        neither cannot be told apart."""
        wanted = _pin_text(request.title, request.text)
        if not normalise(request.title) and not normalise(request.text):
            raise unmatchable(self.key, "the Pin has no title or description to look for")
        pins: list[dict[str, Any]] = []
        params = {"page_size": str(self.reconcile_page_size)}
        for _ in range(self.reconcile_pages):
            body = self._json("GET", f"/v5/boards/{self.account.target}/pins", params=params)
            pins.extend(p for p in body.get("items") or [] if isinstance(p, dict) and p.get("id"))
            bookmark = str(body.get("bookmark") or "")
            if not bookmark:
                break
            params["bookmark"] = bookmark
        pin = find(
            pins,
            wanted,
            start=window_start(request),
            created=lambda p: _pin_time(p.get("created_at")),
            text=lambda p: _pin_text(str(p.get("title") or ""), str(p.get("description") or "")),
        )
        if pin is None:
            return None
        pin_id = str(pin["id"])
        return PublishResult(
            remote_id=pin_id,
            url=f"https://www.pinterest.com/pin/{pin_id}/",
            published_at=_pin_time(pin.get("created_at")),
            raw=pin,
        )

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", f"/v5/pins/{remote_id}")

    # ----------------------------------------------------------------- metrics

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        """Totals over the last 90 days (the longest window the analytics endpoint serves)."""
        today = date.today()
        window = {
            "start_date": (today - timedelta(days=89)).isoformat(),
            "end_date": today.isoformat(),
            "metric_types": ",".join(METRICS),
            "app_types": "ALL",
        }
        result = []
        for pin_id in remote_ids:
            body = self._json("GET", f"/v5/pins/{pin_id}/analytics?{urlencode(window)}")
            section = body.get("all", {})
            totals = section.get("lifetime_metrics") or section.get("summary_metrics") or {}
            outbound = totals.get("OUTBOUND_CLICK")
            pin_clicks = totals.get("PIN_CLICK")
            result.append(
                PostMetrics(
                    remote_id=pin_id,
                    impressions=totals.get("IMPRESSION"),
                    saves=totals.get("SAVE"),
                    clicks=None if outbound is None and pin_clicks is None else (outbound or 0) + (pin_clicks or 0),
                )
            )
        return result

    def account_metrics(self) -> AccountMetrics:
        user = self._user()
        return AccountMetrics(
            followers=user.get("follower_count"),
            following=user.get("following_count"),
            posts=user.get("pin_count"),
            views=user.get("monthly_views"),
        )

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _token(cls, client: OAuthClient, form: dict[str, str], base_url: str) -> dict[str, Any]:
        assert cls.oauth is not None
        url = f"{base_url.rstrip('/')}/v5/oauth/token" if base_url else cls.oauth.token_url
        auth = httpx.BasicAuth(client.client_id, client.client_secret)
        return token_request(url, form, network=cls.key, label="Pinterest", auth=auth)

    @classmethod
    def _credentials(cls, body: dict[str, Any], previous: Credentials | None = None) -> Credentials:
        return token_credentials(body, previous, network=cls.key, scope_separator=r"[\s,]+")

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        body = cls._token(
            client,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri},
            base_url,
        )
        return cls._credentials(body)

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        if not credentials.refresh_token:
            raise AuthExpired("no refresh token: reconnect the Pinterest account", network=cls.key)
        body = cls._token(
            client,
            {
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token,
                "scope": ",".join(cls.oauth.scopes),
            }
            if cls.oauth
            else {},
            base_url,
        )
        return cls._credentials(body, credentials)
