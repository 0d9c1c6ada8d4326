"""Fixtures for the approval tests: a channel, posts, members, and workflows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from tests.publishing.test_dispatcher_sink import make_channel
from tests.web.helpers import sign_in

from sokhan.approvals import services as approvals
from sokhan.approvals.models import Mode
from sokhan.channels.models import Channel
from sokhan.core.models import Membership, User, Workspace
from sokhan.publishing import services
from sokhan.publishing.models import Post


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def channel(workspace: Workspace) -> Channel:
    return make_channel(workspace, "http://127.0.0.1:9")


def member(user: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=user, workspace=workspace)


@pytest.fixture
def owner_m(owner: User, workspace: Workspace) -> Membership:
    return member(owner, workspace)


@pytest.fixture
def make_post(channel: Channel, workspace: Workspace) -> Callable[..., Post]:
    def make(author: User, text: str = "سلام دنیا", title: str = "Launch") -> Post:
        return services.post_create(
            actor=member(author, workspace),
            targets=[services.TargetInput(channel_id=channel.pk, text=text)],
            title=title,
        )

    return make


def set_stages(owner_m: Membership, *stages: approvals.StageInput) -> None:
    approvals.workflow_update(actor=owner_m, mode=Mode.STAGES, stages=list(stages))


def set_mode(owner_m: Membership, mode: str) -> None:
    approvals.workflow_update(actor=owner_m, mode=mode)


@pytest.fixture
def owner_client(owner: User, workspace: Workspace) -> Client:
    """The owner signed in, reading English (the workspace itself is Persian)."""
    client = Client()
    sign_in(client, owner.email)
    return client
