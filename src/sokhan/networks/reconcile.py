"""Finding an earlier publish among the account's recent posts (``Capability.RECONCILE``).

A connector reconciles only when the network lets it read back the account's own posts. It prefers
an exact marker Sokhan controls (a WordPress slug, a Bluesky record key…, which make those connectors
``idempotent_publish`` instead); the reconciling networks offer none, so their connectors share one
rule, documented per network in ``docs/connectors/`` and ``docs/publishing.md``:

* **window**: posts created at or after ``request.not_before`` less :data:`CLOCK_SKEW` (the
  network's clock and ours may disagree), or within the last :data:`DEFAULT_WINDOW` when the caller
  did not say when the first attempt started;
* **match**: the post's text equals the request's text after :func:`normalise` (Unicode NFC,
  whitespace runs collapsed to one space, ends trimmed); networks that rewrite text (X's t.co links,
  LinkedIn's escaped "little text") undo that before comparing;
* **choice**: the oldest matching post in the window.

Residual risk: the same account posting the *same* text inside the window by other means (by hand,
or a second Sokhan post with identical text to the same channel) is indistinguishable from our own
post. A request with nothing to match on (no text) or a post found only in part (a thread whose later
parts are missing) raises :class:`~sokhan.networks.errors.OutcomeUnknown`: a person decides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sokhan.networks.errors import OutcomeUnknown
from sokhan.networks.types import PublishRequest

CLOCK_SKEW = timedelta(minutes=2)
DEFAULT_WINDOW = timedelta(hours=2)
_SPACE = re.compile(r"\s+")


def window_start(request: PublishRequest, now: datetime | None = None) -> datetime:
    """The oldest creation time a post made by an earlier attempt of ``request`` can have (UTC)."""
    if request.not_before is not None:
        start = request.not_before if request.not_before.tzinfo else request.not_before.replace(tzinfo=UTC)
        return start.astimezone(UTC) - CLOCK_SKEW
    return (now or datetime.now(UTC)) - DEFAULT_WINDOW


def normalise(text: str) -> str:
    """Text as compared: NFC, whitespace collapsed, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def same_text(posted: str, wanted: str) -> bool:
    return normalise(posted) == normalise(wanted)


def oldest[T](candidates: Iterable[tuple[datetime, T]]) -> T | None:
    """The item of the earliest (creation time, item) pair, or None."""
    found = sorted(candidates, key=lambda pair: pair[0])
    return found[0][1] if found else None


def find[T](
    items: Iterable[T],
    wanted: str,
    *,
    start: datetime,
    created: Callable[[T], datetime],
    text: Callable[[T], str],
) -> T | None:
    """The oldest of ``items`` created at or after ``start`` whose text matches ``wanted``."""
    return oldest((created(item), item) for item in items if created(item) >= start and normalise(text(item)) == wanted)


def unmatchable(network: str, why: str) -> OutcomeUnknown:
    """The error for a request whose earlier publish cannot be identified reliably."""
    return OutcomeUnknown(f"cannot tell whether the post went out: {why}", network=network)


def needs_text(request: PublishRequest, network: str) -> str:
    """The request's normalised text; raise :func:`unmatchable` when there is none to match on."""
    text = normalise(request.text)
    if not text:
        raise unmatchable(network, "the post has no text to look for")
    return text


def only_in_part(network: str, found: str, what: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        f"the post {found} was found, but not its {what}; check it and resolve", network=network, detail=found
    )
