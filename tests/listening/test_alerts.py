"""Alerts from stored hourly counts: created once per topic, kind and hour with the hour's top
mentions; announced in the app and delivered to each destination at most once (a worker that dies
mid-send never causes a second send); signed webhooks that refuse private addresses; a bot message
through a recorded Telegram Bot API exchange; the schedule."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from tests.networks.replay import Replay, ReplayServer

from sokhan.channels.models import Channel, RateBucket
from sokhan.core.errors import DomainError
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.permissions import Role
from sokhan.listening import alert_destinations as dest
from sokhan.listening import alerts
from sokhan.listening.models import Alert, AlertDestination, HourlyCount, Mention, MentionTopic, Topic
from sokhan.listening.spikes import HOUR
from sokhan.networks.types import Credentials
from sokhan.notifications.models import Notification
from sokhan.ops.bench_sink import make_channel
from sokhan.runtime import engine
from sokhan.runtime.jobs import JOB_MACHINE
from sokhan.runtime.models import Job
from sokhan.runtime.schedules import registered_schedules
from sokhan.runtime.worker import Worker

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 30, 10, 20, tzinfo=UTC)
CURRENT = NOW.replace(minute=0)
PREVIOUS = CURRENT - HOUR
CASSETTES = Path(__file__).parent / "cassettes"
TOKEN = "123456:ABC-test"
CHAT = "-1009876543210"


# ----------------------------------------------------------------------------- helpers


def owner_membership(workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(workspace=workspace, role=Role.OWNER)


def make_topic(workspace: Workspace, name: str = "Acme Coffee") -> Topic:
    return Topic.objects.create(workspace=workspace, name=name, query="acme", created_at=NOW - timedelta(weeks=9))


def steady(topic: Topic, *, weeks: int = 4, total: int = 10, negative: int = 2, until: datetime = PREVIOUS) -> None:
    """``weeks`` of the same count every hour before ``until``."""
    start = until - timedelta(weeks=weeks)
    HourlyCount.objects.bulk_create(
        HourlyCount(topic=topic, hour=start + i * HOUR, total=total, negative=negative) for i in range(weeks * 168)
    )


def hour_count(topic: Topic, hour: datetime, total: int, negative: int) -> None:
    HourlyCount.objects.update_or_create(topic=topic, hour=hour, defaults={"total": total, "negative": negative})


def mention(topic: Topic, hour: datetime, key: str, *, followers: int | None, sentiment: str = "neutral") -> Mention:
    made = Mention.objects.create(
        workspace=topic.workspace,
        dedupe_key=key,
        network="mastodon",
        url=f"https://social.example/@u/{key}",
        author_handle=f"user_{key}",
        author_followers=followers,
        text=f"Post {key} about Acme",
        published_at=hour + timedelta(minutes=7),
        sentiment=sentiment,
    )
    MentionTopic.objects.create(mention=made, topic=topic, published_at=made.published_at)
    return made


def run_jobs(limit: int = 20) -> int:
    worker = Worker(worker_id="w1", machines=[JOB_MACHINE], clock=timezone.now)
    done = 0
    for _ in range(limit):
        ran = worker.run_once()
        if not ran:
            break
        done += ran
    return done


class Receiver:
    """A webhook receiver on 127.0.0.1 that records each request and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sokhan"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = True  # receivers run on 127.0.0.1; refusal is tested apart
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def topic(workspace: Workspace) -> Topic:
    made = make_topic(workspace)
    steady(made)
    return made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def burst(topic: Topic, hour: datetime = PREVIOUS, total: int = 60, negative: int = 10) -> list[Mention]:
    hour_count(topic, hour, total, negative)
    return [
        mention(topic, hour, "small", followers=10, sentiment="negative"),
        mention(topic, hour, "big", followers=90_000),
        mention(topic, hour, "none", followers=None, sentiment="negative"),
        mention(topic, hour, "mid", followers=5_000, sentiment="negative"),
    ]


# ----------------------------------------------------------------------------- detection


def test_a_burst_alerts_once_with_the_top_mentions_and_tells_listeners_in_the_app(
    owner: User, workspace: Workspace, topic: Topic, make_member: Any
) -> None:
    analyst = make_member(Role.ANALYST)
    make_member(Role.VIEWER)  # may not see listening: not told
    small, big, none, mid = burst(topic)
    created = alerts.detect_workspace(workspace, now=NOW)
    [alert] = created
    assert (alert.kind, alert.hour, alert.observed, alert.expected) == ("volume", PREVIOUS, 60.0, 10.0)
    assert alert.probability < 1e-6
    assert alert.mention_ids == [big.pk, mid.pk, small.pk, none.pk]  # reach first, then negativity
    told = set(Notification.objects.filter(kind="listening.alert").values_list("user_id", flat=True))
    assert told == {owner.pk, analyst.pk}
    assert mail.outbox == []  # in-app only; the email destination is how alerts are emailed

    assert alerts.detect_workspace(workspace, now=NOW) == []  # idempotent: same hour, same alert
    assert alerts.detect_workspace(workspace, now=NOW + timedelta(minutes=5)) == []
    assert Alert.objects.count() == 1
    assert Notification.objects.filter(kind="listening.alert").count() == 2


def test_a_negative_burst_alerts_with_negative_mentions_first(workspace: Workspace, topic: Topic) -> None:
    small, big, none, mid = burst(topic, total=20, negative=15)
    kinds = {a.kind: a for a in alerts.detect_workspace(workspace, now=NOW)}
    negative = kinds["negative"]
    assert negative.observed == pytest.approx(0.75) and negative.expected == pytest.approx(0.2, abs=0.01)
    assert negative.mention_ids == [mid.pk, small.pk, none.pk, big.pk]  # negative first, then reach


def test_the_current_hour_counts_so_far_and_a_stronger_hour_updates_without_a_second_notice(
    workspace: Workspace, topic: Topic
) -> None:
    hour_count(topic, CURRENT, 35, 7)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    assert alert.hour == CURRENT and alert.observed == 35
    hour_count(topic, CURRENT, 80, 12)
    mention(topic, CURRENT, "late", followers=1)
    assert alerts.detect_workspace(workspace, now=NOW + timedelta(minutes=10)) == []
    alert.refresh_from_db()
    assert alert.observed == 80 and len(alert.mention_ids) == 1
    assert Notification.objects.filter(kind="listening.alert").count() == 1


def test_quiet_topics_disabled_topics_and_other_workspaces(workspace: Workspace, topic: Topic, owner: User) -> None:
    assert alerts.detect_workspace(workspace, now=NOW) == []  # a normal hour
    hour_count(topic, PREVIOUS, 80, 10)
    topic.enabled = False
    topic.save()
    assert alerts.detect_workspace(workspace, now=NOW) == []
    from sokhan.core.services import workspace_create

    other = workspace_create(owner=owner, name="Other", slug="other")
    assert alerts.detect_workspace(other, now=NOW) == []


def test_acknowledge_is_recorded_once(workspace: Workspace, topic: Topic, make_member: Any) -> None:
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    analyst = Membership.objects.get(user=make_member(Role.ANALYST))
    alerts.alert_acknowledge(analyst, alert.pk)
    alerts.alert_acknowledge(owner_membership(workspace), alert.pk)
    alert.refresh_from_db()
    assert alert.acknowledged_by_id == analyst.user_id
    assert AuditEvent.objects.filter(action="listening.alert.acknowledge").count() == 1


# ----------------------------------------------------------------------------- delivery


def add(workspace: Workspace, kind: str, target: str = "", channel: Channel | None = None) -> AlertDestination:
    data = {"kind": kind, "target": target, "channel": channel.pk if channel else None}
    return dest.destination_create(owner_membership(workspace), data)


def deliveries(alert: Alert) -> list[tuple[str, str]]:
    found = dest.deliveries_of(alert.workspace, [alert])[alert.pk]
    return sorted((d.kind, d.status) for d in found)


def test_each_destination_gets_the_alert_once(workspace: Workspace, topic: Topic, receiver: Receiver) -> None:
    add(workspace, "email", "crisis-team@example.com")
    hook = add(workspace, "webhook", receiver.url)
    add(workspace, "webhook", receiver.url).delete()  # removed before the alert: nothing for it
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    assert Notification.objects.filter(kind="listening.alert").count() == 0  # destinations set, no in-app one
    jobs = Job.objects.filter(task_path=dest.DELIVER_TASK)
    assert jobs.count() == 2 and all(j.max_attempts == 1 for j in jobs)
    assert deliveries(alert) == [("email", "pending"), ("webhook", "pending")]

    run_jobs()
    [email] = mail.outbox
    assert email.to == ["crisis-team@example.com"] and "Acme Coffee" in email.subject
    assert "@user_big" in email.body and "/w/acme/listening/alerts/" in email.body
    [request] = receiver.requests
    payload = json.loads(request["body"])
    assert payload["event"] == "listening.alert" and payload["alert"]["id"] == alert.pk
    assert payload["delivery"] == f"{alert.pk}-{hook.pk}"
    assert [m["author_handle"] for m in payload["mentions"]][:1] == ["user_big"]
    assert deliveries(alert) == [("email", "sent"), ("webhook", "sent")]

    # A second job for the same alert and destination (enqueued by mistake) sends nothing.
    from sokhan.listening.spike_tasks import deliver_alert

    deliver_alert.enqueue(alert_id=alert.pk, destination_id=hook.pk)
    run_jobs()
    assert len(receiver.requests) == 1 and len(mail.outbox) == 1


def test_the_in_app_destination_and_disabled_ones(workspace: Workspace, topic: Topic, receiver: Receiver) -> None:
    add(workspace, "in_app")
    hook = add(workspace, "webhook", receiver.url)
    dest.destination_set_enabled(owner_membership(workspace), hook.pk, False)
    burst(topic)
    alerts.detect_workspace(workspace, now=NOW)
    assert Notification.objects.filter(kind="listening.alert").count() == 1
    assert Job.objects.filter(task_path=dest.DELIVER_TASK).count() == 0


def test_a_worker_that_dies_before_sending_never_sends(workspace: Workspace, topic: Topic, receiver: Receiver) -> None:
    add(workspace, "webhook", receiver.url)
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    # A worker claims the delivery job (the decision to send) and dies before the request.
    [claim] = engine.claim(JOB_MACHINE, worker_id="dies", lease=timedelta(seconds=60), now=timezone.now())
    later = timezone.now() + timedelta(minutes=2)  # the lease has run out
    Worker(worker_id="w2", machines=[JOB_MACHINE], clock=lambda: later).run_once()
    job = Job.objects.get(pk=claim.pk)
    assert job.state == Job.FAILED and "never finished" in job.state_error
    assert receiver.requests == []
    assert deliveries(alert) == [("webhook", "unconfirmed")]


def test_a_worker_that_dies_after_sending_never_sends_again(
    workspace: Workspace, topic: Topic, receiver: Receiver
) -> None:
    add(workspace, "webhook", receiver.url)
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    [claim] = engine.claim(JOB_MACHINE, worker_id="dies", lease=timedelta(seconds=60), now=timezone.now())
    job = Job.objects.get(pk=claim.pk)
    # The attempt sends, then the worker dies before its transaction commits: the record of the
    # send is lost with it, the request is not.
    with pytest.raises(RuntimeError), transaction.atomic():
        assert dest.deliver(**job.kwargs)["outcome"] == "sent"
        raise RuntimeError("worker killed")
    assert len(receiver.requests) == 1
    later = timezone.now() + timedelta(minutes=2)
    Worker(worker_id="w2", machines=[JOB_MACHINE], clock=lambda: later).run_once()
    assert Job.objects.get(pk=claim.pk).state == Job.FAILED
    assert len(receiver.requests) == 1  # not sent a second time
    assert deliveries(alert) == [("webhook", "unconfirmed")]


def test_webhook_signature_is_hmac_sha256_under_a_derived_secret(
    workspace: Workspace, topic: Topic, receiver: Receiver, settings: Any
) -> None:
    hook = add(workspace, "webhook", receiver.url)
    burst(topic)
    alerts.detect_workspace(workspace, now=NOW)
    run_jobs()
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    secret = dest.webhook_secret(hook)
    signed = headers["x-sokhan-timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-sokhan-signature"], expected)
    assert headers["content-type"].startswith("application/json")
    # The secret is derived from the key outside the database: nothing in the row holds it, and
    # another installation's key gives another secret.
    row = AlertDestination.objects.filter(pk=hook.pk).values().get()
    assert secret not in json.dumps(row, default=str)
    with override_settings(SECRET_KEY="another installation's key " + "x" * 40):
        assert dest.webhook_secret(hook) != secret


def test_private_webhook_addresses_are_refused(workspace: Workspace, topic: Topic, settings: Any) -> None:
    hook = add(workspace, "webhook", "http://127.0.0.1:9/hook")  # allowed while the test override is on
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "ftp://example.com/x"):
        with pytest.raises(DomainError) as refused:
            add(workspace, "webhook", url)
        assert refused.value.fields == {"target": "refused"}
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    run_jobs()
    [event] = AuditEvent.objects.filter(action=dest.DELIVERY_ACTION)
    assert event.data["status"] == "failed" and "inside this server's network" in event.data["detail"]
    assert event.data["destination"] == hook.pk and deliveries(alert) == [("webhook", "failed")]


def test_a_receiver_that_cannot_be_reached_is_tried_again_then_failed(workspace: Workspace, topic: Topic) -> None:
    with Receiver() as gone:
        url = gone.url
    add(workspace, "webhook", url)  # nothing listens there any more: connection refused
    burst(topic)
    [alert] = alerts.detect_workspace(workspace, now=NOW)
    for attempt in (1, 2, 3):
        later = timezone.now() + timedelta(minutes=10 * attempt)
        Worker(worker_id="w", machines=[JOB_MACHINE], clock=lambda later=later: later).run_once()  # type: ignore[misc]
    jobs = list(Job.objects.filter(task_path=dest.DELIVER_TASK).order_by("enqueued_at"))
    assert [j.kwargs.get("attempt", 1) for j in jobs] == [1, 2, 3]
    assert [j.return_value["outcome"] for j in jobs] == ["retry", "retry", "failed"]
    assert deliveries(alert) == [("webhook", "failed")]


def test_an_error_answer_is_not_sent_again(workspace: Workspace, topic: Topic) -> None:
    with Receiver(status=500) as broken:
        add(workspace, "webhook", broken.url)
        burst(topic)
        alerts.detect_workspace(workspace, now=NOW)
        run_jobs()
        assert len(broken.requests) == 1
    [event] = AuditEvent.objects.filter(action=dest.DELIVERY_ACTION)
    assert event.data["status"] == "failed" and "500" in event.data["detail"]
    assert Job.objects.filter(task_path=dest.DELIVER_TASK).count() == 1


# ----------------------------------------------------------------------------- bot message


def forget_buckets() -> None:
    RateBucket.objects.all().delete()
    cache.clear()


def telegram_replay(*extra: dict[str, Any]) -> Replay:
    data = json.loads((CASSETTES / "telegram_alert.json").read_text())
    return Replay(name="telegram_alert", interactions=[*extra, *data["interactions"]], doc=data["doc"])


def telegram(workspace: Workspace, url: str) -> Channel:
    return make_channel(
        workspace,
        url,
        network="telegram",
        display_name="Acme on Telegram",
        target="@acme_coffee",
        credentials=Credentials(access_token=TOKEN),
    )


def test_a_bot_message_through_the_telegram_bot_api(workspace: Workspace, topic: Topic) -> None:
    with ReplayServer(telegram_replay()) as server:
        add(workspace, "bot", CHAT, telegram(workspace, server.url))
        burst(topic)
        [alert] = alerts.detect_workspace(workspace, now=NOW)
        run_jobs()
    server.verify()
    sent = json.loads(server.requests[0]["body"])
    assert sent["chat_id"] == CHAT and "Acme Coffee" in sent["text"] and "@user_big" in sent["text"]
    [event] = AuditEvent.objects.filter(action=dest.DELIVERY_ACTION)
    assert event.data["status"] == "sent" and event.data["detail"] == f"{CHAT}:311"
    assert deliveries(alert) == [("bot", "sent")]


def test_a_rate_limited_bot_message_waits_and_goes_once(workspace: Workspace, topic: Topic) -> None:
    limited = {
        "request": {"method": "POST", "path": f"/bot{TOKEN}/sendMessage", "json": {"chat_id": CHAT}},
        "response": {
            "status": 429,
            "json": {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
        },
    }
    with ReplayServer(telegram_replay(limited)) as server:
        add(workspace, "bot", CHAT, telegram(workspace, server.url))
        burst(topic)
        alerts.detect_workspace(workspace, now=NOW)
        run_jobs()
        retry = Job.objects.get(task_path=dest.DELIVER_TASK, state=Job.READY)
        assert retry.kwargs["attempt"] == 2
        assert 6 <= (retry.state_due_at - timezone.now()).total_seconds() <= 8
        later = timezone.now() + timedelta(seconds=30)
        forget_buckets()  # Sokhan's own bucket for the account also waits out the 7 s
        Worker(worker_id="w", machines=[JOB_MACHINE], clock=lambda: later).run_once()
    server.verify()
    assert [e.data["status"] for e in AuditEvent.objects.filter(action=dest.DELIVERY_ACTION)] == ["sent"]


def test_bot_destinations_need_a_telegram_or_bale_channel_and_a_chat(workspace: Workspace) -> None:
    mastodon = make_channel(workspace, "https://social.example")
    with pytest.raises(DomainError) as wrong:
        add(workspace, "bot", CHAT, mastodon)
    assert wrong.value.fields == {"channel": "invalid"}
    with pytest.raises(DomainError) as bad_chat:
        add(workspace, "bot", "not a chat", telegram(workspace, "https://api.telegram.org"))
    assert bad_chat.value.fields == {"target": "invalid"}
    with pytest.raises(DomainError):
        add(workspace, "email", "not-an-address")


# ----------------------------------------------------------------------------- the schedule


def test_the_schedule_runs_detection_on_the_worker_every_five_minutes(workspace: Workspace) -> None:
    spec = {s.name: s for s in registered_schedules()}["listening.spikes"]
    assert spec.cron == "*/5 * * * *" and spec.task_path == "sokhan.listening.spike_tasks.detect_spikes"
    topic = make_topic(workspace)
    now = timezone.now()
    previous = now.replace(minute=0, second=0, microsecond=0) - HOUR
    steady(topic, until=previous)
    hour_count(topic, previous, 70, 10)
    from sokhan.listening.spike_tasks import detect_spikes

    detect_spikes.enqueue()
    run_jobs()
    assert Alert.objects.filter(topic=topic, hour=previous, kind="volume").exists()
