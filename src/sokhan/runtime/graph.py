"""State graphs: which states a row may be in, who handles each one, and where it may go next.

Modelled on Takahe's stator. A graph is a fixed set of named states. A state with a *handler* is
*active*: the worker picks up rows in that state once their ``state_due_at`` has passed, calls the
handler with the locked row, and the handler does one step and returns the next state. A state
without a handler is *terminal* (or waits for a person or another service to move the row on).

Example (the publishing dispatcher would look like this)::

    def publish(target: PublishTarget) -> str | Next:
        ...                                   # one step: call the network, save effects on rows
        return "published"

    PUBLISH = StateGraph(
        "publish",
        states=[
            State("scheduled", handler=publish, to=["published", "scheduled"], retry=Retry(max_attempts=8)),
            State("published"),
            State("failed"),
        ],
        failure_state="failed",
    )
    register(PublishTarget, PUBLISH)          # sokhan.runtime.engine.register, from AppConfig.ready

Returning a state that is not listed in the current state's ``to`` raises
:class:`InvalidTransition`; the step's transaction rolls back and the worker treats it like any
other error (retry with backoff, then ``failure_state``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class GraphError(ValueError):
    """The graph itself is malformed (unknown target state, duplicate name, …)."""


class InvalidTransition(RuntimeError):
    """A handler returned a state its graph does not allow from the current state."""


@dataclass(frozen=True)
class Next:
    """A handler's answer: the next state and, optionally, when it is due.

    ``due_at`` (absolute) wins over ``delay``; with neither the next state is due at once.
    """

    state: str
    due_at: datetime | None = None
    delay: timedelta | None = None

    def resolve_due(self, now: datetime) -> datetime:
        if self.due_at is not None:
            return self.due_at
        return now + (self.delay or timedelta())


@dataclass(frozen=True)
class Retry:
    """How a failing step is retried: exponential backoff with jitter, up to ``max_attempts``.

    Attempt *n* (1-based) that fails is retried after ``base_seconds * 2**(n-1)`` seconds, capped at
    ``cap_seconds`` and stretched by a random factor in ``[1, 1 + jitter]`` so that many rows failing
    together (a network outage) do not all come back in the same second.
    """

    max_attempts: int = 5
    base_seconds: float = 10.0
    cap_seconds: float = 3600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise GraphError("Retry.max_attempts must be at least 1.")
        if self.base_seconds < 0 or self.cap_seconds < 0 or self.jitter < 0:
            raise GraphError("Retry delays and jitter must not be negative.")

    def delay_after(self, attempt: int) -> timedelta:
        """The wait before retrying after failed attempt number ``attempt`` (1-based)."""
        exponent = max(attempt - 1, 0)
        # min() before the power would overflow for absurd attempt numbers; 2**62 is plenty.
        seconds = min(self.cap_seconds, self.base_seconds * float(2 ** min(exponent, 62)))
        seconds *= 1 + random.uniform(0, self.jitter)  # noqa: S311 - jitter, not security
        return timedelta(seconds=seconds)


Handler = Callable[[Any], "str | Next"]
ErrorHook = Callable[[Any, BaseException, bool], None]


@dataclass(frozen=True)
class State:
    """One state. ``handler`` makes it active; ``to`` lists the states its handler may return.

    ``retry`` is a policy or a function of the row returning one (jobs keep their own limits on the
    row). Active states without one use ``Retry()``.
    """

    name: str
    handler: Handler | None = None
    to: Iterable[str] = ()
    retry: Retry | Callable[[Any], Retry] | None = None
    targets: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", frozenset(self.to))
        if self.handler is None and self.targets:
            raise GraphError(f"State {self.name!r} lists next states but has no handler.")

    @property
    def active(self) -> bool:
        return self.handler is not None

    def retry_for(self, row: Any) -> Retry:
        if self.retry is None:
            return Retry()
        if isinstance(self.retry, Retry):
            return self.retry
        return self.retry(row)


class StateGraph:
    """A validated set of states. ``failure_state`` receives rows whose retries are exhausted.

    ``on_error(row, exc, terminal)`` is called inside the failure-recording transaction (after the
    step's own transaction rolled back) so a model can keep extra error history on the row.
    """

    def __init__(
        self,
        name: str,
        *,
        states: Iterable[State],
        failure_state: str,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.name = name
        self.states: dict[str, State] = {}
        for state in states:
            if state.name in self.states:
                raise GraphError(f"Graph {name!r} declares state {state.name!r} twice.")
            if len(state.name) > 32:
                raise GraphError(f"State name {state.name!r} is longer than 32 characters.")
            self.states[state.name] = state
        for state in self.states.values():
            unknown = state.targets - self.states.keys()
            if unknown:
                raise GraphError(f"State {state.name!r} in graph {name!r} targets unknown {sorted(unknown)}.")
        if failure_state not in self.states:
            raise GraphError(f"Failure state {failure_state!r} is not a state of graph {name!r}.")
        if self.states[failure_state].active:
            raise GraphError(f"Failure state {failure_state!r} must be terminal (no handler).")
        self.failure_state = failure_state
        self.on_error = on_error

    @property
    def active_states(self) -> list[str]:
        return [name for name, state in self.states.items() if state.active]

    def state(self, name: str) -> State:
        try:
            return self.states[name]
        except KeyError:
            raise InvalidTransition(f"{name!r} is not a state of graph {self.name!r}.") from None

    def check_transition(self, current: str, target: str) -> None:
        """Raise :class:`InvalidTransition` unless ``current``'s handler may return ``target``."""
        if target not in self.state(current).targets:
            raise InvalidTransition(
                f"Graph {self.name!r} does not allow {current!r} -> {target!r} "
                f"(allowed: {sorted(self.state(current).targets)})."
            )
