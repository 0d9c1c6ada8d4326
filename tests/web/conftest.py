"""Fixtures for the web UI tests: real forms through Django's test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from sokhan.core.models import User, Workspace

from .helpers import sign_in


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # Login throttling lives in the cache; every test starts with a clean slate.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner_client(owner: User, workspace: Workspace) -> Client:
    # The workspace fixture is Persian; these tests read English text unless they switch.
    owner.language = "en"
    owner.save(update_fields=["language"])
    client = Client()
    sign_in(client, owner.email)
    return client
