"""The worker's side of publishing: the ``scheduled`` and ``publishing`` handlers.

Exactly once, across crashes
----------------------------
The engine runs each handler step in one database transaction under a lease and commits the new
state only if the lease is still ours (fencing). The ``publishing`` step sends the request to the
network *inside* that transaction and stores ``published`` + the remote id in it, so:

* network refused / failed for sure (``Rejected``, ``Transient``, ``RateLimited``): the step commits
  a retry or ``failed``; nothing was posted.
* network accepted and the step committed: done; the row is never picked up again.
* network accepted, then the worker died (or lost its lease) before the commit: the row's writes
  roll back and, after the lease expires, another worker claims ``publishing`` again with
  ``attempt > 1``. That re-run must not post blindly:
    - a connector with ``idempotent_publish`` re-sends the *same* ``idempotency_key`` and the
      network returns the post it already made (Mastodon ``Idempotency-Key``, Bluesky record keys…);
    - a connector with ``Capability.RECONCILE`` is asked first whether a post with this key/text
      exists; found → ``published`` with that post, not found → publish;
    - otherwise the target goes to ``outcome_unknown`` for a person to check and resolve.
``OutcomeUnknown`` from the connector (timeout after sending): a connector with ``idempotent_publish``
re-sends the same key later, like a re-run after a crash (at most ``MAX_SENDS`` sends, then
``outcome_unknown``); any other connector goes to ``outcome_unknown`` at once.

Retry timing: a rate limit waits the network's ``Retry-After``, counted from when the answer came back
(not from when the step started); other temporary errors back off exponentially from
``SOKHAN_PUBLISH_RETRY_BASE_SECONDS`` (Django setting or environment, default 30 s).
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.calls import ChannelUnavailable, call, connector_class
from sokhan.channels.health import channel_preflight, preflight_is_local
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError
from sokhan.networks.errors import (
    AuthExpired,
    ConnectorError,
    NotSupported,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Transient,
)
from sokhan.networks.types import Capability, MediaFile, PublishRequest, PublishResult
from sokhan.notifications.services import notify_publish_problem
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget, PublishingControl
from sokhan.runtime.engine import current_step, register, save_with_step
from sokhan.runtime.graph import Next, StateGraph

HOLD = timedelta(seconds=60)  # re-check a held (paused) target this often
MAX_SENDS = 8  # publish requests per target before giving up on temporary failures
PREFLIGHT_GIVE_UP = timedelta(hours=6)  # a channel unreachable this long after the slot fails the post


RETRYING = "retrying"
RETRYING_UNCONFIRMED = "retrying_unconfirmed"  # an earlier send may have gone out (idempotent re-send)
RECONCILING = "reconciling"  # asking the network whether an earlier send went out, until it answers


def retry_base_seconds() -> float:
    """The first backoff step for temporary publish errors (``SOKHAN_PUBLISH_RETRY_BASE_SECONDS``)."""
    value = getattr(settings, "SOKHAN_PUBLISH_RETRY_BASE_SECONDS", None)
    if value is None:
        value = os.environ.get("SOKHAN_PUBLISH_RETRY_BASE_SECONDS", "30")
    try:
        return max(0.01, float(value))
    except ValueError:
        return 30.0


def backoff(attempt: int, *, base: float | None = None, cap: float = 3600.0) -> timedelta:
    base = retry_base_seconds() if base is None else base
    seconds = min(cap, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=seconds * (1 + random.uniform(0, 0.2)))  # noqa: S311 - jitter


def with_channel_and_pause(rows: QuerySet[PostTarget]) -> QuerySet[PostTarget]:
    """The engine locks a target for a step with this: its channel and whether its workspace's
    publishing is paused come in the same query (``channel_and_pause`` then reads no more)."""
    paused = PublishingControl.objects.filter(workspace_id=OuterRef("workspace_id"), paused=True)
    return rows.select_related("channel").annotate(workspace_paused=Exists(paused))


def channel_and_pause(target: PostTarget) -> tuple[Channel, bool]:
    """The target's channel and whether its workspace's publishing is paused: as the step's lock
    read them (``with_channel_and_pause``), else in one query. The channel is cached on ``target``."""
    locked_paused = getattr(target, "workspace_paused", None)
    if locked_paused is not None and PostTarget.channel.is_cached(target):
        return target.channel, bool(locked_paused)
    paused = Exists(PublishingControl.objects.filter(workspace_id=target.workspace_id, paused=True))
    channel = Channel.objects.annotate(workspace_paused=paused).get(pk=target.channel_id)
    target.channel = channel
    return channel, bool(channel.workspace_paused)


def build_request(target: PostTarget) -> PublishRequest:
    from pathlib import Path

    media = tuple(
        MediaFile(
            path=Path(str(m["path"])),
            mime_type=str(m.get("mime_type", "")),
            alt_text=str(m.get("alt_text", "")),
            width=m.get("width"),
            height=m.get("height"),
            duration_seconds=m.get("duration_seconds"),
        )
        for m in target.media or []
    )
    return PublishRequest(
        text=target.text,
        idempotency_key=target.idempotency_key,
        media=media,
        title=target.title,
        link=target.link,
        thread=tuple(str(p) for p in target.thread or []),
        first_comment=target.first_comment,
        options={str(k): str(v) for k, v in (target.options or {}).items()},
        # Entered ``publishing`` then: any earlier send of this run came later (reconcile's window).
        not_before=target.state_changed_at,
    )


def _save(target: PostTarget, *fields: str) -> None:
    # Written with the step's fenced state UPDATE (no statement of its own); ``attempts`` rides
    # along with every outcome.
    save_with_step(target, *fields, "attempts")


def _fail(target: PostTarget, code: str, message: str) -> str:
    target.last_error, target.error_code = message[:4000], code
    _save(target, "last_error", "error_code")
    notify_publish_problem(target, S.FAILED)  # in the step's transaction: only if the move commits
    return S.FAILED


def _unknown(target: PostTarget, code: str, message: str) -> str:
    target.last_error, target.error_code = message[:4000], code
    _save(target, "last_error", "error_code")
    notify_publish_problem(target, S.OUTCOME_UNKNOWN)
    return S.OUTCOME_UNKNOWN


def _published(target: PostTarget, result: PublishResult, now: datetime) -> str:
    target.remote_id, target.remote_url = result.remote_id, result.url
    target.published_at = result.published_at or now
    target.last_error, target.error_code = "", ""
    _save(target, "remote_id", "remote_url", "published_at", "last_error", "error_code")
    return S.PUBLISHED


def handle_scheduled(target: PostTarget) -> str | Next:
    """Due at ``scheduled_at``: held while publishing is paused; check the channel; publish."""
    ctx = current_step()
    channel, paused = channel_and_pause(target)
    if paused:
        return Next(S.SCHEDULED, delay=HOLD)
    if channel.status == ChannelStatus.PAUSED:
        return Next(S.SCHEDULED, delay=HOLD)
    check = channel_preflight(channel, at=target.scheduled_at or ctx.now, now=ctx.now)
    if not check.ok:
        if check.retryable and (target.scheduled_at is None or ctx.now - target.scheduled_at < PREFLIGHT_GIVE_UP):
            target.last_error = check.message[:4000]
            _save(target, "last_error")
            return Next(S.SCHEDULED, delay=backoff(1 + (target.attempts or 0)))
        code = "needs_reconnect" if channel.status == ChannelStatus.NEEDS_RECONNECT else "channel_unavailable"
        return _fail(target, code, _("The channel cannot publish: %(reason)s") % {"reason": check.message})
    return S.PUBLISHING


def handle_publishing(target: PostTarget) -> str | Next:
    """Send the post (see the module docstring for why a re-run never posts twice)."""
    ctx = current_step()
    channel, paused = channel_and_pause(target)
    try:
        cls = connector_class(channel.network)
    except DomainError as exc:
        return _fail(target, "unknown_network", exc.message)
    request = build_request(target)
    if (ctx.attempt > 1 or target.error_code == RECONCILING) and not cls.idempotent_publish:
        # An earlier claim of this step may have sent the request and died before committing.
        if cls.has(Capability.RECONCILE):
            try:
                found = call(channel, "reconcile", request)
            except OutcomeUnknown as exc:
                return _unknown(
                    target,
                    "interrupted",
                    _(
                        "Publishing was interrupted after the request may have been sent, and %(network)s could "
                        "not say whether the post went out (%(error)s). Check the account, then resolve."
                    )
                    % {"network": cls.name, "error": exc},
                )
            except (RateLimited, Transient) as exc:
                # Ask again later. The mark makes the next run reconcile too, though it is a first attempt.
                target.last_error, target.error_code = str(exc)[:4000], RECONCILING
                _save(target, "last_error", "error_code")
                wait = exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else None
                delay = timedelta(seconds=wait) if wait else backoff(ctx.attempt)
                return Next(S.PUBLISHING, due_at=max(ctx.now, timezone.now()) + delay)
            if found is not None:
                return _published(target, found, ctx.now)
        else:
            return _unknown(
                target,
                "interrupted",
                _(
                    "Publishing was interrupted after the request may have been sent, and %(network)s cannot "
                    "tell Sokhan whether the post went out. Check the account, then resolve."
                )
                % {"network": cls.name},
            )
    if ctx.attempt == 1 and paused:
        return Next(S.PUBLISHING, delay=HOLD)
    target.attempts += 1  # saved with the outcome below, in this step's transaction
    try:
        result: PublishResult = call(channel, "publish", request)
    except RateLimited as exc:
        return _retry(target, exc, ctx.now, wait=exc.retry_after)
    except Transient as exc:
        return _retry(target, exc, ctx.now)
    except AuthExpired as exc:
        return _fail(
            target,
            "needs_reconnect",
            _("%(network)s refused the channel's access (%(error)s). Reconnect the channel, then retry.")
            % {"network": cls.name, "error": exc},
        )
    except Rejected as exc:
        reason = exc.reason + (f" ({exc.detail})" if exc.detail else "")
        return _fail(
            target, "rejected", _("%(network)s refused the post: %(reason)s") % {"network": cls.name, "reason": reason}
        )
    except OutcomeUnknown as exc:
        if cls.idempotent_publish:  # the same key again cannot post twice: re-send later
            return _retry(target, exc, ctx.now)
        return _unknown(
            target,
            "outcome_unknown",
            _("%(network)s did not confirm the post (%(error)s); it may or may not have gone out. Check and resolve.")
            % {"network": cls.name, "error": exc},
        )
    except NotSupported as exc:
        return _fail(target, "not_supported", str(exc))
    except ChannelUnavailable as exc:
        return _fail(target, "channel_unavailable", exc.message)
    except ConnectorError as exc:  # an untyped connector error: treat as temporary
        return _retry(target, exc, ctx.now)
    return _published(target, result, ctx.now)


def _retry(target: PostTarget, exc: ConnectorError, now: datetime, *, wait: float | None = None) -> str | Next:
    """Due again later: after ``wait`` (the network's or our bucket's Retry-After) or a backoff.
    Being rate limited is waiting, not failing: only other temporary errors count towards giving up.
    Once a send's outcome was unknown, giving up means ``outcome_unknown`` (it may have gone out),
    never ``failed``."""
    unconfirmed = isinstance(exc, OutcomeUnknown) or target.error_code == RETRYING_UNCONFIRMED
    if target.attempts >= MAX_SENDS and not isinstance(exc, RateLimited):
        message = _("Gave up after %(n)s attempts: %(error)s") % {"n": target.attempts, "error": exc}
        if unconfirmed:
            return _unknown(
                target, "gave_up_unconfirmed", message + " " + _("A send may have gone out. Check and resolve.")
            )
        return _fail(target, "gave_up", message)
    # Re-sends of an unconfirmed post stay well inside the networks' idempotency windows (Mastodon
    # keeps a key one hour): 8 sends with this cap span about 35 minutes.
    delay = backoff(target.attempts, cap=600.0 if unconfirmed else 3600.0)
    if isinstance(exc, RateLimited):
        delay = timedelta(seconds=max(float(wait), 1.0)) if wait is not None else timedelta(seconds=60)
    target.last_error = str(exc)[:4000]
    target.error_code = RETRYING_UNCONFIRMED if unconfirmed else RETRYING
    _save(target, "last_error", "error_code")
    # Count the wait from now, when the answer came back: the step may have started long before.
    return Next(S.PUBLISHING, due_at=max(now, timezone.now()) + delay)


def _on_error(target: PostTarget, exc: BaseException, terminal: bool) -> None:
    """An unexpected error in a step (the step's writes rolled back): keep a readable reason."""
    message = f"{type(exc).__name__}: {exc}"
    fields: dict[str, Any] = {"last_error": message[:4000]}
    if terminal:
        fields["error_code"] = "interrupted"
    PostTarget.objects.filter(pk=target.pk).update(**fields)


def rerunnable(target: PostTarget) -> bool:
    """Whether the target's step may run again after a rolled-back batch without a second effect
    (``engine.run_batch``): a ``scheduled`` step whose preflight reads only the database, or a
    ``publishing`` step on a network that deduplicates a re-sent idempotency key."""
    channel, _paused = channel_and_pause(target)
    if target.state == S.SCHEDULED:
        now = timezone.now()
        return preflight_is_local(channel, at=target.scheduled_at or now, now=now)
    if target.state == S.PUBLISHING:
        try:
            return connector_class(channel.network).idempotent_publish
        except DomainError:
            return False
    return False


GRAPH: StateGraph = S.build_graph({S.SCHEDULED: handle_scheduled, S.PUBLISHING: handle_publishing}, _on_error)


def register_machine() -> None:
    register(PostTarget, GRAPH, prepare=with_channel_and_pause, rerunnable=rerunnable)
