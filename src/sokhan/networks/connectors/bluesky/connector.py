"""Bluesky through the ``atproto`` SDK, against the account's PDS (default https://bsky.social).

Auth: handle + app password (``com.atproto.server.createSession``); the session's tokens are kept in
``Credentials.access_token``/``refresh_token`` (+ ``data["did"]``) and refreshed with
``com.atproto.server.refreshSession``. When the connector obtains new tokens it sets
``credentials_changed`` and ``credentials`` so the caller can store them.

Idempotency: a post's record key is a TID derived from ``PublishRequest.idempotency_key`` (see
:mod:`.tid`). A second create with the same key fails; the connector then reads the record back and
returns it as already published, so a retried publish cannot duplicate.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

import httpx
from atproto import Client  # type: ignore[import-untyped]
from atproto_client.client.session import Session, SessionEvent  # type: ignore[import-untyped]
from atproto_client.exceptions import (  # type: ignore[import-untyped]
    BadRequestError,
    InvokeTimeoutError,
    LoginRequiredError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.models.utils import get_model_as_dict  # type: ignore[import-untyped]
from atproto_client.request import Request  # type: ignore[import-untyped]
from atproto_core.exceptions import AtProtocolError  # type: ignore[import-untyped]
from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.connectors.bluesky import facets as richtext
from sokhan.networks.connectors.bluesky.tid import tid_for
from sokhan.networks.errors import AuthExpired, ConnectorError, OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.http import parse_rate_limit
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

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
PROFILE = "app.bsky.actor.profile"
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AccountTakedown"})
MAX_IMAGE_BYTES = 1_000_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _when(value: Any) -> datetime:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return datetime.now(UTC)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def split_uri(uri: str) -> tuple[str, str, str]:
    """``at://did/collection/rkey`` → (did, collection, rkey)."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3:
        raise Rejected(f"not a record URI: {uri!r}", network="bluesky", field="remote_id")
    return parts[0], parts[1], parts[2]


def _as_dict(model: Any) -> dict[str, Any]:
    return get_model_as_dict(model) if model is not None else {}


@register
class BlueskyConnector(Connector):
    key = "bluesky"
    idempotent_publish = True
    name = "Bluesky"
    auth = AuthKind.APP_PASSWORD
    docs_url = "https://docs.bsky.app/docs/category/http-reference"
    default_base_url = "https://bsky.social"
    credential_fields: ClassVar[Sequence[CredentialField]] = (
        CredentialField("username", _("Handle"), help=_("For example name.bsky.social")),
        CredentialField(
            "password", _("App password"), secret=True, help=_("Settings → Privacy and security → App passwords")
        ),
        CredentialField("base_url", _("PDS URL"), required=False, help=_("Leave empty for https://bsky.social")),
    )
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_THREAD,
            Capability.PUBLISH_REPLY,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
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
        max_text=300,
        counting=TextCounting.GRAPHEMES,
        media=MediaLimits(
            max_count=4,
            image_types=("image/jpeg", "image/png", "image/webp"),
            max_image_bytes=MAX_IMAGE_BYTES,
            alt_text_max=2000,
        ),
        max_thread_parts=25,
        max_comment_text=300,
        notes=(
            "app.bsky.feed.post text: at most 300 graphemes and 3000 UTF-8 bytes. app.bsky.embed.images: up to 4 "
            "images of at most 1,000,000 bytes each, with alt text (the Bluesky app caps alt text at 2000 "
            "graphemes). Mentions, links and hashtags become facets with UTF-8 byte offsets."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Client | None = None
        self.credentials_changed = False

    # ----------------------------------------------------------------- session

    def _on_session(self, event: SessionEvent, session: Session) -> None:
        self.credentials = dataclasses.replace(
            self.credentials,
            access_token=session.access_jwt,
            refresh_token=session.refresh_jwt,
            username=self.credentials.username or session.handle,
            data={**self.credentials.data, "did": session.did, "handle": session.handle},
        )
        self.credentials_changed = True

    @property
    def client(self) -> Client:
        if self._client is None:
            client = Client(base_url=self.base_url, request=Request(timeout=self.timeout))
            creds = self.credentials
            did = creds.data.get("did", "")
            if creds.access_token and creds.refresh_token and did:
                handle = creds.data.get("handle") or creds.username or did
                session = Session(handle, did, creds.access_token, creds.refresh_token, self.base_url)
                self._guard(lambda: client.login(session_string=session.encode(), fetch_bsky_profile=False))
                client.on_session_change(self._on_session)
            elif creds.username and creds.password:
                client.on_session_change(self._on_session)
                self._guard(lambda: client.login(creds.username, creds.password, fetch_bsky_profile=False))
            else:
                raise AuthExpired("a handle and an app password are required", network=self.key)
            self._client = client
        return self._client

    def _session(self) -> Session:
        session = self.client._session
        if session is None:
            raise AuthExpired("not logged in", network=self.key)
        return session

    @property
    def did(self) -> str:
        return str(self._session().did)

    def _relogin(self) -> bool:
        """After an ExpiredToken: refresh the session, or log in again with the app password."""
        client = self.client
        try:
            client._refresh_and_set_session()
            return True
        except AtProtocolError:
            pass
        if self.credentials.username and self.credentials.password:
            self._guard(
                lambda: client.login(self.credentials.username, self.credentials.password, fetch_bsky_profile=False)
            )
            return True
        return False

    # ----------------------------------------------------------------- errors

    def _guard[T](self, fn: Callable[[], T], *, write: bool = False) -> T:
        try:
            return fn()
        except AtProtocolError as exc:
            raise self._map(exc, write=write) from exc

    def _call[T](self, fn: Callable[[], T], *, write: bool = False) -> T:
        try:
            return fn()
        except BadRequestError as exc:
            error = exc.response.content.error if exc.response and hasattr(exc.response.content, "error") else ""
            if error != "ExpiredToken" or not self._relogin():
                raise self._map(exc, write=write) from exc
        except AtProtocolError as exc:
            raise self._map(exc, write=write) from exc
        return self._guard(fn, write=write)

    def _map(self, exc: AtProtocolError, *, write: bool) -> ConnectorError:
        response = exc.response if isinstance(exc, RequestErrorBase) else None
        error, message = "", str(exc)
        if response is not None:
            content = response.content
            error = str(getattr(content, "error", "") or "")
            message = str(getattr(content, "message", "") or error or response.status_code)
            self.last_rate_limit = parse_rate_limit(dict(response.headers)) or self.last_rate_limit
        if isinstance(exc, RateLimitExceededError):
            return RateLimited("rate limited", retry_after=exc.retry_after, network=self.key, detail=message)
        if isinstance(exc, UnauthorizedError | LoginRequiredError) or error in AUTH_ERRORS:
            return AuthExpired("the session or app password is no longer valid", network=self.key, detail=message)
        if response is None:
            cause = exc.__cause__
            if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout) or not write:
                return Transient("cannot reach the PDS", network=self.key, detail=str(cause or exc))
            if isinstance(exc, InvokeTimeoutError | NetworkError):
                return OutcomeUnknown("the request was sent but no answer came back", network=self.key, detail=message)
            return Transient(str(exc), network=self.key)
        status = response.status_code
        if status == 413:
            return Rejected("the upload is too large", network=self.key, detail=message, field="media")
        if status >= 500 or status == 408:
            if write and status in (502, 504):
                return OutcomeUnknown(f"HTTP {status} after sending", network=self.key, detail=message)
            return Transient(f"HTTP {status}", network=self.key, detail=message)
        return Rejected(message, network=self.key, detail=error)

    # ----------------------------------------------------------------- reading helpers

    def _posts(self, uris: Sequence[str]) -> list[dict[str, Any]]:
        views: list[dict[str, Any]] = []
        for start in range(0, len(uris), 25):
            chunk = list(uris[start : start + 25])
            result: Any = self._call(partial(self.client.app.bsky.feed.get_posts, {"uris": chunk}))
            views.extend(_as_dict(p) for p in result.posts)
        return views

    def _message(self, view: dict[str, Any], kind: MessageKind, *, root_id: str = "") -> RemoteMessage:
        author = view.get("author") or {}
        record = view.get("record") or {}
        reply = record.get("reply") or {}
        _, _, rkey = split_uri(str(view["uri"]))
        langs = record.get("langs") or []
        return RemoteMessage(
            remote_id=str(view["uri"]),
            kind=kind,
            text=str(record.get("text", "")),
            author_id=str(author.get("did", "")),
            author_handle=str(author.get("handle", "")),
            author_name=str(author.get("displayName") or ""),
            created_at=_when(record.get("createdAt") or view.get("indexedAt")),
            url=f"https://bsky.app/profile/{author.get('handle', '')}/post/{rkey}",
            lang=str(langs[0]) if langs else "",
            in_reply_to=str((reply.get("parent") or {}).get("uri", "")),
            root_id=root_id or str((reply.get("root") or {}).get("uri", "")),
            raw={**view, "indexedAt": view.get("indexedAt", "")},
        )

    @staticmethod
    def _page(items: list[RemoteMessage], cursor: str) -> Page[RemoteMessage]:
        """Cursor = the newest ``indexedAt`` seen (ISO 8601 UTC strings compare in time order)."""
        fresh = {m.remote_id: m for m in items if str(m.raw.get("indexedAt", "")) > cursor}
        ordered = sorted(fresh.values(), key=lambda m: str(m.raw.get("indexedAt", "")))
        return Page(items=tuple(ordered), cursor=str(ordered[-1].raw["indexedAt"]) if ordered else cursor)

    # ----------------------------------------------------------------- profile

    def _profile_view(self) -> dict[str, Any]:
        return _as_dict(self._call(lambda: self.client.app.bsky.actor.get_profile({"actor": self.did})))

    def _to_profile(self, view: dict[str, Any]) -> Profile:
        website = str(view.get("website") or "")
        return Profile(
            remote_id=str(view["did"]),
            handle=str(view.get("handle", "")),
            display_name=str(view.get("displayName") or ""),
            bio=str(view.get("description") or ""),
            url=f"https://bsky.app/profile/{view.get('handle', '')}",
            avatar_url=str(view.get("avatar") or ""),
            header_url=str(view.get("banner") or ""),
            links=(website,) if website else (),
            followers=view.get("followersCount"),
            following=view.get("followsCount"),
            posts=view.get("postsCount"),
            raw=view,
        )

    def verify(self) -> Profile:
        return self._to_profile(self._profile_view())

    def account_metrics(self) -> AccountMetrics:
        view = self._profile_view()
        return AccountMetrics(
            followers=view.get("followersCount"), following=view.get("followsCount"), posts=view.get("postsCount")
        )

    def update_profile(self, update: ProfileUpdate) -> Profile:
        """Read ``app.bsky.actor.profile/self``, merge, and ``putRecord`` it with ``swapRecord``."""
        if update.display_name is not None and richtext.graphemes(update.display_name) > 64:
            raise Rejected("the display name is longer than 64 graphemes", network=self.key, field="display_name")
        if update.bio is not None and richtext.graphemes(update.bio) > 256:
            raise Rejected("the bio is longer than 256 graphemes", network=self.key, field="bio")
        current: dict[str, Any] = {}
        swap: str | None = None
        try:
            existing = self._call(
                lambda: self.client.com.atproto.repo.get_record(
                    {"repo": self.did, "collection": PROFILE, "rkey": "self"}
                )
            )
            current, swap = _as_dict(existing.value), existing.cid
        except Rejected as exc:
            if "RecordNotFound" not in exc.detail and "Could not locate record" not in exc.reason:
                raise
        record = {**current, "$type": PROFILE}
        if update.display_name is not None:
            record["displayName"] = update.display_name
        if update.bio is not None:
            record["description"] = update.bio
        if update.url is not None:
            record["website"] = update.url
        for media, name in ((update.avatar, "avatar"), (update.header, "banner")):
            if media is not None:
                if media.mime_type not in ("image/png", "image/jpeg"):
                    raise Rejected(f"the {name} must be PNG or JPEG", network=self.key, field=name)
                record[name] = self._upload(media)
        data: dict[str, Any] = {"repo": self.did, "collection": PROFILE, "rkey": "self", "record": record}
        if swap:
            data["swapRecord"] = swap
        self._call(lambda: self.client.com.atproto.repo.put_record(data), write=True)
        profile = self.verify()
        return dataclasses.replace(
            profile,
            display_name=str(record.get("displayName") or ""),
            bio=str(record.get("description") or ""),
            links=(str(record["website"]),) if record.get("website") else (),
        )

    # ----------------------------------------------------------------- publishing

    def _upload(self, media: MediaFile) -> dict[str, Any]:
        data = media.path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            raise Rejected(
                f"{media.path.name} is {len(data)} bytes; Bluesky takes at most {MAX_IMAGE_BYTES}",
                network=self.key,
                field="media",
            )
        result = self._call(
            lambda: self.client.com.atproto.repo.upload_blob(data, headers={"Content-Type": media.mime_type}),
            write=True,
        )
        return _as_dict(result.blob)

    def _check_text(self, text: str) -> None:
        if richtext.graphemes(text) > self.limits.max_text:
            raise Rejected("the text is longer than 300 graphemes", network=self.key, field="text")
        if len(text.encode("utf-8")) > 3000:
            raise Rejected("the text is longer than 3000 UTF-8 bytes", network=self.key, field="text")

    def _resolve(self, handle: str) -> str | None:
        try:
            result = self.client.com.atproto.identity.resolve_handle({"handle": handle})
        except AtProtocolError:
            return None
        return str(result.did)

    def _existing(self, collection: str, rkey: str) -> dict[str, Any] | None:
        try:
            found = self.client.com.atproto.repo.get_record({"repo": self.did, "collection": collection, "rkey": rkey})
        except AtProtocolError:
            return None
        return {"uri": found.uri, "cid": found.cid, "value": _as_dict(found.value)}

    def _create(self, collection: str, record: dict[str, Any], rkey: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {"repo": self.did, "collection": collection, "record": record}
        if rkey:
            data["rkey"] = rkey
        try:
            created = self._call(lambda: self.client.com.atproto.repo.create_record(data), write=True)
        except (Transient, OutcomeUnknown):
            # A second create with the same record key fails (HTTP 500 on the reference PDS); after a
            # timeout the first may have landed. Either way: if the record is there, it is published.
            existing = self._existing(collection, rkey) if rkey else None
            if existing is None:
                raise
            return existing
        return {"uri": created.uri, "cid": created.cid, "value": record}

    def _post_record(
        self,
        text: str,
        *,
        reply: dict[str, Any] | None = None,
        embed: dict[str, Any] | None = None,
        langs: Sequence[str] = (),
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": _now()}
        found = richtext.facets(text, self._resolve)
        if found:
            record["facets"] = found
        if langs:
            record["langs"] = list(langs)
        if reply:
            record["reply"] = reply
        if embed:
            record["embed"] = embed
        return record

    def _reply_ref(self, parent_uri: str) -> dict[str, Any]:
        views = self._posts([parent_uri])
        if not views:
            raise Rejected("the post to reply to was not found", network=self.key, field="reply_to")
        parent = {"uri": views[0]["uri"], "cid": views[0]["cid"]}
        root = ((views[0].get("record") or {}).get("reply") or {}).get("root") or parent
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent}

    def _url(self, uri: str) -> str:
        _, _, rkey = split_uri(uri)
        return f"https://bsky.app/profile/{self._session().handle}/post/{rkey}"

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        for part in (request.text, *request.thread):
            self._check_text(part)
        for item in request.media:
            if item.alt_text and richtext.graphemes(item.alt_text) > (self.limits.media.alt_text_max or 2000):
                raise Rejected("alt text is too long", network=self.key, field="media")
        langs = [x for x in request.options.get("langs", "").split(",") if x]
        key = request.idempotency_key
        # Uploads are not records: re-uploading the same bytes after a retry yields the same blob CID.
        embed = None
        if request.media:
            images = []
            for item in request.media:
                image: dict[str, Any] = {"alt": item.alt_text, "image": self._upload(item)}
                if item.width and item.height:
                    image["aspectRatio"] = {"width": item.width, "height": item.height}
                images.append(image)
            embed = {"$type": "app.bsky.embed.images", "images": images}
        reply = self._reply_ref(request.reply_to) if request.reply_to else None
        first = self._create(
            POST, self._post_record(request.text, reply=reply, embed=embed, langs=langs), tid_for(key) if key else ""
        )
        root = reply["root"] if reply else {"uri": first["uri"], "cid": first["cid"]}
        parent = {"uri": first["uri"], "cid": first["cid"]}
        thread_ids = []
        for index, part in enumerate(request.thread, start=1):
            ref = {"root": root, "parent": parent}
            created = self._create(
                POST, self._post_record(part, reply=ref, langs=langs), tid_for(f"{key}#{index}") if key else ""
            )
            parent = {"uri": created["uri"], "cid": created["cid"]}
            thread_ids.append(str(created["uri"]))
        return PublishResult(
            remote_id=str(first["uri"]),
            url=self._url(str(first["uri"])),
            published_at=_when(first["value"].get("createdAt")),
            thread_ids=tuple(thread_ids),
            raw=first,
        )

    def delete(self, remote_id: str) -> None:
        repo, collection, rkey = split_uri(remote_id)
        self._call(
            lambda: self.client.com.atproto.repo.delete_record({"repo": repo, "collection": collection, "rkey": rkey}),
            write=True,
        )

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A post answering ``to``; images go in an ``app.bsky.embed.images`` embed as in :meth:`publish`."""
        self.check_reply_media(media)
        key = idempotency_key or uuid.uuid4().hex
        return self.publish(PublishRequest(text=text, idempotency_key=key, media=tuple(media), reply_to=to.remote_id))

    def like(self, remote_id: str) -> None:
        views = self._posts([remote_id])
        if not views:
            raise Rejected("the post to like was not found", network=self.key, field="remote_id")
        subject = {"uri": views[0]["uri"], "cid": views[0]["cid"]}
        self._create(LIKE, {"$type": LIKE, "subject": subject, "createdAt": _now()})

    # ----------------------------------------------------------------- inbox and listening

    def _walk(self, node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for child in node.get("replies") or []:
            if isinstance(child, dict) and "post" in child:
                yield child["post"]
                yield from self._walk(child)

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Replies under our posts from ``app.bsky.feed.getPostThread``, newer than ``cursor``."""
        items: list[RemoteMessage] = []
        for uri in post_ids:
            params = {"uri": uri, "depth": 10, "parentHeight": 0}
            thread: Any = self._call(partial(self.client.app.bsky.feed.get_post_thread, params))
            root = _as_dict(thread.thread)
            items.extend(self._message(view, MessageKind.COMMENT, root_id=uri) for view in self._walk(root))
        return self._page(items, cursor)

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        """``app.bsky.notification.listNotifications`` with reasons mention and reply."""
        result = self._call(
            lambda: self.client.app.bsky.notification.list_notifications({"limit": 50, "reasons": ["mention", "reply"]})
        )
        items = []
        for note in (_as_dict(n) for n in result.notifications):
            if note.get("reason") not in ("mention", "reply"):
                continue
            kind = MessageKind.MENTION if note["reason"] == "mention" else MessageKind.COMMENT
            items.append(self._message(note, kind))
        return self._page(items, cursor)

    def search(self, query: str, cursor: str = "") -> Page[RemoteMessage]:
        """``app.bsky.feed.searchPosts`` (sort=latest); ``cursor`` is the newest ``indexedAt`` seen."""
        params: dict[str, Any] = {"q": query, "sort": "latest", "limit": 50}
        if cursor:
            params["since"] = cursor
        result = self._call(lambda: self.client.app.bsky.feed.search_posts(params))
        items = [self._message(_as_dict(p), MessageKind.POST) for p in result.posts]
        return self._page(items, cursor)

    def hashtag_timeline(self, tag: str, cursor: str = "") -> Page[RemoteMessage]:
        """Posts tagged ``#tag``: ``app.bsky.feed.searchPosts`` filtered by ``tag`` (facet or tags
        field; the query ``#tag`` is what the search service needs besides); cursor as :meth:`search`."""
        params: dict[str, Any] = {"q": f"#{tag}", "tag": [tag], "sort": "latest", "limit": 50}
        if cursor:
            params["since"] = cursor
        result = self._call(lambda: self.client.app.bsky.feed.search_posts(params))
        items = [self._message(_as_dict(p), MessageKind.POST) for p in result.posts]
        return self._page(items, cursor)

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        """Counts from ``app.bsky.feed.getPosts``; shares = reposts + quotes."""
        metrics = []
        for view in self._posts(remote_ids):
            reposts, quotes = view.get("repostCount"), view.get("quoteCount")
            shares = None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0)
            metrics.append(
                PostMetrics(
                    remote_id=str(view["uri"]),
                    likes=view.get("likeCount"),
                    comments=view.get("replyCount"),
                    shares=shares,
                )
            )
        return metrics

    # credentials helper for callers (e.g. the channel connect flow)
    def session_credentials(self) -> Credentials:
        """Log in if needed and return the credentials including the session tokens."""
        self._session()
        return self.credentials
