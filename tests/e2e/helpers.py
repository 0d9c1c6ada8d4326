"""Helpers for end-to-end tests: tiny valid images, fresh accounts on the local servers."""

from __future__ import annotations

import struct
import uuid
import zlib
from pathlib import Path

from atproto import Client, models

from sokhan.networks.connectors.bluesky import BlueskyConnector
from sokhan.networks.types import Account, Credentials


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


def new_bluesky_account(pds: str, name: str) -> BlueskyConnector:
    handle = f"{name}{uuid.uuid4().hex[:6]}.test"
    password = f"pw-{uuid.uuid4().hex}"
    setup = Client(base_url=pds)
    setup.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(handle=handle, email=f"{handle}@example.com", password=password)
    )
    return BlueskyConnector(Account(base_url=pds), Credentials(username=handle, password=password), timeout=20)
