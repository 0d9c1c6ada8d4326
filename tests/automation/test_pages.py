"""Navigation entries and who may open the automation pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests.web.helpers import nav_links, sign_in

from sokhan.channels.models import Channel
from sokhan.core.permissions import Role

pytestmark = pytest.mark.django_db

PAGES = ("/w/acme/import/", "/w/acme/feeds/", "/w/acme/recurring/")


def test_nav_shows_the_pages_to_those_who_may_draft(owner_client: Client, make_member: Any) -> None:
    links = nav_links(owner_client.get("/w/acme/").content.decode())
    assert set(PAGES) <= links
    viewer = Client()
    sign_in(viewer, make_member(Role.VIEWER).email)
    assert not set(PAGES) & nav_links(viewer.get("/w/acme/").content.decode())
    for page in PAGES:
        assert owner_client.get(page).status_code == 200
        assert viewer.get(page).status_code == 403


def test_contributor_may_watch_feeds_only_as_drafts(make_member: Any, mastodon: Channel) -> None:
    client = Client()
    sign_in(client, make_member(Role.CONTRIBUTOR).email)
    form = {"url": "http://127.0.0.1:9/feed.xml", "channels": [mastodon.pk], "template": "{title}", "mode": "schedule"}
    refused = client.post("/w/acme/feeds/", form)
    assert refused.status_code == 400 and "Your role may not do this." in refused.content.decode()
    assert client.post("/w/acme/feeds/", {**form, "mode": "draft"}).status_code == 302
