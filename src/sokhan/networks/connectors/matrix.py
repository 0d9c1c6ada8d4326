"""Matrix: rooms as channels, through the matrix-nio SDK (async, run on a private event loop here).

Reference: https://spec.matrix.org/v1.15/client-server-api/

* ``Account.base_url`` is the homeserver (``https://matrix.example.org``); ``Account.target`` the room
  id (``!abc:example.org``) or alias (``#news:example.org``) posts go to.
* Auth: an access token, or user + password (logged in once per connector, see :meth:`login`).
* Idempotency: every event is sent with ``PUT …/send/{type}/{txnId}`` and ``txnId`` is the
  ``PublishRequest.idempotency_key``, so a retried send with the same access token is deduplicated by
  the homeserver and returns the first event id.
* Cursors for comments, mentions and DMs are ``/sync`` ``next_batch`` tokens. When the homeserver
  truncates a room's timeline (``limited``) the gap is read back with ``/messages`` up to the cursor.
* Text: no limit but the event size (65,536 bytes of JSON, envelope included), counted in UTF-8 bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, cast
from urllib.parse import quote

import aiohttp
import nio  # type: ignore[import-untyped]
from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
)
from sokhan.networks.http import error_for_status, parse_rate_limit
from sokhan.networks.registry import register
from sokhan.networks.types import (
    Account,
    AuthKind,
    Capability,
    Credentials,
    Limits,
    MediaFile,
    MediaLimits,
    MessageKind,
    Page,
    Profile,
    ProfileUpdate,
    PublishRequest,
    PublishResult,
    RemoteMessage,
    TextCounting,
)

MAX_EVENT_BYTES = 65_536
_ENVELOPE_RESERVE = 2_048  # room id, sender, signatures, hashes… added by the homeserver
_AUTH_CODES = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_USER_DEACTIVATED"})
_TAG = re.compile(r"<[a-zA-Z/][^>]*>")
_TIMELINE_LIMIT = 50
_BACKFILL_PAGES = 20
LIKE_KEY = "👍"

type Json = dict[str, Any]


def _txn(*parts: str) -> str:
    """A transaction id derived from stable inputs (safe in a URL path)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _when(event: Json) -> datetime:
    return datetime.fromtimestamp(int(event.get("origin_server_ts", 0)) / 1000, tz=UTC)


def _relation(content: Json) -> tuple[str, str]:
    """(event answered, thread root) of a message's ``m.relates_to``."""
    relates = content.get("m.relates_to") or {}
    reply = str((relates.get("m.in_reply_to") or {}).get("event_id") or "")
    root = str(relates.get("event_id") or "") if relates.get("rel_type") == "m.thread" else ""
    return reply or root, root


def text_content(text: str, link: str = "") -> Json:
    """``m.text`` content; text holding HTML tags also gets an ``org.matrix.custom.html`` body."""
    if _TAG.search(text):
        formatted = text + (f'<br><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a>' if link else "")
        plain = html.unescape(_TAG.sub("", text.replace("<br>", "\n"))).strip()
        content: Json = {
            "msgtype": "m.text",
            "body": plain + (f"\n{link}" if link else ""),
            "format": "org.matrix.custom.html",
            "formatted_body": formatted,
        }
    else:
        content = {"msgtype": "m.text", "body": text + (f"\n{link}" if link else "")}
    content["m.mentions"] = {}
    return content


def media_content(content: Json, media: MediaFile) -> Json:
    """``content`` as an ``m.image``/``m.video`` event whose text is the caption (the file's name or
    alt text when there is none); the upload adds ``url``, ``info`` and ``filename``."""
    msgtype = "m.video" if media.is_video else "m.image"
    return {**content, "msgtype": msgtype, "body": content["body"] or media.alt_text or media.path.name}


def _with_content(event: Any) -> Json:
    """nio moves an invite-state event's ``content`` out of ``source``; put it back."""
    source: Json = dict(getattr(event, "source", None) or {})
    content = getattr(event, "content", None)
    if isinstance(content, dict):
        source["content"] = content
    return source


def _run[T](make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a private loop, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="sokhan-matrix")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


@register
class MatrixConnector(Connector):
    key = "matrix"
    idempotent_publish = True
    name = "Matrix"
    auth = AuthKind.ACCESS_TOKEN
    capabilities = frozenset(
        {
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_THREAD,
            Capability.PUBLISH_REPLY,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.DMS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.SEND_DM,
            Capability.DM_MEDIA,
            Capability.LIKE,
            Capability.HIDE,
            Capability.PROFILE_READ,
            Capability.PROFILE_UPDATE,
        }
    )
    limits = Limits(
        max_text=MAX_EVENT_BYTES,
        counting=TextCounting.UTF8_BYTES,
        media=MediaLimits(
            max_count=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            max_image_bytes=50 * 1024 * 1024,  # Synapse's default max_upload_size; see GET /media/config
        ),
        max_thread_parts=50,
        max_comment_text=MAX_EVENT_BYTES,
        notes=(
            "No text limit but the event size: 65,536 bytes of JSON including the envelope, and an HTML "
            "body counts twice (body + formatted_body). One image per event (the text is its caption). "
            "Thread parts are m.thread events under the first message. Upload size is the homeserver's "
            "m.upload.size. Replies and direct messages may carry one image or video (m.image / m.video)."
        ),
        reply_media=MediaLimits(
            max_count=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            video_types=("video/mp4", "video/webm"),
            max_image_bytes=50 * 1024 * 1024,
            max_video_bytes=50 * 1024 * 1024,
        ),
    )
    docs_url = "https://spec.matrix.org/v1.15/client-server-api/"
    default_base_url = "https://matrix-client.matrix.org"
    credential_fields: ClassVar[Sequence[CredentialField]] = (
        CredentialField("base_url", _("Homeserver URL"), help=_("e.g. https://matrix.example.org")),
        CredentialField("target", _("Room"), help=_("Room id (!abc:example.org) or alias (#news:example.org)")),
        CredentialField("access_token", _("Access token"), secret=True, required=False),
        CredentialField("username", _("User id"), required=False, help=_("@you:example.org, with a password")),
        CredentialField("password", _("Password"), secret=True, required=False),
    )

    def __init__(self, account: Account, credentials: Credentials, *, timeout: float = 20.0) -> None:
        super().__init__(account, credentials, timeout=timeout)
        self._token = credentials.access_token
        self._user_id = account.remote_id
        self._rooms: dict[str, str] = {}

    # ----------------------------------------------------------------- plumbing

    def _client(self) -> Any:
        config = nio.AsyncClientConfig(
            max_limit_exceeded=0, max_timeouts=0, request_timeout=self.timeout, store_sync_tokens=False
        )
        client = nio.AsyncClient(self.base_url, self._user_id or self.credentials.username or "", config=config)
        client.access_token = self._token
        if self._user_id:
            client.user_id = self._user_id
        return client

    def _call[T](self, operation: Callable[[Any], Awaitable[T]]) -> T:
        async def main() -> T:
            client = self._client()
            try:
                if not client.access_token:
                    await self._login(client)
                if not self._user_id:
                    whoami = self._check(await client.whoami())
                    self._user_id = client.user_id = str(whoami.user_id)
                return await operation(client)
            except aiohttp.ClientConnectorError as exc:
                raise Transient("cannot reach the homeserver", network=self.key, detail=str(exc)) from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise Transient("the homeserver did not answer", network=self.key, detail=str(exc)) from exc
            finally:
                await client.close()

        return _run(main)

    async def _login(self, client: Any) -> None:
        if not (self.credentials.username and self.credentials.password):
            raise AuthExpired("no access token and no password", network=self.key)
        client.user = self.credentials.username
        response = await client.login(self.credentials.password, device_name="Sokhan")
        if isinstance(response, nio.LoginError):
            code = response.status_code or ""
            if code == "M_LIMIT_EXCEEDED":
                self._check(response)
            raise AuthExpired("login failed", network=self.key, detail=f"{code} {response.message}".strip())
        self._token = client.access_token
        self._user_id = str(response.user_id)

    @classmethod
    def login(cls, base_url: str, username: str, password: str, *, timeout: float = 20.0) -> Credentials:
        """Exchange user + password for an access token (store the token, not the password)."""
        connector = cls(Account(base_url=base_url), Credentials(username=username, password=password), timeout=timeout)

        async def noop(client: Any) -> None:
            return None

        connector._call(noop)
        return Credentials(access_token=connector._token, username=connector._user_id)

    def _check(self, response: Any, *, write: bool = False) -> Any:
        """Return a successful nio response, or raise the typed error for a failed one."""
        if not isinstance(response, nio.ErrorResponse):
            return response
        transport = getattr(response, "transport_response", None)
        status = int(transport.status) if transport is not None else 0
        headers = dict(transport.headers) if transport is not None else {}
        code = str(response.status_code or "")
        detail = f"{code} {response.message}".strip()
        rate = parse_rate_limit(headers)
        self.last_rate_limit = rate or self.last_rate_limit
        if code == "M_LIMIT_EXCEEDED" or status == 429:
            retry = response.retry_after_ms / 1000 if response.retry_after_ms else (rate.retry_after if rate else None)
            raise RateLimited("rate limited", retry_after=retry, network=self.key, detail=detail)
        if code in _AUTH_CODES or status == 401:
            raise AuthExpired("access token rejected", network=self.key, detail=detail)
        if status >= 500 or status in (408, 425):
            error: ConnectorError = error_for_status(self.key, status, detail, rate, sent_write=write)
            raise error
        raise Rejected(str(response.message or code or f"HTTP {status}"), network=self.key, detail=code)

    async def _raw(self, client: Any, method: str, path: str, body: Json | None = None) -> Json:
        """A request nio has no method for (account data), through nio's own transport."""
        response = await client.send(
            method,
            path,
            json.dumps(body) if body is not None else None,
            {"Authorization": f"Bearer {client.access_token}", "Content-Type": "application/json"},
        )
        try:
            data = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            data = {}
        if response.status >= 400:
            error = nio.ErrorResponse(
                str(data.get("error", "")) if isinstance(data, dict) else "",
                str(data.get("errcode", "")) if isinstance(data, dict) else "",
                data.get("retry_after_ms") if isinstance(data, dict) else None,
            )
            error.transport_response = response
            self._check(error, write=method != "GET")
        return data if isinstance(data, dict) else {}

    async def _room(self, client: Any, target: str = "") -> str:
        room = target or self.account.target
        if not room:
            raise Rejected("no room configured for this channel", network=self.key, field="target")
        if not room.startswith("#"):
            return room
        if room not in self._rooms:
            resolved = self._check(await client.room_resolve_alias(room))
            self._rooms[room] = str(resolved.room_id)
        return self._rooms[room]

    async def _send(self, client: Any, room: str, event_type: str, content: Json, txn: str) -> str:
        try:
            response = await client.room_send(room, event_type, content, tx_id=txn, ignore_unverified_devices=True)
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            # The transaction id makes a retry with the same token safe: the homeserver deduplicates it.
            raise Transient("no answer to a send; retry with the same key", network=self.key, detail=str(exc)) from exc
        # write=False: a 502/504 after a send is safe to retry for the same reason as a timeout.
        return str(self._check(response, write=False).event_id)

    async def _upload(self, client: Any, media: MediaFile) -> Json:
        data = media.path.read_bytes()
        try:
            response, _keys = await client.upload(
                lambda *_: data, content_type=media.mime_type, filename=media.path.name, filesize=len(data)
            )
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise OutcomeUnknown("upload sent but no answer", network=self.key, detail=str(exc)) from exc
        uploaded = self._check(response, write=True)
        info: Json = {"mimetype": media.mime_type, "size": len(data)}
        if media.width and media.height:
            info.update(w=media.width, h=media.height)
        if media.is_video and media.duration_seconds:
            info["duration"] = round(media.duration_seconds * 1000)  # m.video: milliseconds
        return {"url": str(uploaded.content_uri), "info": info, "filename": media.path.name}

    # ----------------------------------------------------------------- profile

    def verify(self) -> Profile:
        async def run(client: Any) -> Profile:
            return await self._profile(client)

        return self._call(run)

    async def _profile(self, client: Any) -> Profile:
        profile = self._check(await client.get_profile(client.user_id))
        user_id = str(client.user_id)
        return Profile(
            remote_id=user_id,
            handle=user_id,
            display_name=str(profile.displayname or ""),
            url=f"https://matrix.to/#/{user_id}",
            avatar_url=str(profile.avatar_url or ""),  # an mxc:// URI; clients download it with auth
            raw={"displayname": profile.displayname, "avatar_url": profile.avatar_url, **(profile.other_info or {})},
        )

    def update_profile(self, update: ProfileUpdate) -> Profile:
        if update.bio is not None or update.url is not None or update.header is not None:
            raise Rejected("Matrix profiles have only a display name and an avatar", network=self.key)

        async def run(client: Any) -> Profile:
            if update.display_name is not None:
                self._check(await client.set_displayname(update.display_name), write=True)
            if update.avatar is not None:
                uploaded = await self._upload(client, update.avatar)
                self._check(await client.set_avatar(uploaded["url"]), write=True)
            return await self._profile(client)

        return self._call(run)

    # ----------------------------------------------------------------- publishing

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        contents = [text_content(request.text, request.link)]
        if request.media:
            contents[0] = media_content(contents[0], request.media[0])
        contents += [text_content(part) for part in request.thread]
        for content in contents:
            size = len(json.dumps(content, ensure_ascii=False).encode())
            if size > MAX_EVENT_BYTES - _ENVELOPE_RESERVE:
                raise Rejected(f"message is {size} bytes; Matrix events hold at most 65,536", network=self.key)

        async def run(client: Any) -> PublishResult:
            room = await self._room(client)
            first = contents[0]
            if request.media:
                first.update(await self._upload(client, request.media[0]))
            if request.reply_to:
                first["m.relates_to"] = {"m.in_reply_to": {"event_id": request.reply_to}}
            root = await self._send(client, room, "m.room.message", first, request.idempotency_key)
            previous, parts = root, []
            for index, content in enumerate(contents[1:], start=1):
                content["m.relates_to"] = {
                    "rel_type": "m.thread",
                    "event_id": root,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": previous},
                }
                previous = await self._send(
                    client, room, "m.room.message", content, f"{request.idempotency_key}-{index}"
                )
                parts.append(previous)
            return PublishResult(
                remote_id=root,
                url=f"https://matrix.to/#/{quote(room)}/{quote(root)}",
                published_at=datetime.now(UTC),
                thread_ids=tuple(parts),
                raw={"room_id": room, "event_id": root},
            )

        return self._call(run)

    def delete(self, remote_id: str) -> None:
        self._redact(remote_id, "")

    def hide(self, remote_id: str) -> None:
        """Redact someone else's message in our room (needs the power level to redact)."""
        self._redact(remote_id, "removed by a moderator")

    def _redact(self, event_id: str, reason: str) -> None:
        async def run(client: Any) -> None:
            room = await self._room(client)
            response = await client.room_redact(room, event_id, reason or None, tx_id=_txn("redact", event_id))
            self._check(response, write=True)

        self._call(run)

    # ----------------------------------------------------------------- engagement

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """An ``m.text`` (or, with media, ``m.image``/``m.video``) event answering ``to`` through
        ``m.relates_to`` (inside its thread when it is in one)."""
        self.check_reply_media(media)
        content = text_content(text)
        _reply_to, thread_root = _relation((to.raw.get("content") or {}) if to.raw else {})
        if thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": False,
                "m.in_reply_to": {"event_id": to.remote_id},
            }
        else:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": to.remote_id}}
        if to.author_id:
            content["m.mentions"] = {"user_ids": [to.author_id]}
        txn = idempotency_key or uuid.uuid4().hex

        async def run(client: Any) -> PublishResult:
            room = to.conversation_id or await self._room(client)
            event_id = await self._send_content(client, room, content, media, txn)
            return PublishResult(
                remote_id=event_id,
                url=f"https://matrix.to/#/{quote(room)}/{quote(event_id)}",
                published_at=datetime.now(UTC),
                raw={"room_id": room, "event_id": event_id},
            )

        return self._call(run)

    async def _send_content(self, client: Any, room: str, content: Json, media: Sequence[MediaFile], txn: str) -> str:
        """Send ``content`` into ``room``; with a file it becomes a media event carrying the upload."""
        if media:
            content = media_content(content, media[0])
            content.update(await self._upload(client, media[0]))
        return await self._send(client, room, "m.room.message", content, txn)

    def like(self, remote_id: str) -> None:
        async def run(client: Any) -> None:
            room = await self._room(client)
            content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": remote_id, "key": LIKE_KEY}}
            try:
                await self._send(client, room, "m.reaction", content, _txn("like", remote_id))
            except Rejected as exc:
                if exc.detail != "M_DUPLICATE_ANNOTATION":  # already liked
                    raise

        self._call(run)

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A message in the direct room with ``recipient_id`` (a room is created and recorded in
        ``m.direct`` when there is none yet)."""
        self.check_reply_media(media, direct=True)
        txn = idempotency_key or uuid.uuid4().hex

        async def run(client: Any) -> PublishResult:
            room = await self._direct_room(client, recipient_id)
            event_id = await self._send_content(client, room, text_content(text), media, txn)
            return PublishResult(
                remote_id=event_id,
                url=f"https://matrix.to/#/{quote(room)}/{quote(event_id)}",
                published_at=datetime.now(UTC),
                conversation_id=room,
                raw={"room_id": room},
            )

        return self._call(run)

    async def _direct_rooms(self, client: Any) -> dict[str, list[str]]:
        path = f"/_matrix/client/v3/user/{quote(client.user_id)}/account_data/m.direct"
        try:
            data = await self._raw(client, "GET", path)
        except Rejected as exc:
            if exc.detail == "M_NOT_FOUND":
                return {}
            raise
        return {str(k): [str(r) for r in v] for k, v in data.items() if isinstance(v, list)}

    async def _remember_direct(self, client: Any, user_id: str, room_id: str) -> None:
        direct = await self._direct_rooms(client)
        if room_id in direct.get(user_id, []):
            return
        direct.setdefault(user_id, []).append(room_id)
        path = f"/_matrix/client/v3/user/{quote(client.user_id)}/account_data/m.direct"
        await self._raw(client, "PUT", path, direct)

    async def _direct_room(self, client: Any, recipient_id: str) -> str:
        direct = await self._direct_rooms(client)
        candidates = direct.get(recipient_id, [])
        if candidates:
            joined = self._check(await client.joined_rooms())
            for room in reversed(candidates):
                if room in joined.rooms:
                    return room
        created = self._check(
            await client.room_create(is_direct=True, invite=[recipient_id], preset=nio.RoomPreset.trusted_private_chat),
            write=True,
        )
        room_id = str(created.room_id)
        await self._remember_direct(client, recipient_id, room_id)
        return room_id

    # ----------------------------------------------------------------- reading (sync)

    def _sync_filter(self, rooms: Sequence[str] | None, account_data: Sequence[str] = ()) -> Json:
        """The filter for one kind of read. Each kind gets a distinct filter on purpose: Synapse caches a
        /sync answer per (since, filter) for a while, and two kinds sharing a cursor must not share it."""
        room_filter: Json = {
            "timeline": {"limit": _TIMELINE_LIMIT, "types": ["m.room.message"]},
            "state": {"lazy_load_members": True, "types": []},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        }
        if rooms is not None:
            room_filter["rooms"] = list(rooms)
        return {"room": room_filter, "presence": {"types": []}, "account_data": {"types": list(account_data)}}

    async def _sync(
        self, client: Any, cursor: str, rooms: Sequence[str] | None, account_data: Sequence[str] = ()
    ) -> tuple[Any, dict[str, list[Json]]]:
        """One ``/sync`` since ``cursor``; the message events of each joined room, oldest first."""
        sync_filter = self._sync_filter(rooms, account_data)
        response = self._check(
            await client.sync(timeout=0, sync_filter=sync_filter, since=cursor or None, full_state=False)
        )
        events: dict[str, list[Json]] = {}
        for room_id, info in response.rooms.join.items():
            timeline = [dict(e.source) for e in info.timeline.events]
            if cursor and info.timeline.limited and info.timeline.prev_batch:
                timeline = await self._backfill(client, room_id, info.timeline.prev_batch, cursor) + timeline
            events[room_id] = timeline
        return response, events

    async def _backfill(self, client: Any, room_id: str, start: str, stop: str) -> list[Json]:
        """Events the sync left out of a limited timeline: from ``start`` back to ``stop``."""
        older: list[Json] = []
        token = start
        for _page in range(_BACKFILL_PAGES):
            page = self._check(
                await client.room_messages(
                    room_id,
                    start=token,
                    end=stop,
                    direction=nio.MessageDirection.back,
                    limit=100,
                    message_filter={"types": ["m.room.message"]},
                )
            )
            older.extend(dict(e.source) for e in page.chunk)
            if not page.chunk or not page.end or page.end == token:
                break
            token = page.end
        older.reverse()
        return older

    def _message(self, event: Json, kind: MessageKind, room_id: str) -> RemoteMessage:
        content = event.get("content") or {}
        reply_to, root = _relation(content)
        sender = str(event.get("sender", ""))
        return RemoteMessage(
            remote_id=str(event["event_id"]),
            kind=kind,
            text=str(content.get("body", "")),
            author_id=sender,
            author_handle=sender,
            created_at=_when(event),
            in_reply_to=reply_to,
            root_id=root or reply_to,
            conversation_id=room_id,
            url=f"https://matrix.to/#/{quote(room_id)}/{quote(str(event['event_id']))}",
            raw=event,
        )

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Replies and thread messages in the channel's room (to ``post_ids`` when given)."""
        wanted = set(post_ids)

        async def run(client: Any) -> Page[RemoteMessage]:
            room = await self._room(client)
            response, events = await self._sync(client, cursor, [room])
            items = []
            for event in events.get(room, []):
                reply_to, root = _relation(event.get("content") or {})
                if event.get("sender") == client.user_id or not (reply_to or root):
                    continue
                if wanted and reply_to not in wanted and root not in wanted:
                    continue
                items.append(self._message(event, MessageKind.COMMENT, room))
            return Page(items=tuple(items), cursor=str(response.next_batch))

        return self._call(run)

    def _mentions_me(self, event: Json, user_id: str) -> bool:
        content = event.get("content") or {}
        mentions = content.get("m.mentions")
        if isinstance(mentions, dict):
            return user_id in (mentions.get("user_ids") or [])
        # Before Matrix 1.7 clients only put the mention in the text (or a matrix.to pill).
        return user_id in str(content.get("body", "")) or user_id in str(content.get("formatted_body", ""))

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        async def run(client: Any) -> Page[RemoteMessage]:
            response, events = await self._sync(client, cursor, None)
            items = [
                self._message(event, MessageKind.MENTION, room)
                for room, timeline in events.items()
                for event in timeline
                if event.get("sender") != client.user_id and self._mentions_me(event, client.user_id)
            ]
            items.sort(key=lambda m: m.created_at)
            return Page(items=tuple(items), cursor=str(response.next_batch))

        return self._call(run)

    def fetch_dms(self, cursor: str = "") -> Page[RemoteMessage]:
        """Messages in direct rooms. Invitations to direct rooms are accepted (and recorded in
        ``m.direct``); their messages arrive with the next fetch."""

        async def run(client: Any) -> Page[RemoteMessage]:
            response, events = await self._sync(client, cursor, None, ["m.direct"])
            for room_id, invite in response.rooms.invite.items():
                state = [_with_content(e) for e in invite.invite_state]
                inviter = self._direct_inviter(state, client.user_id)
                if inviter:
                    self._check(await client.join(room_id), write=True)
                    await self._remember_direct(client, inviter, room_id)
            direct = {room for rooms in (await self._direct_rooms(client)).values() for room in rooms}
            items = [
                self._message(event, MessageKind.DM, room)
                for room, timeline in events.items()
                if room in direct
                for event in timeline
                if event.get("sender") != client.user_id
            ]
            items.sort(key=lambda m: m.created_at)
            return Page(items=tuple(items), cursor=str(response.next_batch))

        return self._call(run)

    @staticmethod
    def _direct_inviter(state: list[Json], user_id: str) -> str:
        for event in state:
            if (
                event.get("type") == "m.room.member"
                and event.get("state_key") == user_id
                and (event.get("content") or {}).get("membership") == "invite"
                and (event.get("content") or {}).get("is_direct")
            ):
                return str(event.get("sender", ""))
        return ""
