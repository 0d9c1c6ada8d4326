"""Fixtures around the loopback Mastodon-compatible sink (:mod:`sokhan.ops.bench_sink`, shared with
``sokhan bench publish``), and a check that it deduplicates like Mastodon."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sokhan.ops.bench_sink import ACCOUNT, Sink, SinkServer, forget_buckets, make_channel

__all__ = ["ACCOUNT", "Sink", "SinkServer", "forget_buckets", "make_channel"]


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


def test_sink_dedups_by_idempotency_key_like_mastodon(sink: Sink) -> None:
    import urllib.request

    def post(key: str) -> dict[str, Any]:
        req = urllib.request.Request(  # noqa: S310 - loopback
            f"{sink.url}/api/v1/statuses", data=b"status=hi", headers={"Idempotency-Key": key}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310
            return dict(json.loads(response.read()))

    assert post("a")["id"] == post("a")["id"] != post("b")["id"]
    assert sink.requests == Counter({"a": 2, "b": 1}) and sink.created == Counter({"a": 1, "b": 1})
