"""New record ids: version 7 UUIDs (RFC 9562), ordered by the time they were made.

Each id starts with the time in milliseconds, then 74 random bits from the system's random
source (through `audit.random_pool`). Ordered by time, new ids go in at the end of the indexes
that hold them (the decision id, the application id and the personal data's key), where the
pages are in memory, not at random places in them as random (version 4) ids do: a commit of a
few records then writes a few index pages instead of one per record and index, which costs
the server less per record (fewer pages to checksum and write to SQLite's WAL or
PostgreSQL's). Ids made in the same millisecond are in no particular order among themselves;
nothing relies on their order, only on their being unique (74 random bits a millisecond).

`time_ordered_id` makes one (the API's path); `time_ordered_ids` many at once, sorted, over
arrays (the batch path).
"""

from __future__ import annotations

import time

import numpy as np

from audit.random_pool import random_bytes

_VERSION = 0x7 << 76  # bits 48-51 of the 128, counted from the top: the version
_VARIANT = 0b10 << 62  # bits 64-65: the RFC 9562 variant


def time_ordered_id(now_ms: int | None = None) -> str:
    """A new version 7 UUID in its usual text form (36 characters, lower-case hex), starting
    with the time in milliseconds (`now_ms`, default the clock's). The same id as
    `time_ordered_ids` makes from the same 10 random bytes (20 hex digits: the first 3 after
    the version, the two low bits of the fourth after the variant, the next 15 after those;
    the last is not used)."""
    stamp = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    bits = int.from_bytes(random_bytes(10))
    value = (
        stamp << 80
        | _VERSION
        | (bits >> 68) << 64
        | _VARIANT
        | (bits >> 64 & 0b11) << 60
        | (bits >> 4 & (1 << 60) - 1)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def time_ordered_ids(n: int, now_ms: int | None = None) -> list[str]:
    """`n` new version 7 UUIDs as `time_ordered_id` makes them, in ascending order, the 74
    random bits of all of them from one read of the system's random source.

    Made over arrays (numpy): each id's 36 characters are a row of bytes (the shared
    prefix, the random bits' hex digits, the dashes and the variant's digit), sorted as
    bytes (the order of the texts) and cut from one decoded text."""
    stamp = f"{time.time_ns() // 1_000_000 if now_ms is None else now_ms:012x}"
    prefix = f"{stamp[:8]}-{stamp[8:12]}-7".encode()
    raw = np.frombuffer(random_bytes(10 * n), dtype=np.uint8).reshape(n, 10)
    digits = np.empty((n, 20), dtype=np.uint8)  # each id's 20 random hex digits' values
    digits[:, 0::2] = raw >> 4
    digits[:, 1::2] = raw & 0x0F
    text = np.empty((n, 36), dtype=np.uint8)
    text[:, :15] = np.frombuffer(prefix, dtype=np.uint8)
    text[:, 15:18] = _HEX[digits[:, 0:3]]
    text[:, 18] = text[:, 23] = ord("-")
    text[:, 19] = _VARIANT_DIGIT[digits[:, 3]]  # the variant bits 10xx over the digit's value
    text[:, 20:23] = _HEX[digits[:, 4:7]]
    text[:, 24:36] = _HEX[digits[:, 7:19]]
    ordered = np.sort(text.view("S36").ravel()).tobytes().decode("ascii")
    return [ordered[i : i + 36] for i in range(0, 36 * n, 36)]


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_VARIANT_DIGIT = np.frombuffer(b"89ab89ab89ab89ab", dtype=np.uint8)
