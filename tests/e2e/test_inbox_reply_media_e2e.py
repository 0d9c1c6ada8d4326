"""A reply with an image, from the inbox page to a real local Bluesky network: a customer comments on
the brand's post, the comment is read into the inbox, an agent answers it with a picture from the
media library, and the reply record on the PDS answers the comment and carries the picture in an
``app.bsky.embed.images`` embed whose blob is the library file, with its alt text."""

from __future__ import annotations

import io
import uuid

import pytest
from django.test import Client
from PIL import Image
from tests.e2e.conftest import PDS
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually

from sokhan.channels.services import Connected, channel_connect
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox.ingest import ingest
from sokhan.inbox.models import Direction, Message, SendState
from sokhan.media.services import asset_upload
from sokhan.networks.types import MessageKind, PublishRequest, RemoteMessage

pytestmark = [pytest.mark.e2e]


def test_a_reply_with_an_image_appears_on_the_server_with_its_embed(
    transactional_db: None, bluesky_server: str, settings: object, tmp_path: object
) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    owner = User.objects.create_user("maryam@example.com", "pw-maryam-123456", full_name="مریم")
    agent = User.objects.create_user("sara@example.com", "pw-sara-1234567", full_name="سارا")
    workspace = workspace_create(owner=owner, name="قهوه‌ی آکمه", slug="acme", timezone_name="Asia/Tehran")
    Membership.objects.create(workspace=workspace, user=agent, role=Role.EDITOR)
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)

    brand = new_bluesky_account(bluesky_server, "acme")
    customer = new_bluesky_account(bluesky_server, "cust")

    def connect() -> Connected | None:
        try:
            values = {"username": brand.credentials.username, "password": brand.credentials.password, "base_url": PDS}
            return channel_connect(actor=actor, network="bluesky", values=values)
        except DomainError as exc:
            assert "Profile not found" in exc.message, exc.message  # the app view indexes new accounts later
            return None

    connected = eventually(connect, "the brand's profile to be indexed", seconds=90, every=2)
    assert connected is not None
    channel = connected.channel

    # The brand's post, and a customer's question under it, read into the inbox.
    run = uuid.uuid4().hex[:6]
    post = brand.publish(PublishRequest(text=f"منوی تازه‌ی پاییز {run}", idempotency_key=f"p-{run}"))
    eventually(lambda: customer._posts([post.remote_id]), "the brand's post in the app view")
    as_post = RemoteMessage(post.remote_id, MessageKind.POST, "", channel.remote_id, channel.handle, post.published_at)  # type: ignore[arg-type]
    question = customer.reply(as_post, f"عکس منو را می‌فرستید؟ {run}", idempotency_key=f"q-{run}")
    comments = eventually(
        lambda: [c for c in brand.fetch_comments(post_ids=[post.remote_id]).items if c.remote_id == question.remote_id],
        "the customer's comment",
    )
    ingest(channel, comments)
    received = Message.objects.get(workspace=workspace, remote_id=question.remote_id)

    # A picture in the media library, sent with the reply from the inbox page.
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (180, 90, 30)).save(buffer, format="PNG")
    picture = asset_upload(actor=actor, chunks=[buffer.getvalue()], name="menu.png", alt_text="منوی پاییز").asset
    client = Client()
    client.force_login(agent)
    conversation = received.conversation
    answer = f"بفرمایید، منوی امروز {run}"
    response = client.post(
        f"/w/acme/inbox/c/{conversation.pk}/reply/",
        {"text": answer, "version": conversation.version, "media": [picture.pk]},
    )
    assert response.status_code == 302
    sent = Message.objects.get(conversation=conversation, direction=Direction.OUT)
    assert sent.send_state == SendState.SENT and sent.remote_id, sent.send_error
    assert [a["asset_id"] for a in sent.attachments] == [picture.pk]

    # On the PDS: a reply to the comment, embedding the library file as an image with its alt text.
    did, collection, rkey = sent.remote_id.removeprefix("at://").split("/")
    record = brand.client.com.atproto.repo.get_record({"repo": did, "collection": collection, "rkey": rkey})
    value = record.value
    assert value.text == answer and value.reply.parent.uri == question.remote_id
    assert value.embed.py_type == "app.bsky.embed.images"
    [embedded] = value.embed.images
    assert embedded.alt == "منوی پاییز" and embedded.image.mime_type == "image/png"
    assert embedded.aspect_ratio.width == 8 and embedded.aspect_ratio.height == 6
    blob = brand.client.com.atproto.sync.get_blob({"did": did, "cid": embedded.image.cid.encode()})
    assert blob == picture.path.read_bytes()

    # …and the app view shows it under the comment with the image.
    def shown() -> list[RemoteMessage]:
        return [c for c in brand.fetch_comments(post_ids=[post.remote_id]).items if c.remote_id == sent.remote_id]

    [view] = eventually(shown, "the reply in the thread")
    assert view.in_reply_to == question.remote_id
    assert view.raw["embed"]["$type"] == "app.bsky.embed.images#view"
    assert view.raw["embed"]["images"][0]["alt"] == "منوی پاییز"
