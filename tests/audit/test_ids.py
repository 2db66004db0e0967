"""Record ids: version 7 UUIDs of the time they were made, one at a time or many at once."""

from __future__ import annotations

import uuid
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from audit import ids
from audit.ids import time_ordered_id, time_ordered_ids

NOW_MS = 1_764_547_200_123  # 2025-12-01 00:00:00.123 UTC


def _expected(raw: bytes) -> list[str]:
    """The definition, written one id at a time: 20 random hex digits per id (10 bytes), the
    first 3 after the version digit, the fourth giving the variant digit (its two low bits
    under the variant's 10), the next 15 the rest; sorted."""
    stamp = f"{NOW_MS:012x}"
    digits = raw.hex()
    return sorted(
        f"{stamp[:8]}-{stamp[8:12]}-7{digits[i : i + 3]}-"
        f"{'89ab'[int(digits[i + 3], 16) % 4]}{digits[i + 4 : i + 7]}-{digits[i + 7 : i + 19]}"
        for i in range(0, 20 * len(raw) // 10, 20)
    )


def test_ids_are_distinct_ascending_version_7_uuids_of_the_time_given() -> None:
    made = time_ordered_ids(2_000, NOW_MS)
    one_by_one = [time_ordered_id(NOW_MS) for _ in range(2_000)]
    assert len(set(made)) == len(set(one_by_one)) == 2_000
    assert made == sorted(made)
    for text in made + one_by_one:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == text
        assert parsed.int >> 80 == NOW_MS  # the first 48 bits: Unix time in milliseconds
    later = time_ordered_ids(10)
    assert later[0] > made[-1]  # the clock's time now is later than NOW_MS
    assert time_ordered_id() > one_by_one[-1][:15]  # the same: the time's digits compare


@given(st.integers(0, 40).flatmap(lambda n: st.binary(min_size=10 * n, max_size=10 * n)))
def test_ids_are_the_random_bits_written_as_the_definition_writes_them(raw: bytes) -> None:
    """The ids made over arrays and the ids made one at a time equal, for the same random
    bytes, the ids the definition writes."""
    with mock.patch.object(ids, "random_bytes", lambda size: raw[:size]):
        assert time_ordered_ids(len(raw) // 10, NOW_MS) == _expected(raw)
    for i in range(0, len(raw), 10):
        with mock.patch.object(ids, "random_bytes", lambda size, i=i: raw[i : i + size]):
            assert time_ordered_id(NOW_MS) == _expected(raw[i : i + 10])[0]
