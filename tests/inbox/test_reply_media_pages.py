"""The conversation page with media and private messages: the reply form offers library files (and an
upload) where the network takes media in a reply, the sent message shows what it carried, "message
privately" is offered only where the network allows it and leads to the DM conversation, which shows
where it started. Sends go to loopback replay servers answering as the networks' documented APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from tests.inbox.test_reply_media_api import asset, mastodon, png, replay, thread
from tests.networks.replay import ReplayServer
from tests.web.helpers import sign_in

from sokhan.core.models import User, Workspace
from sokhan.core.permissions import Role
from sokhan.inbox.models import Conversation, Direction, Kind, Message, SendState
from sokhan.media.models import Asset
from sokhan.ops.bench_sink import forget_buckets, make_channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    forget_buckets()
    yield
    cache.clear()


@pytest.fixture
def client(owner: User) -> Client:
    client = Client()
    sign_in(client, owner.email)
    return client


def page_of(workspace: Workspace, conversation: Conversation) -> str:
    return f"/w/{workspace.slug}/inbox/c/{conversation.pk}/"


def test_the_reply_form_offers_library_files_and_private_messages(client: Client, workspace: Workspace) -> None:
    picture = asset(workspace)
    channel = mastodon(workspace, "http://127.0.0.1:9")
    conversation, comment = thread(channel, "c")
    html = client.get(page_of(workspace, conversation)).content.decode()
    assert 'enctype="multipart/form-data"' in html and "Attach media" in html
    assert f'name="media" value="{picture.pk}"' in html and 'name="upload"' in html
    assert "Message privately" in html
    assert f"/inbox/c/{conversation.pk}/messages/{comment.pk}/private/" in html

    # WordPress comments take no media and WordPress has no direct messages: neither is offered.
    press = make_channel(workspace, "http://127.0.0.1:9", network="wordpress", remote_id="2")
    blog, _comment = thread(press, "7", remote_id="12")
    html = client.get(page_of(workspace, blog)).content.decode()
    assert "Attach media" not in html and "Message privately" not in html and 'name="media"' not in html


def test_a_reply_with_a_library_image_shows_what_it_carried(client: Client, workspace: Workspace) -> None:
    picture = asset(workspace)
    with ReplayServer(replay("mastodon/reply_media")) as server:
        channel = mastodon(workspace, server.url)
        conversation, _received = thread(channel, "110", remote_id="110020")
        url = page_of(workspace, conversation)
        response = client.post(
            f"{url}reply/", {"text": "منوی امروز", "version": conversation.version, "media": [picture.pk], "next": url}
        )
    server.verify()
    assert response.status_code == 302
    sent = Message.objects.get(direction=Direction.OUT)
    assert sent.send_state == SendState.SENT and [a["asset_id"] for a in sent.attachments] == [picture.pk]
    html = client.get(url).content.decode()
    assert f'src="/w/acme/media/{picture.pk}/file/"' in html and 'alt="یک گربه"' in html
    assert 'aria-label="Attached files"' in html


def test_a_file_uploaded_with_the_reply_goes_to_the_library_and_out(client: Client, workspace: Workspace) -> None:
    recorded = replay("mastodon/reply_media")
    recorded.interactions[0]["request"]["body_contains"] = ["image/png"]  # no alt text on a fresh upload
    with ReplayServer(recorded) as server:
        channel = mastodon(workspace, server.url)
        conversation, _received = thread(channel, "110", remote_id="110020")
        upload = SimpleUploadedFile("menu.png", png((3, 3)), content_type="image/png")
        response = client.post(
            f"{page_of(workspace, conversation)}reply/",
            {"text": "منوی امروز", "upload": upload},
            headers={"Accept": "application/json"},
        )
    server.verify()
    assert response.status_code == 200 and response.json()["ok"] is True, response.content
    stored = Asset.objects.get(workspace=workspace, original_name="menu.png")
    assert Message.objects.get(direction=Direction.OUT).attachments[0]["asset_id"] == stored.pk


def test_a_media_error_keeps_the_typed_reply(client: Client, owner: User, workspace: Workspace) -> None:
    channel = mastodon(workspace, "http://127.0.0.1:9")
    conversation, _received = thread(channel, "e")
    pictures = [asset(workspace, png(colour=(i, 0, 0))) for i in range(5)]
    response = client.post(
        f"{page_of(workspace, conversation)}reply/", {"text": "متن من", "media": [p.pk for p in pictures]}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "Mastodon takes at most 4 files in a reply." in html
    assert "متن من</textarea>" in html and f'value="{pictures[0].pk}" checked' in html
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_message_privately_opens_the_direct_conversation_with_its_context(client: Client, workspace: Workspace) -> None:
    with ReplayServer(replay("mastodon/send_dm")) as server:
        channel = mastodon(workspace, server.url)
        conversation, comment = thread(channel, "c1", text="کی باز می‌کنید؟")
        response = client.post(
            f"{page_of(workspace, conversation)}messages/{comment.pk}/private/", {"text": "سلام"}, follow=True
        )
    server.verify()
    dm = Conversation.objects.get(kind=Kind.DM)
    assert response.redirect_chain[-1][0] == page_of(workspace, dm)
    html = response.content.decode()
    assert "Private message sent." in html and "Started from a public message" in html
    assert "کی باز می‌کنید؟" in html and f'href="{page_of(workspace, conversation)}#message-{comment.pk}"' in html
    assert "Message privately" not in html  # already a direct conversation


def test_message_privately_refused_by_the_network_rules_says_why(
    client: Client, workspace: Workspace, make_member: Any
) -> None:
    press = make_channel(workspace, "http://127.0.0.1:9", network="wordpress", remote_id="2")
    blog, comment = thread(press, "7", remote_id="12")
    url = f"{page_of(workspace, blog)}messages/{comment.pk}/private/"
    response = client.post(url, {"text": "سلام"}, follow=True)
    assert "WordPress does not let Sokhan message people privately." in response.content.decode()
    answer = client.post(url, {"text": "سلام"}, headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.json()["code"] == "not_supported"
    # Read-only members cannot send at all.
    viewer = make_member(Role.VIEWER, "viewer@example.com")
    other = Client()
    sign_in(other, viewer.email)
    assert other.post(url, {"text": "سلام"}).status_code == 403
    assert not Message.objects.filter(direction=Direction.OUT).exists()
