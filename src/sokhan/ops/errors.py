"""The one error type the operational modules raise; commands turn it into a CommandError."""

from __future__ import annotations


class OpsError(Exception):
    """An operation refused or failed; the message says what is wrong and what to do."""
