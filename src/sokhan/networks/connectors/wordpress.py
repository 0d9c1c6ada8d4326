"""WordPress: blog publishing over the core REST API (``/wp-json/wp/v2``) with application passwords.

Reference: https://developer.wordpress.org/rest-api/reference/

* Auth: HTTP Basic with the user's login and an application password (WordPress 5.6+).
* ``Account.base_url`` is the site URL; ``Account.options["api_root"]`` overrides ``<site>/wp-json``
  (e.g. ``https://example.com/?rest_route=`` on sites without pretty permalinks).
* Idempotency: WordPress has no idempotency key and core does not expose unregistered post meta over
  REST, so the key is carried in the post ``slug``: ``<ascii title words>-sk<sha256(key)[:12]>``.
  Before creating a post we look the slug up (any status but trash); a retried publish finds the post
  the first attempt made instead of creating a second one. WordPress itself rejects a duplicate comment
  (HTTP 409 ``comment_duplicate``); a retried reply then returns the comment already posted.
* Post metrics: core WordPress counts no views or likes. Only the approved comment count is returned
  (from ``X-WP-Total``); every other number stays None (missing, not zero).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.errors import AuthExpired, ConnectorError, Rejected
from sokhan.networks.http import Http
from sokhan.networks.registry import register
from sokhan.networks.types import (
    AuthKind,
    Capability,
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

# Statuses a retried publish may find its earlier attempt in (trash is excluded on purpose).
_LOOKUP_STATUSES = "publish,future,draft,pending,private"
_AUTH_CODES = frozenset({"invalid_username", "incorrect_password", "invalid_email", "rest_not_logged_in"})
_TAGS = re.compile(r"<[^>]+>")
_PER_PAGE = 100
# ``after`` is compared with the comment's date in a column whose time zone depends on the site; asking
# from a window this much earlier and dropping ids already seen is correct for every UTC offset.
_AFTER_MARGIN = timedelta(hours=15)


def _wp_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("code") or body)[:300]
    return str(body)[:300]


def _classify(network: str) -> Any:
    def classify(response: httpx.Response) -> ConnectorError | None:
        if response.is_success or response.status_code == 429 or response.status_code >= 500:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if response.status_code == 401 or code in _AUTH_CODES:
            return AuthExpired("application password rejected", network=network, detail=message or code)
        field = ""
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            params = body["data"].get("params")
            if isinstance(params, dict) and params:
                field = next(iter(params))
        return Rejected(message or f"HTTP {response.status_code}", network=network, detail=code, field=field)

    return classify


def slug_for(title: str, idempotency_key: str) -> str:
    """A stable slug for one publish: readable ASCII words of the title, then a hash of the key."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    prefix = "-".join(words)[:60].strip("-")
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
    return f"{prefix}-sk{digest}" if prefix else f"sk{digest}"


def _plain(markup: str) -> str:
    return html.unescape(_TAGS.sub("", markup)).strip()


def _parse_gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@register
class WordPressConnector(Connector):
    key = "wordpress"
    idempotent_publish = True
    name = "WordPress"
    auth = AuthKind.APP_PASSWORD
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.HIDE,
            Capability.POST_METRICS,
            Capability.PROFILE_READ,
        }
    )
    limits = Limits(
        max_text=4_294_967_295,  # post_content is a LONGTEXT column: no practical limit
        counting=TextCounting.UTF8_BYTES,
        media=MediaLimits(
            max_count=10,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            max_image_bytes=None,  # the site's upload_max_filesize decides (PHP's default is 2 MB)
            alt_text_max=None,
        ),
        max_comment_text=65_525,  # wp_get_comment_fields_max_lengths(): comment_content
        title_max=65_535,  # post_title is a TEXT column (bytes)
        notes=(
            "No hard text limit (post content is LONGTEXT). The first image becomes the featured image, "
            "further images are appended to the content. Upload size is set by the site's PHP "
            "upload_max_filesize/post_max_size; allowed types by get_allowed_mime_types()."
        ),
    )
    docs_url = "https://developer.wordpress.org/rest-api/reference/"
    credential_fields: ClassVar[Sequence[CredentialField]] = (
        CredentialField("base_url", _("Site URL"), help=_("e.g. https://blog.example.com")),
        CredentialField("username", _("Username")),
        CredentialField(
            "password",
            _("Application password"),
            secret=True,
            help=_("Users → Profile → Application Passwords in the WordPress dashboard."),
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        root = self.account.options.get("api_root") or f"{self.base_url}/wp-json"
        self.http = Http(
            self.key,
            root.rstrip("/"),
            timeout=self.timeout,
            classify=_classify(self.key),
            detail=_wp_detail,
            auth=httpx.BasicAuth(self.credentials.username, self.credentials.password),
        )

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            return self.http.json(method, url, **kwargs)
        finally:
            self.last_rate_limit = self.http.last_rate_limit

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        user = self._json("GET", "/wp/v2/users/me", params={"context": "edit"})
        site = self._json("GET", "/")
        avatars = user.get("avatar_urls") or {}
        avatar = avatars.get("96") or next(iter(avatars.values()), "") if avatars else ""
        return Profile(
            remote_id=str(user["id"]),
            handle=str(user.get("username") or user.get("slug") or ""),
            display_name=str(site.get("name") or user.get("name") or ""),
            bio=str(site.get("description") or user.get("description") or ""),
            url=str(site.get("home") or site.get("url") or self.base_url),
            avatar_url=str(avatar),
            raw={"user": user, "site": {k: site.get(k) for k in ("name", "description", "url", "home", "gmt_offset")}},
        )

    # ----------------------------------------------------------------- publishing

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        title = request.title or _plain(request.text).split("\n", 1)[0][:80]
        slug = request.options.get("slug") or slug_for(title, request.idempotency_key)
        existing = self._json(
            "GET", "/wp/v2/posts", params={"slug": slug, "status": _LOOKUP_STATUSES, "context": "edit"}
        )
        if existing:
            return self._result(existing[0])
        media = [self._upload(item) for item in request.media]
        content = request.text
        for item in media[1:]:
            alt = html.escape(str(item.get("alt_text") or ""), quote=True)
            content += f'\n<figure class="wp-block-image"><img src="{item["source_url"]}" alt="{alt}"/></figure>'
        if request.link:
            link = html.escape(request.link, quote=True)
            content += f'\n<p><a href="{link}">{html.escape(request.link)}</a></p>'
        body: dict[str, Any] = {
            "title": title,
            "content": content,
            "status": request.options.get("status", "publish"),
            "slug": slug,
        }
        if media:
            body["featured_media"] = media[0]["id"]
        if request.options.get("excerpt"):
            body["excerpt"] = request.options["excerpt"]
        post = self._json("POST", "/wp/v2/posts", json=body)
        return self._result(post)

    def _upload(self, item: Any) -> dict[str, Any]:
        data = item.path.read_bytes()
        filename = item.path.name.replace('"', "")
        params = {"alt_text": item.alt_text} if item.alt_text else None
        media: dict[str, Any] = self._json(
            "POST",
            "/wp/v2/media",
            content=data,
            params=params,
            headers={"Content-Type": item.mime_type, "Content-Disposition": f'attachment; filename="{filename}"'},
        )
        return media

    def _result(self, post: dict[str, Any]) -> PublishResult:
        return PublishResult(
            remote_id=str(post["id"]),
            url=str(post.get("link") or ""),
            published_at=_parse_gmt(post.get("date_gmt")),
            raw=post,
        )

    def delete(self, remote_id: str) -> None:
        force = self.account.options.get("delete") == "force"
        try:
            self._json("DELETE", f"/wp/v2/posts/{int(remote_id)}", params={"force": "true"} if force else None)
        except Rejected as exc:
            # Already trashed or already gone: the post is not published any more, which is the goal.
            if exc.detail not in ("rest_already_trashed", "rest_post_invalid_id"):
                raise

    # ----------------------------------------------------------------- engagement

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments (approved and held) newer than ``cursor``.

        The cursor is ``<date_gmt>|<last comment id>`` of the newest comment seen.
        """
        last_id = 0
        params: dict[str, Any] = {
            "context": "edit",
            "status": "all",
            "orderby": "id",
            "order": "asc",
            "per_page": _PER_PAGE,
        }
        if cursor:
            date, _, ident = cursor.partition("|")
            last_id = int(ident or 0)
            since = _parse_gmt(date)
            if since is not None:
                params["after"] = (since - _AFTER_MARGIN).strftime("%Y-%m-%dT%H:%M:%S")
        if post_ids:
            params["post"] = ",".join(str(int(p)) for p in post_ids)
        own = self.account.remote_id
        items: list[RemoteMessage] = []
        page = 1
        while True:
            response = self.http.get("/wp/v2/comments", params={**params, "page": page})
            self.last_rate_limit = self.http.last_rate_limit
            for raw in response.json():
                if int(raw["id"]) <= last_id or (own and str(raw.get("author")) == own):
                    continue
                items.append(self._comment(raw))
            pages = int(response.headers.get("X-WP-TotalPages") or 1)
            if page >= pages:
                break
            page += 1
        if items:
            newest = items[-1]
            cursor = f"{newest.created_at.strftime('%Y-%m-%dT%H:%M:%S')}|{newest.remote_id}"
        return Page(items=tuple(items), cursor=cursor)

    def _comment(self, raw: dict[str, Any]) -> RemoteMessage:
        content = raw.get("content") or {}
        text = content.get("raw") if isinstance(content.get("raw"), str) else _plain(content.get("rendered", ""))
        author = int(raw.get("author") or 0)
        created = _parse_gmt(raw.get("date_gmt")) or datetime.now(UTC)
        return RemoteMessage(
            remote_id=str(raw["id"]),
            kind=MessageKind.COMMENT,
            text=str(text),
            author_id=str(author) if author else "",
            author_handle=str(raw.get("author_name") or ""),
            author_name=str(raw.get("author_name") or ""),
            created_at=created,
            in_reply_to=str(raw["parent"]) if raw.get("parent") else str(raw.get("post", "")),
            root_id=str(raw.get("post", "")),
            url=str(raw.get("link") or ""),
            raw=raw,
        )

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        self.check_reply_media(media)  # the WordPress comments API has no media field
        post = to.root_id or to.remote_id
        parent = int(to.remote_id) if to.kind is MessageKind.COMMENT and to.root_id else 0
        body = {"post": int(post), "parent": parent, "content": text}
        try:
            comment = self._json("POST", "/wp/v2/comments", json=body)
        except Rejected as exc:
            if exc.detail != "comment_duplicate":
                raise
            comment = self._find_duplicate(int(post), parent, text)
            if comment is None:
                raise
        return PublishResult(
            remote_id=str(comment["id"]),
            url=str(comment.get("link") or ""),
            published_at=_parse_gmt(comment.get("date_gmt")),
            raw=comment,
        )

    def _find_duplicate(self, post: int, parent: int, text: str) -> dict[str, Any] | None:
        """The comment a previous attempt posted (WordPress refused the retry as a duplicate)."""
        found = self._json(
            "GET",
            "/wp/v2/comments",
            params={
                "post": post,
                "parent": parent,
                "context": "edit",
                "status": "all",
                "orderby": "id",
                "order": "desc",
                "per_page": _PER_PAGE,
            },
        )
        for comment in found:
            raw = (comment.get("content") or {}).get("raw", "")
            if str(raw).strip() == text.strip():
                return dict(comment)
        return None

    def hide(self, remote_id: str) -> None:
        self._json("POST", f"/wp/v2/comments/{int(remote_id)}", json={"status": "hold"})

    # ----------------------------------------------------------------- metrics

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        metrics = []
        for remote_id in remote_ids:
            response = self.http.get("/wp/v2/comments", params={"post": int(remote_id), "per_page": 1})
            self.last_rate_limit = self.http.last_rate_limit
            total = response.headers.get("X-WP-Total")
            metrics.append(PostMetrics(remote_id=remote_id, comments=int(total) if total is not None else None))
        return metrics
