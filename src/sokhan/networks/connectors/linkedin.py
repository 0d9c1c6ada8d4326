"""LinkedIn organisation pages through the versioned REST API (Posts, Images, Social Actions, statistics).

``Account.target`` is the organisation URN (``urn:li:organization:<id>``; a bare id is accepted).
Every request carries ``LinkedIn-Version`` (``Account.options["linkedin_version"]`` overrides the
default) and ``X-Restli-Protocol-Version: 2.0.0``. URNs in paths and in ``List(...)`` query values
are URL-encoded as Rest.li 2.0 requires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from sokhan.networks.base import Connector, OAuthClient, OAuthSpec
from sokhan.networks.errors import AuthExpired, ConnectorError, RateLimited, Rejected, Transient
from sokhan.networks.http import Http, json_object, retry_after_seconds, send
from sokhan.networks.oauth import token_credentials, token_request
from sokhan.networks.reconcile import needs_text, normalise, window_start
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

DEFAULT_VERSION = "202601"
RESERVED = set("\\|{}@[]()<>#*_~")
_URL = re.compile(r"https?://\S+")
_HASHTAG = re.compile(r"(?<![\w\u200c])#([\w\u200c]+)")


def _escape_plain(text: str) -> str:
    return "".join("\\" + ch if ch in RESERVED else ch for ch in text)


def escape_little_text(text: str, *, hashtags: bool = True) -> str:
    """Escape LinkedIn's "little text format" reserved characters so text is published as written.

    Unescaped reserved characters make LinkedIn silently truncate the commentary. URLs are kept as
    they are so LinkedIn still links them; ``#word`` becomes a hashtag template when ``hashtags``.
    """
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        out.append(_escape_segment(text[position : match.start()], hashtags))
        out.append(match.group(0))
        position = match.end()
    out.append(_escape_segment(text[position:], hashtags))
    return "".join(out)


def _escape_segment(segment: str, hashtags: bool) -> str:
    if not hashtags:
        return _escape_plain(segment)
    out: list[str] = []
    position = 0
    for match in _HASHTAG.finditer(segment):
        out.append(_escape_plain(segment[position : match.start()]))
        out.append("{hashtag|\\#|" + _escape_plain(match.group(1)) + "}")
        position = match.end()
    out.append(_escape_plain(segment[position:]))
    return "".join(out)


def _urn_path(urn: str) -> str:
    return quote(urn, safe="")


def _ms(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _classify(response: httpx.Response) -> ConnectorError | None:
    if response.is_success:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    code = str(body.get("code", ""))
    message = str(body.get("message", ""))
    if response.status_code == 401 or code in ("INVALID_ACCESS_TOKEN", "EXPIRED_ACCESS_TOKEN", "REVOKED_ACCESS_TOKEN"):
        return AuthExpired("access token rejected", network="linkedin", detail=message or code)
    if response.status_code == 429:
        # LinkedIn's daily application and member limits reset at midnight UTC; it sends no Retry-After.
        now = datetime.now(UTC)
        retry = retry_after_seconds(response.headers.get("retry-after"), now)
        if retry is None:
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            retry = (midnight - now).total_seconds()
        return RateLimited("LinkedIn rate limit reached", retry_after=retry, network="linkedin", detail=message)
    if response.status_code in (400, 403, 404, 409, 422):
        field = ""
        details = body.get("errorDetails")
        if isinstance(details, dict):
            inputs = details.get("inputErrors")
            if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
                location = inputs[0].get("input", {})
                if isinstance(location, dict):
                    field = str(location.get("inputPath", {}).get("fieldPath", ""))
        return Rejected(f"HTTP {response.status_code}", network="linkedin", detail=message, field=field)
    return None


@register
class LinkedInConnector(Connector):
    key = "linkedin"
    name = "LinkedIn"
    auth = AuthKind.OAUTH2
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.POST_METRICS,
            Capability.ACCOUNT_METRICS,
            Capability.RECONCILE,
        }
    )
    limits = Limits(
        max_text=3000,
        counting=TextCounting.UTF16,
        media=MediaLimits(
            max_count=20,
            image_types=("image/jpeg", "image/png", "image/gif"),
            alt_text_max=4086,
        ),
        max_comment_text=1250,
        notes=(
            "Commentary is little text format; reserved characters are escaped. 2-20 images become a "
            "multiImage post. Images may hold at most 36,152,320 pixels."
        ),
    )
    docs_url = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api"
    default_base_url = "https://api.linkedin.com"
    oauth = OAuthSpec(
        authorize_url="https://www.linkedin.com/oauth/v2/authorization",
        token_url="https://www.linkedin.com/oauth/v2/accessToken",  # noqa: S106
        scopes=("r_organization_social", "w_organization_social", "rw_organization_admin"),
        pkce=False,
    )
    comment_page_size: ClassVar[int] = 50
    reconcile_page_size: ClassVar[int] = 50
    reconcile_pages: ClassVar[int] = 4

    # ----------------------------------------------------------------- plumbing

    @property
    def organization(self) -> str:
        target = self.account.target or self.account.remote_id
        if not target:
            raise Rejected("no organisation URN configured", network=self.key, field="target")
        return target if target.startswith("urn:li:") else f"urn:li:organization:{target}"

    def _http(self) -> Http:
        http = Http(
            self.key,
            self.base_url,
            headers={
                "Authorization": f"Bearer {self.credentials.access_token}",
                "LinkedIn-Version": self.account.options.get("linkedin_version", DEFAULT_VERSION),
                "X-Restli-Protocol-Version": "2.0.0",
            },
            timeout=self.timeout,
            classify=_classify,
        )
        return http

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return send(self._http(), method, url, sink=self, **kwargs)

    def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return json_object(self._call(method, url, **kwargs), network=self.key, label="LinkedIn")

    # ----------------------------------------------------------------- profile

    def _follower_count(self) -> int | None:
        body = self._json(
            "GET",
            f"/rest/networkSizes/{_urn_path(self.organization)}",
            params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        )
        value = body.get("firstDegreeSize")
        return int(value) if isinstance(value, int) else None

    def verify(self) -> Profile:
        org_id = self.organization.rsplit(":", 1)[-1]
        body = self._json("GET", f"/rest/organizations/{org_id}")
        vanity = str(body.get("vanityName", ""))
        return Profile(
            remote_id=self.organization,
            handle=vanity or org_id,
            display_name=str(body.get("localizedName", "")),
            bio=str(body.get("localizedDescription", "")),
            url=f"https://www.linkedin.com/company/{vanity or org_id}/",
            links=tuple(filter(None, [str(body.get("localizedWebsite", ""))])),
            followers=self._follower_count(),
            raw=body,
        )

    # ----------------------------------------------------------------- publishing

    def _upload_image(self, path_bytes: bytes) -> str:
        body = self._json(
            "POST",
            "/rest/images",
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.organization}},
        )
        value = body.get("value", {})
        upload_url = str(value.get("uploadUrl", ""))
        image = str(value.get("image", ""))
        if not upload_url or not image:
            raise Transient("LinkedIn did not return an upload URL", network=self.key, detail=str(body)[:300])
        self._call("PUT", upload_url, content=path_bytes, headers={"Content-Type": "application/octet-stream"})
        return image

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        payload: dict[str, Any] = {
            "author": self.organization,
            "commentary": escape_little_text(request.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if request.media:
            images = [
                {"id": self._upload_image(item.path.read_bytes()), "altText": item.alt_text} for item in request.media
            ]
            if len(images) == 1:
                payload["content"] = {"media": images[0]}
            else:
                payload["content"] = {"multiImage": {"images": images}}
        elif request.link:
            article: dict[str, str] = {"source": request.link}
            if request.title:
                article["title"] = request.title
            payload["content"] = {"article": article}
        response = self._call("POST", "/rest/posts", json=payload)
        urn = response.headers.get("x-restli-id", "")
        if not urn:
            raise Transient("LinkedIn did not return the post id", network=self.key)
        return PublishResult(
            remote_id=urn,
            url=f"https://www.linkedin.com/feed/update/{urn}/",
            published_at=datetime.now(UTC),
            raw={"x-restli-id": urn},
        )

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an interrupted :meth:`publish` made: the organisation's posts, newest first
        (``GET /rest/posts?q=author&sortBy=CREATED``), back to the first attempt; the oldest whose
        ``commentary`` equals the request's text as published (escaped little text) wins."""
        needs_text(request, self.key)
        wanted = normalise(escape_little_text(request.text))
        start_ms = int(window_start(request).timestamp() * 1000)
        matches: list[tuple[int, dict[str, Any]]] = []
        for page in range(self.reconcile_pages):
            query = urlencode(
                {
                    "q": "author",
                    "author": self.organization,
                    "sortBy": "CREATED",
                    "start": str(page * self.reconcile_page_size),
                    "count": str(self.reconcile_page_size),
                }
            )
            elements = self._json("GET", f"/rest/posts?{query}").get("elements") or []
            for post in elements:
                created = int(post.get("createdAt") or 0)
                if created >= start_ms and normalise(str(post.get("commentary") or "")) == wanted:
                    matches.append((created, post))
            oldest_on_page = min((int(p.get("createdAt") or 0) for p in elements), default=0)
            if len(elements) < self.reconcile_page_size or oldest_on_page < start_ms:
                break
        if not matches:
            return None
        created, post = min(matches, key=lambda pair: pair[0])
        urn = str(post.get("id", ""))
        return PublishResult(
            remote_id=urn,
            url=f"https://www.linkedin.com/feed/update/{urn}/",
            published_at=_ms(post.get("publishedAt") or created),
            raw=post,
        )

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", f"/rest/posts/{_urn_path(remote_id)}")

    # ----------------------------------------------------------------- comments

    def _comment(self, item: dict[str, Any], post: str) -> RemoteMessage:
        created = item.get("created", {})
        urn = str(item.get("commentUrn") or item.get("$URN") or item.get("id", ""))
        parent = str(item.get("parentComment", ""))
        return RemoteMessage(
            remote_id=urn,
            kind=MessageKind.COMMENT,
            text=str(item.get("message", {}).get("text", "")),
            author_id=str(item.get("actor", "")),
            author_handle=str(item.get("actor", "")),
            created_at=_ms(created.get("time")),
            in_reply_to=parent or post,
            root_id=post,
            url=f"https://www.linkedin.com/feed/update/{post}/",
            raw=item,
        )

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments on ``post_ids`` newer than ``cursor`` (a millisecond timestamp watermark)."""
        since = int(cursor) if cursor.isdigit() else 0
        found: list[RemoteMessage] = []
        newest = since
        for post in post_ids:
            body = self._json(
                "GET",
                f"/rest/socialActions/{_urn_path(post)}/comments",
                params={"start": "0", "count": str(self.comment_page_size)},
            )
            for item in body.get("elements", []):
                when = int(item.get("created", {}).get("time", 0))
                if when > since and str(item.get("actor", "")) != self.organization:
                    found.append(self._comment(item, post))
                newest = max(newest, when)
        found.sort(key=lambda m: m.created_at)
        return Page(items=tuple(found), cursor=str(newest) if newest else cursor)

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """Comment on a post (``to`` is a post) or answer a comment (``to`` is a comment URN)."""
        self.check_reply_media(media)  # LinkedIn comments are sent as text only here
        is_comment = to.remote_id.startswith("urn:li:comment:")
        target = to.remote_id
        post = to.root_id or to.remote_id
        payload: dict[str, Any] = {
            "actor": self.organization,
            "object": post,
            "message": {"text": escape_little_text(text, hashtags=False)},
        }
        if is_comment:
            payload["parentComment"] = target
        response = self._call("POST", f"/rest/socialActions/{_urn_path(target)}/comments", json=payload)
        body: dict[str, Any] = {}
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = {}
        urn = str(body.get("commentUrn") or response.headers.get("x-restli-id", ""))
        return PublishResult(remote_id=urn, url=f"https://www.linkedin.com/feed/update/{post}/", raw=body)

    # ----------------------------------------------------------------- metrics

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        shares = [r for r in remote_ids if r.startswith("urn:li:share:")]
        ugc = [r for r in remote_ids if r.startswith("urn:li:ugcPost:")]
        stats: dict[str, dict[str, Any]] = {}
        for name, ids in (("shares", shares), ("ugcPosts", ugc)):
            if not ids:
                continue
            query = urlencode({"q": "organizationalEntity", "organizationalEntity": self.organization})
            listed = ",".join(_urn_path(i) for i in ids)
            body = self._json("GET", f"/rest/organizationalEntityShareStatistics?{query}&{name}=List({listed})")
            for element in body.get("elements", []):
                key = str(element.get("share") or element.get("ugcPost") or "")
                stats[key] = element.get("totalShareStatistics", {})
        result = []
        for remote_id in remote_ids:
            s = stats.get(remote_id, {})
            result.append(
                PostMetrics(
                    remote_id=remote_id,
                    likes=s.get("likeCount"),
                    comments=s.get("commentCount"),
                    shares=s.get("shareCount"),
                    clicks=s.get("clickCount"),
                    impressions=s.get("impressionCount"),
                    reach=s.get("uniqueImpressionsCount"),
                )
            )
        return result

    def account_metrics(self) -> AccountMetrics:
        followers = self._follower_count()
        query = urlencode({"q": "organizationalEntity", "organizationalEntity": self.organization})
        body = self._json("GET", f"/rest/organizationalEntityShareStatistics?{query}")
        elements = body.get("elements", [])
        totals: dict[str, Any] = elements[0].get("totalShareStatistics", {}) if elements else {}
        return AccountMetrics(
            followers=followers,
            impressions=totals.get("impressionCount"),
            reach=totals.get("uniqueImpressionsCount"),
        )

    # ----------------------------------------------------------------- OAuth

    @classmethod
    def _token(cls, form: dict[str, str], base_url: str) -> dict[str, Any]:
        assert cls.oauth is not None
        url = f"{base_url.rstrip('/')}/oauth/v2/accessToken" if base_url else cls.oauth.token_url
        return token_request(url, form, network=cls.key, label="LinkedIn", headers={"Accept": "application/json"})

    @classmethod
    def _credentials(cls, body: dict[str, Any], previous: Credentials | None = None) -> Credentials:
        return token_credentials(body, previous, network=cls.key, scope_separator=r"[ ,]+")

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        body = cls._token(
            {
                "grant_type": "authorization_code",
                "code": code,
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
            raise AuthExpired("no refresh token: reconnect the LinkedIn page", network=cls.key)
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
