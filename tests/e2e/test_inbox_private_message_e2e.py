"""Message a commenter privately, against a real Synapse on 127.0.0.1:8008: Bob comments on the
brand's post in its room; from the inbox an agent messages him privately with a picture; Synapse
gets a direct room with Bob holding the message (an ``m.image`` event); Bob's answer there comes
back into the same DM conversation, which still points at the comment it started from."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image
from tests.e2e.test_matrix_e2e import URL, _nio, synapse  # noqa: F401 - the session's Synapse

from sokhan.core.models import Membership, User
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox.ingest import ingest
from sokhan.inbox.models import Conversation, Direction, Kind, Message, SendState
from sokhan.media.services import asset_upload
from sokhan.networks.connectors.matrix import MatrixConnector
from sokhan.networks.types import Account, MessageKind, PublishRequest, RemoteMessage
from sokhan.ops.bench_sink import make_channel

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("synapse")]


def test_a_commenter_is_messaged_privately_and_answers_there(
    transactional_db: None, settings: object, tmp_path: object
) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    alice_creds = MatrixConnector.login(URL, "alice", "alicepass")
    bob_creds = MatrixConnector.login(URL, "bob", "bobpass")

    async def create(client: Any) -> str:
        response = await client.room_create(name="Sokhan private e2e", invite=["@bob:localhost"])
        return str(response.room_id)

    room = _nio(alice_creds, create)
    _nio(bob_creds, lambda client: client.join(room))
    alice = MatrixConnector(Account(base_url=URL, target=room), alice_creds)
    bob = MatrixConnector(Account(base_url=URL, target=room), bob_creds)
    bob_dms = bob.fetch_dms()  # Bob's cursor from before anything private happens

    owner = User.objects.create_user("maryam@example.com", "pw-maryam-123456", full_name="مریم")
    agent = User.objects.create_user("sara@example.com", "pw-sara-1234567", full_name="سارا")
    workspace = workspace_create(owner=owner, name="آکمه", slug="acme")
    Membership.objects.create(workspace=workspace, user=agent, role=Role.EDITOR)
    channel = make_channel(
        workspace, URL, network="matrix", target=room, remote_id="@alice:localhost", credentials=alice_creds
    )

    # The brand's post and Bob's comment on it, read into the inbox.
    key = os.urandom(4).hex()
    post = alice.publish(PublishRequest(text=f"منوی پاییز {key}", idempotency_key=f"post-{key}"))
    as_post = RemoteMessage(
        remote_id=post.remote_id,
        kind=MessageKind.POST,
        text="",
        author_id="@alice:localhost",
        author_handle="@alice:localhost",
        created_at=post.published_at or timezone.now(),
        conversation_id=room,
    )
    bob.reply(as_post, f"قیمت‌ها چطور است؟ {key}", idempotency_key=f"c-{key}")
    comments = alice.fetch_comments(post_ids=[post.remote_id]).items
    ingest(channel, comments)
    comment = Message.objects.get(workspace=workspace, direction=Direction.IN, author_remote_id="@bob:localhost")
    origin = comment.conversation
    assert origin.kind == Kind.COMMENT

    # From the comment, the agent messages Bob privately with a picture from the library.
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 60)).save(buffer, format="PNG")
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)
    picture = asset_upload(actor=actor, chunks=[buffer.getvalue()], name="prices.png", alt_text="قیمت‌ها").asset
    client = Client()
    client.force_login(agent)
    page = client.get(f"/w/acme/inbox/c/{origin.pk}/").content.decode()
    assert "پیام خصوصی بدهید" in page  # "Message privately", in the workspace's Persian
    text = f"سلام باب، فهرست قیمت‌ها {key}"
    response = client.post(
        f"/w/acme/inbox/c/{origin.pk}/messages/{comment.pk}/private/", {"text": text, "media": [picture.pk]}
    )
    assert response.status_code == 302
    sent = Message.objects.get(direction=Direction.OUT, kind=Kind.DM)
    assert sent.send_state == SendState.SENT, sent.send_error
    dm = sent.conversation
    assert dm.kind == Kind.DM and dm.origin_message == comment and dm.contact_remote_id == "@bob:localhost"
    assert response["Location"] == f"/w/acme/inbox/c/{dm.pk}/"
    assert dm.thread_key.startswith("!") and dm.thread_key != room  # keyed by the new direct room

    # Synapse: Bob was invited to a direct room holding the picture, captioned with the text.
    seen: list[dict[str, Any]] = []
    cursor = bob_dms.cursor
    for _ in range(3):  # the first fetch accepts the invitation; the room's messages follow
        page_dm = bob.fetch_dms(cursor)
        seen += [m.raw for m in page_dm.items if m.conversation_id == dm.thread_key]
        cursor = page_dm.cursor
        if seen:
            break
    [event] = seen
    assert event["content"]["msgtype"] == "m.image" and event["content"]["body"] == text
    assert event["content"]["url"].startswith("mxc://localhost/") and event["sender"] == "@alice:localhost"

    # Bob answers in that room; the answer threads into the same DM conversation.
    before = alice.fetch_dms()
    bob.send_dm("@alice:localhost", f"ممنون! {key}", idempotency_key=f"a-{key}")
    answers = alice.fetch_dms(before.cursor).items
    ingest(channel, answers)
    answer = Message.objects.get(direction=Direction.IN, text=f"ممنون! {key}")
    assert answer.conversation_id == dm.pk and Conversation.objects.filter(kind=Kind.DM).count() == 1
    dm.refresh_from_db()
    assert dm.origin_message == comment and dm.awaiting_since is not None
    html = client.get(f"/w/acme/inbox/c/{dm.pk}/").content.decode()
    assert "آغازشده از یک پیام عمومی" in html and f"قیمت‌ها چطور است؟ {key}" in html
