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

from django.db import connection, transaction
from django.db.models import F, Field, Q, QuerySet

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
    # Whether running the row's handler again after a rolled-back step does no harm outside the
    # database (no effect, or one the remote side deduplicates). Only such rows share one
    # transaction in ``run_batch``; a batch that fails is rolled back and each row run alone.
    rerunnable: Callable[[Any], bool] | None = None

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
    rerunnable: Callable[[Any], bool] | None = None,
) -> Machine:
    """Make ``sokhan worker`` drive ``model`` through ``graph``. Idempotent per model."""
    machine = Machine(
        model=model,
        graph=graph,
        order_by=tuple(order_by or ("state_due_at", "pk")),
        prepare=prepare,
        rerunnable=rerunnable,
    )
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


def _lockable(machine: Machine) -> QuerySet[Any]:
    if machine.prepare is None:
        return machine.objects.select_for_update()
    return machine.prepare(machine.objects.select_for_update(of=("self",)))


def _lock_if_ours(c: Claim) -> Any:
    return _lockable(c.machine).filter(pk=c.pk, state_lease_owner=c.token).first()


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
    deferred: list[tuple[Any, dict[str, Any]]] | None = None,
) -> None:
    """The fenced write: succeeds only while our token is on the row, else rolls back the step.

    ``held_until`` keeps the row leased to this claim (the next state runs at once under the same
    token); the next state's attempt count then starts at 1, as if it had been claimed. ``writes``:
    the handler's own columns (``save_with_step``), in the same statement. ``deferred``: collect
    the write for ``_apply_moves`` instead (a batch writes its rows together)."""
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
    if deferred is not None:
        deferred.append((row, fields))
        return
    if c.machine.objects.filter(pk=c.pk, state_lease_owner=c.token).update(**fields) != 1:
        raise LeaseLost(f"{c.machine.label} {c.pk}: lease lost before completion.")


def _apply_moves(machine: Machine, token: str, moves: list[tuple[Any, dict[str, Any]]]) -> None:
    """A batch's fenced writes. On PostgreSQL the rows that write the same columns (the usual case)
    share one ``UPDATE … FROM (VALUES …)``, still only where our token is; elsewhere (SQLite has one
    writer, so a batch there saves little) each row is written as ``_move`` writes it."""
    groups: dict[tuple[str, ...], list[tuple[Any, dict[str, Any]]]] = {}
    for row, fields in moves:
        groups.setdefault(tuple(sorted(fields)), []).append((row, fields))
    for names, items in groups.items():
        if connection.vendor != "postgresql" or len(items) == 1:
            for row, fields in items:
                if machine.objects.filter(pk=row.pk, state_lease_owner=token).update(**fields) != 1:
                    raise LeaseLost(f"{machine.label} {row.pk}: lease lost before completion.")
            continue
        if _update_from_values(machine, token, names, items) != len(items):
            raise LeaseLost(f"{machine.label}: lease lost before a batch completed.")


def _update_from_values(
    machine: Machine, token: str, names: tuple[str, ...], items: list[tuple[Any, dict[str, Any]]]
) -> int:
    meta = machine.model._meta
    qn = connection.ops.quote_name
    pk = meta.pk
    assert pk is not None
    fields: list[Field[Any, Any]] = []
    for name in names:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        fields.append(field)
    columns = [str(f.column) for f in [pk, *fields]]
    casts = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in [pk, *fields])
    params: list[Any] = []
    for row, written in items:
        params.append(pk.get_db_prep_value(row.pk, connection))
        params.extend(f.get_db_prep_save(written[f.name], connection) for f in fields)
    table = qn(meta.db_table)
    sets = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns[1:])
    rows_sql = ", ".join([f"({casts})"] * len(items))
    aliases = ", ".join(qn(c) for c in columns)
    where = f"{table}.{qn(columns[0])} = v.{qn(columns[0])} AND {table}.{qn('state_lease_owner')} = %s"
    # Only quoted identifiers from the model's meta go into the text; every value is a parameter.
    sql = f"UPDATE {table} SET {sets} FROM (VALUES {rows_sql}) AS v({aliases}) WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, token])
        return int(cursor.rowcount)


def run_step(c: Claim, *, worker_id: str, now: datetime, hold: timedelta | None = None) -> Outcome:
    """Run one handler step for a claimed row; never raises for handler errors.

    With ``hold``, a step whose handler moves the row to *another* active state that is due by
    ``now`` keeps the row leased to this claim for ``hold`` more and returns ``Outcome.CONTINUE``:
    the caller may run the next step with the same claim at once (or ``release`` it). The step
    still commits on its own first, and the next state's attempt count starts at 1, so a claim that
    dies before the next step commits leaves the row to be claimed again with attempt 2.
    """
    try:
        with transaction.atomic():
            row = _lock_if_ours(c)
            if row is None:
                return Outcome.LOST
            return _advance(c, row, worker_id=worker_id, now=now, hold=hold)
    except LeaseLost:
        logger.warning("Lease lost for %s %s; another worker owns it.", c.machine.label, c.pk)
        return Outcome.LOST
    except Exception as exc:
        return _record_failure(c, exc, worker_id=worker_id, now=now)


def run_batch(
    claims: Sequence[Claim], *, worker_id: str, now: datetime, hold: timedelta | None = None
) -> dict[Any, Outcome]:
    """Run one step for each of ``claims`` (one claim call: same machine, same token), the
    re-runnable rows (``Machine.rerunnable``) in **one** transaction: one locking query, the
    handlers one after another, each row's fenced move, one commit. Saves a transaction and a
    query per row; exactly-once holds as in ``run_step`` (the batch commits or nothing does).

    If any handler in the batch raises, the whole batch rolls back and every row runs alone with
    ``run_step`` (which records the failure for the row that raised); that is why only rows whose
    handler may safely run again are batched. Rows that are not re-runnable run alone after the
    batch commits. Returns each claim's outcome by primary key."""
    if not claims:
        return {}
    machine, token = claims[0].machine, claims[0].token
    if any(c.machine is not machine or c.token != token for c in claims):
        raise ValueError("run_batch() takes the claims of one claim() call.")
    by_pk = {c.pk: c for c in claims}
    outcomes: dict[Any, Outcome] = {}
    alone: list[Claim] = []
    moves: list[tuple[Any, dict[str, Any]]] = []
    try:
        with transaction.atomic():
            rows = list(_lockable(machine).filter(pk__in=list(by_pk), state_lease_owner=token).order_by("pk"))
            for row in rows:
                c = by_pk[row.pk]
                if machine.rerunnable is None or not machine.rerunnable(row):
                    alone.append(c)
                    continue
                outcomes[c.pk] = _advance(c, row, worker_id=worker_id, now=now, hold=hold, deferred=moves)
            _apply_moves(machine, token, moves)
    except Exception as exc:
        logger.warning("%s: a batch of %s rolled back (%s); running each row alone.", machine.label, len(claims), exc)
        return {c.pk: run_step(c, worker_id=worker_id, now=now, hold=hold) for c in claims}
    for c in alone:
        outcomes[c.pk] = run_step(c, worker_id=worker_id, now=now, hold=hold)
    for c in claims:
        outcomes.setdefault(c.pk, Outcome.LOST)  # not locked: the lease is no longer ours
    return outcomes


def _advance(
    c: Claim,
    row: Any,
    *,
    worker_id: str,
    now: datetime,
    hold: timedelta | None,
    deferred: list[tuple[Any, dict[str, Any]]] | None = None,
) -> Outcome:
    """The locked row's step inside the caller's transaction: handler, checked transition, fenced
    move (collected in ``deferred`` if given). Raises for handler errors (the caller rolls back
    and records them)."""
    graph = c.machine.graph
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
    _move(
        c,
        row,
        state=nxt.state,
        due_at=due_at,
        now=now,
        error="",
        held_until=held_until,
        writes=ctx.writes,
        deferred=deferred,
    )
    return Outcome.CONTINUE if held_until is not None else Outcome.DONE


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
