"""Bluesky end to end: Sokhan's connector against a real local AT Protocol network.

``tests/e2e/servers/bluesky.sh`` runs PLC, PDS and AppView from npm ``@atproto/dev-env`` on
127.0.0.1 (cold install ~2-4 min, cached afterwards). Accounts are created with the atproto SDK as
test setup; everything else goes through :class:`BlueskyConnector`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from tests.e2e.helpers import new_bluesky_account, png
from tests.e2e.servers.harness import eventually

from sokhan.networks.types import MediaFile, MessageKind, ProfileUpdate, PublishRequest

pytestmark = pytest.mark.e2e


def test_bluesky_end_to_end(bluesky_server: str, tmp_path: Path) -> None:
    alice = new_bluesky_account(bluesky_server, "alice")
    bob = new_bluesky_account(bluesky_server, "bob")
    me = eventually(alice.verify, "alice's profile in the AppView")
    bob_profile = eventually(bob.verify, "bob's profile in the AppView")
    assert alice.credentials_changed and alice.credentials.data["did"] == me.remote_id

    updated = alice.update_profile(
        ProfileUpdate(display_name="آلیس سخن", bio="آزمون سرتاسری ✨", url="https://sokhan.example")
    )
    assert updated.display_name == "آلیس سخن"
    eventually(lambda: alice.verify().bio == "آزمون سرتاسری ✨", "the profile update in the AppView")

    # Publish text with a mention, a link and a Persian hashtag; the record's facets point at the right bytes.
    run = uuid.uuid4().hex[:6]
    text = f"سلام @{bob_profile.handle} 👋 ببین https://example.com/{run} #سخن_{run}"
    post = alice.publish(PublishRequest(text=text, idempotency_key=f"e2e-{run}", options={"langs": "fa"}))
    record = eventually(lambda: alice._posts([post.remote_id]), "the post in the AppView")[0]["record"]
    raw = text.encode()
    spans = {
        f["features"][0]["$type"].split("#")[1]: raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode()
        for f in record["facets"]
    }
    assert spans == {"mention": f"@{bob_profile.handle}", "link": f"https://example.com/{run}", "tag": f"#سخن_{run}"}

    # A retried publish with the same idempotency key returns the same record instead of a duplicate.
    retried = alice.publish(PublishRequest(text=text, idempotency_key=f"e2e-{run}"))
    assert retried.remote_id == post.remote_id
    assert alice.account_metrics().posts == 1

    image = MediaFile(png(tmp_path / "p.png"), "image/png", alt_text="یک نقطهٔ قرمز", width=2, height=1)
    with_image = alice.publish(PublishRequest(text=f"تصویر {run}", idempotency_key=f"e2e-img-{run}", media=(image,)))
    view = eventually(lambda: alice._posts([with_image.remote_id]), "the image post")[0]
    assert view["embed"]["images"][0]["alt"] == "یک نقطهٔ قرمز"

    # Bob sees the mention and replies; Alice finds the comment.
    mention = eventually(
        lambda: [m for m in bob.fetch_mentions().items if m.remote_id == post.remote_id], "bob's mention"
    )[0]
    assert mention.kind is MessageKind.MENTION and mention.author_id == me.remote_id
    comment = bob.reply(mention, f"ممنون آلیس {run} 🙏", idempotency_key=f"e2e-c-{run}")
    comments = eventually(lambda: alice.fetch_comments(post_ids=[post.remote_id]).items, "the comment")
    assert [c.remote_id for c in comments] == [comment.remote_id]
    assert comments[0].author_handle == bob_profile.handle and comments[0].in_reply_to == post.remote_id
    replies = eventually(
        lambda: [m for m in alice.fetch_mentions().items if m.remote_id == comment.remote_id], "reply notification"
    )
    assert replies[0].kind is MessageKind.COMMENT
    assert alice.fetch_comments(comments[0].raw["indexedAt"], post_ids=[post.remote_id]).items == ()

    # Alice answers and likes; metrics follow.
    answer = alice.reply(comments[0], f"خواهش می‌کنم {run}", idempotency_key=f"e2e-a-{run}")
    alice.like(comment.remote_id)
    eventually(lambda: bob.post_metrics([comment.remote_id])[0].likes == 1, "the like count")
    eventually(lambda: (alice.post_metrics([post.remote_id])[0].comments or 0) >= 1, "the reply count")
    thread = eventually(lambda: alice.fetch_comments(post_ids=[post.remote_id]).items, "the thread")
    assert answer.remote_id in [c.remote_id for c in thread] or len(thread) >= 1
    assert eventually(lambda: (alice.account_metrics().posts or 0) >= 3, "posts count")

    # Delete.
    alice.delete(with_image.remote_id)
    eventually(lambda: alice.post_metrics([with_image.remote_id]) == [], "the deletion")
