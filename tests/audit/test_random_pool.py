"""The random pool: the system's bytes, each handed out once, in any thread, and never the
parent's in a forked child."""

from __future__ import annotations

import os
import threading
from unittest import mock

from audit import random_pool
from audit.random_pool import RandomPool, random_bytes


def _counting_source() -> tuple[list[int], object]:
    """An `os.urandom` stand-in giving consecutive byte values, and the sizes it was asked."""
    asked: list[int] = []
    state = {"next": 0}

    def source(size: int) -> bytes:
        asked.append(size)
        start = state["next"]
        state["next"] += size
        return bytes(value % 256 for value in range(start, start + size))

    return asked, source


def test_slices_are_the_sources_bytes_in_order_each_given_once() -> None:
    asked, source = _counting_source()
    with mock.patch.object(random_pool.os, "urandom", source):
        pool = RandomPool(size=64)
        taken = [pool.take(10) for _ in range(13)]
    # 6 slices of 10 fit in a read of 64; the 4 bytes left over are dropped, never reused
    assert asked == [64, 64, 64]
    assert taken[0] == bytes(range(10)) and taken[5] == bytes(range(50, 60))
    assert taken[6] == bytes(range(64, 74))
    assert len({bytes(t) for t in taken}) == 13


def test_large_requests_read_the_source_directly() -> None:
    asked, source = _counting_source()
    with mock.patch.object(random_pool.os, "urandom", source):
        pool = RandomPool(size=64)
        assert len(pool.take(1000)) == 1000
        assert len(pool.take(16)) == 16
    assert asked == [1000, 64]


def test_threads_taking_at_once_never_get_the_same_bytes() -> None:
    pool = RandomPool(size=256)
    taken: list[bytes] = []
    lock = threading.Lock()

    def take_many() -> None:
        mine = [pool.take(16) for _ in range(2_000)]
        with lock:
            taken.extend(mine)

    workers = [threading.Thread(target=take_many) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(taken) == 8_000
    assert len(set(taken)) == 8_000  # 128 random bits each: a repeat is a bug, not chance


def test_a_forked_child_does_not_hand_out_its_parents_bytes() -> None:
    random_bytes(16)  # the process pool now holds unread bytes
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read)
        os.write(write, random_bytes(16))
        os._exit(0)
    os.close(write)
    in_child = os.read(read, 16)
    os.close(read)
    os.waitpid(child, 0)
    in_parent = random_bytes(16)
    assert len(in_child) == 16
    assert in_child != in_parent
