"""The frame kernel (`matcher.lower_kernel`, `matcher/_frame_kernel.c`): the very bitmasks of
the Polars lowering, on every frame the contract allows, however the frame is chunked and
split over threads, and the same refusal of a frame it does not allow; a wrong program is an
error, never a stray write."""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import engine, generate, lower_kernel, match, match_side_by_side
from matcher.errors import FeatureFrameError
from matcher.features import feature_frame
from matcher.lower_kernel import _frame_kernel
from matcher.ruleset import Ruleset
from matcher.schema import FEATURES, Type, polars_schema
from tests.matcher.lowerings import lenders
from tests.matcher.test_engine import SHIPPED
from tests.matcher.test_lower_polars import _compiled, rows_with_infinity
from tests.strategies import bool_rules

DATE = dt.date(2026, 11, 25)


def by_polars(frame: pl.DataFrame, ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        m.setenv("LENDMATCH_FRAME_KERNEL", "0")
        assert not lower_kernel.available()
        return match(frame, ruleset)


@pytest.fixture
def kernel() -> Iterator[None]:
    # `make setup` builds it with the compiled modules; without a build this fails and says so
    assert lower_kernel.available(), "the frame kernel is not built: run `make native`"
    yield


def _ruleset(rules: list[list[Any]], markets: list[list[str]]) -> Ruleset:
    for lender in rules:
        for rule in lender:
            _compiled(rule)
    return lenders(rules, markets)


@given(
    st.lists(st.lists(bool_rules(depth=3), min_size=1, max_size=9), min_size=1, max_size=5),
    st.lists(st.sampled_from([["NO"], ["SE"], ["NO", "SE"]]), min_size=5, max_size=5),
    st.lists(rows_with_infinity(), min_size=1, max_size=12),
)
def test_the_kernel_gives_the_bits_of_the_polars_lowering(
    rules: list[list[Any]], markets: list[list[str]], rows: list[dict[str, Any]]
) -> None:
    assert lower_kernel.available()
    ruleset = _ruleset(rules, markets)
    frame = pl.DataFrame(rows, schema=polars_schema(), orient="row")
    with pytest.MonkeyPatch.context() as m:
        ours = match(frame, ruleset)
        expected = by_polars(frame, ruleset, m)
    assert ours.schema == expected.schema
    assert ours.equals(expected), rules


def test_the_shipped_lenders_on_applications_in_chunks_and_threads(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of 700 rows, parts of at least one block: several pieces, several threads
    frame = pl.concat(
        [feature_frame(generate(700, s, DATE), DATE).collect() for s in range(6)], rechunk=False
    )
    assert frame.n_chunks() >= 6
    monkeypatch.setattr(lower_kernel, "PART_FROM_ROWS", 1)
    pieces: list[int] = []
    cut = lower_kernel._pieces

    def spy(*args: Any) -> Any:
        found = cut(*args)
        pieces.append(len(found))
        return found

    monkeypatch.setattr(lower_kernel, "_pieces", spy)
    ours = match(frame, SHIPPED)
    assert pieces[0] >= frame.n_chunks()  # cut where any column's chunk ends: no copy
    assert ours.equals(by_polars(frame, SHIPPED, monkeypatch))
    # too many pieces: the frame is read rechunked
    monkeypatch.setattr(lower_kernel, "MAX_PIECES", 2)
    assert match(frame, SHIPPED).equals(ours)
    assert pieces[-1] == 1


def test_a_bitmask_columns_null_count_is_its_rows_outside_the_lenders_markets(
    kernel: None,
) -> None:
    # the kernel gives Arrow each market mask's count of nulls (Polars keeps it, uncounted)
    frame = feature_frame(generate(500, 3, DATE), DATE).collect()
    out = match(frame, SHIPPED)
    served = {lender.lender_id: set(lender.markets) for lender in SHIPPED.lenders}
    markets = frame.get_column("market")
    assert set(markets.unique()) == {"NO", "SE"}
    for name in out.columns[1:]:
        column = out.get_column(name)
        outside = int((~markets.is_in(sorted(served[name.rsplit(".", 1)[0]]))).sum())
        assert column.null_count() == int(column.is_null().sum()) == outside, name
    assert any(out.get_column(name).null_count() for name in out.columns[1:])


def test_rulesets_side_by_side_share_one_program(kernel: None) -> None:
    frame = feature_frame(generate(300, 5, DATE), DATE).collect()
    other = _ruleset([[{">=": [{"var": "income"}, 300000]}]], [["SE"]])
    both = match_side_by_side(frame, {"a:": SHIPPED, "b:": other})
    alone = match(frame, SHIPPED)
    for name in alone.columns:
        assert both.get_column(f"a:{name}" if name != "application_id" else name).equals(
            alone.get_column(name), check_names=False
        )
    assert both.get_column("b:bank_0.failed").equals(
        match(frame, other).get_column("bank_0.failed"), check_names=False
    )
    assert engine._kernel_program({"a:": SHIPPED, "b:": other}) is engine._kernel_program(
        {"a:": SHIPPED, "b:": other}
    )


def _instructions(program: lower_kernel.KernelProgram) -> list[tuple[str, int]]:
    names = {v: k for k, v in lower_kernel.OPCODES.items()}
    return [(names[op], i) for op, _, _, _, i, _ in struct.iter_unpack("<iiiiqd", program.code)]


def _rule_columns(program: lower_kernel.KernelProgram) -> list[str]:
    """The rules Polars computes for the program."""
    return list(program.computed)


def test_plain_comparisons_need_no_polars_column_and_equal_rules_are_computed_once() -> None:
    rule = {"<=": [18, {"var": "age"}, 70]}
    ruleset = _ruleset([[rule, {"==": [{"var": "employment"}, "permanent"]}], [rule]], [["NO"]] * 2)
    program = engine._kernel_program({"": ruleset})
    assert _rule_columns(program) == []
    # once for both lenders, one unsigned comparison from 18 over a span of 52, of age
    # read in 16 bits (its bounds are 0..250)
    instructions = _instructions(program)
    assert instructions.count(("BETWEENK_I16", 18)) == 1
    # the check compares the full values: age's bounds on 64 bits
    assert instructions.count(("BETWEENK_I", 0)) >= 1
    # a nullable feature read without a default: the kernel reads its values and validity
    # from its column, once for every rule reading it (and for the check of its bounds)
    nullable = _ruleset(
        [[{">=": [{"var": "co_age"}, 18]}, {"<": [{"var": "co_age"}, 80]}]], [["NO"]]
    )
    program = engine._kernel_program({"": nullable})
    assert program.computed == {}
    assert ("co_age", lower_kernel.NULLABLE_I64) in program.columns
    assert [op for op, _ in _instructions(program)].count("FILL_64") == 1
    # what the program does not cover is a Polars column: a division by a feature
    divided = _ruleset([[{">": [{"/": [{"var": "amount"}, {"var": "income"}]}, 2]}]], [["NO"]])
    (name,) = _rule_columns(engine._kernel_program({"": divided}))
    assert name.startswith("__lendmatch_kernel_")


def test_a_constant_operand_of_a_sum_or_product_is_an_immediate_with_the_polars_bits(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ADDK_I`, `MULK_I`, `ADDK_F`, `MULK_F`: no register filled with the constant each
    block, and an integer constant read as a float converted once (no `I2F` of it); on
    either side of the operation, first, last or between."""
    rules = [
        [
            {">=": [{"var": "income"}, {"+": [10000, {"*": [4500, {"var": "children"}]}]}]},
            {"<": [{"+": [{"var": "age"}, 3, {"var": "children"}]}, 40]},
            {"<=": [{"*": [{"var": "age"}, 1.5]}, {"+": [{"var": "children"}, 60.25]}]},
            {">": [{"*": [{"var": "income"}, 0.35]}, {"+": [{"var": "housing_cost"}, 2]}]},
            {"<": [{"*": [2, {"var": "amount"}, 3]}, {"*": [{"var": "income"}, 60]}]},
        ]
    ]
    ruleset = _ruleset(rules, [["NO", "SE"]])
    program = engine._kernel_program({"": ruleset})
    assert _rule_columns(program) == []
    ops = [op for op, _ in _instructions(program)]
    assert {"ADDK_I", "MULK_I", "ADDK_F", "MULK_F"} <= set(ops)
    assert "CONST_I" not in ops and "CONST_F" not in ops
    frame = feature_frame(generate(3000, 5, DATE), DATE).collect()
    out = match(frame, ruleset)
    assert out.equals(by_polars(frame, ruleset, monkeypatch))
    assert out.get_column("bank_0.failed").n_unique() > 4  # the rules are met and not


def test_defaults_and_string_lists_are_read_by_the_kernel_as_polars_reads_them(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = [
        [
            {">=": [{"var": ["co_age", 30]}, 25]},  # a nullable feature with a default
            {"<": [{"+": [{"var": ["co_age", 0]}, {"var": "age"}]}, 130]},
            {"<=": [{"var": ["debt_to_income", 1.5]}, 5]},  # never null: the default unread
            {"in": [{"var": "citizenship"}, ["NO", "SE", "Norway", ""]]},
            {"!": {"in": [{"var": "citizenship"}, ["DK"]]}},
        ],
        [{"in": [{"var": "citizenship"}, ["NO", "SE", "Norway", ""]]}],
    ]
    ruleset = _ruleset(rules, [["NO", "SE"], ["SE"]])
    program = engine._kernel_program({"": ruleset})
    assert _rule_columns(program) == []  # every rule in the kernel, none in Polars
    assert program.helpers == ()  # so no code column is computed for Polars either
    frame = feature_frame(generate(2000, 3, DATE), DATE).collect()
    assert frame.get_column("co_age").null_count() > 0
    edited = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(pl.lit("Norway"))
        .when(pl.int_range(pl.len()) % 11 == 0)
        .then(pl.lit("DK"))
        .otherwise(pl.col("citizenship"))
        .alias("citizenship")
    )
    for each in (frame, edited):
        assert match(each, ruleset).equals(by_polars(each, ruleset, monkeypatch))
    out = match(edited, ruleset)
    assert out.get_column("bank_1.failed").drop_nulls().n_unique() == 2  # met and not met


def test_a_program_out_of_range_is_refused_not_run(kernel: None) -> None:
    assert _frame_kernel is not None
    out = np.zeros(10, dtype=np.uint8)
    column = np.array([0] + [1] * 9, dtype=np.uint8)  # a requirement false on row 0
    other = np.array([1, 0] + [1] * 8, dtype=np.uint8)  # one false on row 1
    load = lower_kernel.OPCODES["LOAD_U8"]
    pack = lower_kernel.OPCODES["PACK_FALSE_1"]
    loads = struct.pack("<iiiiqd", load, 0, 0, -1, 0, 0.0) + struct.pack(
        "<iiiiqd", load, 1, 1, -1, 0, 0.0
    )
    good = loads + struct.pack("<iiiiqd", pack, 0, -1, 2, 0, 0.0)
    pairs = struct.pack("<4i", 0, 3, 1, 5)  # register 0 to bit 3, register 1 to bit 5
    _frame_kernel.run(good, 2, [column, other], [out], b"", pairs, b"", 0, 10)
    assert out.tolist() == [8, 32] + [0] * 8  # each bit where its requirement is false
    wrong = [
        (struct.pack("<iiiiqd", load, 0, 2, -1, 0, 0.0), pairs),  # no column 2
        (struct.pack("<iiiiqd", load, 5, 0, -1, 0, 0.0), pairs),  # no register 5
        (loads + struct.pack("<iiiiqd", pack, 1, -1, 2, 0, 0.0), pairs),  # no output 1
        (good, struct.pack("<4i", 0, 3, 1, 8)),  # no bit 8 in a byte
        (good, struct.pack("<4i", 0, 3, 2, 5)),  # no register 2
        (loads + struct.pack("<iiiiqd", pack, 0, -1, 3, 0, 0.0), pairs),  # 3 pairs, 2 given
        (loads + struct.pack("<iiiiqd", pack, 0, -1, 9, 0, 0.0), pairs * 3),  # over 8 pairs
        (loads + struct.pack("<iiiiqd", pack, 0, -1, 0, 0, 0.0), pairs),  # none
        (struct.pack("<iiiiqd", 999, 0, 0, -1, 0, 0.0), pairs),  # no such instruction
    ]
    for program, operands in wrong:
        with pytest.raises(ValueError, match="out of range"):
            _frame_kernel.run(program, 2, [column, other], [out], b"", operands, b"", 0, 10)
    with pytest.raises(ValueError, match="out of range"):  # rows beyond the buffers
        _frame_kernel.run(good, 2, [column, other], [out], b"", pairs, b"", 0, 11)
    with pytest.raises(ValueError, match="malformed"):
        _frame_kernel.run(good[:-1], 2, [column, other], [out], b"", pairs, b"", 0, 10)
    with pytest.raises(ValueError, match="malformed"):
        _frame_kernel.run(good, 2, [column, other], [out], b"", pairs[:-1], b"", 0, 10)


def test_a_nullable_number_column_is_read_with_its_validity(kernel: None) -> None:
    assert _frame_kernel is not None
    op = lower_kernel.OPCODES
    # values under the nulls are whatever the buffer holds: read as 0
    values = np.array([99, 7, -3, 12345, 5, 8, 1 << 40, -1, 2, 6, 70], dtype=np.int64)
    nulls = {1, 3, 6, 7}
    offset = 2  # the array starts at its 3rd value and validity bit
    bits = [1 if k not in nulls else 0 for k in range(len(values))]
    validity = np.packbits(np.array(bits, dtype=np.uint8), bitorder="little").tobytes()
    rows = len(values) - offset
    program = struct.pack("<iiiiqd", op["FILL_64"], 0, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["VALID"], 1, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["GTK_I"], 2, 0, -1, 0, 0.0)  # false where 0
    program += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, -1, 2, 0, 0.0)
    operands = struct.pack("<4i", 1, 0, 2, 1)  # bit 0 null, bit 1 not above 0
    out = np.zeros(rows, dtype=np.uint8)
    for column, expected_nulls in (
        ((values, offset, validity), nulls),
        ((values, offset, None), set()),  # no validity: every value read as it is
    ):
        out[:] = 0
        _frame_kernel.run(program, 3, [column], [out], b"", operands, b"", 0, rows)
        expected = []
        for k in range(offset, len(values)):
            value = 0 if k in expected_nulls else int(values[k])
            expected.append((k in expected_nulls) | (value <= 0) << 1)
        assert out.tolist() == expected
    # read as anything else, past its end, or a string column read as numbers: refused
    fill = struct.pack("<iiiiqd", op["FILL_64"], 0, 0, -1, 0, 0.0)
    load = struct.pack("<iiiiqd", op["LOAD_I64"], 0, 0, -1, 0, 0.0)
    strings = (_view(b"NO") * rows, 0, None, [])
    for code, column, stop in [
        (fill, values, rows),  # a plain buffer has no validity
        (load, (values, offset, validity), rows),  # its values start at its offset
        (fill, (values, offset, validity), rows + 1),  # past its values
        (fill, (values, offset, validity[:1]), rows),  # past its validity
        (fill, strings, rows),
    ]:
        with pytest.raises(ValueError, match="out of range"):
            _frame_kernel.run(code, 1, [column], [out], b"", b"", b"", 0, stop)
    with pytest.raises(ValueError, match="negative"):
        _frame_kernel.run(fill, 1, [(values, -1, None)], [out], b"", b"", b"", 0, 1)


def test_a_boolean_column_is_read_from_its_bitmap(kernel: None) -> None:
    """LOAD_U8 of a boolean column's Arrow bitmap (values, offset, None): a byte per row,
    from any bit offset and over several blocks, as the column's bytes would be."""
    assert _frame_kernel is not None
    op = lower_kernel.OPCODES
    rng = np.random.default_rng(12)
    booleans = rng.random(3 * _frame_kernel.BLOCK + 21) < 0.3
    offset = 5  # the array starts at the bitmap's 6th bit
    bitmap = np.packbits(booleans, bitorder="little").tobytes()
    rows = len(booleans) - offset
    program = struct.pack("<iiiiqd", op["LOAD_U8"], 0, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, 1, 1, 0, 0.0)
    operands = struct.pack("<2i", 0, 0)  # bit 0 where false
    out = np.full(rows, 0xFF, dtype=np.uint8)
    _frame_kernel.run(program, 1, [(bitmap, offset, None)], [out], b"", operands, b"", 0, rows)
    assert out.tolist() == [0 if b else 1 for b in booleans[offset:]]
    # a chunk of a Polars column, sliced at an odd row: the bits of the Polars lowering
    column = pl.Series("has_co_applicant", booleans)[offset:]
    array = lower_kernel._array(column, lower_kernel.U8)
    assert isinstance(array, lower_kernel._Arrow)
    sliced = array[7:].parts()
    out = np.full(rows - 7, 0xFF, dtype=np.uint8)
    _frame_kernel.run(program, 1, [sliced], [out], b"", operands, b"", 0, rows - 7)
    assert out.tolist() == [0 if b else 1 for b in booleans[offset + 7 :]]
    with pytest.raises(ValueError, match="out of range"):  # past the bitmap's end
        _frame_kernel.run(
            program, 1, [(bitmap, offset + 8, None)], [out], b"", operands, b"", 0, rows
        )


def _c_remainder(value: int, divisor: int) -> int:
    """C's `%`: truncated, the sign of the dividend."""
    return int(math.copysign(abs(value) % abs(divisor), value)) if value else 0


@pytest.mark.parametrize("divisor", [12, -7, 1000, 3, 2**50 + 1, 2**51 + 3])
def test_integers_as_doubles_and_remainders_are_exact_in_every_range(
    kernel: None, divisor: int
) -> None:
    """I2F and MODK_I take a vectorised path for a block whose values are under 2^51 in
    size and another for a block with a larger one: both exact, as C converts and divides."""
    assert _frame_kernel is not None
    op = lower_kernel.OPCODES
    rng = np.random.default_rng(divisor & 0xFFFF)
    edges = [0, 1, -1, 11, -11, 12, -12, 2**51 - 1, -(2**51), 2**51, -(2**51) - 1]
    edges += [2**53 + 1, -(2**62), 2**63 - 1, -(2**63)]
    small = rng.integers(-(2**51), 2**51, size=3 * 2048, dtype=np.int64)
    blocks = [  # one block of small values only, then blocks holding large ones
        small[:2048],
        np.concatenate([small[2048 : 4096 - len(edges)], np.array(edges, dtype=np.int64)]),
        rng.integers(-(2**63), 2**63 - 1, size=2048, dtype=np.int64, endpoint=True),
        small[4096:],
    ]
    values = np.concatenate(blocks)
    program = struct.pack("<iiiiqd", op["LOAD_I64"], 0, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["I2F"], 1, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["MODK_I"], 2, 0, -1, divisor, 0.0)
    # read back through comparisons: the double equal to C's, the remainder equal to C's
    doubles = values.astype(np.float64)
    remainders = np.array([_c_remainder(int(v), divisor) for v in values], dtype=np.int64)
    out = np.zeros(len(values), dtype=np.uint8)
    for k in range(0, len(values), 2048):
        part = slice(k, k + 2048)
        check = program + struct.pack("<iiiiqd", op["LOAD_F64"], 3, 1, -1, 0, 0.0)
        check += struct.pack("<iiiiqd", op["EQ_F"], 4, 1, 3, 0, 0.0)
        check += struct.pack("<iiiiqd", op["LOAD_I64"], 5, 2, -1, 0, 0.0)
        check += struct.pack("<iiiiqd", op["EQ_I"], 6, 2, 5, 0, 0.0)
        check += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, -1, 2, 0, 0.0)
        columns = [values[part].copy(), doubles[part].copy(), remainders[part].copy()]
        _frame_kernel.run(
            check, 7, columns, [out[part]], b"", struct.pack("<4i", 4, 0, 6, 1), b"", 0, 2048
        )
    assert out.tolist() == [0] * len(values)  # no bit: every double and remainder C's


def _view(text: bytes, buffer: int = 0, place: int = 0, padding: bytes = b"") -> bytes:
    """An Arrow string view: inline (zero padded unless `padding`), or the length, the
    first 4 bytes and the place in a data buffer."""
    if len(text) <= 12:
        return len(text).to_bytes(4, "little") + (text + padding).ljust(12, b"\0")[:12]
    return struct.pack("<I4sII", len(text), text[:4], buffer, place)


@pytest.fixture(params=[True, False], ids=["avx512", "portable"])
def lookups(request: pytest.FixtureRequest, kernel: None) -> Iterator[bool]:
    """CODE_STR's perfect hash lookups with AVX-512 and without: the same codes. On a
    processor without AVX-512, asking for it is refused (the kernel says so) and the lookups
    run the portable way, which must give the same codes all the same."""
    assert _frame_kernel is not None
    supported = bool(_frame_kernel.avx512(True))
    assert supported == _has_avx512()
    used = _frame_kernel.avx512(request.param)
    assert used == (request.param and supported)
    yield used
    _frame_kernel.avx512(True)


def _has_avx512() -> bool:
    """Whether this processor has the AVX-512 parts the kernel's lookups use (F and DQ), as
    Linux lists them; unknown elsewhere, where the kernel's own answer is taken."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return bool(_frame_kernel is not None and _frame_kernel.avx512(True))
    return "avx512f" in flags and "avx512dq" in flags


@pytest.mark.parametrize("listed", [1, 3], ids=["compared", "hashed"])
def test_a_string_column_is_coded_from_its_views(lookups: bool, listed: int) -> None:
    assert _frame_kernel is not None
    values = ("NO", "self_employed", "permanent")[:listed]
    builder = lower_kernel._Builder(engine.CODES)
    assert builder.vocabulary(values) == 0
    vocabulary = bytes(builder.strings)
    slots = struct.unpack_from("<Q", vocabulary, 8)[0]
    assert (slots > 0) == (listed >= lower_kernel.PERFECT_FROM)
    data = [b"..self_employed", b"self_employedXself_employer"]
    rows = [  # (view, the code the kernel must give: 255 for another string, 0 for null)
        (_view(b"NO"), 0),
        (_view(b"self_employed", 0, 2), 1),
        (_view(b"self_employed", 1, 0), 1),  # the same string in another buffer
        (_view(b"permanent"), 2),
        (_view(b"NO", padding=b"\xff\xff"), 0),  # not zero padded: read alike
        (_view(b"other"), 255),
        (_view(b""), 255),
        (_view(b"self_employedX", 1, 0), 255),  # longer, same first bytes
        (_view(b"self_employer", 1, 14), 255),  # same length and first 4 bytes
        (_view(b"self_employed", 1, 20), 255),  # past its buffer's end: no match
        (_view(b"self_employed", 7, 0), 255),  # no buffer 7
        (_view(b"NO"), 0),  # null (below): code 0
    ]
    rows = [(view, 255 if listed <= code < 255 else code) for view, code in rows]  # unlisted
    nulls = {len(rows) - 1}
    offset = 3  # the array starts at the 4th view and the 4th validity bit
    views = _view(b"junk") * offset + b"".join(v for v, _ in rows)
    bits = [1] * offset + [0 if k in nulls else 1 for k in range(len(rows))]
    validity = np.packbits(np.array(bits, dtype=np.uint8), bitorder="little").tobytes()
    column = (views, offset, validity, data)
    op = lower_kernel.OPCODES
    program = struct.pack("<iiiiqd", op["CODE_STR"], 0, 0, -1, 0, 0.0)
    program += struct.pack("<iiiiqd", op["VALID"], 1, 0, -1, 0, 0.0)
    pairs: list[int] = []
    for bit, code in enumerate([0, 1, 2, 255]):  # bit b where the code is the b-th
        program += struct.pack("<iiiiqd", op["NEK_U8"], 2 + bit, 0, -1, code, 0.0)
        pairs += (2 + bit, bit)
    pairs += (1, 4)  # bit 4 where the value is null
    program += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, -1, 5, 0, 0.0)
    out = np.zeros(len(rows), dtype=np.uint8)
    operands = struct.pack(f"<{len(pairs)}i", *pairs)
    _frame_kernel.run(program, 6, [column], [out], b"", operands, vocabulary, 0, len(rows))
    expected = [1 << [0, 1, 2, 255].index(code) for _, code in rows]
    expected = [e | (16 if k in nulls else 0) for k, e in enumerate(expected)]
    assert out.tolist() == expected
    # a wrong program or column is an error, never a stray read
    code_str = struct.pack("<iiiiqd", op["CODE_STR"], 0, 0, -1, 0, 0.0)
    numbers = np.zeros(len(rows), dtype=np.int64)
    for columns, code, vocab, stop in [
        ([numbers], code_str, vocabulary, len(rows)),  # not a string column
        ([column], struct.pack("<iiiiqd", op["LOAD_I64"], 0, 0, -1, 0, 0.0), vocabulary, 1),
        ([column], struct.pack("<iiiiqd", op["CODE_STR"], 0, 0, -1, 8, 0.0), vocabulary, 1),
        ([column], code_str, vocabulary[:-4], 1),  # its strings past the vocabularies
        ([column], code_str, vocabulary, len(rows) + 1),  # rows past the views
        ([(views, offset, validity[:1], data)], code_str, vocabulary, len(rows)),
    ]:
        with pytest.raises(ValueError, match="out of range"):
            _frame_kernel.run(code, 1, columns, [out], b"", b"", vocab, 0, stop)
    with pytest.raises(ValueError, match="negative"):
        _frame_kernel.run(code_str, 1, [(views, -1, None, data)], [out], b"", b"", vocabulary, 0, 1)


@pytest.mark.parametrize("size", [12, 43])
def test_a_list_is_coded_by_a_perfect_hash_of_its_views(lookups: bool, size: int) -> None:
    assert _frame_kernel is not None
    values = sorted(
        {f"c{k}" for k in range(size - 3)} | {"", "a string of 15 b", "a string of 15 c"}
    )
    builder = lower_kernel._Builder(engine.CODES)
    place = builder.vocabulary(values)
    vocabulary = bytes(builder.strings)
    count, slots, multiplier, longs = struct.unpack_from("<QQQQ", vocabulary, place)
    # the smallest table found holding each key alone, in registers where it can be
    assert (count, longs) == (len(values), 2)  # two long strings of one key: each compared
    assert slots <= lower_kernel.SMALL_SLOTS if size < 16 else slots > lower_kernel.SMALL_SLOTS
    table = place + 32 + 32 * (count + 1)
    codes = struct.unpack_from(f"<{slots}I", vocabulary, table)
    keys = [lower_kernel._key(v.encode()) for v in values]
    bits = slots.bit_length() - 1
    for code, key in enumerate(keys):
        if code != values.index("a string of 15 b"):  # the key of the last of the two
            assert codes[lower_kernel._key_hash(key, multiplier, bits)] == code
    assert sorted(codes).count(count) == slots - len(set(keys))  # the rest hold none
    data = [b"a string of 15 ba string of 15 ca string of 15 d"]
    rows = [(_view(v.encode()), values.index(v)) for v in values if len(v) <= 12]
    rows += [
        (_view(b"a string of 15 b", 0, 0), values.index("a string of 15 b")),
        (_view(b"a string of 15 c", 0, 16), values.index("a string of 15 c")),
        (_view(f"c{size - 3}".encode()), 255),  # another string, of the same length as many
        (_view(b"c1", padding=b"\xff"), values.index("c1")),  # not zero padded: read alike
        (_view(b"c"), 255),
        (_view(b"a string of 15 d", 0, 32), 255),  # the same length and first bytes
        (_view(b"c7"), 0),  # null (below): code 0
    ]
    views = b"".join(v for v, _ in rows)
    bits_valid = [1] * (len(rows) - 1) + [0]
    validity = np.packbits(np.array(bits_valid, dtype=np.uint8), bitorder="little").tobytes()
    op = lower_kernel.OPCODES
    code_str = struct.pack("<iiiiqd", op["CODE_STR"], 0, 0, -1, place, 0.0)
    pairs: list[int] = []
    program = code_str
    for bit in range(8):  # the code's bits, each where it is 0
        mask = sum(1 << c for c in range(256) if not c >> bit & 1)
        program += struct.pack("<iiiiqd", op["TABLE"], 1 + bit, 0, -1, bit, 0.0)
        pairs += (1 + bit, bit)
        builder.tables.setdefault(bytes(1 if mask >> c & 1 else 0 for c in range(256)), bit)
    program += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, -1, 8, 0, 0.0)
    tables = b"".join(builder.tables)
    out = np.zeros(len(rows), dtype=np.uint8)
    column = (views, 0, validity, data)
    operands = struct.pack(f"<{len(pairs)}i", *pairs)
    _frame_kernel.run(program, 9, [column], [out], tables, operands, vocabulary, 0, len(rows))
    assert out.tolist() == [code for _, code in rows]
    # a table a lookup could run past, or that gives a code outside the list, is refused
    outside = bytearray(vocabulary)
    struct.pack_into("<I", outside, table, count + 1)  # a code past the list's entries
    odd = bytearray(vocabulary)
    struct.pack_into("<Q", odd, place + 8, slots - 1)  # not a power of two
    short = vocabulary[: table + 4 * slots - 4]  # its table past the vocabularies
    for wrong in (outside, odd, short):
        with pytest.raises(ValueError, match="out of range"):
            _frame_kernel.run(code_str, 1, [column], [out], b"", b"", bytes(wrong), 0, 1)


def test_a_list_without_a_perfect_hash_found_is_coded_by_comparisons(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _frame_kernel is not None
    values = [f"v{k}" for k in range(40)]
    monkeypatch.setattr(lower_kernel, "MAX_SLOTS", 64)  # 40 keys need more, most often
    monkeypatch.setattr(lower_kernel, "_multipliers", lambda: iter([1] * 64))  # one, badly
    builder = lower_kernel._Builder(engine.CODES)
    place = builder.vocabulary(values)
    vocabulary = bytes(builder.strings)
    assert struct.unpack_from("<QQ", vocabulary, place) == (len(values), 0)
    rows = [*values, "v40", "v", "v1"]
    views = b"".join(_view(v.encode()) for v in rows)
    op = lower_kernel.OPCODES
    out = np.zeros(len(rows), dtype=np.uint8)
    equal: list[list[int]] = []
    for code in range(256):  # where each row's code is `code`: a bit set where it is not not
        program = struct.pack("<iiiiqd", op["CODE_STR"], 0, 0, -1, place, 0.0)
        program += struct.pack("<iiiiqd", op["NEK_U8"], 1, 0, -1, code, 0.0)
        program += struct.pack("<iiiiqd", op["PACK_FALSE_1"], 0, 1, 1, 0, 0.0)
        column = (views, 0, None, [])
        operands = struct.pack("<2i", 1, 0)
        _frame_kernel.run(program, 2, [column], [out], b"", operands, vocabulary, 0, len(rows))
        equal.append(out.tolist())
    found = [next(c for c in range(256) if equal[c][row]) for row in range(len(rows))]
    assert found == [*range(len(values)), 255, 255, 1]


def test_a_string_in_a_literal_string_is_read_by_the_kernel_as_polars_reads_it(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    literal = "NO,SE,DK,FI,IS"
    long_literal = "Norway,Sweden,Åland"  # substrings of over 12 bytes; a 2-byte letter
    rules = [
        [{"in": [{"var": "citizenship"}, literal]}],
        [{"!": {"in": [{"var": "citizenship"}, long_literal]}}, {"<": [{"var": "age"}, 60]}],
    ]
    ruleset = _ruleset(rules, [["NO", "SE"], ["SE"]])
    program = engine._kernel_program({"": ruleset})
    assert _rule_columns(program) == []  # in the kernel, not a Polars column
    frame = feature_frame(generate(3000, 5, DATE), DATE).collect()
    pieces = ["", "NO", "O,S", literal, literal + ",", "no", "Norway,Sweden", "Sweden,Åland"]
    pieces += ["Åland", "Aland", "Norway,Sweden,Åland", "Norway,Swedes", "Norway,Sweden,Åla"]
    edited = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit(pl.Series(pieces)).gather(pl.int_range(pl.len()) % len(pieces)))
        .otherwise(pl.col("citizenship"))
        .alias("citizenship")
    )
    for each in (frame, edited):
        assert match(each, ruleset).equals(by_polars(each, ruleset, monkeypatch))
    out = match(edited, ruleset).get_column("bank_1.failed").drop_nulls()
    assert out.n_unique() == 4  # each requirement met and not met


def test_string_columns_chunked_sliced_with_nulls_and_categorical_give_the_polars_bits(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = feature_frame(generate(3000, 11, DATE), DATE).collect()
    assert frame.get_column("co_employment").null_count() > 0
    assert (frame.get_column("employment") == "self_employed").any()  # a long string
    parts = [frame.slice(0, 700), frame.slice(700, 1), frame.slice(701, 2299)]
    chunked = pl.concat(parts, rechunk=False)
    sliced = pl.concat([frame, frame], rechunk=True).slice(1234, 3000)
    categorical = frame.with_columns(pl.col("employment", "housing").cast(pl.Categorical))
    for each in (frame, chunked, sliced, categorical):
        assert match(each, SHIPPED).equals(by_polars(each, SHIPPED, monkeypatch))
    # the kernel reads the strings: no code column is computed for it
    program = engine._kernel_program({"": SHIPPED})
    assert ("employment", lower_kernel.STR) in program.columns
    assert not any(name.startswith("__lendmatch_code_") for name, _ in program.columns)


@settings(max_examples=25)
@given(st.lists(rows_with_infinity(), min_size=1, max_size=30))
def test_the_shipped_lenders_on_feature_rows_with_nulls_and_infinity(
    rows: list[dict[str, Any]],
) -> None:
    assert lower_kernel.available()
    frame = pl.DataFrame(rows, schema=polars_schema(), orient="row")
    with pytest.MonkeyPatch.context() as m:
        assert match(frame, SHIPPED).equals(by_polars(frame, SHIPPED, m))


def test_the_outputs_memory_is_reused_only_once_freed_and_zeroed_by_the_kernel(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _frame_kernel is not None

    def address(array: np.ndarray[Any, Any]) -> int:
        return int(array.__array_interface__["data"][0])

    held = np.frombuffer(_frame_kernel.Arena(1 << 20), dtype=np.uint8)
    other = np.frombuffer(_frame_kernel.Arena(1 << 20), dtype=np.uint8)
    assert address(held) != address(other)  # held: not given again
    held[:] = 0xFF
    freed = address(held)
    del held
    again = np.frombuffer(_frame_kernel.Arena(1 << 20), dtype=np.uint8)
    assert address(again) == freed and again[0] == 0xFF  # given again, as it was left
    del again, other
    # bitmasks in reused memory (left holding another frame's bits) are the Polars ones
    frame = feature_frame(generate(3000, 8, DATE), DATE).collect()
    other_frame = feature_frame(generate(3000, 9, DATE), DATE).collect()
    expected = by_polars(frame, SHIPPED, monkeypatch)
    first = match(frame, SHIPPED)
    for each in (other_frame, frame, other_frame, frame):
        out = match(each, SHIPPED)
        assert out.equals(by_polars(each, SHIPPED, monkeypatch))
        del out  # its memory the next match's
    assert first.equals(expected)  # held meanwhile: never overwritten


def test_every_output_row_is_written_by_the_program_not_zeroed_before(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs are not zeroed before the program runs: a lender's first PACK stores its
    bits, and an output first written by a three-valued store (which ORs) or never written
    is zeroed by a ZERO. In memory holding all ones, the bits are the Polars ones."""
    plain = [{">=": [{"var": "age"}, 18 + k]} for k in range(10)]  # two PACKs
    rules = [
        plain,
        [{">=": [{"var": "co_age"}, 18]}, {"<=": [{"var": "age"}, 70]}],  # BITS_TRI first
        [{">=": [{"var": "co_age"}, 21]}],  # only three-valued: no PACK
        [{"<": [{"var": "age"}, 200]}],  # one PACK, no unknown output: the shared zeros
    ]
    ruleset = _ruleset(rules, [["NO"], ["SE"], ["NO", "SE"], ["NO", "SE"]])
    program = engine._kernel_program({"": ruleset})
    ops = [op for op, _ in _instructions(program)]
    assert ops.count("ZERO") >= 3  # co_age's two lenders' outputs, the shared zeros
    firsts = [
        a
        for op, _, a, *_ in struct.iter_unpack("<iiiiqd", program.code)
        if op == lower_kernel.OPCODES["PACK_FALSE_2"]
    ]
    assert firsts == [1, -1]  # the first of plain's two PACKs stores, the second ORs
    outputs = lower_kernel._outputs

    def ones(rows: int, dtypes: Any) -> list[np.ndarray[Any, Any]]:
        made = outputs(rows, dtypes)
        for out in made:
            out[:] = np.iinfo(out.dtype).max
        return made

    monkeypatch.setattr(lower_kernel, "_outputs", ones)
    frame = feature_frame(generate(3000, 4, DATE), DATE).collect()
    for each in (ruleset, SHIPPED):
        assert match(frame, each).equals(by_polars(frame, each, monkeypatch))


def test_an_empty_frame_and_a_frame_without_codes_read(
    kernel: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = pl.DataFrame([], schema=polars_schema())
    assert match(empty, SHIPPED).equals(by_polars(empty, SHIPPED, monkeypatch))
    assert match(empty, SHIPPED).height == 0
    literal = _ruleset([[True, {"==": [1, 1]}]], [["NO", "SE"]])
    frame = feature_frame(generate(50, 2, DATE), DATE).collect()
    wide = match(frame, literal)
    assert wide.equals(by_polars(frame, literal, monkeypatch))
    assert wide.get_column("bank_0.failed").to_list() == [0] * 50


@st.composite
def rows_breaking_the_contract(draw: st.DrawFn) -> dict[str, Any]:
    """A feature row, perhaps with one value the contract does not allow: a number out of
    its bounds or NaN, a string outside its closed list, a null where none may be."""
    row = draw(rows_with_infinity())
    feature = draw(st.sampled_from(FEATURES))
    choices: list[Any] = [row[feature.name]]
    if not feature.nullable:
        choices.append(None)
    if feature.type.is_numeric and feature.low is not None and feature.high is not None:
        choices += [feature.low - 1, feature.high + 1] if feature.type is Type.INT else []
        choices += [math.nan, -1.0] if feature.type is Type.FLOAT else []
    if feature.values:
        choices.append("nowhere")
    row[feature.name] = draw(st.sampled_from(choices))
    return row


def _outcome(frame: pl.DataFrame, ruleset: Ruleset) -> Any:
    try:
        return match(frame, ruleset)
    except FeatureFrameError as refused:
        return (refused.columns, refused.rows, refused.bad_rows)


@given(st.lists(rows_breaking_the_contract(), min_size=1, max_size=12))
def test_a_frame_breaking_the_contract_is_refused_alike(rows: list[dict[str, Any]]) -> None:
    assert lower_kernel.available()
    frame = pl.DataFrame(rows, schema=polars_schema(), orient="row")
    ours = _outcome(frame, SHIPPED)
    with pytest.MonkeyPatch.context() as m:
        m.setenv("LENDMATCH_FRAME_KERNEL", "0")
        expected = _outcome(frame, SHIPPED)
    if isinstance(expected, tuple):
        assert ours == expected
    else:
        assert isinstance(ours, pl.DataFrame) and ours.equals(expected)


def test_a_closed_list_without_codes_is_checked_by_polars_for_the_kernel(kernel: None) -> None:
    # a schema whose housing is not coded (a list too long for a byte, say): the kernel
    # reads Polars' check of it
    codes = replace(
        engine.CODES, columns={k: v for k, v in engine.CODES.columns.items() if k != "housing"}
    )
    program = lower_kernel.lower_program([], codes)
    assert "__lendmatch_kernel_invalid_housing" in program.computed
    rows = feature_frame(generate(20, 4, DATE), DATE).collect()

    def bad(frame: pl.DataFrame) -> bool:
        stage = (
            frame.lazy()
            .with_columns(*codes.code_expressions())
            .with_columns(*program.computed.values())
            .select(*(name for name, _ in program.columns))
            .collect()
        )
        return program.run(stage)[1]

    assert not bad(rows)
    assert bad(rows.with_columns(pl.lit("castle").alias("housing")))
