"""Plain data passed to and returned from connectors. No ORM objects cross this line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class Capability(StrEnum):
    PUBLISH_TEXT = "publish_text"
    PUBLISH_IMAGE = "publish_image"
    PUBLISH_VIDEO = "publish_video"
    PUBLISH_THREAD = "publish_thread"
    PUBLISH_REPLY = "publish_reply"  # publish as a reply to a remote post
    FIRST_COMMENT = "first_comment"
    DELETE = "delete"
    COMMENTS = "comments"  # fetch comments/replies on our posts
    DMS = "dms"  # fetch direct messages
    MENTIONS = "mentions"
    REPLY = "reply"  # answer a comment, mention or message
    REPLY_MEDIA = "reply_media"  # images/video in a reply (``reply(..., media=…)``)
    SEND_DM = "send_dm"
    DM_MEDIA = "dm_media"  # images/video in a direct message (``send_dm(..., media=…)``)
    PRIVATE_REPLY = "private_reply"  # message a commenter privately about their comment (Meta)
    LIKE = "like"
    HIDE = "hide"  # hide or remove a comment on our post
    SEARCH = "search"  # search public posts
    HASHTAG = "hashtag"  # read a hashtag's public timeline
    POST_METRICS = "post_metrics"
    ACCOUNT_METRICS = "account_metrics"
    PROFILE_READ = "profile_read"
    PROFILE_UPDATE = "profile_update"
    RECONCILE = "reconcile"  # find an earlier publish among the account's recent posts


class AuthKind(StrEnum):
    """How a person connects an account (names of methods, not secrets)."""

    OAUTH2_PKCE = "oauth2_pkce"
    OAUTH2 = "oauth2"  # authorization code without PKCE (the network does not support it)
    APP_PASSWORD = "app_password"  # noqa: S105
    BOT_TOKEN = "bot_token"  # noqa: S105
    ACCESS_TOKEN = "access_token"  # noqa: S105
    NONE = "none"


class TextCounting(StrEnum):
    GRAPHEMES = "graphemes"
    CODE_POINTS = "code_points"
    UTF16 = "utf16"
    UTF8_BYTES = "utf8_bytes"
    TWITTER_WEIGHTED = "twitter_weighted"


@dataclass(frozen=True)
class MediaLimits:
    max_count: int = 0
    image_types: tuple[str, ...] = ()
    video_types: tuple[str, ...] = ()
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    max_video_seconds: float | None = None
    min_video_seconds: float | None = None
    max_image_pixels: tuple[int, int] | None = None  # (width, height)
    min_image_pixels: tuple[int, int] | None = None
    aspect_ratio: tuple[float, float] | None = None  # (min, max) width / height
    alt_text_max: int | None = None
    mixed_types: bool = False  # may one post hold images and a video together


@dataclass(frozen=True)
class Limits:
    max_text: int
    counting: TextCounting = TextCounting.GRAPHEMES
    media: MediaLimits = field(default_factory=MediaLimits)
    max_thread_parts: int = 1
    max_comment_text: int | None = None
    title_max: int | None = None  # networks with a separate title (YouTube, Pinterest, WordPress)
    notes: str = ""
    # Media in replies and direct messages, where it differs from posts (None: as ``media``).
    reply_media: MediaLimits | None = None

    def as_json(self) -> dict[str, Any]:
        def shape(limits: MediaLimits) -> dict[str, Any]:
            return {k: (list(v) if isinstance(v, tuple) else v) for k, v in limits.__dict__.items()}

        media = shape(self.media)
        return {
            "max_text": self.max_text,
            "counting": self.counting.value,
            "max_thread_parts": self.max_thread_parts,
            "max_comment_text": self.max_comment_text,
            "title_max": self.title_max,
            "media": media,
            "reply_media": shape(self.reply_media) if self.reply_media else media,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Credentials:
    """Secrets for one account. ``data`` holds network-specific values (e.g. a page token)."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    username: str = ""  # for app-password networks
    password: str = ""
    scopes: tuple[str, ...] = ()
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    """Where the account lives and which remote object Sokhan acts as.

    ``base_url``: the instance (Mastodon, Matrix, WordPress, Bluesky PDS) or an API base override.
    ``target``: a channel/chat id, room id, page id, organisation URN… whatever the network needs.
    """

    base_url: str = ""
    remote_id: str = ""
    handle: str = ""
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    remote_id: str
    handle: str
    display_name: str = ""
    bio: str = ""
    url: str = ""
    avatar_url: str = ""
    header_url: str = ""
    links: tuple[str, ...] = ()
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ProfileUpdate:
    display_name: str | None = None
    bio: str | None = None
    url: str | None = None
    avatar: MediaFile | None = None
    header: MediaFile | None = None


@dataclass(frozen=True)
class MediaFile:
    path: Path
    mime_type: str
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None

    @property
    def is_video(self) -> bool:
        return self.mime_type.startswith("video/")


@dataclass(frozen=True)
class PublishRequest:
    """One post (or thread) for one channel.

    ``idempotency_key`` is stable across retries of the same target; connectors pass it to the
    network where the network supports it (Mastodon ``Idempotency-Key``, Bluesky record keys).
    """

    text: str
    idempotency_key: str
    media: tuple[MediaFile, ...] = ()
    title: str = ""
    link: str = ""
    reply_to: str = ""  # remote id of the post to answer
    thread: tuple[str, ...] = ()  # further parts after ``text``
    first_comment: str = ""
    options: dict[str, str] = field(default_factory=dict)
    # For ``reconcile``: the earliest time an earlier send of this request can have reached the
    # network (the dispatcher passes the time the target entered ``publishing``). None: the
    # connector looks back over :data:`sokhan.networks.reconcile.DEFAULT_WINDOW`.
    not_before: datetime | None = None


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    url: str = ""
    published_at: datetime | None = None
    thread_ids: tuple[str, ...] = ()
    first_comment_id: str = ""
    # A direct message: the thread it went into where the network names one (a Matrix room, Meta's
    # page-scoped id of the person after a private reply), so later messages there thread with it.
    conversation_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class MessageKind(StrEnum):
    COMMENT = "comment"
    MENTION = "mention"
    DM = "dm"
    POST = "post"  # a public post found by search


@dataclass(frozen=True)
class RemoteMessage:
    remote_id: str
    kind: MessageKind
    text: str
    author_id: str
    author_handle: str
    created_at: datetime
    author_name: str = ""
    author_followers: int | None = None
    in_reply_to: str = ""  # remote id of the post or message answered
    root_id: str = ""  # remote id of the post a comment thread belongs to
    conversation_id: str = ""  # DM thread
    url: str = ""
    lang: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Page[T]:
    """Items since a cursor, oldest first, and the cursor to pass next time."""

    items: tuple[T, ...]
    cursor: str = ""


@dataclass(frozen=True)
class PostMetrics:
    """None means the network did not provide the number: it is missing, not zero."""

    remote_id: str
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    clicks: int | None = None
    views: int | None = None
    reach: int | None = None
    impressions: int | None = None


@dataclass(frozen=True)
class AccountMetrics:
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    reach: int | None = None
    impressions: int | None = None
    views: int | None = None


@dataclass(frozen=True)
class RateLimitInfo:
    """What a response said about the caller's remaining budget."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    retry_after: float | None = None
