"""Random bytes for the append path, read from the system's random source 4 KiB at a time.

Each decision the API records needs random bytes four times (its application id, its
decision id, its sealed payload's nonce, its personal digest's salt). `os.urandom` is a
system call that lets go of the interpreter's lock while it runs; taking the lock back is a
wait whenever another thread (the group commit's writer) holds it, and under load those waits
were the server's: reading 4 KiB at once and handing it out in slices made one worker answer
15-30 % more requests (`benchmarks/RESULTS.md`, 2026-12-03). The bytes are the system's own,
each handed out once; nothing derives or stretches them.

A process made by `fork` must not hand out the bytes its parent holds (two processes would
then make the same ids and, worse, seal with the same nonces): the pool is emptied in the
child at every fork (`os.register_at_fork`).
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096  # one read of the random source
_LARGEST_SLICE = 256  # larger requests read the source directly


class RandomPool:
    """Bytes of `os.urandom`, read `size` at a time and handed out once each, to any thread."""

    def __init__(self, size: int = POOL_BYTES) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._held = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        """`count` random bytes no one else was given."""
        if count > _LARGEST_SLICE:
            return os.urandom(count)
        with self._lock:
            at = self._at
            if at + count > len(self._held):
                self._held, at = os.urandom(self._size), 0
            self._at = at + count
            return self._held[at : at + count]

    def forget(self) -> None:
        """Drop what is held (a forked child's copy of its parent's bytes)."""
        self._lock = threading.Lock()  # the parent's may have been held by another thread
        self._held, self._at = b"", 0


_POOL = RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)


def random_bytes(count: int) -> bytes:
    """`count` bytes from the system's random source (through the process's pool)."""
    return _POOL.take(count)
