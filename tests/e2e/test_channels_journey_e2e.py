"""The connectors issue's journey, tried as a new user would: connect a Bluesky account on the local
network and a WordPress site from the web UI, see both profiles and their health, then publish a
test post to each through the REST API and find it on the network.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from django.test import Client
from tests.e2e.conftest import PDS, WORDPRESS_URL
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually

from sokhan.channels.models import Channel
from sokhan.core.models import Membership, User, Workspace
from sokhan.core.services import token_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


def connect(client: Client, network: str, **values: str) -> Channel:
    page = client.get(f"/w/acme/channels/connect/{network}/")
    assert page.status_code == 200
    form = {"mode": "token", **{f"token-{k}": v for k, v in values.items()}}

    def attempt() -> str | None:
        response = client.post(f"/w/acme/channels/connect/{network}/", form, follow=True)
        html = response.content.decode()
        if "Connected as" in html:
            return html
        # A server that has just booted may not answer yet: the page says so, as it would to a
        # person, who would press the button again. Anything else is a real failure.
        problems = re.findall(r'class="(?:errorlist|message error)[^"]*">(.*?)</', html, re.S)
        assert any("Could not reach the network" in p for p in problems), problems or html[-3000:]
        return None

    eventually(attempt, f"connecting {network}", seconds=60, every=3)
    return Channel.objects.get(workspace__slug="acme", network=network)


def test_connect_from_the_ui_then_publish_through_the_api(
    bluesky_server: str, wordpress: dict[str, str], owner: User, workspace: Workspace
) -> None:
    owner.language = "en"  # the workspace default is Persian; this owner reads English
    owner.save()
    browser = Client()
    browser.force_login(owner)
    author = new_bluesky_account(bluesky_server, "brand")
    bluesky = connect(
        browser,
        "bluesky",
        username=author.credentials.username,
        password=author.credentials.password,
        base_url=PDS,
    )
    blog = connect(browser, "wordpress", base_url=WORDPRESS_URL, username="admin", password=wordpress["admin"])

    # Both profiles and their health are on the channel pages.
    listing = browser.get("/w/acme/channels/").content.decode()
    assert author.credentials.username in listing
    for channel in (bluesky, blog):
        assert channel.status == "active"
        detail = browser.get(f"/w/acme/channels/{channel.pk}/").content.decode()
        assert channel.display_name in detail and "Active" in detail
    assert "admin" in browser.get(f"/w/acme/channels/{blog.pk}/").content.decode()

    _, raw = token_create(actor=Membership.objects.get(user=owner), name="e2e", scopes=["read", "write"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def publish(channel: Channel, text: str) -> dict[str, Any]:
        response = api.post(
            f"/api/v1/workspaces/acme/channels/{channel.pk}/test-post",
            {"text": text},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        body: dict[str, Any] = response.json()
        assert body["remote_id"]
        return body

    sky_post = publish(bluesky, "سلام از سخن — test post #sokhan")
    did, rkey = re.match(r"at://([^/]+)/app\.bsky\.feed\.post/(.+)", sky_post["remote_id"]).groups()  # type: ignore[union-attr]
    record = httpx.get(
        f"{PDS}/xrpc/com.atproto.repo.getRecord",
        params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
    ).json()
    assert record["value"]["text"] == "سلام از سخن — test post #sokhan"

    blog_post = publish(blog, "Hello from Sokhan")
    found = eventually(
        lambda: httpx.get(f"{WORDPRESS_URL}/?rest_route=/wp/v2/posts/{blog_post['remote_id']}").json(),
        "the WordPress post",
    )
    assert "Hello from Sokhan" in found["content"]["rendered"] + found["title"]["rendered"]

    # The test posts are in the audit log.
    actions = list(workspace.audit_events.values_list("action", flat=True))
    assert actions.count("channel.test_post") == 2 and actions.count("channel.connect") == 2
