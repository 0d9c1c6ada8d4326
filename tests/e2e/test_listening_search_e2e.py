"""Listening against a real local Bluesky network: people post about a brand on the PDS; a search
source polled through the brand's connected channel brings the posts in, matched to the brand's
topic (its exclusion honoured), rated, attributed to their authors; the next poll brings only what
is new, and a post marked urgent by an open incident reaches the inbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from tests.e2e.conftest import PDS
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually

from sokhan.channels.services import Connected, channel_connect
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Message, Priority
from sokhan.listening.models import Incident, Mention, Source, SourceKind, Topic
from sokhan.listening.sources import poll_source
from sokhan.networks.types import PublishRequest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_posts_with_the_brand_term_come_in_through_a_search_source(transactional_db: None, bluesky_server: str) -> None:
    owner = User.objects.create_user("nazanin@example.com", "pw-nazanin-123456", full_name="نازنین")
    workspace = workspace_create(owner=owner, name="شیگی", slug="shigi", timezone_name="Asia/Tehran")
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)
    brand = new_bluesky_account(bluesky_server, "brand")
    people = [new_bluesky_account(bluesky_server, "fan"), new_bluesky_account(bluesky_server, "critic")]

    def connect() -> Connected | None:
        try:
            values = {"username": brand.credentials.username, "password": brand.credentials.password, "base_url": PDS}
            return channel_connect(actor=actor, network="bluesky", values=values)
        except DomainError as exc:
            assert "Profile not found" in exc.message, exc.message  # the app view indexes new accounts later
            return None

    connected = eventually(connect, "the brand's profile to be indexed", seconds=90, every=2)
    assert connected is not None
    term = f"shigi{uuid.uuid4().hex[:6]}"  # unique per run: the local network keeps earlier runs' posts
    topic = Topic.objects.create(workspace=workspace, name="Shigi", query=f"{term} -jobs")
    source = Source.objects.create(
        workspace=workspace, kind=SourceKind.SEARCH, name="Shigi on Bluesky", channel=connected.channel, target=term
    )
    for person in people:
        eventually(person.verify, "the account's profile", seconds=90, every=2)
    praise = people[0].publish(
        PublishRequest(text=f"امروز از {term} خرید کردم، عالی بود و خیلی ممنونم", idempotency_key=f"p-{term}")
    )
    complaint = people[1].publish(
        PublishRequest(text=f"{term} delivery was terrible, awful support, never again", idempotency_key=f"c-{term}")
    )
    people[1].publish(PublishRequest(text=f"{term} jobs: we are hiring", idempotency_key=f"j-{term}"))

    def polled_both() -> list[Mention] | None:
        outcome = poll_source(source)
        assert outcome.error == "", outcome.error
        rows = list(Mention.objects.filter(workspace=workspace))
        return rows if len(rows) >= 2 else None

    rows = eventually(polled_both, "the posts found by the search source", seconds=90, every=3)
    by_id = {m.remote_id: m for m in rows}
    assert set(by_id) == {praise.remote_id, complaint.remote_id}  # the "jobs" post matched the exclusion
    fan, critic = by_id[praise.remote_id], by_id[complaint.remote_id]
    assert (fan.network, fan.source, fan.language, fan.sentiment) == ("bluesky", source, "fa", "positive")
    assert fan.author_handle == people[0].credentials.username and fan.url.startswith("https://bsky.app/profile/")
    assert critic.language == "en" and critic.sentiment == "negative"
    assert {t.pk for t in fan.topics.all()} == {topic.pk}
    assert topic.hourly.get().total == 2
    source.refresh_from_db()
    assert source.cursor and source.last_error == ""

    # While an incident is open, what comes in next reaches the inbox at urgent priority; the
    # posts already stored are not read again.
    Incident.objects.create(workspace=workspace, title="Delivery outage", owner=owner)
    late = people[1].publish(
        PublishRequest(text=f"{term} still has not delivered, terrible", idempotency_key=f"l-{term}")
    )

    def polled_late() -> Mention | None:
        outcome = poll_source(source)
        assert outcome.error == "" and outcome.result.stored <= 1, outcome
        return Mention.objects.filter(workspace=workspace, remote_id=late.remote_id).first()

    eventually(polled_late, "the next post through the source's cursor", seconds=90, every=3)
    assert Mention.objects.filter(workspace=workspace).count() == 3
    message = Message.objects.select_related("conversation").get(workspace=workspace, remote_id=late.remote_id)
    assert message.channel == connected.channel and message.conversation.priority == Priority.URGENT
    assert timezone.now() - message.created_at < timedelta(minutes=5)
