"""Deterministic record keys: the same idempotency key always gives the same TID.

Posts must use TID record keys (https://atproto.com/specs/tid): 13 characters of base32-sortable, a
64-bit integer with the top bit 0, 53 bits of microseconds since the epoch and a 10-bit clock id.
We derive the timestamp and clock id from a hash of the idempotency key, inside 2023-01-01 plus
about 8.9 years, so a retried publish writes to the same key and cannot create a duplicate.
"""

from __future__ import annotations

import hashlib

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_BASE_MICROS = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
_SPAN_MICROS = 1 << 48


def encode(value: int) -> str:
    chars = []
    for _ in range(13):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def tid_for(key: str) -> str:
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:10], "big")
    micros = _BASE_MICROS + (digest >> 10) % _SPAN_MICROS
    clock = digest & 0x3FF
    return encode((micros << 10) | clock)


def is_tid(value: str) -> bool:
    return len(value) == 13 and value[0] in ALPHABET[:16] and all(c in ALPHABET for c in value)
