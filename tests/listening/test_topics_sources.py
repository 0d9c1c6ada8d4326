"""The sources page (next to topics): which connected channels can feed which kind of source (read
from the connector), adding, turning off and removing sources, the last poll and error, importing
a file with its per-line errors, who may do what, and other workspaces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.listening.mention_rows import topic
from tests.web.helpers import sign_in

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.listening.models import Mention, Source, SourceKind
from sokhan.listening.services_sources import channel_supports, channels_for
from sokhan.networks import registry
from sokhan.ops.bench_sink import make_channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channels(workspace: Workspace) -> dict[str, Channel]:
    return {
        "mastodon": make_channel(workspace, "http://127.0.0.1:9", display_name="Acme on Mastodon"),
        "telegram": make_channel(workspace, "", network="telegram", display_name="Acme bot", remote_id="2"),
        "wordpress": make_channel(
            workspace, "http://127.0.0.1:9", network="wordpress", display_name="Blog", remote_id="3"
        ),
        "gone": make_channel(
            workspace, "http://127.0.0.1:9", display_name="Old", remote_id="4", status=ChannelStatus.DISCONNECTED
        ),
    }


def client_for(user: User) -> Client:
    client = Client()
    sign_in(client, user.email)
    return client


def test_capabilities_come_from_the_connector(workspace: Workspace, channels: dict[str, Channel]) -> None:
    mastodon, telegram, wordpress = (registry.get(k) for k in ("mastodon", "telegram", "wordpress"))
    assert channel_supports(mastodon, SourceKind.SEARCH) and channel_supports(mastodon, SourceKind.HASHTAG)
    assert not channel_supports(mastodon, SourceKind.CHATS)
    assert channel_supports(telegram, SourceKind.CHATS) and not channel_supports(telegram, SourceKind.SEARCH)
    assert not any(channel_supports(wordpress, kind) for kind in ("search", "hashtag", "chats"))
    usable = channels_for(workspace)
    assert usable["search"] == [channels["mastodon"]]  # the disconnected one is left out
    assert usable["chats"] == [channels["telegram"]]


def test_add_turn_off_and_remove_sources(owner: User, workspace: Workspace, channels: dict[str, Channel]) -> None:
    client = client_for(owner)
    page = client.get("/w/acme/listening/sources/").content.decode()
    assert 'id="no-sources"' in page and "Acme on Mastodon" in page

    search = {"kind": "search", "channel": channels["mastodon"].pk, "target": "acme coffee"}
    assert client.post("/w/acme/listening/sources/", search).status_code == 302
    hashtag = {"kind": "hashtag", "channel": channels["mastodon"].pk, "target": "#یلدا"}
    assert client.post("/w/acme/listening/sources/", hashtag).status_code == 302
    feed = {"kind": "feed", "target": "https://news.example.com/rss", "name": "News"}
    assert client.post("/w/acme/listening/sources/", feed).status_code == 302
    chats = {"kind": "chats", "channel": channels["telegram"].pk}
    assert client.post("/w/acme/listening/sources/", chats).status_code == 302
    made = {s.kind: s for s in Source.objects.all()}
    assert (made["search"].target, made["search"].channel, made["search"].name) == (
        "acme coffee",
        channels["mastodon"],
        "acme coffee (Acme on Mastodon)",
    )
    assert made["hashtag"].target == "یلدا" and made["feed"].channel is None and made["feed"].name == "News"
    assert made["chats"].channel == channels["telegram"]
    assert AuditEvent.objects.filter(action="listening.source.create").count() == 4

    Source.objects.filter(pk=made["feed"].pk).update(
        last_polled_at=datetime(2026, 3, 21, 8, tzinfo=UTC), last_error="HTTP 503 from news.example.com"
    )
    page = client.get("/w/acme/listening/sources/").content.decode()
    row = re.search(rf'<tr data-source="{made["feed"].pk}".*?</tr>', page, re.S)
    assert row is not None
    assert "HTTP 503 from news.example.com" in row.group(0) and "21 Mar 2026, 11:30" in row.group(0)

    assert client.post(f"/w/acme/listening/sources/{made['feed'].pk}/toggle/").status_code == 302
    assert Source.objects.get(pk=made["feed"].pk).enabled is False
    assert client.post(f"/w/acme/listening/sources/{made['feed'].pk}/delete/").status_code == 302
    assert not Source.objects.filter(pk=made["feed"].pk).exists()
    assert {e.action for e in AuditEvent.objects.filter(action__startswith="listening.source.")} == {
        "listening.source.create",
        "listening.source.disable",
        "listening.source.delete",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"kind": "search", "channel": "telegram", "target": "acme"},
            "Choose a connected channel whose network can do this.",
        ),
        (
            {"kind": "search", "channel": "gone", "target": "acme"},
            "Select a valid choice.",
        ),
        ({"kind": "search", "channel": "mastodon", "target": ""}, "Write what to search for."),
        ({"kind": "hashtag", "channel": "mastodon", "target": "two words"}, "A hashtag is letters, digits and _"),
        ({"kind": "feed", "target": "ftp://x.example.com/feed"}, "A feed needs its address"),
        ({"kind": "import", "target": "x"}, "Select a valid choice."),
    ],
)
def test_bad_sources_are_explained(
    owner: User, channels: dict[str, Channel], data: dict[str, str], message: str
) -> None:
    if "channel" in data:
        data = {**data, "channel": str(channels[data["channel"]].pk)}
    response = client_for(owner).post("/w/acme/listening/sources/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Source.objects.exists()


def test_import_a_file_and_see_its_bad_lines(owner: User, workspace: Workspace) -> None:
    topic(workspace, "Acme", "acme OR آکمه")
    client = client_for(owner)
    bad = '{"text": "acme one", "published_at": "2026-03-21T08:00:00Z"}\n{"text": "acme two"}\nnot json\n'
    upload = SimpleUploadedFile("mentions.jsonl", bad.encode(), content_type="application/x-ndjson")
    response = client.post("/w/acme/listening/sources/import/", {"file": upload, "file_format": "jsonl"})
    assert response.status_code == 400
    table = re.search(r'<table id="import-errors">.*?</table>', response.content.decode(), re.S)
    assert table is not None
    assert re.findall(r"<tr><td>(\d+)</td>", table.group(0)) == ["2", "3"]
    assert not Mention.objects.exists()

    good = (
        '{"text": "acme one", "published_at": "2026-03-21T08:00:00Z", "author": "sara", "followers": 12}\n'
        '{"text": "آکمه دو", "published_at": "2026-03-21T09:00:00Z", "lang": "fa"}\n'
        '{"text": "nothing here", "published_at": "2026-03-21T10:00:00Z"}\n'
    )
    upload = SimpleUploadedFile("mentions.jsonl", good.encode(), content_type="application/x-ndjson")
    response = client.post("/w/acme/listening/sources/import/", {"file": upload, "file_format": "jsonl"})
    assert response.status_code == 200
    assert "3 items read, 2 stored, 0 already known, 1 matched no topic." in response.content.decode()
    assert Mention.objects.count() == 2
    assert Source.objects.get().kind == SourceKind.IMPORT
    assert AuditEvent.objects.filter(action="listening.source.import").count() == 2


def test_who_may_manage_sources(workspace: Workspace, make_member: Any, channels: dict[str, Channel]) -> None:
    source = Source.objects.create(workspace=workspace, kind="feed", name="News", target="https://n.example.com/")
    editor = client_for(make_member(Role.EDITOR))
    page = editor.get("/w/acme/listening/sources/")
    assert page.status_code == 200 and 'id="source-form"' not in page.content.decode()
    assert (
        editor.post("/w/acme/listening/sources/", {"kind": "feed", "target": "https://x.example.com/"}).status_code
        == 403
    )
    assert editor.post(f"/w/acme/listening/sources/{source.pk}/toggle/").status_code == 403
    assert editor.post(f"/w/acme/listening/sources/{source.pk}/delete/").status_code == 403
    assert editor.post("/w/acme/listening/sources/import/").status_code == 403
    assert client_for(make_member(Role.VIEWER)).get("/w/acme/listening/sources/").status_code == 403
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    theirs = Source.objects.create(workspace=other, kind="feed", name="Theirs", target="https://t.example.com/")
    owner = client_for(User.objects.get(email="owner@example.com"))
    assert owner.post(f"/w/acme/listening/sources/{theirs.pk}/delete/").status_code == 404
    assert client_for(stranger).get("/w/acme/listening/sources/").status_code == 404
    assert Source.objects.filter(pk=theirs.pk).exists() and Source.objects.get(pk=source.pk).enabled
