"""Mastodon end to end: Sokhan's connector against a local Mastodon-API server.

The server is the PyPI package ``mastodon-mock`` (a stateful stand-in: no Mastodon-API server is
installable from the registries this project reaches), started by ``tests/e2e/servers/mastodon_mock.sh``
on 127.0.0.1 with its demo accounts. The contract tests in tests/networks keep the real API's shapes.
"""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.servers.harness import eventually, start

from sokhan.networks.connectors.mastodon import MastodonConnector
from sokhan.networks.types import Account, Credentials, MediaFile, MessageKind, ProfileUpdate, PublishRequest

pytestmark = pytest.mark.e2e
PORT = int(os.environ.get("SOKHAN_E2E_MASTODON_PORT", "3011"))
BASE = f"http://127.0.0.1:{PORT}"


@pytest.fixture(scope="session")
def mastodon_server() -> Iterator[str]:
    stop = start("mastodon_mock.sh", f"{BASE}/api/v1/instance", timeout=900)
    yield BASE
    stop()


def connector(base: str, token: str) -> MastodonConnector:
    return MastodonConnector(Account(base_url=base), Credentials(access_token=token), timeout=20)


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


def test_mastodon_end_to_end(mastodon_server: str, tmp_path: Path) -> None:
    ada = connector(mastodon_server, "ada_token")
    grace = connector(mastodon_server, "grace_token")
    run = uuid.uuid4().hex[:8]

    me = ada.verify()
    assert me.handle == "ada" and me.remote_id
    grace_profile = grace.verify()
    updated = ada.update_profile(ProfileUpdate(display_name="آدا سخن", bio=f"آزمون {run}"))
    assert updated.display_name == "آدا سخن" and updated.bio == f"آزمون {run}"
    assert ada.verify().display_name == "آدا سخن"

    # Publish text (mentioning grace) and an image; read them back.
    post = ada.publish(PublishRequest(text=f"سلام @grace 👋 #سخن {run}", idempotency_key=f"e2e-{run}"))
    assert post.remote_id
    image = MediaFile(png(tmp_path / "p.png"), "image/png", alt_text="یک نقطهٔ قرمز")
    with_image = ada.publish(PublishRequest(text=f"تصویر {run}", idempotency_key=f"e2e-img-{run}", media=(image,)))
    raw = ada.client.status(with_image.remote_id)
    assert len(raw["media_attachments"]) == 1 and raw["media_attachments"][0]["description"] == "یک نقطهٔ قرمز"

    # The second account finds the mention and comments on the post.
    mention = eventually(
        lambda: [m for m in grace.fetch_mentions().items if m.remote_id == post.remote_id], "grace's mention"
    )[0]
    assert mention.kind is MessageKind.MENTION and run in mention.text
    comment = grace.reply(mention, f"ممنون {run}", idempotency_key=f"e2e-c-{run}")

    comments = eventually(lambda: ada.fetch_comments(post_ids=[post.remote_id]).items, "comments on ada's post")
    assert [c.remote_id for c in comments] == [comment.remote_id]
    assert comments[0].author_handle == "grace" and comments[0].root_id == post.remote_id
    again = ada.fetch_comments(comments[0].remote_id, post_ids=[post.remote_id])
    assert again.items == ()

    # Answer, like, and count.
    answer = ada.reply(comments[0], f"خواهش {run}", idempotency_key=f"e2e-a-{run}")
    assert answer.remote_id
    ada.like(comments[0].remote_id)
    [metrics] = ada.post_metrics([post.remote_id])
    assert metrics.comments is not None and metrics.comments >= 1
    [comment_metrics] = ada.post_metrics([comments[0].remote_id])
    assert comment_metrics.likes == 1
    account = ada.account_metrics()
    assert account.posts is not None and account.posts >= 2

    # Direct message both ways.
    grace.send_dm(me.remote_id, f"پیام خصوصی {run}", idempotency_key=f"e2e-dm-{run}")
    dms = eventually(lambda: [m for m in ada.fetch_dms().items if run in m.text], "ada's direct message")
    assert dms[0].kind is MessageKind.DM and dms[0].author_id == grace_profile.remote_id

    # Delete.
    ada.delete(with_image.remote_id)
    ada.delete(post.remote_id)
    [left] = ada.post_metrics([answer.remote_id])
    assert left.remote_id == answer.remote_id
