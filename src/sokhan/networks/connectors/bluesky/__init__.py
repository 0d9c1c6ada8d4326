"""Bluesky (AT Protocol) connector: see :mod:`.connector`."""

from sokhan.networks.connectors.bluesky.connector import BlueskyConnector

__all__ = ["BlueskyConnector"]
