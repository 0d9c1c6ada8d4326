"""The inbox issue's journey, tried as a new user would, against a real local Bluesky network:
the brand publishes a post through Sokhan; someone comments on it and, in a post of their own,
mentions the brand; a real worker polls and both appear in the inbox within a polling interval, the
comment threaded under the brand's post; the workspace's rule tags the negative one and assigns it;
the reply sent from the inbox appears on the server; the response-time report shows the numbers
the server's own timestamps give.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from tests.e2e.conftest import PDS
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually
from tests.publishing.workers import start_worker, stop_workers

from sokhan.channels.services import Connected, channel_connect
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Direction, Kind, Message, SendState
from sokhan.inbox.rules import rule_create
from sokhan.metrics.inbox_report import response_report
from sokhan.networks.types import MessageKind, PublishRequest, RemoteMessage
from sokhan.ops.bench_publish import schedule_many
from sokhan.publishing.models import PostTarget

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POLL_INTERVAL = 60  # the inbox schedule runs every minute


def test_comment_and_mention_reach_the_inbox_a_rule_routes_the_complaint_and_the_reply_goes_out(
    transactional_db: None, bluesky_server: str
) -> None:
    owner = User.objects.create_user("maryam@example.com", "pw-maryam-123456", full_name="مریم احمدی", language="fa")
    agent = User.objects.create_user("sara@example.com", "pw-sara-1234567", full_name="سارا", language="fa")
    workspace = workspace_create(owner=owner, name="قهوه‌ی آکمه", slug="acme", timezone_name="Asia/Tehran")
    Membership.objects.create(workspace=workspace, user=agent, role=Role.EDITOR)
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)

    brand = new_bluesky_account(bluesky_server, "acme")
    customer = new_bluesky_account(bluesky_server, "cust")

    def connect() -> Connected | None:
        try:
            values = {"username": brand.credentials.username, "password": brand.credentials.password, "base_url": PDS}
            return channel_connect(actor=actor, network="bluesky", values=values)
        except DomainError as exc:
            assert "Profile not found" in exc.message, exc.message  # the app view indexes new accounts later
            return None

    connected = eventually(connect, "the brand's profile to be indexed", seconds=90, every=2)
    assert connected is not None
    channel = connected.channel
    customer_profile = eventually(customer.verify, "the customer's profile", seconds=90, every=2)

    # The workspace's rule: negative messages are tagged "complaint" and go to Sara.
    rule_create(
        actor,
        {
            "name": "Complaints to Sara",
            "conditions": [{"field": "sentiment", "op": "in", "value": ["negative"]}],
            "actions": [{"action": "tag", "value": "complaint"}, {"action": "assign", "value": {"user": agent.pk}}],
        },
    )

    run = uuid.uuid4().hex[:6]
    worker = start_worker("inbox-journey", capture=False, lease_seconds=30)
    try:
        # The brand publishes through Sokhan.
        schedule_many(workspace, [channel], [(f"قهوه‌ی دمی تازه رسید ☕ {run}", timezone.now())], author=owner)
        target = eventually(
            lambda: PostTarget.objects.filter(workspace=workspace, state="published").first(), "the publish", seconds=60
        )
        brand_handle = channel.handle or brand.credentials.username

        # The customer comments on it (a complaint) and mentions the brand in a post of their own.
        eventually(lambda: customer._posts([target.remote_id]), "the brand's post in the app view")
        brand_post = RemoteMessage(
            remote_id=target.remote_id,
            kind=MessageKind.POST,
            text=target.text,
            author_id=channel.remote_id,
            author_handle=brand_handle,
            created_at=timezone.now(),
        )
        complaint = customer.reply(
            brand_post, f"قهوه سرد و بی‌کیفیت بود، خیلی بد و افتضاح. ناراضی هستم {run}", idempotency_key=f"c-{run}"
        )
        praise = customer.publish(
            PublishRequest(text=f"@{brand_handle} عالی بود، ممنون از قهوه‌ی خوشمزه {run}", idempotency_key=f"m-{run}")
        )
        posted_at = timezone.now()

        # Both appear within a polling interval (plus the app view's indexing and the job's run).
        def both() -> list[Message] | None:
            rows = list(
                Message.objects.filter(workspace=workspace, direction=Direction.IN).select_related("conversation")
            )
            ids = {m.remote_id for m in rows}
            return rows if {complaint.remote_id, praise.remote_id} <= ids else None

        rows = eventually(both, "the comment and the mention in the inbox", seconds=POLL_INTERVAL * 2 + 30, every=2)
        assert timezone.now() - posted_at < timedelta(seconds=POLL_INTERVAL * 2 + 30)
        by_id = {m.remote_id: m for m in rows}
        comment, mention = by_id[complaint.remote_id], by_id[praise.remote_id]
        assert comment.conversation.kind == Kind.COMMENT
        assert comment.conversation.subject_target_id == target.pk  # threaded under the brand's post
        assert mention.conversation.kind == Kind.MENTION and mention.conversation_id != comment.conversation_id
        assert comment.author_handle == customer_profile.handle and comment.language == "fa"

        # The rule tagged the negative one and assigned it; the positive one is untouched.
        assert comment.sentiment == "negative" and mention.sentiment == "positive"
        routed = Conversation.objects.get(pk=comment.conversation_id)
        assert routed.assignee == agent and [t.name for t in routed.tags.all()] == ["complaint"]
        other = Conversation.objects.get(pk=mention.conversation_id)
        assert other.assignee is None and not other.tags.exists()

        # Sara answers from the inbox page; the reply appears on the server.
        client = Client()
        client.force_login(agent)
        answer = f"سلام، عذرخواهی می‌کنیم؛ همین امروز جبران می‌کنیم {run}"
        response = client.post(
            f"/w/acme/inbox/c/{routed.pk}/reply/", {"text": answer, "version": routed.version}, follow=True
        )
        assert response.status_code == 200
        sent = Message.objects.get(conversation=routed, direction=Direction.OUT)
        assert sent.send_state == SendState.SENT and sent.remote_id and sent.sent_by == agent
        thread = eventually(
            lambda: [c for c in brand.fetch_comments(post_ids=[target.remote_id]).items if c.text == answer],
            "the reply on the server",
        )
        assert thread[0].remote_id == sent.remote_id

        # The response-time report: one of two messages answered, after the time the server recorded.
        comment.refresh_from_db()
        expected = (comment.answered_at - comment.created_at).total_seconds()
        assert comment.answered_at == sent.created_at and comment.answered_by == agent
        start, end = posted_at - timedelta(days=1), timezone.now() + timedelta(minutes=1)
        [total] = response_report(workspace, start, end, group_by="total", business_hours=False)
        assert (total.received, total.answered) == (2, 1)
        assert total.response_rate == pytest.approx(0.5)
        assert total.average_response_time == pytest.approx(expected, abs=1)
        assert total.first_response_time == pytest.approx(expected, abs=1)
        # …and the report page the team reads says the same (its CSV export, period: today).
        export = client.get("/w/acme/inbox/report/", {"group_by": "total", "format": "csv"})
        assert export.status_code == 200
        _header, line = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert line[3:6] == ["2", "1", "0.5000"]  # received, answered, response rate
        assert float(line[8]) == pytest.approx(expected, abs=1)  # first response time, seconds
    finally:
        stop_workers({"inbox-journey": worker})
