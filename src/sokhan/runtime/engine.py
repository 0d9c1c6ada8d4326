"""Claim, run and complete steps of state machines stored on rows.

One code path for both databases:

* **Claim** (short transaction): select due, unleased rows with ``FOR UPDATE SKIP LOCKED`` and stamp
  them with ``state_locked_until = now + lease`` and a fresh lease token. On PostgreSQL concurrent
  workers skip each other's rows; on SQLite ``select_for_update`` is a no-op but the database runs
  every transaction as ``BEGIN IMMEDIATE`` (see settings), so claims are serialised by the single
  writer lock instead.
* **Step** (one transaction): re-lock the row *only if the lease token is still ours*, call the
  state's handler, then move the row with a conditional ``UPDATE … WHERE lease_owner = token``.
  The handler's own writes share that transaction, so either everything commits (effects + new
  state) or nothing does. A crash anywhere leaves the row leased until the lease runs out, then it
  is claimed again — never lost, never completed twice.
* **Failure** (one transaction, after the step rolled back): record the error, then either schedule
  a retry with backoff or move the row to the graph's failure state.

Registering a model::

    from sokhan.runtime.engine import register
    register(PublishTarget, PUBLISH_GRAPH)   # in the app's AppConfig.ready()

The model must inherit :class:`sokhan.runtime.models.StateMixin`.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet

from sokhan.runtime.graph import InvalidTransition, Next, StateGraph
from sokhan.runtime.models import StateMixin

logger = logging.getLogger("sokhan.runtime")

_TOKEN_MAX = 64  # matches StateMixin.state_lease_owner


class LeaseLost(RuntimeError):
    """Our lease token is no longer on the row: another worker owns it now."""


class Outcome(StrEnum):
    DONE = "done"  # handler succeeded and the row moved on
    RETRY = "retry"  # handler failed; row is due again later
    FAILED = "failed"  # retries exhausted; row is in the failure state
    LOST = "lost"  # lease no longer ours; nothing written
    CONTINUE = "continue"  # handler succeeded; the row's next state is due now and still ours (``hold``)


@dataclass(frozen=True)
class Machine:
    """A model driven by a graph. ``order_by`` decides who goes first among due rows."""

    model: type[StateMixin]
    graph: StateGraph
    order_by: Sequence[str] = ("state_due_at", "pk")
    label: str = field(default="")
    # Adds what every handler reads to the query that locks the row for a step (``select_related``,
    # annotations), saving the handlers a query each. Only the row itself is locked (``FOR UPDATE OF``).
    prepare: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.model._meta.label_lower)

    @property
    def objects(self) -> QuerySet[Any]:
        return self.model._default_manager.all()

    def due(self, now: datetime) -> QuerySet[Any]:
        """Rows in an active state, due, and not under a live lease."""
        return self.objects.filter(
            state__in=self.graph.active_states,
            state_due_at__lte=now,
        ).filter(Q(state_locked_until__isnull=True) | Q(state_locked_until__lte=now))


_registry: dict[str, Machine] = {}


def register(
    model: type[StateMixin],
    graph: StateGraph,
    *,
    order_by: Sequence[str] | None = None,
    prepare: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None,
) -> Machine:
    """Make ``sokhan worker`` drive ``model`` through ``graph``. Idempotent per model."""
    machine = Machine(model=model, graph=graph, order_by=tuple(order_by or ("state_due_at", "pk")), prepare=prepare)
    existing = _registry.get(machine.label)
    if existing is not None and existing.graph is not graph:
        raise ValueError(f"{machine.label} is already registered with graph {existing.graph.name!r}.")
    _registry[machine.label] = machine
    return machine


def machines() -> list[Machine]:
    return list(_registry.values())


@dataclass(frozen=True)
class Claim:
    machine: Machine
    pk: Any
    token: str


@dataclass(frozen=True)
class StepContext:
    """What a handler may want to know about the step it is running in."""

    worker_id: str
    token: str
    now: datetime
    attempt: int
    row: Any = field(default=None, repr=False, compare=False)
    # Field values of ``row`` to write with the step's fenced state UPDATE (``save_with_step``).
    writes: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("sokhan_step", default=None)


def current_step() -> StepContext:
    """The running step; only valid inside a handler."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("current_step() called outside a state handler.")
    return ctx


_ENGINE_FIELDS = frozenset(f.name for f in StateMixin._meta.get_fields())


def save_with_step(row: StateMixin, *fields: str) -> None:
    """Save ``fields`` of the row the running handler was given, in the step's fenced state
    ``UPDATE`` instead of a statement of their own (like ``row.save(update_fields=fields)``, values
    as they are now). Written only if the step commits; only plain columns of the row's own model."""
    ctx = current_step()
    if ctx.row is None or row is not ctx.row:
        raise RuntimeError("save_with_step() only saves the row its handler was given.")
    for name in fields:
        model_field = row._meta.get_field(name)
        if not model_field.concrete or model_field.is_relation or model_field.primary_key or name in _ENGINE_FIELDS:
            raise ValueError(f"save_with_step() cannot write {name!r}.")
        ctx.writes[model_field.name] = getattr(row, model_field.attname)


@contextmanager
def _step_context(ctx: StepContext) -> Iterator[None]:
    reset = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(reset)


def new_token(worker_id: str) -> str:
    return f"{worker_id[: _TOKEN_MAX - 17]}:{secrets.token_hex(8)}"


def claim(machine: Machine, *, worker_id: str, lease: timedelta, now: datetime, limit: int = 1) -> list[Claim]:
    """Lease up to ``limit`` due rows of ``machine`` for this worker."""
    token = new_token(worker_id)
    with transaction.atomic():
        pks = list(
            machine.due(now)
            .select_for_update(skip_locked=True)
            .order_by(*machine.order_by)
            .values_list("pk", flat=True)[:limit]
        )
        if not pks:
            return []
        # Attempts count claims, not handler errors, so a row that keeps killing its worker
        # (out of memory, segfault) still runs out of attempts.
        machine.objects.filter(pk__in=pks).update(
            state_locked_until=now + lease,
            state_lease_owner=token,
            state_attempts=F("state_attempts") + 1,
        )
    return [Claim(machine, pk, token) for pk in pks]


def release(claims: Sequence[Claim]) -> int:
    """Give back claimed rows we will not run (shutdown): due again at once for other workers."""
    released = 0
    for c in claims:
        with transaction.atomic():
            released += c.machine.objects.filter(pk=c.pk, state_lease_owner=c.token).update(
                state_locked_until=None,
                state_lease_owner="",
                state_attempts=F("state_attempts") - 1,
            )
    return released


def _lock_if_ours(c: Claim) -> Any:
    if c.machine.prepare is None:
        return c.machine.objects.select_for_update().filter(pk=c.pk, state_lease_owner=c.token).first()
    rows = c.machine.prepare(c.machine.objects.select_for_update(of=("self",)))
    return rows.filter(pk=c.pk, state_lease_owner=c.token).first()


def _move(
    c: Claim,
    row: StateMixin,
    *,
    state: str,
    due_at: datetime | None,
    now: datetime,
    error: str,
    held_until: datetime | None = None,
    writes: dict[str, Any] | None = None,
) -> None:
    """The fenced write: succeeds only while our token is on the row, else rolls back the step.

    ``held_until`` keeps the row leased to this claim (the next state runs at once under the same
    token); the next state's attempt count then starts at 1, as if it had been claimed. ``writes``:
    the handler's own columns (``save_with_step``), in the same statement."""
    fields: dict[str, Any] = {
        **(writes or {}),
        "state": state,
        "state_due_at": due_at,
        "state_locked_until": held_until,
        "state_lease_owner": c.token if held_until is not None else "",
        "state_error": error,
    }
    if error == "":  # success starts the next state's attempt count afresh; failures keep it
        fields["state_attempts"] = 1 if held_until is not None else 0
    if state != row.state:
        fields["state_changed_at"] = now
    if c.machine.objects.filter(pk=c.pk, state_lease_owner=c.token).update(**fields) != 1:
        raise LeaseLost(f"{c.machine.label} {c.pk}: lease lost before completion.")


def run_step(c: Claim, *, worker_id: str, now: datetime, hold: timedelta | None = None) -> Outcome:
    """Run one handler step for a claimed row; never raises for handler errors.

    With ``hold``, a step whose handler moves the row to *another* active state that is due by
    ``now`` keeps the row leased to this claim for ``hold`` more and returns ``Outcome.CONTINUE``:
    the caller may run the next step with the same claim at once (or ``release`` it). The step
    still commits on its own first, and the next state's attempt count starts at 1, so a claim that
    dies before the next step commits leaves the row to be claimed again with attempt 2.
    """
    graph = c.machine.graph
    try:
        with transaction.atomic():
            row = _lock_if_ours(c)
            if row is None:
                return Outcome.LOST
            state = graph.state(row.state)
            if not state.active:  # moved by someone else (e.g. a user cancelled) after the claim
                c.machine.objects.filter(pk=c.pk, state_lease_owner=c.token).update(
                    state_locked_until=None, state_lease_owner="", state_due_at=None
                )
                return Outcome.LOST
            retry = state.retry_for(row)
            if row.state_attempts > retry.max_attempts:
                # Earlier claims died without recording anything (worker killed mid-step).
                raise _Exhausted(f"Gave up after {row.state_attempts - 1} attempts that never finished.")
            assert state.handler is not None
            ctx = StepContext(worker_id=worker_id, token=c.token, now=now, attempt=row.state_attempts, row=row)
            with _step_context(ctx):
                result = state.handler(row)
            nxt = result if isinstance(result, Next) else Next(str(result))
            graph.check_transition(row.state, nxt.state)
            active = graph.state(nxt.state).active
            due_at = nxt.resolve_due(now) if active else None
            held_until = None
            if hold is not None and active and nxt.state != row.state and due_at is not None and due_at <= now:
                held_until = now + hold
            _move(c, row, state=nxt.state, due_at=due_at, now=now, error="", held_until=held_until, writes=ctx.writes)
        return Outcome.CONTINUE if held_until is not None else Outcome.DONE
    except LeaseLost:
        logger.warning("Lease lost for %s %s; another worker owns it.", c.machine.label, c.pk)
        return Outcome.LOST
    except Exception as exc:
        return _record_failure(c, exc, worker_id=worker_id, now=now)


class _Exhausted(RuntimeError):
    """Internal: attempts were used up by crashed workers; fail without running the handler."""


def _record_failure(c: Claim, exc: Exception, *, worker_id: str, now: datetime) -> Outcome:
    graph = c.machine.graph
    error = "".join(traceback.format_exception(exc))
    with transaction.atomic():
        row = _lock_if_ours(c)
        if row is None:
            return Outcome.LOST
        retry = graph.state(row.state).retry_for(row)
        terminal = isinstance(exc, _Exhausted) or row.state_attempts >= retry.max_attempts
        ctx = StepContext(worker_id=worker_id, token=c.token, now=now, attempt=row.state_attempts, row=row)
        if graph.on_error is not None:
            with _step_context(ctx):
                graph.on_error(row, exc, terminal)
        try:
            if terminal:
                _move(c, row, state=graph.failure_state, due_at=None, now=now, error=error, writes=ctx.writes)
            else:
                due = now + retry.delay_after(row.state_attempts)
                _move(c, row, state=row.state, due_at=due, now=now, error=error, writes=ctx.writes)
        except LeaseLost:
            return Outcome.LOST
    level = logging.ERROR if terminal else logging.WARNING
    if isinstance(exc, InvalidTransition):
        level = logging.ERROR
    logger.log(level, "%s %s step failed (attempt %s): %s", c.machine.label, c.pk, row.state_attempts, exc)
    return Outcome.FAILED if terminal else Outcome.RETRY
