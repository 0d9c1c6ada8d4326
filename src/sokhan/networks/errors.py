"""Typed connector errors. The caller (dispatcher, inbox, health checks) decides what to do from the type."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class. ``network`` names the connector; ``detail`` is the network's own words, if any."""

    def __init__(self, message: str, *, network: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.network = network
        self.detail = detail

    def __str__(self) -> str:
        prefix = f"{self.network}: " if self.network else ""
        return f"{prefix}{self.message}" + (f" ({self.detail})" if self.detail else "")


class RateLimited(ConnectorError):
    """Too many requests. Try again after ``retry_after`` seconds (None when the network did not say)."""

    def __init__(self, message: str, *, retry_after: float | None, network: str = "", detail: str = "") -> None:
        super().__init__(message, network=network, detail=detail)
        self.retry_after = retry_after


class AuthExpired(ConnectorError):
    """The credentials no longer work: refresh them, or the channel needs reconnecting."""


class Rejected(ConnectorError):
    """The network refused this request for a reason that retrying will not fix."""

    def __init__(self, reason: str, *, network: str = "", detail: str = "", field: str = "") -> None:
        super().__init__(reason, network=network, detail=detail)
        self.reason = reason
        self.field = field


class Transient(ConnectorError):
    """A temporary failure (5xx, timeout before sending, connection refused): safe to retry."""


class OutcomeUnknown(ConnectorError):
    """The request may or may not have taken effect (e.g. timeout after sending a publish).

    Never blindly retry a publish on this: reconcile against the remote timeline first.
    """


class NotSupported(ConnectorError):
    """The connector does not declare the capability this operation needs."""
