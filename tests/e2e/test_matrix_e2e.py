"""Matrix end to end: Sokhan's connector against a real Synapse on 127.0.0.1:8008.

The server comes from ``tests/e2e/servers/synapse.sh`` (Synapse from PyPI in a cached venv, SQLite);
it is started when not running and stopped at the end unless ``SOKHAN_E2E_KEEP=1``.
Room creation and reading events back use matrix-nio directly: they are test set-up, not Sokhan code.
"""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nio
import pytest

from sokhan.networks.connectors.matrix import MatrixConnector
from sokhan.networks.types import (
    Account,
    Credentials,
    MediaFile,
    MessageKind,
    ProfileUpdate,
    PublishRequest,
    RemoteMessage,
)

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parent / "servers" / "synapse.sh"
URL = "http://127.0.0.1:8008"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"Synapse e2e server unavailable on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def synapse() -> Iterator[str]:
    running = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode == 0
    if not running:
        try:
            done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=1200)
        except subprocess.TimeoutExpired:
            _unavailable("synapse.sh start timed out")
        if done.returncode != 0:
            _unavailable(f"synapse.sh start failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    yield URL
    if not running and os.environ.get("SOKHAN_E2E_KEEP") != "1":
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=60)


def _nio(creds: Credentials, action: Any) -> Any:
    async def run() -> Any:
        client = nio.AsyncClient(URL, creds.username)
        client.access_token, client.user_id = creds.access_token, creds.username
        try:
            return await action(client)
        finally:
            await client.close()

    return asyncio.run(run())


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


def test_room_channel_round_trip(synapse: str, tmp_path: Path) -> None:
    alice_creds = MatrixConnector.login(synapse, "alice", "alicepass")
    bob_creds = MatrixConnector.login(synapse, "bob", "bobpass")
    assert alice_creds.username == "@alice:localhost"

    async def create(client: Any) -> str:
        response = await client.room_create(name="Sokhan e2e", invite=["@bob:localhost"])
        return str(response.room_id)

    room = _nio(alice_creds, create)
    _nio(bob_creds, lambda client: client.join(room))
    alice = MatrixConnector(Account(base_url=synapse, target=room), alice_creds)
    bob = MatrixConnector(Account(base_url=synapse, target=room), bob_creds)

    assert alice.verify().remote_id == "@alice:localhost"
    name = f"Alice {os.urandom(2).hex()}"
    assert alice.update_profile(ProfileUpdate(display_name=name)).display_name == name

    comments, mentions, dms = alice.fetch_comments(), alice.fetch_mentions(), alice.fetch_dms()
    key = f"e2e-{os.urandom(6).hex()}"
    post = alice.publish(PublishRequest(text="<b>سلام</b> from Sokhan", idempotency_key=key, thread=("part 2",)))
    assert alice.publish(PublishRequest(text="<b>سلام</b> from Sokhan", idempotency_key=key)).remote_id == (
        post.remote_id
    )  # same transaction id: the homeserver returns the first event
    image = alice.publish(
        PublishRequest(
            text="a dot",
            idempotency_key=key + "-img",
            media=(MediaFile(path=_png(tmp_path / "dot.png"), mime_type="image/png"),),
        )
    )

    async def read(client: Any, event_id: str) -> dict[str, Any]:
        response = await client.room_get_event(room, event_id)
        return dict(response.event.source)

    text_event = _nio(bob_creds, lambda c: read(c, post.remote_id))
    assert text_event["content"]["formatted_body"] == "<b>سلام</b> from Sokhan"
    part = _nio(bob_creds, lambda c: read(c, post.thread_ids[0]))
    assert part["content"]["m.relates_to"]["rel_type"] == "m.thread"
    image_event = _nio(bob_creds, lambda c: read(c, image.remote_id))
    assert image_event["content"]["msgtype"] == "m.image"
    assert image_event["content"]["url"].startswith("mxc://localhost/")

    as_post = RemoteMessage(
        remote_id=post.remote_id,
        kind=MessageKind.POST,
        text="",
        author_id="@alice:localhost",
        author_handle="@alice:localhost",
        created_at=post.published_at,  # type: ignore[arg-type]
        conversation_id=room,
    )
    bob.reply(as_post, "Nice one @alice:localhost", idempotency_key=key + "-bob")

    page = alice.fetch_comments(comments.cursor, post_ids=[post.remote_id])
    assert [(m.text, m.author_id) for m in page.items] == [("Nice one @alice:localhost", "@bob:localhost")]
    found = alice.fetch_mentions(mentions.cursor)
    assert [m.remote_id for m in found.items] == [page.items[0].remote_id]

    answer = alice.reply(page.items[0], "Thanks Bob", idempotency_key=key + "-answer")
    alice.like(page.items[0].remote_id)
    alice.like(page.items[0].remote_id)
    bob_sees = bob.fetch_mentions()
    assert answer.remote_id in [m.remote_id for m in bob_sees.items]

    bob.send_dm("@alice:localhost", f"private {key}", idempotency_key=key + "-dm")
    texts: list[str] = []
    cursor = dms.cursor
    for _ in range(3):  # the first fetch accepts the invitation; the room's messages follow
        page_dm = alice.fetch_dms(cursor)
        texts += [m.text for m in page_dm.items]
        cursor = page_dm.cursor
        if f"private {key}" in texts:
            break
    assert f"private {key}" in texts

    alice.delete(image.remote_id)
    redacted = _nio(bob_creds, lambda c: read(c, image.remote_id))
    assert redacted["content"] == {}
