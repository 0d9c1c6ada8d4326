"""Eitaa (ایتا) channels through the Eitaayar bot API (https://eitaayar.ir/api).

``https://eitaayar.ir/api/<token>/<method>`` with form-encoded parameters: ``getMe``,
``sendMessage`` (``chat_id``, ``text``, ``title``, ``disable_notification``,
``reply_to_message_id``, ``date`` for a scheduled send, ``pin``, ``viewCountForDelete``) and
``sendFile`` (the same plus a multipart ``file`` and ``caption``). Answers are
``{"ok": true, "result": {...}}`` / ``{"ok": false, ...}``. Eitaayar's own page was not reachable
from the reference corpus; the shapes follow the client libraries listed in docs/connectors/eitaa.md.

The API only sends: there is no way to read comments, mentions, members or views, and no delete
is documented well enough to rely on. One file per message.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from sokhan.networks.base import Connector, CredentialField
from sokhan.networks.connectors._botapi import BotApi, MessageRef, parse_time, read_media, utf16_len
from sokhan.networks.errors import Rejected, Transient
from sokhan.networks.registry import register
from sokhan.networks.types import (
    AuthKind,
    Capability,
    Limits,
    MediaLimits,
    Profile,
    PublishRequest,
    PublishResult,
    TextCounting,
)

CAPTION_MAX = 1024
# PublishRequest.options passed through to Eitaayar as documented parameters.
PASS_THROUGH = {
    "date": "date",  # unix time: Eitaa publishes the message then
    "pin": "pin",  # "1": pin after sending
    "disable_notification": "disable_notification",  # "1": silent
    "view_count_for_delete": "viewCountForDelete",  # delete after this many views
}


@register
class EitaaConnector(Connector):
    key = "eitaa"
    name = "Eitaa"
    auth = AuthKind.BOT_TOKEN
    docs_url = "https://eitaayar.ir/api"
    default_base_url = "https://eitaayar.ir"
    credential_fields = (
        CredentialField(
            "access_token", _("Eitaayar token"), secret=True, help=_("The API token from your eitaayar.ir panel.")
        ),
        CredentialField(
            "target",
            _("Channel or group"),
            help=_("The channel's id without @ (e.g. eitaayar) or its numeric id; add @sender as an admin of it."),
        ),
    )
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_REPLY,
        }
    )
    limits = Limits(
        max_text=4096,
        counting=TextCounting.UTF16,
        media=MediaLimits(
            max_count=1,
            image_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
            video_types=("video/mp4",),
        ),
        title_max=None,
        notes=(
            "Eitaayar documents no length or size limits; Sokhan applies Telegram's (4096 text, 1024 caption, "
            "UTF-16 units) because Eitaa's clients derive from Telegram's. One file per message (sendFile). "
            "'title' is an internal label shown in the Eitaayar panel. No idempotency key."
        ),
    )

    _api: BotApi | None = None

    @property
    def api(self) -> BotApi:
        if self._api is None:
            self._api = BotApi(
                self.key, self.base_url, self.credentials.access_token, timeout=self.timeout, path="/api/{token}/"
            )
        return self._api

    @property
    def target(self) -> str:
        target = self.account.target.strip().lstrip("@")
        if not target:
            raise Rejected("no channel or group is set for this account", network=self.key, field="target")
        return target

    def verify(self) -> Profile:
        """Eitaayar can only say who the bot is; the channel itself cannot be read through it."""
        me = self.api.get("getMe")
        target = self.target
        return Profile(
            remote_id=target,
            handle=target,
            display_name=" ".join(p for p in (me.get("first_name"), me.get("last_name")) if p) or target,
            url=f"https://eitaa.com/{target}" if not target.lstrip("-").isdigit() else "",
            raw={"bot": me},
        )

    def check_publish(self, request: PublishRequest) -> None:
        super().check_publish(request)
        length = utf16_len(request.text.strip())
        limit = CAPTION_MAX if request.media else self.limits.max_text
        if not request.media and length == 0:
            raise Rejected("the text is empty", network=self.key, field="text")
        if length > limit:
            raise Rejected(
                f"the {'caption' if request.media else 'text'} is {length} UTF-16 units long; "
                f"Eitaa takes at most {limit}",
                network=self.key,
                field="text",
            )

    def publish(self, request: PublishRequest) -> PublishResult:
        self.check_publish(request)
        fields: dict[str, str] = {"chat_id": self.target}
        if request.title:
            fields["title"] = request.title
        if request.reply_to:
            fields["reply_to_message_id"] = str(MessageRef.parse(request.reply_to, network=self.key).message_ids[0])
        for option, name in PASS_THROUGH.items():
            if request.options.get(option):
                fields[name] = request.options[option]
        text = request.text
        if request.link and request.link not in text:
            text = f"{text}\n\n{request.link}" if text else request.link
        if request.media:
            fields["caption"] = text
            files = {"file": read_media(request.media[0], network=self.key)}
            sent: Any = self.api.upload("sendFile", fields, files)
        else:
            fields["text"] = text
            sent = self.api.upload("sendMessage", fields, {})
        if not isinstance(sent, dict) or "message_id" not in sent:
            raise Transient("Eitaayar answered without a message id", network=self.key)
        chat = sent.get("chat") or {}
        username = chat.get("username") or (self.target if not self.target.lstrip("-").isdigit() else "")
        return PublishResult(
            remote_id=str(sent["message_id"]),
            url=f"https://eitaa.com/{username}/{sent['message_id']}" if username else "",
            published_at=parse_time(sent.get("date")),
            raw={"message": sent},
        )
