"""Shared code for Telegram-shaped Bot APIs (Telegram, Bale).

Both networks answer ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": 429, "description": "...", "parameters": {"retry_after": 5}}`` at
``<base>/bot<token>/<method>``. :class:`BotApi` is a thin typed client over :class:`Http` that maps
those answers to typed errors; :class:`BotApiConnector` implements the operations both networks
share. Differences (reply field, parse mode, member-count method, caption limit, bulk delete) are
class attributes a subclass sets. Operations only one network supports live in that network's module
so the registry's capability ↔ method rule holds for each subclass.

Remote ids: a post in the account's own chat is its message id (``"101"``; an album is
``"101,102,103"``); a message in another chat (a comment in the discussion group, a mention) is
``"<chat_id>:<message_id>"`` because Bot API message ids are only unique within one chat.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    RateLimited,
    Rejected,
    Transient,
)
from sokhan.networks.http import Http, error_for_status, retry_after_seconds
from sokhan.networks.types import (
    AccountMetrics,
    AuthKind,
    MediaFile,
    MessageKind,
    Page,
    Profile,
    PublishRequest,
    PublishResult,
    RemoteMessage,
)

JSON = dict[str, Any]

BOT_CREDENTIAL_FIELDS = (
    CredentialField("access_token", _("Bot token"), secret=True, help=_("The token @BotFather gave you for your bot.")),
    CredentialField(
        "target",
        _("Channel or group"),
        help=_(
            "@username of a public channel, or the numeric chat id (e.g. -1001234567890). "
            "Add the bot to it as an administrator allowed to post and delete messages."
        ),
    ),
)


# ---------------------------------------------------------------------------------------------- text


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: how the Bot API counts text limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


_TAG = re.compile(r"<[^>]*>")


def visible_text(markup: str) -> str:
    """The text a reader sees after the Bot API parses HTML: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


def escape_html(text: str) -> str:
    """Escape plain text for ``parse_mode=HTML``: only ``&``, ``<`` and ``>`` are special."""
    return html.escape(text, quote=False)


# ---------------------------------------------------------------------------------------------- ids


@dataclass(frozen=True)
class MessageRef:
    chat_id: str  # "" means the account's target chat
    message_ids: tuple[int, ...]

    @classmethod
    def parse(cls, remote_id: str, *, network: str) -> MessageRef:
        chat, _, ids = remote_id.rpartition(":")
        try:
            numbers = tuple(int(part) for part in ids.split(","))
        except ValueError:
            raise Rejected(f"{remote_id!r} is not a message id", network=network, field="remote_id") from None
        return cls(chat_id=chat, message_ids=numbers)


def message_ref(chat_id: object, message_id: object) -> str:
    return f"{chat_id}:{message_id}"


# ---------------------------------------------------------------------------------------------- errors


def bot_api_error(
    network: str,
    code: int,
    description: str,
    parameters: Mapping[str, Any],
    *,
    sent_write: bool,
    retry_header: str | None = None,
) -> ConnectorError:
    """The typed error for a Bot API failure (``ok: false``)."""
    lower = description.lower()
    if code == 429:
        retry = parameters.get("retry_after")
        seconds = (
            float(retry) if isinstance(retry, int | float) else retry_after_seconds(retry_header, datetime.now(UTC))
        )
        return RateLimited("rate limited", retry_after=seconds, network=network, detail=description)
    if code == 401 or (code == 404 and lower in ("", "not found")):
        # 401: revoked token; 404 "Not Found": a malformed token (the method names are ours).
        return AuthExpired("the bot token was rejected", network=network, detail=description)
    if code == 403:
        return AuthExpired(
            "the bot cannot act in this chat: add it back as an administrator", network=network, detail=description
        )
    if "migrate_to_chat_id" in parameters:
        return Rejected(
            f"the group moved to chat id {parameters['migrate_to_chat_id']}",
            network=network,
            detail=description,
            field="target",
        )
    if code == 409:
        if "terminated by other" in lower:
            return Transient("another process is reading this bot's updates", network=network, detail=description)
        return Rejected("the bot has a webhook set, so updates cannot be polled", network=network, detail=description)
    if code >= 500:
        return error_for_status(network, code, description, None, sent_write=sent_write)
    field = ""
    if "chat not found" in lower:
        field = "target"
    elif "too long" in lower or "can't parse entities" in lower or "text is empty" in lower:
        field = "text"
    elif code == 413 or "too big" in lower or "wrong file" in lower:
        field = "media"
    return Rejected(description or f"HTTP {code}", network=network, detail=description, field=field)


def _classifier(network: str) -> Any:
    def classify(response: httpx.Response) -> ConnectorError | None:
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("ok") is not False:
            return None
        params = body.get("parameters")
        return bot_api_error(
            network,
            int(body.get("error_code") or response.status_code),
            str(body.get("description") or ""),
            params if isinstance(params, dict) else {},
            sent_write=response.request.method != "GET",
            retry_header=response.headers.get("retry-after"),
        )

    return classify


# ---------------------------------------------------------------------------------------------- client


Files = dict[str, tuple[str, bytes, str]]


class BotApi:
    """``<base_url>/bot<token>/<method>``; reads with GET (a timeout is safe to retry), writes with POST.

    ``path`` is the URL path template before the method (Eitaayar uses ``/api/<token>/``)."""

    def __init__(self, network: str, base_url: str, token: str, *, timeout: float, path: str = "/bot{token}/") -> None:
        if not token:
            raise AuthExpired("no bot token is stored for this channel", network=network)
        self.network = network
        root = base_url + path.format(token=token)
        self.http = Http(network, root, timeout=timeout, classify=_classifier(network))

    def _result(self, body: Any) -> Any:
        if not isinstance(body, dict) or body.get("ok") is not True:
            raise Transient("the Bot API answered without ok=true", network=self.network)
        return body.get("result")

    def get(self, method: str, **params: str | int) -> Any:
        return self._result(self.http.json("GET", method, params=params))

    def post(self, method: str, payload: JSON) -> Any:
        return self._result(self.http.json("POST", method, json=payload))

    def upload(self, method: str, data: Mapping[str, str], files: Files) -> Any:
        return self._result(self.http.json("POST", method, data=dict(data), files=files))


def read_media(item: MediaFile, *, network: str) -> tuple[str, bytes, str]:
    try:
        content = item.path.read_bytes()
    except OSError as exc:
        raise Rejected(f"cannot read {item.path.name}", network=network, detail=str(exc), field="media") from exc
    return (item.path.name, content, item.mime_type)


def parse_time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC) if isinstance(value, int | float) else datetime.now(UTC)


def author_of(message: JSON) -> tuple[str, str, str]:
    """(id, handle, display name) of a message's sender: a user, or a chat posting as itself."""
    sender = message.get("sender_chat") or message.get("from") or {}
    name = sender.get("title") or " ".join(p for p in (sender.get("first_name"), sender.get("last_name")) if p)
    return str(sender.get("id", "")), str(sender.get("username") or ""), str(name or "")


def text_and_entities(message: JSON) -> tuple[str, list[JSON]]:
    if "text" in message:
        return str(message["text"]), list(message.get("entities") or [])
    return str(message.get("caption") or ""), list(message.get("caption_entities") or [])


@dataclass(frozen=True)
class Identity:
    """Who we are on the network: the bot and the account's chat (read once per connector)."""

    bot_id: int
    bot_username: str
    chat: JSON

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def handles(self) -> set[str]:
        names = {self.bot_username, str(self.chat.get("username") or "")}
        return {f"@{n.lower()}" for n in names if n}


# ---------------------------------------------------------------------------------------------- connector


class BotApiConnector(Connector):
    """Operations Telegram and Bale share. Not registered itself."""

    auth = AuthKind.BOT_TOKEN
    credential_fields = BOT_CREDENTIAL_FIELDS
    # Differences between Bot API flavours:
    reply_style: ClassVar[str] = "parameters"  # "parameters" (reply_parameters) or "message_id"
    parse_mode: ClassVar[str | None] = "HTML"
    member_count_method: ClassVar[str] = "getChatMemberCount"
    caption_max: ClassVar[int] = 1024
    bulk_delete: ClassVar[bool] = True  # deleteMessages
    video_streaming_hint: ClassVar[bool] = True  # supports_streaming on sendVideo
    link_host: ClassVar[str] = ""  # public post links: "<host>/<username>/<id>"

    _api: BotApi | None = None
    _identity: Identity | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def api(self) -> BotApi:
        if self._api is None:
            self._api = BotApi(self.key, self.base_url, self.credentials.access_token, timeout=self.timeout)
        return self._api

    @property
    def target(self) -> str:
        target = self.account.target.strip()
        if not target:
            raise Rejected("no channel or group is set for this account", network=self.key, field="target")
        return target

    def identity(self) -> Identity:
        if self._identity is None:
            me = self.api.get("getMe")
            chat = self.api.get("getChat", chat_id=self.target)
            self._identity = Identity(bot_id=int(me["id"]), bot_username=str(me.get("username") or ""), chat=chat)
        return self._identity

    def post_url(self, chat: Mapping[str, Any], message_id: object) -> str:
        username = chat.get("username")
        if self.link_host and username:
            return f"{self.link_host}/{username}/{message_id}"
        return ""

    def _reply_fields(self, message_id: int, chat_id: str = "") -> JSON:
        if self.reply_style == "message_id":
            return {"reply_to_message_id": message_id}
        params: JSON = {"message_id": message_id}
        if chat_id:
            params["chat_id"] = chat_id
        return {"reply_parameters": params}

    def _format(self, text: str, options: Mapping[str, str]) -> tuple[str, str]:
        """(text to send, text the reader sees). ``options["format"] == "html"``: already Bot API HTML."""
        if self.parse_mode != "HTML":
            return text, text
        if options.get("format") == "html":
            return text, visible_text(text)
        return escape_html(text), text

    def _compose(self, request: PublishRequest) -> str:
        text = request.text
        if request.link and request.link not in text:
            text = f"{text}\n\n{request.link}" if text else request.link
        return text

    # ------------------------------------------------------------------ checks

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        _, shown = self._format(self._compose(request), request.options)
        length = utf16_len(shown.strip())
        limit = self.caption_max if request.media else self.limits.max_text
        what = "caption" if request.media else "text"
        if not request.media and length == 0:
            raise Rejected("the text is empty", network=self.key, field="text")
        if length > limit:
            raise Rejected(
                f"the {what} is {length} UTF-16 units long; {self.name} takes at most {limit}",
                network=self.key,
                field="text",
            )
        self._check_sizes(request.media)

    def _check_sizes(self, media: Sequence[MediaFile]) -> None:
        limits = self.limits.media
        for item in media:
            cap = limits.max_video_bytes if item.is_video else limits.max_image_bytes
            size = item.path.stat().st_size if item.path.exists() else 0
            if cap is not None and size > cap:
                raise Rejected(
                    f"{item.path.name} is {size} bytes; {self.name} takes at most {cap}",
                    network=self.key,
                    field="media",
                )

    # ------------------------------------------------------------------ operations

    def verify(self) -> Profile:
        ident = self.identity()
        chat = ident.chat
        count = self.api.get(self.member_count_method, chat_id=self.target)
        username = str(chat.get("username") or "")
        return Profile(
            remote_id=str(chat["id"]),
            handle=username,
            display_name=str(chat.get("title") or chat.get("first_name") or ""),
            bio=str(chat.get("description") or chat.get("bio") or ""),
            url=f"{self.link_host}/{username}" if self.link_host and username else "",
            followers=int(count) if isinstance(count, int) else None,
            raw={"chat": chat, "bot": {"id": ident.bot_id, "username": ident.bot_username}},
        )

    def account_metrics(self) -> AccountMetrics:
        count = self.api.get(self.member_count_method, chat_id=self.target)
        return AccountMetrics(followers=int(count) if isinstance(count, int) else None)

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        text, _ = self._format(self._compose(request), request.options)
        extra: JSON = {}
        if request.reply_to:
            ref = MessageRef.parse(request.reply_to, network=self.key)
            chat = ref.chat_id if ref.chat_id and ref.chat_id != self.target else ""
            extra = self._reply_fields(ref.message_ids[0], chat)
        if self.parse_mode:
            extra["parse_mode"] = self.parse_mode
        if not request.media:
            sent = self.api.post("sendMessage", {"chat_id": self.target, "text": text, **extra})
            return self._result([sent])
        if len(request.media) == 1:
            return self._result([self._send_one(request.media[0], text, extra)])
        return self._result(self._send_album(request.media, text, extra))

    def _form(self, fields: Mapping[str, Any]) -> dict[str, str]:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items() if v not in (None, "")}

    def _send_one(self, item: MediaFile, caption: str, extra: JSON, *, chat: str = "") -> JSON:
        method, field = ("sendVideo", "video") if item.is_video else ("sendPhoto", "photo")
        fields: JSON = {"chat_id": chat or self.target, "caption": caption, **extra}
        if item.is_video:
            if self.video_streaming_hint:
                fields["supports_streaming"] = True
            if item.width and item.height:
                fields.update(width=item.width, height=item.height)
            if item.duration_seconds:
                fields["duration"] = round(item.duration_seconds)
        result: JSON = self.api.upload(method, self._form(fields), {field: read_media(item, network=self.key)})
        return result

    def _send_album(self, media: Sequence[MediaFile], caption: str, extra: JSON, *, chat: str = "") -> list[JSON]:
        items: list[JSON] = []
        files: Files = {}
        for index, item in enumerate(media):
            name = f"file{index}"
            entry: JSON = {"type": "video" if item.is_video else "photo", "media": f"attach://{name}"}
            if index == 0 and caption:
                entry["caption"] = caption
                if self.parse_mode:
                    entry["parse_mode"] = self.parse_mode
            items.append(entry)
            files[name] = read_media(item, network=self.key)
        fields = {k: v for k, v in extra.items() if k != "parse_mode"}
        result: list[JSON] = self.api.upload(
            "sendMediaGroup", self._form({"chat_id": chat or self.target, "media": items, **fields}), files
        )
        return result

    def _result(self, messages: list[JSON]) -> PublishResult:
        if not messages:
            raise Transient("the network returned no message", network=self.key)
        first = messages[0]
        ids = [str(m["message_id"]) for m in messages]
        return PublishResult(
            remote_id=",".join(ids),
            url=self.post_url(first.get("chat") or {}, ids[0]),
            published_at=parse_time(first.get("date")),
            raw={"messages": messages},
        )

    def delete(self, remote_id: str) -> None:
        ref = MessageRef.parse(remote_id, network=self.key)
        self._delete(ref.chat_id or self.target, ref.message_ids)

    def _delete(self, chat_id: str, message_ids: Sequence[int]) -> None:
        """Deleting a message that is already gone counts as done, so retries are safe."""
        try:
            if len(message_ids) > 1 and self.bulk_delete:
                self.api.post("deleteMessages", {"chat_id": chat_id, "message_ids": list(message_ids)})
                return
            for message_id in message_ids:
                try:
                    self.api.post("deleteMessage", {"chat_id": chat_id, "message_id": message_id})
                except Rejected as exc:
                    if "not found" not in exc.detail.lower():
                        raise
        except Rejected as exc:
            if "not found" not in exc.detail.lower():
                raise

    def reply(
        self, to: RemoteMessage, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A message in ``to``'s chat answering it: text, or a photo/video (an album for several)
        with the text as caption."""
        self.check_reply_media(media)
        ref = MessageRef.parse(to.remote_id, network=self.key)
        chat = ref.chat_id or self.target
        return self._sent_to(chat, self._message_to(chat, text, media, self._reply_fields(ref.message_ids[0])))

    def send_dm(
        self, recipient_id: str, text: str, *, media: Sequence[MediaFile] = (), idempotency_key: str = ""
    ) -> PublishResult:
        """A message in the person's private chat with the bot (its id is the person's user id). A bot
        may only write to someone who started a chat with it first."""
        self.check_reply_media(media, direct=True)
        try:
            messages = self._message_to(recipient_id, text, media, {})
        except AuthExpired as exc:
            # 403 in a private chat is about the person (never wrote to the bot, or blocked it), not the
            # bot's rights in the channel: the token is fine, so the channel must not need reconnecting.
            if not exc.detail.lower().startswith("forbidden"):
                raise
            raise Rejected(
                f"{self.name} lets a bot message only people who started a chat with it (and did not block it)",
                network=self.key,
                detail=exc.detail,
                field="recipient",
            ) from exc
        result = self._sent_to(recipient_id, messages)
        return PublishResult(
            remote_id=result.remote_id,
            url=result.url,
            published_at=result.published_at,
            conversation_id=str(messages[0].get("chat", {}).get("id") or recipient_id),
            raw=result.raw,
        )

    def _message_to(self, chat: str, text: str, media: Sequence[MediaFile], extra: JSON) -> list[JSON]:
        """Text (sendMessage), one photo/video with ``text`` as its caption, or an album, into ``chat``."""
        body, shown = self._format(text, {})
        limit = self.caption_max if media else self.limits.max_text
        length = utf16_len(shown.strip())
        if media and length > limit:
            raise Rejected(f"a caption must be at most {limit} UTF-16 units", network=self.key, field="text")
        if not media and not 0 < length <= limit:
            raise Rejected(f"a reply or message must be 1–{limit} UTF-16 units", network=self.key, field="text")
        self._check_sizes(media)
        if self.parse_mode:
            extra = {**extra, "parse_mode": self.parse_mode}
        if not media:
            return [self.api.post("sendMessage", {"chat_id": chat, "text": body, **extra})]
        if len(media) == 1:
            return [self._send_one(media[0], body, extra, chat=chat)]
        return self._send_album(media, body, extra, chat=chat)

    def _sent_to(self, chat: str, messages: list[JSON]) -> PublishResult:
        """Messages sent outside the account's own chat: ids are ``<chat>:<id>[,<id>…]``."""
        if not messages:
            raise Transient("the network returned no message", network=self.key)
        first = messages[0]
        chat_id = (first.get("chat") or {}).get("id", chat)
        return PublishResult(
            remote_id=message_ref(chat_id, ",".join(str(m["message_id"]) for m in messages)),
            url=self.post_url(first.get("chat") or {}, first["message_id"]),
            published_at=parse_time(first.get("date")),
            raw={"message": first} if len(messages) == 1 else {"messages": messages},
        )

    # ------------------------------------------------------------------ updates (mentions, comments)

    def poll(self, cursor: Cursor) -> tuple[list[JSON], Cursor]:
        """One getUpdates call. The Bot API has ONE update queue per bot: a call with ``offset`` deletes
        every update below it, so mentions and comments must be read from the same cursor."""
        params: dict[str, str | int] = {"limit": 100, "timeout": 0}
        if cursor.offset:
            params["offset"] = cursor.offset
        updates: list[JSON] = self.api.get("getUpdates", **params) or []
        offset = max([cursor.offset, *(int(u["update_id"]) + 1 for u in updates)])
        return updates, Cursor(offset=offset, threads=cursor.threads)

    def comment_root(self, message: JSON, ident: Identity, threads: dict[int, int]) -> str:
        """The channel post a group message comments on, or "" (only networks with comments say)."""
        return ""

    def fetch_mentions(self, cursor: str = "") -> Page[RemoteMessage]:
        ident = self.identity()
        state = Cursor.parse(cursor)
        updates, state = self.poll(state)
        threads = dict(state.threads)
        found: list[RemoteMessage] = []
        for update in updates:
            message = update.get("message")
            if not isinstance(message, dict) or int(message["chat"]["id"]) == ident.chat_id:
                continue
            note_automatic_forward(message, ident, threads)
            if self.comment_root(message, ident, threads):
                continue  # a comment on our post is a comment, not a mention
            if mentions_us(message, ident):
                found.append(self.to_remote(message, MessageKind.MENTION))
        return Page(items=tuple(found), cursor=state.with_threads(threads).dump())

    def to_remote(self, message: JSON, kind: MessageKind, *, root: str = "") -> RemoteMessage:
        text, _ = text_and_entities(message)
        author_id, handle, name = author_of(message)
        chat = message.get("chat") or {}
        reply = message.get("reply_to_message")
        return RemoteMessage(
            remote_id=message_ref(chat.get("id"), message["message_id"]),
            kind=kind,
            text=text,
            author_id=author_id,
            author_handle=handle,
            author_name=name,
            created_at=parse_time(message.get("date")),
            in_reply_to=message_ref(chat.get("id"), reply["message_id"]) if isinstance(reply, dict) else "",
            root_id=root,
            url=self.post_url(chat, message["message_id"]),
            raw=message,
        )


def note_automatic_forward(message: JSON, ident: Identity, threads: dict[int, int]) -> bool:
    """Remember ``group message id → channel post id`` for the automatic forward of one of our posts."""
    origin = forwarded_post(message, ident)
    if origin:
        threads[int(message["message_id"])] = origin
    return bool(origin)


def forwarded_post(message: JSON, ident: Identity) -> int:
    """The channel post id if ``message`` is the automatic forward of our post into the discussion group."""
    if not message.get("is_automatic_forward"):
        return 0
    origin = message.get("forward_origin") or {}
    if origin.get("type") == "channel" and int((origin.get("chat") or {}).get("id", 0)) == ident.chat_id:
        return int(origin["message_id"])
    legacy = message.get("forward_from_chat") or {}
    if int(legacy.get("id", 0)) == ident.chat_id and "forward_from_message_id" in message:
        return int(message["forward_from_message_id"])
    return 0


def mentions_us(message: JSON, ident: Identity) -> bool:
    text, entities = text_and_entities(message)
    handles = ident.handles
    for entity in entities:
        kind = entity.get("type")
        if kind == "mention":
            if utf16_slice(text, int(entity["offset"]), int(entity["length"])).lower() in handles:
                return True
        elif kind == "text_mention" and int((entity.get("user") or {}).get("id", 0)) == ident.bot_id:
            return True
    reply = message.get("reply_to_message") or {}
    return int((reply.get("from") or {}).get("id", 0)) == ident.bot_id


# ---------------------------------------------------------------------------------------------- cursor

MAX_THREADS = 200


@dataclass(frozen=True)
class Cursor:
    """``"<offset>"`` or ``"<offset>|<group msg>:<post>,…"``: the next getUpdates offset plus the
    most recent discussion threads seen (so replies to replies are matched to their post across
    polls while the connector itself stays stateless)."""

    offset: int = 0
    threads: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, value: str) -> Cursor:
        if not value:
            return cls()
        head, _, tail = value.partition("|")
        try:
            pairs = tuple((int(a), int(b)) for a, b in (p.split(":") for p in tail.split(",") if p))
            return cls(offset=int(head), threads=pairs)
        except ValueError:
            raise Rejected(f"invalid cursor {value!r}", field="cursor") from None

    def with_threads(self, threads: Mapping[int, int]) -> Cursor:
        return Cursor(offset=self.offset, threads=tuple(threads.items())[-MAX_THREADS:])

    def dump(self) -> str:
        if not self.threads:
            return str(self.offset) if self.offset else ""
        return f"{self.offset}|" + ",".join(f"{a}:{b}" for a, b in self.threads)
