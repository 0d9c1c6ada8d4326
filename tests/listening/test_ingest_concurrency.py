"""Concurrent ingest on PostgreSQL: workers given overlapping batches at the same moment store each
mention once and the hourly counts add up exactly (the upsert adds; rows are locked in one order)."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.db.models import Sum
from tests.listening.test_ingest import counts_agree_with_mentions

from sokhan.core.models import Workspace
from sokhan.listening.ingest import IncomingItem, ingest
from sokhan.listening.models import HourlyCount, Mention, MentionTopic, Topic

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
]

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
WORDS = ["shigi", "kiwan", "رقیب", "delivery", "قیمت", "خوب", "بد", "late", "great"]


def test_overlapping_batches_from_four_workers_store_once_and_count_exactly(workspace: Workspace) -> None:
    for name, query in (("Shigi", "shigi"), ("Kiwan", "kiwan OR کیوان"), ("Rival", "رقیب")):
        Topic.objects.create(workspace=workspace, name=name, query=query)
    rng = random.Random(7)
    posts = []
    for n in range(600):
        words = [*rng.sample(WORDS, 4), rng.choice(["shigi", "kiwan", "رقیب"])]
        at = T0 + timedelta(minutes=rng.randrange(4 * 60))  # four hours: shared count rows
        posts.append(IncomingItem("x", str(n), " ".join(words), at))
    shares = [rng.sample(posts, 400) for _ in range(4)]
    start = threading.Barrier(len(shares))
    failures: list[BaseException] = []

    def work(share: list[IncomingItem]) -> None:
        try:
            start.wait()
            for offset in range(0, len(share), 50):
                ingest(workspace, share[offset : offset + 50])
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    seen = {post.remote_id for share in shares for post in share}
    assert Mention.objects.filter(workspace=workspace).count() == len(seen)
    assert HourlyCount.objects.aggregate(n=Sum("total"))["n"] == MentionTopic.objects.count()
    counts_agree_with_mentions()
