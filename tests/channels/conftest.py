"""Fixtures: the fake network on 127.0.0.1, signed-in clients, tokens, a connected channel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from tests.channels.fakenet import FakeNetwork, FakeServer
from tests.web.helpers import sign_in

from sokhan.channels import ratelimit
from sokhan.channels.models import Channel
from sokhan.channels.services import channel_connect
from sokhan.core.models import Membership, User, Workspace


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    settings.SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS = 0
    cache.clear()
    _forget_buckets(settings.REDIS_URL)
    yield
    cache.clear()
    _forget_buckets(settings.REDIS_URL)


def _forget_buckets(url: str) -> None:
    """Buckets in Redis outlive the test database: clear them so row ids reused by the next test
    start with full buckets."""
    if not url:
        return
    store = ratelimit.RedisStore(url)
    keys = list(store.client.scan_iter(f"{ratelimit.KEY_PREFIX}*"))
    if keys:
        store.client.delete(*keys)


@pytest.fixture
def net() -> Iterator[FakeNetwork]:
    with FakeServer() as network:
        yield network


@pytest.fixture
def owner_membership(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


@pytest.fixture
def owner_client(owner: User, workspace: Workspace) -> Client:
    client = Client()
    sign_in(client, owner.email)
    return client


@pytest.fixture
def channel(net: FakeNetwork, owner_membership: Membership) -> Channel:
    _account, token = net.add_account("@acme", "Acme Coffee", bio="Fresh coffee daily", url="https://acme.example")
    result = channel_connect(
        actor=owner_membership, network="fake_token", values={"base_url": net.url, "access_token": token}
    )
    return result.channel
