"""Push receivers: Meta (Facebook Pages, Instagram) and the Bot API (Telegram, Bale).

Payload shapes follow the networks' documentation:
- https://developers.facebook.com/docs/graph-api/webhooks/getting-started (verification, X-Hub-Signature-256)
- https://developers.facebook.com/docs/graph-api/webhooks/reference/page (``feed``: item, verb, comment_id…)
- https://developers.facebook.com/docs/instagram-platform/webhooks/examples (``comments``, messaging)
- https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-instagram (``mentions``)
- https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages (``messaging``)
- https://core.telegram.org/bots/api#setwebhook (secret_token, X-Telegram-Bot-Api-Secret-Token),
  https://core.telegram.org/bots/api#update and #message (update_id, is_automatic_forward, forward_origin)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from tests.inbox import webhook_payloads as P

from sokhan.channels.models import Channel, OAuthApp
from sokhan.core.models import User, Workspace
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Message, WebhookDelivery
from sokhan.inbox.webhooks import botapi, common, webhook_secret_issue
from sokhan.networks.connectors._botapi import Identity
from sokhan.networks.connectors.telegram import TelegramConnector
from sokhan.networks.errors import Transient
from sokhan.networks.types import Credentials

pytestmark = pytest.mark.django_db

APP_SECRET = "meta-app-secret-for-tests"
VERIFY = "meatyhamhock"
BOT_TOKEN = "123456789:AAF-test-token"
META = "/api/v1/webhooks/meta"


@pytest.fixture(autouse=True)
def meta_settings(settings: Any) -> None:
    settings.SOKHAN_META_APP_SECRET = APP_SECRET
    settings.SOKHAN_META_WEBHOOK_VERIFY_TOKEN = VERIFY


def make_channel(workspace: Workspace, network: str, remote_id: str, **fields: Any) -> Channel:
    channel = Channel(
        workspace=workspace,
        network=network,
        display_name=f"Acme on {network}",
        base_url="http://127.0.0.1:9",  # never called
        remote_id=remote_id,
        last_check_ok=True,
        last_check_at=timezone.now(),
        **fields,
    )
    channel.credentials = Credentials(access_token="test-token")
    channel.save()
    return channel


@pytest.fixture
def page(workspace: Workspace) -> Channel:
    channel = make_channel(workspace, "facebook", P.PAGE_ID, target=P.PAGE_ID, handle="acmecoffee")
    channel.credentials = Credentials(access_token="user-token", data={"page_access_token": "page-token"})
    channel.save()
    return channel


@pytest.fixture
def instagram(workspace: Workspace) -> Channel:
    return make_channel(workspace, "instagram", P.IG_ID, handle="acme.coffee")


def _bot_channel(workspace: Workspace, network: str) -> Channel:
    channel = make_channel(workspace, network, str(P.CHANNEL_CHAT["id"]), target="@acme_news", handle="acme_news")
    channel.credentials = Credentials(access_token=BOT_TOKEN)
    channel.save()
    return channel


IDENTITY = Identity(
    bot_id=123456789,
    bot_username="acme_bot",
    chat={**P.CHANNEL_CHAT, "linked_chat_id": P.GROUP_CHAT["id"], "description": "not kept"},
)


@pytest.fixture
def network_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """``call()`` as webhook_secret_issue uses it, without a network: who we are, and set_webhook."""
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def fake_call(channel: Channel, op: str, *args: Any) -> Any:
        seen.append((op, args))
        return IDENTITY if op == "identity" else True

    monkeypatch.setattr(botapi, "call", fake_call)
    return seen


@pytest.fixture
def telegram(workspace: Workspace, network_calls: list[Any]) -> tuple[Channel, str]:
    channel = _bot_channel(workspace, "telegram")
    return channel, webhook_secret_issue(channel)


def now_s() -> int:
    return int(timezone.now().timestamp())


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_meta(payload: Any, *, secret: str = APP_SECRET, signature: str | None = None, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": signature if signature is not None else sign(body, secret)}
    return Client().post(META, data=body, content_type="application/json", headers=headers)


def post_bot(network: str, channel_id: int, payload: Any, secret: str | None, *, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return Client().post(
        f"/api/v1/webhooks/{network}/{channel_id}", data=body, content_type="application/json", headers=headers
    )


# ---------------------------------------------------------------------------------------------- Meta: verification


def test_subscription_check_echoes_the_challenge() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = Client().get(META, query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_subscription_check_refuses_a_wrong_token(query: dict[str, str]) -> None:
    response = Client().get(META, query)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_subscription_check_without_a_configured_token(settings: Any) -> None:
    settings.SOKHAN_META_WEBHOOK_VERIFY_TOKEN = ""
    response = Client().get(META, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert response.status_code == 403
    assert "SOKHAN_META_WEBHOOK_VERIFY_TOKEN" in response.json()["error"]["message"]


# ---------------------------------------------------------------------------------------------- Meta: deliveries


def test_a_signed_delivery_stores_the_comment_and_the_dm(page: Channel) -> None:
    sent = now_s() - 60
    payload = P.delivery(
        "page",
        P.page_comment_entry(time=sent),
        P.page_reaction_entry(time=sent),
        P.messenger_entry(time_ms=sent * 1000 + 250),
        P.messenger_entry(time_ms=sent * 1000 + 500, mid="m_echo", echo=True),
    )
    response = post_meta(payload)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "stored": 2, "duplicates": 0, "skipped": 0}

    comment = Message.objects.get(channel=page, remote_id=f"{P.PAGE_ID}_2001_3001")
    assert (comment.kind, comment.text) == ("comment", "Is the dark roast back in stock?")
    assert (comment.author_remote_id, comment.author_name) == ("6500000000000001", "Sara Ahmadi")
    assert comment.in_reply_to == f"{P.PAGE_ID}_2001"
    assert int(comment.created_at.timestamp()) == sent
    thread = comment.conversation
    assert (thread.kind, thread.thread_key, thread.workspace_id) == ("comment", f"{P.PAGE_ID}_2001", page.workspace_id)

    dm = Message.objects.get(channel=page, remote_id="m_AAAAAAAAAAAA1")
    assert (dm.kind, dm.direction, dm.author_remote_id) == ("dm", "in", "7100000000000001")
    assert dm.created_at.timestamp() == pytest.approx(sent + 0.25)
    assert (dm.conversation.kind, dm.conversation.thread_key) == ("dm", "7100000000000001")
    assert not Message.objects.filter(remote_id="m_echo").exists()  # our own message echoed back

    delivery = WebhookDelivery.objects.get(source="meta")
    assert delivery.key == hashlib.sha256(json.dumps(payload).encode()).hexdigest()
    assert (delivery.channel_id, delivery.messages) == (page.pk, 2)


def test_instagram_comment_and_mention(instagram: Channel) -> None:
    sent = now_s() - 5
    response = post_meta(P.delivery("instagram", P.ig_comment_entry(time=sent), P.ig_mention_entry(time=sent)))
    assert response.status_code == 200, response.content
    comment = Message.objects.get(channel=instagram, remote_id="17900000000000001")
    assert (comment.kind, comment.text, comment.author_handle) == ("comment", "Love it", "coffee_fan")
    assert comment.conversation.thread_key == "17890000000000001"  # the media
    mention = Message.objects.get(channel=instagram, remote_id="17900000000000777")
    assert (mention.kind, mention.conversation.kind, mention.text) == ("mention", "mention", "")


def test_a_reply_joins_its_comment_thread(page: Channel) -> None:
    sent = now_s()
    post_meta(P.delivery("page", P.page_comment_entry(time=sent - 10)))
    reply = P.page_comment_entry(
        time=sent, comment_id=f"{P.PAGE_ID}_2001_3002", parent_id=f"{P.PAGE_ID}_2001_3001", message="Yes!"
    )
    assert post_meta(P.delivery("page", reply)).status_code == 200
    assert Conversation.objects.filter(channel=page).count() == 1
    assert Message.objects.get(remote_id=f"{P.PAGE_ID}_2001_3002").in_reply_to == f"{P.PAGE_ID}_2001_3001"


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (sign(b"something else"), "signature_invalid"),
        ("sha1=0123456789abcdef", "signature_invalid"),
        ("", "signature_missing"),
    ],
)
def test_a_bad_signature_stores_nothing(page: Channel, signature: str, code: str) -> None:
    response = post_meta(P.delivery("page", P.page_comment_entry(time=now_s())), signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert not Message.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_another_apps_secret_is_refused(page: Channel) -> None:
    response = post_meta(P.delivery("page", P.page_comment_entry(time=now_s())), secret="not-our-secret")
    assert response.status_code == 401
    assert not Message.objects.exists()


def test_the_same_body_twice_is_stored_once(page: Channel) -> None:
    body = json.dumps(P.delivery("page", P.page_comment_entry(time=now_s()))).encode()
    first = post_meta(None, raw=body)
    second = post_meta(None, raw=body)
    assert first.json()["status"] == "ok"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert Message.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_an_old_delivery_is_refused(page: Channel) -> None:
    old = int((timezone.now() - timedelta(hours=25)).timestamp())
    response = post_meta(P.delivery("page", P.page_comment_entry(time=old)))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_delivery"
    assert not Message.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_the_replay_window_is_a_setting(page: Channel, settings: Any) -> None:
    settings.SOKHAN_WEBHOOK_REPLAY_WINDOW_HOURS = "48"
    old = int((timezone.now() - timedelta(hours=25)).timestamp())
    assert post_meta(P.delivery("page", P.page_comment_entry(time=old))).status_code == 200


def test_an_unknown_account_is_skipped_not_refused(page: Channel, caplog: pytest.LogCaptureFixture) -> None:
    sent = now_s()
    payload = P.delivery(
        "page", P.page_comment_entry(time=sent, page_id="999"), P.page_comment_entry(time=sent, comment_id="c2")
    )
    with caplog.at_level(logging.WARNING, logger="sokhan.inbox.webhooks"):
        response = post_meta(payload)
    assert response.status_code == 200
    assert response.json()["skipped"] == 1
    assert list(Message.objects.values_list("remote_id", flat=True)) == ["c2"]
    assert "999" in caplog.text


def test_a_workspace_app_speaks_only_for_its_own_workspace(page: Channel, owner: User, settings: Any) -> None:
    """Another workspace's admin knows their own app secret and our public Page id: not enough."""
    settings.SOKHAN_META_APP_SECRET = ""
    other = workspace_create(owner=owner, name="Other", slug="other")
    OAuthApp.objects.create(workspace=other, network="facebook", client_id="1", client_secret="other-secret")
    OAuthApp.objects.create(workspace=page.workspace, network="facebook", client_id="2", client_secret="our-secret")
    payload = P.delivery("page", P.page_comment_entry(time=now_s()))
    forged = post_meta(payload, secret="other-secret")
    assert forged.status_code == 200
    assert forged.json()["skipped"] == 1
    assert not Message.objects.exists()
    payload = P.delivery("page", P.page_comment_entry(time=now_s() + 1))
    assert post_meta(payload, secret="our-secret").json()["stored"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (json.dumps({"entry": []}).encode(), "object"),
        (json.dumps({"object": "page"}).encode(), "entry"),
        (json.dumps({"object": "page", "entry": {"id": "1"}}).encode(), "entry"),
        (json.dumps({"object": "page", "entry": [{"id": P.PAGE_ID}]}).encode(), "entry[0].time"),
        (
            json.dumps(
                {
                    "object": "page",
                    "entry": [
                        {
                            "id": P.PAGE_ID,
                            "time": 1,
                            "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add", "post_id": "1"}}],
                        }
                    ],
                }
            ).encode(),
            "entry[0].changes[0].value.comment_id",
        ),
    ],
)
def test_a_malformed_delivery_is_400_not_500(
    page: Channel, body: bytes, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sokhan.inbox.webhooks"):
        response = post_meta(None, raw=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert field in error["fields"]
    assert field in error["message"]
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert not WebhookDelivery.objects.exists()


def test_a_body_over_a_megabyte_is_413(page: Channel) -> None:
    body = b'{"object": "page", "entry": [], "pad": "' + b"x" * common.MAX_BODY + b'"}'
    response = post_meta(None, raw=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_other_objects_are_acknowledged(page: Channel) -> None:
    response = post_meta({"object": "user", "entry": [{"id": "1", "time": now_s(), "changes": []}]})
    assert (response.status_code, response.json()["status"]) == (200, "ignored")


def test_a_crash_while_storing_leaves_no_delivery(page: Channel, monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps(P.delivery("page", P.page_comment_entry(time=now_s()))).encode()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(common, "ingest", broken)
        assert post_meta(None, raw=body).status_code == 500
    assert not WebhookDelivery.objects.exists()
    # Meta's retry of the same body is then processed in full.
    assert post_meta(None, raw=body).json()["stored"] == 1


# ---------------------------------------------------------------------------------------------- Bot API


def test_issuing_a_secret_stores_only_its_hash(
    workspace: Workspace, network_calls: list[tuple[str, tuple[Any, ...]]]
) -> None:
    channel = _bot_channel(workspace, "telegram")
    secret = webhook_secret_issue(channel)
    channel.refresh_from_db()
    assert len(secret) >= 32
    assert secret not in json.dumps(channel.options)
    assert channel.options["webhook_secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    identity = json.loads(channel.options["webhook_identity"])
    assert identity["chat"]["linked_chat_id"] == P.GROUP_CHAT["id"]
    assert "description" not in identity["chat"]
    assert [op for op, _ in network_calls] == ["identity"]  # no set_webhook on the connector
    assert botapi.webhook_url(channel).endswith(f"/api/v1/webhooks/telegram/{channel.pk}")
    # A second secret replaces the first.
    assert webhook_secret_issue(channel) != secret


def test_issuing_calls_set_webhook_when_the_connector_has_it(
    workspace: Workspace, network_calls: list[tuple[str, tuple[Any, ...]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TelegramConnector, "set_webhook", lambda self, url, secret: True, raising=False)
    channel = _bot_channel(workspace, "telegram")
    secret = webhook_secret_issue(channel)
    assert network_calls[-1] == ("set_webhook", (botapi.webhook_url(channel), secret))


def test_a_private_message_is_a_dm(telegram: tuple[Channel, str]) -> None:
    channel, secret = telegram
    response = post_bot("telegram", channel.pk, P.update(10000, P.private_message(date=now_s())), secret)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"
    message = Message.objects.get(channel=channel)
    assert (message.remote_id, message.kind, message.author_handle) == ("111111111:1365", "dm", "sara_fa")
    assert (message.conversation.kind, message.conversation.thread_key) == ("dm", "111111111")
    assert WebhookDelivery.objects.get().source == f"telegram:{channel.pk}"


@pytest.mark.parametrize("header", ["wrong-secret", None, ""])
def test_a_wrong_secret_is_401(telegram: tuple[Channel, str], header: str | None) -> None:
    channel, _secret = telegram
    response = post_bot("telegram", channel.pk, P.update(10000, P.private_message(date=now_s())), header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "secret_invalid"
    assert not Message.objects.exists()


def test_a_channel_without_a_secret_refuses_everything(workspace: Workspace) -> None:
    channel = _bot_channel(workspace, "telegram")
    response = post_bot("telegram", channel.pk, P.update(1, P.private_message(date=now_s())), "anything")
    assert response.status_code == 401


def test_an_update_id_is_stored_once(telegram: tuple[Channel, str]) -> None:
    channel, secret = telegram
    payload = P.update(10000, P.private_message(date=now_s()))
    assert post_bot("telegram", channel.pk, payload, secret).json()["status"] == "ok"
    again = post_bot("telegram", channel.pk, payload, secret)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert Message.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_unknown_or_foreign_channels_are_404(telegram: tuple[Channel, str], page: Channel) -> None:
    channel, secret = telegram
    payload = P.update(1, P.private_message(date=now_s()))
    assert post_bot("telegram", channel.pk + 1000, payload, secret).status_code == 404
    assert post_bot("bale", channel.pk, payload, secret).status_code == 404  # a Telegram channel
    assert post_bot("telegram", page.pk, payload, secret).status_code == 404
    not_an_id = Client().post("/api/v1/webhooks/telegram/abc", data=b"{}", content_type="application/json")
    assert not_an_id.status_code == 404
    channel.status = "paused"
    channel.save()
    assert post_bot("telegram", channel.pk, payload, secret).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (json.dumps({"message": {}}).encode(), "update_id"),
        (json.dumps({"update_id": "7"}).encode(), "update_id"),
        (json.dumps({"update_id": 7, "message": {"message_id": 1, "chat": "x"}}).encode(), "message.chat"),
    ],
)
def test_a_malformed_update_is_400(telegram: tuple[Channel, str], body: bytes, field: str) -> None:
    channel, secret = telegram
    response = post_bot("telegram", channel.pk, None, secret, raw=body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_discussion_group_comments_and_mentions(telegram: tuple[Channel, str]) -> None:
    channel, secret = telegram
    date = now_s()
    forward = P.automatic_forward(date=date)
    comment = P.group_reply(message_id=51, reply_to=forward, date=date + 1, text="Nice!")
    answer = P.group_reply(message_id=52, reply_to=comment, date=date + 2, text="Agreed", sender=P.ALI)
    updates = [
        P.update(1, forward),  # our own post copied into the group: not a message
        P.update(2, comment),  # a comment on post 101
        P.update(3, answer),  # a reply to the comment: the same thread, found through the database
        P.update(4, P.group_mention(date=date + 3)),  # @acme_news in another group
        P.update(5, P.channel_post(message_id=102, date=date + 4), key="channel_post"),  # our own new post
    ]
    statuses = [post_bot("telegram", channel.pk, u, secret).json()["status"] for u in updates]
    assert statuses == ["ignored", "ok", "ok", "ok", "ignored"]

    group = P.GROUP_CHAT["id"]
    first = Message.objects.get(remote_id=f"{group}:51")
    assert (first.kind, first.conversation.thread_key) == ("comment", "101")
    assert first.url == "https://t.me/acme_news/101?comment=51"
    second = Message.objects.get(remote_id=f"{group}:52")
    assert second.conversation_id == first.conversation_id
    mention = Message.objects.get(remote_id=f"{P.OTHER_GROUP['id']}:7")
    assert (mention.kind, mention.author_name) == ("mention", "Ali Rezaei")
    assert WebhookDelivery.objects.filter(source=f"telegram:{channel.pk}").count() == 5


def test_bale_receives_with_its_own_secret(workspace: Workspace, network_calls: list[Any]) -> None:
    channel = _bot_channel(workspace, "bale")
    secret = webhook_secret_issue(channel)
    response = post_bot("bale", channel.pk, P.update(77, P.private_message(date=now_s())), secret)
    assert response.status_code == 200, response.content
    assert Message.objects.get(channel=channel).kind == "dm"
    assert WebhookDelivery.objects.get().source == f"bale:{channel.pk}"


def test_without_the_network_a_secret_is_still_issued(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(channel: Channel, op: str, *args: Any) -> Any:
        raise Transient("connection refused", network="telegram")

    monkeypatch.setattr(botapi, "call", unreachable)
    channel = _bot_channel(workspace, "telegram")
    secret = webhook_secret_issue(channel)
    channel.refresh_from_db()
    assert "webhook_identity" not in channel.options
    # The bot id still comes from its token, the chat from the channel row.
    assert botapi.stored_identity(channel).bot_id == 123456789
    assert post_bot("telegram", channel.pk, P.update(1, P.private_message(date=now_s())), secret).status_code == 200


# ---------------------------------------------------------------------------------------------- OpenAPI


def test_openapi_lists_the_webhook_paths() -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/webhooks/meta"]) == {"get", "post"}
    assert set(paths["/api/v1/webhooks/telegram/{channel_id}"]) == {"post"}
    assert set(paths["/api/v1/webhooks/bale/{channel_id}"]) == {"post"}
    post = paths["/api/v1/webhooks/meta"]["post"]
    assert post["tags"] == ["webhooks"]
    assert "security" not in post
    assert {p["name"] for p in post["parameters"]} == {"X-Hub-Signature-256"}
    telegram = paths["/api/v1/webhooks/telegram/{channel_id}"]["post"]
    assert {p["name"] for p in telegram["parameters"]} == {"channel_id", "X-Telegram-Bot-Api-Secret-Token"}
