"""WordPress end to end: Sokhan's connector against a real WordPress on 127.0.0.1:8088.

The server comes from ``tests/e2e/servers/wordpress.sh`` (Debian packages, private MariaDB); it is
started when not running and stopped at the end unless ``SOKHAN_E2E_KEEP=1``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.e2e.helpers import png

from sokhan.networks.connectors.wordpress import WordPressConnector
from sokhan.networks.types import Account, Credentials, MediaFile, MessageKind, PublishRequest, RemoteMessage

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parent / "servers" / "wordpress.sh"
URL = "http://127.0.0.1:8088"
CACHE = Path(os.environ.get("SOKHAN_E2E_CACHE", Path.home() / ".cache" / "sokhan-e2e"))


def test_blog_round_trip(wordpress: dict[str, str], tmp_path: Path) -> None:
    admin = WordPressConnector(Account(base_url=URL), Credentials(username="admin", password=wordpress["admin"]))
    profile = admin.verify()
    assert profile.handle == "admin" and profile.display_name == "E2E Blog"
    admin = WordPressConnector(
        Account(base_url=URL, remote_id=profile.remote_id),
        Credentials(username="admin", password=wordpress["admin"]),
    )
    bob = WordPressConnector(Account(base_url=URL), Credentials(username="bob", password=wordpress["bob"]))
    key = f"e2e-{os.urandom(6).hex()}"

    image = MediaFile(path=png(tmp_path / "dot.png"), mime_type="image/png", alt_text="نقطه")
    request = PublishRequest(text="<p>سلام از سخن</p>", title="Hello from Sokhan", idempotency_key=key, media=(image,))
    post = admin.publish(request)
    assert admin.publish(request).remote_id == post.remote_id  # the retry finds the first attempt
    text_only = admin.publish(PublishRequest(text="<p>only text</p>", idempotency_key=key + "-t"))

    with httpx.Client(base_url=f"{URL}/wp-json/wp/v2") as anonymous:
        read = anonymous.get(f"/posts/{post.remote_id}").json()
        assert read["title"]["rendered"] == "Hello from Sokhan"
        assert "سلام از سخن" in read["content"]["rendered"]
        media = anonymous.get(f"/media/{read['featured_media']}").json()
        assert media["alt_text"] == "نقطه" and media["mime_type"] == "image/png"
        assert anonymous.get(f"/posts/{text_only.remote_id}").json()["featured_media"] == 0

    cursor = admin.fetch_comments(post_ids=[post.remote_id]).cursor
    as_post = RemoteMessage(
        remote_id=post.remote_id,
        kind=MessageKind.POST,
        text="",
        author_id="",
        author_handle="",
        created_at=post.published_at or datetime.now(UTC),
    )
    bob.reply(as_post, "Great post, admin!")
    page = admin.fetch_comments(cursor, post_ids=[post.remote_id])
    assert [(m.text, m.author_handle) for m in page.items] == [("Great post, admin!", "bob")]
    comment = page.items[0]

    answer = admin.reply(comment, "Thanks Bob", idempotency_key=key + "-r")
    assert admin.reply(comment, "Thanks Bob", idempotency_key=key + "-r").remote_id == answer.remote_id
    assert admin.fetch_comments(page.cursor, post_ids=[post.remote_id]).items == ()  # our own reply is skipped

    [metrics] = admin.post_metrics([post.remote_id])
    assert metrics.comments == 2 and metrics.views is None and metrics.likes is None
    admin.hide(comment.remote_id)
    assert admin.post_metrics([post.remote_id])[0].comments == 1

    admin.delete(post.remote_id)
    admin.delete(post.remote_id)  # already in the trash
    with httpx.Client(base_url=f"{URL}/wp-json/wp/v2", auth=("admin", wordpress["admin"])) as authed:
        assert authed.get(f"/posts/{post.remote_id}", params={"context": "edit"}).json()["status"] == "trash"
    WordPressConnector(
        Account(base_url=URL, options={"delete": "force"}), Credentials(username="admin", password=wordpress["admin"])
    ).delete(text_only.remote_id)
