"""The one connector interface.

A connector is a pure adapter: it takes an :class:`Account`, :class:`Credentials` and typed requests,
talks to one network, and returns typed results or raises a typed error from
:mod:`sokhan.networks.errors`. It never touches the database. What it can do is declared in
``capabilities``; an operation exists only with its capability (the registry checks this when the
connector is registered), and callers ask ``has(Capability.X)`` instead of comparing network names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from sokhan.networks.errors import NotSupported, Rejected
from sokhan.networks.types import (
    Account,
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
    RateLimitInfo,
    RemoteMessage,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Which method implements which capability. A connector declaring a capability must implement the
# method; a connector implementing a method must declare at least one capability that needs it.
CAPABILITY_METHODS: dict[Capability, str] = {
    Capability.PUBLISH_TEXT: "publish",
    Capability.PUBLISH_IMAGE: "publish",
    Capability.PUBLISH_VIDEO: "publish",
    Capability.PUBLISH_THREAD: "publish",
    Capability.PUBLISH_REPLY: "publish",
    Capability.FIRST_COMMENT: "publish",
    Capability.DELETE: "delete",
    Capability.COMMENTS: "fetch_comments",
    Capability.DMS: "fetch_dms",
    Capability.MENTIONS: "fetch_mentions",
    Capability.REPLY: "reply",
    Capability.REPLY_MEDIA: "reply",
    Capability.SEND_DM: "send_dm",
    Capability.DM_MEDIA: "send_dm",
    Capability.PRIVATE_REPLY: "private_reply",
    Capability.LIKE: "like",
    Capability.HIDE: "hide",
    Capability.SEARCH: "search",
    Capability.HASHTAG: "hashtag_timeline",
    Capability.POST_METRICS: "post_metrics",
    Capability.ACCOUNT_METRICS: "account_metrics",
    Capability.PROFILE_READ: "verify",
    Capability.PROFILE_UPDATE: "update_profile",
    Capability.RECONCILE: "reconcile",
}
OPERATIONS = frozenset(CAPABILITY_METHODS.values())


@dataclass(frozen=True)
class OAuthClient:
    """An app registered with the network by the Sokhan operator (from settings, per network)."""

    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class OAuthSpec:
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    pkce: bool = True
    scope_separator: str = " "


@dataclass(frozen=True)
class CredentialField:
    """One value a person types to connect (token, app password, instance URL, chat id…)."""

    name: str
    label: StrOrPromise
    secret: bool = False
    help: StrOrPromise = ""
    required: bool = True


class Connector:
    """Base class. Subclasses set the class attributes and override the operations they support."""

    key: ClassVar[str]
    name: ClassVar[str]
    auth: ClassVar[AuthKind]
    capabilities: ClassVar[frozenset[Capability]]
    limits: ClassVar[Limits]
    docs_url: ClassVar[str] = ""
    oauth: ClassVar[OAuthSpec | None] = None
    # Values a person enters to connect when the network has no OAuth (or as its alternative).
    credential_fields: ClassVar[Sequence[CredentialField]] = ()
    default_base_url: ClassVar[str] = ""
    # The network itself drops a second publish carrying the same idempotency key (Mastodon's
    # Idempotency-Key header, Bluesky record keys, Matrix transaction ids, WordPress post slugs…).
    idempotent_publish: ClassVar[bool] = False
    # What ``private_reply`` can answer (Instagram's private replies take comments only).
    private_reply_kinds: ClassVar[frozenset[MessageKind]] = frozenset({MessageKind.COMMENT, MessageKind.MENTION})

    def __init__(self, account: Account, credentials: Credentials, *, timeout: float = 20.0) -> None:
        self.account = account
        self.credentials = credentials
        self.timeout = timeout
        self.last_rate_limit: RateLimitInfo | None = None

    # ----------------------------------------------------------------- helpers

    @classmethod
    def has(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    @property
    def base_url(self) -> str:
        return (self.account.base_url or self.default_base_url).rstrip("/")

    def _unsupported(self, operation: str) -> NotSupported:
        return NotSupported(f"{self.name} does not support {operation}", network=self.key)

    def check_publish(self, request: PublishRequest) -> None:
        """Refuse a request this connector cannot carry out, before any network call."""
        images = [m for m in request.media if not m.is_video]
        videos = [m for m in request.media if m.is_video]
        needs = [
            (bool(request.text) and not request.media, Capability.PUBLISH_TEXT, "text posts"),
            (bool(images), Capability.PUBLISH_IMAGE, "images"),
            (bool(videos), Capability.PUBLISH_VIDEO, "video"),
            (bool(request.thread), Capability.PUBLISH_THREAD, "threads"),
            (bool(request.reply_to), Capability.PUBLISH_REPLY, "replies"),
            (bool(request.first_comment), Capability.FIRST_COMMENT, "a first comment"),
        ]
        for needed, capability, what in needs:
            if needed and not self.has(capability):
                raise Rejected(f"{self.name} cannot publish {what}", network=self.key)
        media = self.limits.media
        if len(request.media) > media.max_count:
            raise Rejected(
                f"{self.name} takes at most {media.max_count} media per post", network=self.key, field="media"
            )
        for item in request.media:
            allowed = media.video_types if item.is_video else media.image_types
            if allowed and item.mime_type not in allowed:
                raise Rejected(f"{self.name} does not accept {item.mime_type}", network=self.key, field="media")
        if images and videos and not media.mixed_types:
            raise Rejected(f"{self.name} cannot mix images and video in one post", network=self.key)
        if len(request.thread) + 1 > self.limits.max_thread_parts:
            raise Rejected(f"{self.name} takes at most {self.limits.max_thread_parts} thread parts", network=self.key)

    @classmethod
    def reply_media_limits(cls) -> MediaLimits:
        """What a reply or direct message may carry: the network's own reply limits, else a post's."""
        return cls.limits.reply_media or cls.limits.media

    @classmethod
    def check_reply_media(cls, media: Sequence[MediaFile], *, direct: bool = False) -> None:
        """Refuse media a reply (``direct``: a direct message) cannot carry, before any network call.
        Every ``reply``/``send_dm``/``private_reply`` calls this, so no connector drops media silently."""
        if not media:
            return
        capability, what = (Capability.DM_MEDIA, "direct messages") if direct else (Capability.REPLY_MEDIA, "replies")
        if not cls.has(capability):
            raise Rejected(f"{cls.name} cannot attach media to {what}", network=cls.key, field="media")
        limits = cls.reply_media_limits()
        if len(media) > limits.max_count:
            raise Rejected(
                f"{cls.name} takes at most {limits.max_count} media in {what}", network=cls.key, field="media"
            )
        for item in media:
            allowed = limits.video_types if item.is_video else limits.image_types
            if item.mime_type not in allowed:
                raise Rejected(f"{cls.name} does not accept {item.mime_type} in {what}", network=cls.key, field="media")
        if not limits.mixed_types and len({item.is_video for item in media}) > 1:
            raise Rejected(f"{cls.name} cannot mix images and video in {what}", network=cls.key, field="media")

    # ----------------------------------------------------------------- operations

    def verify(self) -> Profile:
        """Check the credentials and read the account's profile. Every connector implements this."""
        raise self._unsupported("verify")

    def publish(self, request: PublishRequest) -> PublishResult:
        raise self._unsupported("publishing")

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        """The post an earlier ``publish(request)`` created (matched by idempotency key or text among
        the account's recent posts), or None when there is none."""
        raise self._unsupported("reconciling publishes")

    def delete(self, remote_id: str) -> None:
        raise self._unsupported("delete")

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        raise self._unsupported("fetching comments")

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        raise self._unsupported("fetching mentions")

    def fetch_dms(self, cursor: str = "") -> Page[RemoteMessage]:
        raise self._unsupported("fetching direct messages")

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        raise self._unsupported("replies")

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        raise self._unsupported("direct messages")

    def private_reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A direct message to the author of the comment ``to``, about it (the only way some networks
        let a page message a commenter). ``PublishResult.conversation_id``: the person's id for
        further direct messages."""
        raise self._unsupported("private replies")

    def like(self, remote_id: str) -> None:
        raise self._unsupported("likes")

    def hide(self, remote_id: str) -> None:
        raise self._unsupported("hiding comments")

    def search(self, query: str, cursor: str = "") -> Page[RemoteMessage]:
        raise self._unsupported("search")

    def hashtag_timeline(self, tag: str, cursor: str = "") -> Page[RemoteMessage]:
        """Public posts with the hashtag ``tag`` (without ``#``) newer than ``cursor``, oldest first."""
        raise self._unsupported("hashtag timelines")

    def post_metrics(self, remote_ids: Sequence[str]) -> list[PostMetrics]:
        raise self._unsupported("post metrics")

    def account_metrics(self) -> AccountMetrics:
        raise self._unsupported("account metrics")

    def update_profile(self, update: ProfileUpdate) -> Profile:
        raise self._unsupported("profile updates")

    # ----------------------------------------------------------------- OAuth (only with ``oauth``)

    @classmethod
    def authorization_url(cls, client: OAuthClient, *, state: str, code_challenge: str, base_url: str = "") -> str:
        """The URL to send the person to. Default: RFC 6749 + RFC 7636 (S256) query parameters."""
        if cls.oauth is None:
            raise NotSupported(f"{cls.name} has no OAuth flow", network=cls.key)
        from urllib.parse import urlencode

        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": cls.oauth.scope_separator.join(cls.oauth.scopes),
            "state": state,
        }
        if cls.oauth.pkce:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return f"{cls.oauth.authorize_url}?{urlencode(params)}"

    @classmethod
    def exchange_code(cls, client: OAuthClient, *, code: str, code_verifier: str, base_url: str = "") -> Credentials:
        raise NotSupported(f"{cls.name} has no OAuth flow", network=cls.key)

    @classmethod
    def refresh(cls, client: OAuthClient, credentials: Credentials, *, base_url: str = "") -> Credentials:
        """New credentials from a refresh token. Must keep the old refresh token if none is returned."""
        raise NotSupported(f"{cls.name} cannot refresh credentials", network=cls.key)
