"""The one state graph of a post target.

``draft → in_review → approved → scheduled → publishing → published | failed | outcome_unknown``,
``outcome_unknown → resolved | failed | scheduled`` (a person checked the account), and
``scheduled → draft | approved`` (unscheduled). Only ``scheduled`` and ``publishing`` have handlers (the worker
moves those rows); every other move is a person's action, checked against :data:`USER_MOVES`.
A move that is declared in neither raises :class:`~sokhan.runtime.graph.InvalidTransition`.
"""

from __future__ import annotations

from sokhan.runtime.graph import InvalidTransition, Retry, State, StateGraph

DRAFT = "draft"
IN_REVIEW = "in_review"
APPROVED = "approved"
SCHEDULED = "scheduled"
PUBLISHING = "publishing"
PUBLISHED = "published"
FAILED = "failed"
OUTCOME_UNKNOWN = "outcome_unknown"
RESOLVED = "resolved"

ALL_STATES = (DRAFT, IN_REVIEW, APPROVED, SCHEDULED, PUBLISHING, PUBLISHED, FAILED, OUTCOME_UNKNOWN, RESOLVED)

# What the worker may do (the handlers' ``to``).
WORKER_MOVES: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({SCHEDULED, PUBLISHING, FAILED}),
    PUBLISHING: frozenset({PUBLISHING, PUBLISHED, FAILED, OUTCOME_UNKNOWN}),
}

# What a person may do through the services (and so the API and UI).
USER_MOVES: dict[str, frozenset[str]] = {
    DRAFT: frozenset({IN_REVIEW, APPROVED, SCHEDULED}),
    IN_REVIEW: frozenset({APPROVED, DRAFT}),
    APPROVED: frozenset({SCHEDULED, DRAFT}),
    SCHEDULED: frozenset({DRAFT, APPROVED}),  # unscheduled; approved when a workflow approved it
    FAILED: frozenset({SCHEDULED, DRAFT}),
    OUTCOME_UNKNOWN: frozenset({RESOLVED, FAILED, SCHEDULED}),
}

EDITABLE = frozenset({DRAFT, IN_REVIEW, APPROVED, FAILED})
ACTIVE = frozenset({SCHEDULED, PUBLISHING})


def check_user_move(current: str, target: str) -> None:
    if current not in ALL_STATES or target not in ALL_STATES:
        raise InvalidTransition(f"{current!r} -> {target!r}: unknown state.")
    if target not in USER_MOVES.get(current, frozenset()):
        raise InvalidTransition(
            f"A post target cannot go from {current!r} to {target!r} "
            f"(allowed: {sorted(USER_MOVES.get(current, frozenset()))})."
        )


def build_graph(handlers: dict[str, object], on_error: object = None) -> StateGraph:
    """The graph with the dispatcher's handlers (kept here so states and moves live in one file)."""
    return StateGraph(
        "publish",
        states=[
            State(DRAFT),
            State(IN_REVIEW),
            State(APPROVED),
            State(SCHEDULED, handler=handlers[SCHEDULED], to=WORKER_MOVES[SCHEDULED], retry=Retry(max_attempts=10)),  # type: ignore[arg-type]
            State(
                PUBLISHING,
                handler=handlers[PUBLISHING],  # type: ignore[arg-type]
                to=WORKER_MOVES[PUBLISHING],
                retry=Retry(max_attempts=8, base_seconds=15, cap_seconds=900),
            ),
            State(PUBLISHED),
            State(FAILED),
            State(OUTCOME_UNKNOWN),
            State(RESOLVED),
        ],
        # Attempts used up by crashed or erroring steps: we cannot say whether the post went out,
        # so a person checks (never "failed", which invites a blind re-post).
        failure_state=OUTCOME_UNKNOWN,
        on_error=on_error,  # type: ignore[arg-type]
    )
