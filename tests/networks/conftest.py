"""Fixtures for connector contract tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from tests.networks.replay import Replay, ReplayServer, load


@pytest.fixture
def cassette() -> Iterator[Callable[[str], Replay]]:
    """``cassette("mastodon/publish")`` starts a replay server; every request is checked at teardown."""
    stack = ExitStack()
    started: list[Replay] = []

    def start(name: str) -> Replay:
        replay = stack.enter_context(ReplayServer(load(name)))
        started.append(replay)
        return replay

    with stack:
        yield start
    for replay in started:
        replay.verify()
