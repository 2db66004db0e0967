"""Lowering to the frame kernel: the batch path's lenders' bitmasks in one pass over the rows.

`matcher.lower_polars` turns every requirement into a Polars expression: each comparison,
each requirement's bit and each `|` of two bits is a pass over the whole column, written to
memory and read back. Here the same requirements become one straight-line program for the
fused kernel (`matcher/_frame_kernel.c`, compiled with the other native modules by `make
native`), which runs the whole program over a block of rows while the block is in the
processor's cache, then the next block, on every core.

What the program computes is what the Polars lowering computes, bit for bit, on every frame
the feature contract allows (the program checks the frame in the same pass): the same types
(an integer operand of a float operation converted to a double, as Polars casts Int64 to
Float64), the same remainders (C's `%` and `fmod` take the sign of the dividend, as
JsonLogic does), the same codes for closed vocabularies, which the kernel reads from the
string columns' Arrow views itself (`CODE_STR`: an inline string's 16 bytes compared whole,
a longer one's bytes in its data buffer; a list of `PERFECT_FROM` strings or more, such as
the employment types or the substrings of a literal a string is `in`, looked up by a
perfect hash of the views, a lookup per row), with no pass of Polars to code them. A
requirement the program does not cover is computed by its Polars expression, as a column the
program reads:

- anything that can be null or NaN on an allowed row (`lower_polars.may_be_null` of any
  node) but a nullable feature compared with a literal (the kernel reads its values and
  validity, `FILL_64` and `VALID`, and the comparison is unknown where it is null):
  division by a feature, ...;
- strings other than a coded feature compared with a literal, `min` and `max` of floats
  (Polars and C may differ in the sign of a zero), membership of a float.

Equal sub-expressions (the same `node_key`) are computed once per block, however many
rules and lenders hold them, and a register is reused once its value is read for the last
time. A lender's bits are set by one `PACK` instruction per 8 requirements: one pass over
its output.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import polars as pl

from matcher.feature_checks import invalid
from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.lower_polars import (
    CODE_NONE,
    Codes,
    bits_dtype,
    lower,
    may_be_null,
    node_key,
    substrings,
)
from matcher.lower_python import lower_expression
from matcher.schema import FEATURES, Feature, Type

try:  # built by `make native` into .native/matcher; absent: the Polars lowering runs
    from matcher import _frame_kernel  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _frame_kernel = None

OPCODES: Mapping[str, int] = {} if _frame_kernel is None else _frame_kernel.opcodes()
PACK: int = 8 if _frame_kernel is None else _frame_kernel.PACK  # pairs a PACK instruction sets
_INSTRUCTION = struct.Struct("<iiiiqd")  # op, dst, a, b, i, f: the kernel's `Instr`


def available() -> bool:
    """Whether the kernel is built and wanted (LENDMATCH_FRAME_KERNEL=0 turns it off)."""
    setting = os.environ.get("LENDMATCH_FRAME_KERNEL", "1").strip().lower()
    return _frame_kernel is not None and setting not in {"0", "false", "no", "off"}


# The kind of a value in a register or a column: 64-bit integer, double, or a byte (a
# boolean, a code, or a three-valued requirement: 0 false, 1 true, 2 unknown).
I64, F64, U8 = "i64", "f64", "u8"
STR = "str"  # a string column, read as Arrow string views
# a number column that may hold nulls, read as Arrow values and validity (FILL_64, VALID)
NULLABLE_I64, NULLABLE_F64 = "i64?", "f64?"
_NULLABLE: dict[str, pl.DataType] = {NULLABLE_I64: pl.Int64(), NULLABLE_F64: pl.Float64()}

_COMPARE = {"<": "LT", "<=": "LE", ">": "GT", ">=": "GE", "==": "EQ", "!=": "NE"}
_COMPARE |= {"===": "EQ", "!==": "NE"}
_MIRROR = {"LT": "GT", "LE": "GE", "GT": "LT", "GE": "LE", "EQ": "EQ", "NE": "NE"}
_CONDITIONS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: bool(a == b),
    "NE": lambda a, b: bool(a != b),
}


class UnsupportedError(Exception):
    """A node the program does not cover: its rule is computed by Polars."""


@dataclass(frozen=True)
class KernelLender:
    """Where a lender's bitmasks are: its output columns' names, the outputs (buffers)
    holding them, their type, and the output marking the rows outside its markets (None:
    it serves every market)."""

    failed_column: str
    unknown_column: str
    failed: int
    unknown: int
    dtype: pl.DataType
    outside: int | None


@dataclass(frozen=True)
class KernelProgram:
    """A ruleset (or several, side by side) lowered for the kernel."""

    code: bytes
    registers: int
    columns: tuple[tuple[str, str], ...]  # what the program reads: (frame column, kind)
    computed: Mapping[str, pl.Expr]  # the columns Polars computes for it (rules it lacks)
    tables: bytes
    operands: bytes  # int32 (register, bit) pairs of the PACK instructions
    vocabularies: bytes  # the closed lists of strings the CODE_STR instructions read
    outputs: tuple[pl.DataType, ...]  # each output buffer's type
    lenders: tuple[KernelLender, ...]
    bad: int  # the output marking rows the contract does not allow (1), by value
    not_null: tuple[str, ...]  # the features whose column must hold no null
    helpers: tuple[pl.Expr, ...]  # the code and narrow columns `computed` reads, before it

    def run(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
        """The lenders' bitmask columns (failed, unknown per lender) for `frame`, which
        holds `columns` and no null in `not_null`, and whether a row holds a value the
        contract does not allow (then the bitmasks mean nothing: the frame is refused)."""
        kernel = _frame_kernel
        assert kernel is not None
        rows = frame.height
        outputs = _outputs(rows, self.outputs)
        pieces = _pieces(frame, self.columns)

        def tasks(piece: _Piece) -> list[tuple[list[Any], list[Any], int, int]]:
            sliced = [out[piece.start : piece.start + piece.length] for out in outputs]
            columns = [a.parts() if isinstance(a, _Arrow) else a for a in piece.arrays()]
            return [(columns, sliced, lo, hi) for lo, hi in _parts(piece.length, rows)]

        def run(task: tuple[list[Any], list[Any], int, int]) -> None:
            columns, sliced, lo, hi = task
            kernel.run(
                self.code,
                self.registers,
                columns,
                sliced,
                self.tables,
                self.operands,
                self.vocabularies,
                lo,
                hi,
            )

        if sum(len(_parts(piece.length, rows)) for piece in pieces) == 1:
            run(tasks(pieces[0])[0])
        else:
            # each piece's parts start as soon as its arrays are made, while the next
            # piece's are (a few milliseconds a call, no longer before the first part)
            pool = _pool()
            running = [pool.submit(run, task) for piece in pieces for task in tasks(piece)]
            for part in running:
                part.result()
        # imported here: only a batch pays for it (pyarrow ships no type hints)
        import pyarrow as pa  # type: ignore[import-untyped]

        arrow = {dtype: pa.from_numpy_dtype(_NUMPY[dtype]) for dtype in _NUMPY}
        # each market mask once: its validity bits and its count of nulls, given to Arrow
        # (left unknown, Polars counts a column's nulls as it reads it: a pass per column)
        valid: dict[int, tuple[Any, int]] = {}
        arrays: list[Any] = []
        names: list[str] = []
        for lender in self.lenders:
            mask, nulls = None, 0
            if lender.outside is not None:
                found = valid.get(lender.outside)
                if found is None:
                    served = outputs[lender.outside] == 0
                    bits = pa.py_buffer(np.packbits(served, bitorder="little"))
                    found = valid[lender.outside] = (bits, rows - int(np.count_nonzero(served)))
                mask, nulls = found
            for name, index in (
                (lender.failed_column, lender.failed),
                (lender.unknown_column, lender.unknown),
            ):
                buffers = [mask, pa.py_buffer(outputs[index])]
                arrays.append(
                    pa.Array.from_buffers(arrow[lender.dtype], rows, buffers, null_count=nulls)
                )
                names.append(name)
        # one conversion for all the columns: a hundred of one each cost milliseconds
        out = pl.from_arrow(pa.RecordBatch.from_arrays(arrays, names=names))
        assert isinstance(out, pl.DataFrame)
        return out, bool(outputs[self.bad].any())


_NUMPY: dict[pl.DataType, Any] = {
    pl.UInt8(): np.uint8,
    pl.UInt16(): np.uint16,
    pl.UInt32(): np.uint32,
    pl.UInt64(): np.uint64,
}


def _outputs(rows: int, dtypes: Sequence[pl.DataType]) -> list[np.ndarray[Any, Any]]:
    """The output buffers (not zeroed: the program writes every row of each), all in one
    allocation: the memory of a large one is mapped from the system in large pages, where a
    hundred allocations of one or two megabytes each take a fault per page on first write
    (about half the kernel's time, measured). It is the kernel's `Arena`, whose memory is
    kept for the next call's when the last bitmask column holding it is freed (a new
    mapping's faults, zeroing and unmapping were a tenth of the frame path's CPU)."""
    assert _frame_kernel is not None
    places: list[tuple[int, int]] = []
    size = 0
    for dtype in dtypes:
        width = rows * _WIDTHS[dtype]
        places.append((size, width))
        size += -(-width // 64) * 64  # each buffer 64-byte aligned
    arena = np.frombuffer(_frame_kernel.Arena(size), dtype=np.uint8)
    return [
        arena[start : start + width].view(_NUMPY[dtype])
        for (start, width), dtype in zip(places, dtypes, strict=True)
    ]


class _Arrow:
    """A chunk of a column as the kernel reads it with its validity: an Arrow string view
    array, an array of 8-byte numbers that may hold nulls, or of booleans (a bitmap)."""

    def __init__(self, array: Any, *, strings: bool) -> None:
        self.array = array
        self.strings = strings

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, rows: slice) -> _Arrow:
        start, stop, _ = rows.indices(len(self.array))
        return _Arrow(self.array.slice(start, stop - start), strings=self.strings)

    def parts(self) -> tuple[Any, ...]:
        """Strings: (views, the first row's place in them, validity or None, data
        buffers); numbers and booleans: (values, the first row's place in them, validity
        or None)."""
        validity, values, *data = self.array.buffers()
        validity = validity if self.array.null_count else None
        if values is None:  # pragma: no cover - an empty array without a values buffer
            values = b""
        if self.strings:
            return values, self.array.offset, validity, data
        return values, self.array.offset, validity


def _array(series: pl.Series, kind: str) -> np.ndarray[Any, Any] | _Arrow:
    """A column as the contiguous array the kernel reads (no copy where Polars holds one
    chunk of the same type), a string column as its Arrow string views, a nullable
    number column as its Arrow values and validity, and a boolean column as its Arrow
    bitmap (no copy)."""
    if kind in _NULLABLE:
        wanted = _NULLABLE[kind]
        if series.dtype != wanted:
            series = series.cast(wanted)
        return _Arrow(series.to_arrow(), strings=False)
    if kind == STR:
        import pyarrow as pa

        if series.dtype != pl.String():  # a categorical column: its strings
            series = series.cast(pl.String())
        array = series.to_arrow(compat_level=pl.CompatLevel.newest())
        if array.type != pa.string_view():  # pragma: no cover - Polars' strings are views
            array = array.cast(pa.string_view())
        return _Arrow(array, strings=True)
    if kind == U8:
        if series.dtype == pl.Boolean():  # its bitmap, read by the kernel (no bytes made)
            return _Arrow(series.to_arrow(), strings=False)
        return np.ascontiguousarray(series.to_numpy())
    dtype = np.int64 if kind == I64 else np.float64
    return np.ascontiguousarray(series.to_numpy(), dtype=dtype)


# More pieces than this (a frame of many small chunks, cut unalike): read it rechunked.
MAX_PIECES = 256


class _Piece(NamedTuple):
    """Rows of the frame that every column holds in one chunk: its first row, its length,
    and a function making its columns' arrays (each a slice of its chunk's, made when first
    asked for, so that a piece's part runs while the next piece's arrays are made)."""

    start: int
    length: int
    arrays: Callable[[], list[np.ndarray[Any, Any] | _Arrow]]


def _pieces(frame: pl.DataFrame, columns: Sequence[tuple[str, str]]) -> list[_Piece]:
    """The frame's rows in pieces the kernel reads without a copy: cut wherever a column's
    chunk ends (Polars' columns of a frame read or built in parts are chunked, not always
    alike), each column's array of a piece a slice of its chunk."""
    if not columns:
        return [_Piece(0, frame.height, list)]
    series = [frame.get_column(name) for name, _ in columns]
    kinds = [kind for _, kind in columns]
    firsts = [[0, *itertools.accumulate(s.chunk_lengths())] for s in series]
    bounds = sorted({0, frame.height}.union(*firsts))
    if len(bounds) - 1 > MAX_PIECES:

        def whole() -> list[np.ndarray[Any, Any] | _Arrow]:
            return [_array(s.rechunk(), kind) for s, kind in zip(series, kinds, strict=True)]

        return [_Piece(0, frame.height, whole)]
    chunks: dict[int, list[pl.Series]] = {}
    made: dict[tuple[int, int], np.ndarray[Any, Any] | _Arrow] = {}

    def chunk(column: int, index: int) -> np.ndarray[Any, Any] | _Arrow:
        found = made.get((column, index))
        if found is None:
            if column not in chunks:
                chunks[column] = series[column].get_chunks()
            found = made[column, index] = _array(chunks[column][index], kinds[column])
        return found

    def piece(start: int, stop: int) -> Callable[[], list[np.ndarray[Any, Any] | _Arrow]]:
        def arrays() -> list[np.ndarray[Any, Any] | _Arrow]:
            out = []
            for column, starts in enumerate(firsts):
                # the chunk holding the piece (the last of any empty ones starting there)
                index = bisect.bisect_right(starts, start) - 1
                first = starts[index]
                out.append(chunk(column, index)[start - first : stop - first])
            return out

        return arrays

    return [_Piece(a, b - a, piece(a, b)) for a, b in itertools.pairwise(bounds)]


# A part run by one thread has at least this many rows: a thread's start costs more than
# fewer rows save.
PART_FROM_ROWS = 65_536


def _parts(length: int, rows: int) -> list[tuple[int, int]]:
    """The row ranges of a piece of `length` rows of a frame of `rows`, run in parallel on
    Polars' pool of threads (each at a block's bound)."""
    threads = pl.thread_pool_size()
    block = _frame_kernel.BLOCK if _frame_kernel is not None else 1
    step = max(PART_FROM_ROWS, -(-rows // threads))
    step = -(-step // block) * block
    return [(lo, min(lo + step, length)) for lo in range(0, length, step)] or [(0, 0)]


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """The threads running parts, one per thread of Polars' pool: made once per process
    (a forked child does not inherit its parent's threads, so it makes its own)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        threads = ThreadPoolExecutor(pl.thread_pool_size(), thread_name_prefix="lendmatch-kernel")
        _POOL = (os.getpid(), threads)
    return _POOL[1]


@dataclass(frozen=True)
class Lender:
    """A lender for the program: its output columns, requirements, and the markets it
    serves (None: every market)."""

    failed_column: str
    unknown_column: str
    requirements: Sequence[Node]  # their rules, bit i the i-th
    markets: Sequence[str] | None


def lower_program(lenders: Sequence[Lender], codes: Codes) -> KernelProgram:
    """The program computing every lender's bitmasks, with `codes` (their columns and the
    feature schema): see the module's docstring."""
    # the rules it lacks read the features as they are (no narrow copies)
    return _Builder(codes.narrowing(())).program(lenders, FEATURES)


@dataclass
class _Value:
    """A value of the program: the instruction computing it and its kind."""

    op: str
    kind: str
    dst: int = -1  # its register, once allocated
    a: int = -1  # operands: values (or a column, an output)
    b: int = -1
    i: int = 0
    f: float = 0.0
    reads: tuple[int, ...] = ()  # the values it reads
    bits: tuple[int, ...] = ()  # a PACK's bit of each value it reads


class _Builder:
    def __init__(self, codes: Codes) -> None:
        self.codes = codes
        self.values: list[_Value] = []
        self.keys: dict[tuple[Any, ...], int] = {}
        self.columns: dict[str, int] = {}
        self.column_kinds: list[tuple[str, str]] = []
        self.tables: dict[bytes, int] = {}
        self.vocabularies: dict[tuple[str, ...], int] = {}
        self.strings = bytearray()  # the closed lists CODE_STR reads (`vocabulary`)
        self.outputs: list[pl.DataType] = []
        self.computed: dict[str, pl.Expr] = {}
        self.stores: list[_Value] = []  # the bits, in order after the values they read
        self.zero_outputs: dict[pl.DataType, int] = {}
        # the outputs some store writes: the first PACK of each stores its bits, the
        # others OR theirs in; the rest are zeroed block by block (`ZERO`)
        self.written: set[int] = set()
        self.zeroed: list[int] = []
        self.tri: set[int] = set()  # the values that can be unknown (2)
        self.wide = False  # no narrow reads (`narrowed`)

    # -- the program --------------------------------------------------------------------

    def program(self, lenders: Sequence[Lender], features: Sequence[Feature]) -> KernelProgram:
        bad = self.check(features)
        out: list[KernelLender] = []
        gates: dict[tuple[str, ...], int] = {}
        for lender in lenders:
            dtype = bits_dtype(len(lender.requirements))
            failed = self.output(dtype)
            # a lender none of whose requirements can be unknown shares one zero buffer
            tri = any(self.three_valued(node) for node in lender.requirements)
            unknown = self.output(dtype) if tri else self.zeros(dtype)
            outside = None
            if lender.markets is not None:
                markets = tuple(sorted(lender.markets))
                outside = gates.get(markets)
                if outside is None:
                    outside = gates[markets] = self.output(pl.UInt8())
                    served = self.membership(_market(), markets)
                    self.pack([(served, 0)], outside, 1)
            width = _WIDTHS[dtype]
            falses: list[tuple[int, int]] = []
            for bit, requirement in enumerate(lender.requirements):
                value = self.requirement(requirement)
                if self.three_valued(requirement):
                    self.store(f"BITS_TRI_{width}", value, failed, unknown, bit)
                else:
                    falses.append((value, bit))
            self.pack(falses, failed, width)
            out.append(
                KernelLender(
                    lender.failed_column, lender.unknown_column, failed, unknown, dtype, outside
                )
            )
        code, operands, registers = self.allocate()
        zeroed = self.zeroed + [k for k in range(len(self.outputs)) if k not in self.written]
        zero = OPCODES["ZERO"]
        code = b"".join(_INSTRUCTION.pack(zero, k, -1, -1, 0, 0.0) for k in zeroed) + code
        reads = {name for expr in self.computed.values() for name in expr.meta.root_names()}
        helpers = [e for e in self.codes.expressions() if e.meta.output_name() in reads]
        return KernelProgram(
            code,
            registers,
            tuple(self.column_kinds),
            dict(self.computed),
            b"".join(self.tables),
            operands,
            bytes(self.strings),
            tuple(self.outputs),
            tuple(out),
            bad,
            tuple(f.name for f in features if not f.nullable),
            tuple(helpers),
        )

    def output(self, dtype: pl.DataType) -> int:
        self.outputs.append(dtype)
        return len(self.outputs) - 1

    def zeros(self, dtype: pl.DataType) -> int:
        """An output no instruction writes: zero on every row."""
        found = self.zero_outputs.get(dtype)
        if found is None:
            found = self.zero_outputs[dtype] = self.output(dtype)
        return found

    def three_valued(self, node: Node) -> bool:
        """Whether a requirement can be unknown on a row of the contract."""
        return may_be_null(node, self.codes)

    def store(self, op: str, value: int, output: int, other: int, bit: int) -> None:
        for written in (output, other):  # ORed into: zeroed first, unless written before
            if written not in self.written:
                self.written.add(written)
                self.zeroed.append(written)
        self.stores.append(_Value(op, "", a=value, b=other, dst=output, i=bit, reads=(value,)))
        # a store is ordered after the values it reads: kept in the value list's order
        self.values.append(self.stores[-1])

    def pack(self, falses: Sequence[tuple[int, int]], output: int, width: int) -> None:
        """Each (value, bit) pair's bit set in `output` where the value is false, up to
        `PACK` pairs an instruction (one pass over the output for all of them)."""
        for start in range(0, len(falses), PACK):
            group = falses[start : start + PACK]
            reads, bits = tuple(v for v, _ in group), tuple(b for _, b in group)
            first = output not in self.written  # stores (a 1), where the others OR
            self.written.add(output)
            op = f"PACK_FALSE_{width}"
            value = _Value(op, "", dst=output, a=1 if first else -1, reads=reads, bits=bits)
            self.stores.append(value)
            self.values.append(value)

    def requirement(self, node: Node) -> int:
        """The value of a requirement's rule: a boolean byte, or for a three-valued
        one (always a Polars column), 2 where unknown."""
        try:
            return self.rule(node)
        except UnsupportedError:
            pass
        name = "__lendmatch_kernel_" + _digest(node)
        expr = lower(node, self.codes)
        if self.three_valued(node):
            expr = (
                pl.when(expr.is_null()).then(pl.lit(2, pl.UInt8())).otherwise(expr.cast(pl.UInt8()))
            )
        else:
            expr = expr.cast(pl.UInt8())
        self.computed.setdefault(name, expr.alias(name))
        return self.load(name, U8)

    def rule(self, node: Node) -> int:
        """A rule lowered in full, or UnsupportedError (nothing of it kept but shared
        values). Null is covered where it comes from a nullable feature read by a
        comparison with a literal (or a membership, a truthiness): the comparison is
        unknown (2) where the feature is null, and unknowns combine by Kleene's logic."""
        return self.value(node)

    # -- values -------------------------------------------------------------------------

    def emit(self, key: tuple[Any, ...] | None, value: _Value) -> int:
        if key is not None:
            found = self.keys.get(key)
            if found is not None:
                return found
        self.values.append(value)
        index = len(self.values) - 1
        if key is not None:
            self.keys[key] = index
        return index

    def column(self, name: str, kind: str) -> int:
        """The place of a column the program reads, as `kind`."""
        place = self.columns.get(name)
        if place is None:
            place = self.columns[name] = len(self.column_kinds)
            self.column_kinds.append((name, kind))
        return place

    def load(self, column: str, kind: str) -> int:
        op = {I64: "LOAD_I64", F64: "LOAD_F64", U8: "LOAD_U8"}[kind]
        return self.emit(("load", column), _Value(op, kind, a=self.column(column, kind)))

    def value(self, node: Node) -> int:
        """A node's value (a register's worth per block), computed once per key."""
        key = node_key(node)
        found = self.keys.get(key)
        if found is not None:
            return found
        index = self.compute(node)
        self.keys.setdefault(key, index)
        return index

    def kind_of(self, node: Node) -> str:
        kind = {Type.INT: I64, Type.FLOAT: F64, Type.BOOL: U8}.get(node.type)
        if kind is None:
            raise UnsupportedError
        return kind

    def compute(self, node: Node) -> int:
        if isinstance(node, Const):
            if node.value != node.value:  # NaN: Polars orders it, C does not
                raise UnsupportedError
            return self.constant(node.value, self.kind_of(node))
        if isinstance(node, ListConst):
            raise UnsupportedError
        if isinstance(node, Var):
            if node.nullable:
                raise UnsupportedError
            if node.default is None:
                return self.load(node.name, self.kind_of(node))
            filled = self.filled(node)
            if filled is not None:
                return filled
            # any other feature with a default: Polars fills its nulls, in one pass
            name = "__lendmatch_kernel_" + _digest(node)
            self.computed.setdefault(name, lower(node, self.codes).alias(name))
            return self.load(name, self.kind_of(node))
        if not node.features:
            value = lower_expression(node)({})
            if value is None or value != value:  # null (by zero), or NaN: Polars' orders
                raise UnsupportedError
            return self.constant(value, self.kind_of(node))
        if node.type is not Type.BOOL and may_be_null(node, self.codes):
            raise UnsupportedError  # a number that can be null or NaN
        name, args = node.op.name, node.args
        coded = self.coded(node)
        if coded is not None:
            return coded
        if name in _COMPARE:
            return self.compare(_COMPARE[name], args)
        if name in ("!", "!!"):
            return self.truthy(args[0], negated=name == "!")
        if name in ("and", "or"):
            if any(a.type is not Type.BOOL for a in args):
                raise UnsupportedError
            out = self.value(args[0])
            for arg in args[1:]:
                out = self.logical("AND" if name == "and" else "OR", out, self.value(arg))
            return out
        if name == "if":
            return self.conditional(node)
        if name == "in":
            return self.member(node)
        return self.arithmetic(node)

    def constant(self, value: Any, kind: str) -> int:
        if kind == U8:
            return self.emit(("const", U8, bool(value)), _Value("CONST_U8", U8, i=int(value)))
        if kind == I64:
            return self.emit(("const", I64, int(value)), _Value("CONST_I", I64, i=int(value)))
        return self.emit(("const", F64, repr(float(value))), _Value("CONST_F", F64, f=float(value)))

    def binary(self, op: str, kind: str, a: int, b: int) -> int:
        return self.emit((op, a, b), _Value(op, kind, a=a, b=b, reads=(a, b)))

    def logical(self, op: str, a: int, b: int) -> int:
        """`AND` or `OR` of two booleans; Kleene's (`TAND`, `TOR`) when one can be
        unknown."""
        if a in self.tri or b in self.tri:
            return self.unknown_where(self.binary("T" + op, U8, a, b), True)
        return self.binary(op, U8, a, b)

    def unknown_where(self, value: int, tri: bool) -> int:
        """The value, marked as one that can be unknown (2) when `tri`."""
        if tri:
            self.tri.add(value)
        return value

    def nullable_read(self, node: Node) -> tuple[int, int] | None:
        """A nullable feature read without a default: its values (nulls read as zero,
        or as code 0) and a byte true where it is not null, both read by the kernel from
        its column (a coded string's views, a number's Arrow values and validity: no pass
        of Polars to fill it). None for any other node."""
        if not isinstance(node, Var) or not node.nullable or node.default is not None:
            return None
        if self.codes.code(node) is not None:
            return self.code_of(node), self.valid(node.name)
        if not node.type.is_numeric:
            raise UnsupportedError
        kind = self.kind_of(node)
        column = self.column(node.name, NULLABLE_I64 if kind == I64 else NULLABLE_F64)
        values = self.emit(("FILL_64", column), _Value("FILL_64", kind, a=column))
        valid = self.emit(("VALID", column), _Value("VALID", U8, a=column))
        return values, valid

    def code_of(self, var: Var) -> int:
        """A coded feature's code, read from its string column by the kernel."""
        found = self.codes.code(var)
        assert found is not None
        return self.string_code(var.name, found[1])

    def string_code(self, name: str, values: Sequence[str]) -> int:
        """A string column's code in a closed list: the string's place in it, CODE_NONE
        for another string, 0 for null (`valid` tells)."""
        vocabulary = self.vocabulary(values)  # first: a string it cannot encode adds nothing
        column = self.column(name, STR)
        return self.emit(
            ("CODE_STR", column, vocabulary), _Value("CODE_STR", U8, a=column, i=vocabulary)
        )

    def valid(self, name: str) -> int:
        """1 where a string column's value is not null."""
        column = self.column(name, STR)
        return self.emit(("VALID", column), _Value("VALID", U8, a=column))

    def listed(self, code: int) -> int:
        """1 where a code is one of its closed list's (not CODE_NONE)."""
        return self.emit(
            ("NEK_U8", code, CODE_NONE), _Value("NEK_U8", U8, a=code, i=CODE_NONE, reads=(code,))
        )

    def vocabulary(self, values: Sequence[str]) -> int:
        """The offset of a closed list in the program's vocabularies (the layout the
        kernel's CODE_STR reads), added once. A list of `PERFECT_FROM` strings or more
        carries a perfect hash table of its keys (`_perfect_hash`)."""
        key = tuple(values)
        found = self.vocabularies.get(key)
        if found is not None:
            return found
        offset = len(self.strings)
        encoded = [v.encode() for v in values]
        keys = [_key(value) for value in encoded]
        long_keys = [k for k, value in zip(keys, encoded, strict=True) if len(value) > 12]
        # the long strings' bytes compared with the string of the row's key, or with each
        # long one where two share a key (their length and first 4 bytes)
        longs = 0 if not long_keys else 1 if len(set(long_keys)) == len(long_keys) else 2
        slots, multiplier, table = 0, 0, b""
        perfect = _perfect_hash(keys) if len(encoded) >= PERFECT_FROM else None
        if perfect is not None:
            slots, multiplier, codes = perfect
            table = struct.pack(f"<{slots}I", *codes)
        head = _VOCABULARY_HEAD + _ENTRY.size * (len(encoded) + 1) + len(table)
        entries, tail = bytearray(), bytearray()
        for (lo, hi), value in zip(keys, encoded, strict=True):
            start = 0
            if len(value) > 12:
                start = head + len(tail)
                tail += value
            entries += _ENTRY.pack(lo, hi, len(value), start)
        entries += _ENTRY.pack(*_NO_KEY, 0, 0)  # the entry of a slot holding no string
        self.strings += struct.pack("<QQQQ", len(encoded), slots, multiplier, longs)
        self.strings += entries + table + tail
        self.strings += bytes(-len(self.strings) % 8)  # the next list 8-byte aligned
        self.vocabularies[key] = offset
        return offset

    def filled(self, var: Var) -> int | None:
        """A number feature read with a number for a default: its values where it is not
        null, the default where it is (the values and validity the other reads of the
        feature share). None for another feature or default."""
        feature = self.codes.features.get(var.name)
        default = None if var.default is None else var.default.value
        if feature is None or not var.type.is_numeric or isinstance(default, bool):
            return None
        if not isinstance(default, int | float) or default != default:
            return None
        if var.type is Type.INT and not isinstance(default, int):
            return None
        bare = Var(var.name, var.type, var.path, nullable=feature.nullable)
        read = self.nullable_read(bare)
        if read is None:  # never null: the default is never read
            return self.value(bare)
        values, valid = read
        kind = self.kind_of(var)
        fallback = self.constant(default, kind)
        op = "SELECT_I" if kind == I64 else "SELECT_F"
        reads = (valid, values, fallback)
        return self.emit((op, *reads), _Value(op, kind, a=valid, b=values, i=fallback, reads=reads))

    def masked(self, value: int, valid: int) -> int:
        """A boolean, unknown (2) where `valid` is 0."""
        return self.unknown_where(self.binary("TMASK", U8, value, valid), True)

    def as_float(self, node: Node) -> int:
        value = self.value(node)
        if self.values[value].op == "CONST_I":  # converted here, once (as Polars' cast)
            return self.constant(float(self.values[value].i), F64)
        if self.values[value].kind == I64:
            return self.emit(("I2F", value), _Value("I2F", F64, a=value, reads=(value,)))
        return value

    def fold(self, op: str, kind: str, values: Sequence[int]) -> int:
        """`ADD` or `MUL` of the values in turn (`_I` or `_F`), a constant operand an
        immediate (`ADDK_I`...: no register filled with it every block). Both operations
        commute, exactly in either kind, so the constant of a step may be either one."""
        suffix = "_F" if kind == F64 else "_I"
        out = values[0]
        for value in values[1:]:
            a, k = out, self.values[value]
            if self.values[out].op.startswith("CONST_") and not k.op.startswith("CONST_"):
                a, k = value, self.values[out]
            if k.op == "CONST" + suffix:
                op_k = f"{op}K{suffix}"
                key = (op_k, a, repr(k.f) if kind == F64 else k.i)
                out = self.emit(key, _Value(op_k, kind, a=a, i=k.i, f=k.f, reads=(a,)))
            else:
                out = self.binary(op + suffix, kind, out, value)
        return out

    def operands(self, args: Sequence[Node], result: Type) -> tuple[str, list[int]]:
        """The operands' values, in one kind: doubles when any is a float (as Polars
        casts to the supertype), else integers."""
        if any(not a.type.is_numeric for a in args):
            raise UnsupportedError
        if result is Type.FLOAT or any(a.type is Type.FLOAT for a in args):
            return F64, [self.as_float(a) for a in args]
        return I64, [self.value(a) for a in args]

    def compare(self, kind_name: str, args: Sequence[Node]) -> int:
        if len(args) == 3:
            between = self.between(kind_name, args)
            if between is not None:
                return between
            first = self.compare(kind_name, args[:2])
            second = self.compare(kind_name, args[1:])
            if first in self.tri or second in self.tri:
                # unknown where any operand is null, as Polars' chained comparison (not
                # Kleene's `and`: `age < 0 < co_age` is unknown, not false, without co_age)
                return self.unknown_where(self.binary("TSAND", U8, first, second), True)
            return self.binary("AND", U8, first, second)
        left, right = args
        for var, other in ((left, right), (right, left)):
            read = self.nullable_read(var)
            if read is not None:
                if not isinstance(other, Const) or not other.type.is_numeric:
                    raise UnsupportedError
                assert isinstance(var, Var)
                # the comparison of the filled values, then unknown where null
                values = Var(f"__lendmatch_kernel_filled_{var.name}", var.type, var.path)
                self.keys.setdefault(node_key(values), read[0])
                plain = (values, other) if var is left else (other, values)
                return self.masked(self.compare(kind_name, plain), read[1])
        if left.type is Type.BOOL and right.type is Type.BOOL:
            return self.boolean_equality(kind_name, left, right)
        if not (left.type.is_numeric and right.type.is_numeric):
            raise UnsupportedError
        as_float = Type.FLOAT in (left.type, right.type)
        suffix = "_F" if as_float else "_I"
        for var, lit, name in ((left, right, kind_name), (right, left, _MIRROR[kind_name])):
            if isinstance(lit, Const) and not isinstance(var, Const):
                if lit.value != lit.value:
                    raise UnsupportedError  # NaN: Polars orders it, C does not
                a = self.as_float(var) if as_float else self.value(var)
                op = f"{name}K{suffix}"
                key: tuple[Any, ...]
                if as_float:
                    key = (op, a, repr(float(lit.value)))
                    return self.emit(key, _Value(op, U8, a=a, f=float(lit.value), reads=(a,)))
                value = int(lit.value)
                narrow = self.narrowed(var, value)
                if narrow is not None:
                    a, op = narrow[0], f"{name}K{narrow[1]}"
                key = (op, a, value)
                return self.emit(key, _Value(op, U8, a=a, i=value, reads=(a,)))
        _, (a, b) = self.operands(args, Type.FLOAT if as_float else Type.INT)
        return self.binary(f"{kind_name}{suffix}", U8, a, b)

    def between(self, kind_name: str, args: Sequence[Node]) -> int | None:
        """`low <= x <= high` (or `<`, `>=`, `>`) of an integer with integer literals at
        both ends: one unsigned comparison (`BETWEENK_I`) for the two and their `and`.
        None for anything else."""
        low, x, high = args
        if not (isinstance(low, Const) and isinstance(high, Const)) or x.type is not Type.INT:
            return None
        if type(low.value) is not int or type(high.value) is not int:
            return None
        if self.nullable_read(x) is not None:
            return None
        if kind_name in ("GE", "GT"):
            low, high = high, low
        if kind_name not in ("LE", "LT", "GE", "GT"):
            return None
        strict = kind_name in ("LT", "GT")
        least = int(low.value) + strict
        most = int(high.value) - strict
        if most < least:
            return self.constant(False, U8)
        span = most - least
        if span >= 2**53 or not -(2**63) <= least < 2**63:
            return None  # the span must be exact in the instruction's double
        a, op = self.value(x), "BETWEENK_I"
        narrow = self.narrowed(x, least, most)
        if narrow is not None:
            a, op = narrow[0], "BETWEENK" + narrow[1]
        return self.emit(
            (op, a, least, span), _Value(op, U8, a=a, i=least, f=float(span), reads=(a,))
        )

    def narrowed(self, var: Node, *literals: int) -> tuple[int, str] | None:
        """An integer feature read without a default, in the narrowest of 16 or 32 bits
        that holds its bounds and the literals it is compared with: its value (once per
        block) and the comparisons' suffix. None for anything else, and while the frame's
        check is lowered (it compares the full values)."""
        if self.wide or not isinstance(var, Var) or var.default is not None or var.nullable:
            return None
        feature = self.codes.features.get(var.name)
        if feature is None or feature.type is not Type.INT:
            return None
        if not isinstance(feature.low, int) or not isinstance(feature.high, int):
            return None
        for bits in (16, 32):
            least, most = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            values = (feature.low, feature.high, *literals)
            if all(least <= v <= most for v in values):
                a, op = self.value(var), f"NARROW_I{bits}"
                narrow = self.emit((op, a), _Value(op, f"i{bits}", a=a, reads=(a,)))
                return narrow, f"_I{bits}"
        return None

    def check(self, features: Sequence[Feature]) -> int:
        """The output marking (1) the rows with a value the contract does not allow: a
        number outside its bounds or NaN, a code outside its closed list. Nulls where a
        feature is not nullable are told by the columns' null counts, before running."""
        bad = self.output(pl.UInt8())
        self.wide = True  # the full values: a narrow copy of one outside its bounds wraps
        insides: list[tuple[int, int]] = []
        for feature in features:
            var = Var(feature.name, feature.type, feature.name, nullable=feature.nullable)
            inside: int | None = None
            if feature.type.is_numeric and feature.low is not None and feature.high is not None:
                number = int if feature.type is Type.INT else float
                low, high = (
                    Const(number(b), feature.type, feature.name)
                    for b in (feature.low, feature.high)
                )
                inside = self.compare("LE", [low, var, high])
            elif feature.values and self.codes.code(var) is None:
                # a closed list too long for codes: Polars checks it, the kernel reads that
                name = f"__lendmatch_kernel_invalid_{feature.name}"
                self.computed.setdefault(name, invalid(feature).cast(pl.UInt8).alias(name))
                inside = self.table(self.load(name, U8), [0])
            elif feature.values:
                read = self.nullable_read(var)
                inside = self.listed(self.code_of(var) if read is None else read[0])
            if inside is None:
                continue
            if inside in self.tri:  # a nullable feature: a null value is no violation
                inside = self.table(inside, [1, 2])
            insides.append((inside, 0))
        self.pack(insides, bad, 1)
        self.wide = False
        return bad

    def boolean_equality(self, kind_name: str, left: Node, right: Node) -> int:
        if kind_name not in _CONDITIONS:
            raise UnsupportedError
        for var, lit in ((left, right), (right, left)):
            if isinstance(lit, Const):
                wanted = [v for v in (False, True) if _CONDITIONS[kind_name](v, lit.value)]
                value = self.value(var)
                if value in self.tri:
                    raise UnsupportedError
                return self.table(value, [int(v) for v in wanted])
        raise UnsupportedError

    def truthy(self, arg: Node, *, negated: bool) -> int:
        if arg.type is Type.BOOL:
            value = self.value(arg)
            if value in self.tri:
                if not negated:
                    return value
                return self.unknown_where(
                    self.emit(("TNOT", value), _Value("TNOT", U8, a=value, reads=(value,))), True
                )
            return self.table(value, [0] if negated else [1])
        if not arg.type.is_numeric:
            raise UnsupportedError
        op = ("EQK" if negated else "NEK") + ("_F" if arg.type is Type.FLOAT else "_I")
        read = self.nullable_read(arg)
        a = self.value(arg) if read is None else read[0]
        out = self.emit((op, a, 0), _Value(op, U8, a=a, reads=(a,)))
        return out if read is None else self.masked(out, read[1])

    def table(self, value: int, true_for: Sequence[int]) -> int:
        """A byte mapped through a table: true for the bytes `true_for`."""
        if all(code < 32 for code in true_for):  # shifts of a mask, vectorised
            mask = sum(1 << code for code in set(true_for))
            return self.emit(
                ("TABLE32", value, mask), _Value("TABLE32", U8, a=value, i=mask, reads=(value,))
            )
        entries = bytearray(256)
        for code in true_for:
            entries[code] = 1
        place = self.tables.setdefault(bytes(entries), len(self.tables))
        return self.emit(
            ("TABLE", value, place), _Value("TABLE", U8, a=value, i=place, reads=(value,))
        )

    def coded(self, node: Call) -> int | None:
        """Equality with a string literal, or membership in a literal list, of a coded
        feature: its code through a table (the codes the Polars lowering compares)."""
        args, name = node.args, node.op.name
        if name == "in" and isinstance(args[1], ListConst):
            found = self.codes.code(args[0])
            if found is None:
                return None
            return self.membership(args[0], args[1].values)
        if name == "in" and isinstance(args[1], Const) and isinstance(args[1].value, str):
            found = self.codes.code(args[0])
            if found is None:
                return None
            text = args[1].value  # a substring of the literal: the values that are
            return self.code_table(args[0], [c for c, v in enumerate(found[1]) if v in text])
        if name not in ("==", "===", "!=", "!==") or len(args) != 2:
            return None
        for coded, other in (args, tuple(reversed(args))):
            found = self.codes.code(coded)
            if found is not None and isinstance(other, Const):
                values = found[1]
                equal = [values.index(other.value)] if other.value in values else []
                if name in ("==", "==="):
                    return self.code_table(coded, equal)
                return self.code_table(coded, [c for c in range(len(values)) if c not in equal])
        if any(a.type is Type.STR for a in args):
            raise UnsupportedError
        return None

    def membership(self, coded: Node, wanted: Sequence[Any]) -> int:
        found = self.codes.code(coded)
        assert found is not None
        values = found[1]
        return self.code_table(coded, [values.index(w) for w in wanted if w in values])

    def code_table(self, coded: Node, codes: Sequence[int]) -> int:
        found = self.codes.code(coded)
        assert found is not None and isinstance(coded, Var)
        # CODE_NONE (a string outside the list) never reaches the program: the frame
        # check refuses the frame first
        wanted = [c for c in codes if c != CODE_NONE]
        read = self.nullable_read(coded)
        if read is None:
            return self.table(self.code_of(coded), wanted)
        return self.masked(self.table(read[0], wanted), read[1])

    def member(self, node: Call) -> int:
        needle, haystack = node.args
        if isinstance(haystack, ListConst) and needle.type is Type.STR:
            return self.string_member(needle, haystack.values)
        if isinstance(haystack, Const) and isinstance(haystack.value, str):
            # a string in a literal string: one of its substrings (as the Polars lowering)
            if needle.type is not Type.STR:
                raise UnsupportedError
            return self.string_member(needle, sorted(substrings(haystack.value)))
        if not isinstance(haystack, ListConst) or needle.type is not Type.INT:
            raise UnsupportedError
        if not all(type(v) is int for v in haystack.values) or not haystack.values:
            raise UnsupportedError
        a = self.value(needle)
        out = -1
        for v in sorted(set(haystack.values)):
            equal = self.emit(("EQK_I", a, v), _Value("EQK_I", U8, a=a, i=int(v), reads=(a,)))
            out = equal if out < 0 else self.binary("OR", U8, out, equal)
        return out

    def string_member(self, needle: Node, values: Sequence[Any]) -> int:
        """A string feature (not coded) in a list of strings: its code in the list read
        as a closed list of its own (`CODE_STR`), a member where the code is not
        CODE_NONE; unknown where a nullable feature is null."""
        if not isinstance(needle, Var) or needle.default is not None:
            raise UnsupportedError
        wanted = sorted(set(values))
        if not all(isinstance(v, str) for v in wanted) or not 0 < len(wanted) < CODE_NONE:
            raise UnsupportedError  # another value: what Polars' `is_in` makes of it
        try:
            inside = self.listed(self.string_code(needle.name, wanted))
        except UnicodeEncodeError:  # a lone surrogate: left to Polars
            raise UnsupportedError from None
        return self.masked(inside, self.valid(needle.name)) if needle.nullable else inside

    def conditional(self, node: Call) -> int:
        args = node.args
        kind = self.kind_of(node)
        op = {U8: "SELECT_U8", I64: "SELECT_I", F64: "SELECT_F"}[kind]

        def branch(arg: Node) -> int:
            return self.as_float(arg) if kind == F64 else self.value(arg)

        if kind == I64 and any(a.type is Type.FLOAT for a in args[1::2] + args[-1:]):
            raise UnsupportedError  # pragma: no cover - typed FLOAT then
        out = branch(args[-1])
        for i in range(len(args) - 3, -1, -2):
            cond, then = self.value(args[i]), branch(args[i + 1])
            tri = {cond, then, out} & self.tri
            if tri and kind != U8:
                raise UnsupportedError  # pragma: no cover - a number that can be null
            step = "TSELECT" if tri else op  # unknown where the condition is
            out = self.emit(
                (step, cond, then, out),
                _Value(step, kind, a=cond, b=then, i=out, reads=(cond, then, out)),
            )
            self.unknown_where(out, bool(tri))
        return out

    def arithmetic(self, node: Call) -> int:
        name, args = node.op.name, node.args
        if name in ("+", "*"):
            kind, values = self.operands(args, node.type)
            return self.fold("ADD" if name == "+" else "MUL", kind, values)
        if name == "-":
            kind, values = self.operands(args, node.type)
            suffix = "_F" if kind == F64 else "_I"
            if len(values) == 1:
                a = values[0]
                return self.emit(("NEG" + suffix, a), _Value("NEG" + suffix, kind, a=a, reads=(a,)))
            return self.binary("SUB" + suffix, kind, *values)
        if name in ("min", "max"):
            # of floats: C and Polars may differ in the sign of a zero result, which no
            # rule the program covers can tell (it is compared, added, multiplied, or
            # divided by a non-zero literal; a division by it is null-guarded: Polars')
            kind, values = self.operands(args, node.type)
            op = name.upper() + ("_F" if kind == F64 else "_I")
            out = values[0]
            for value in values[1:]:
                out = self.binary(op, kind, out, value)
            return out
        divisor = args[1].value if len(args) == 2 and isinstance(args[1], Const) else 0
        if name in ("/", "%") and divisor and divisor == divisor:  # by a number, not 0 or NaN
            if name == "/":
                a = self.as_float(args[0])
                return self.emit(
                    ("DIVK_F", a, repr(float(divisor))),
                    _Value("DIVK_F", F64, a=a, f=float(divisor), reads=(a,)),
                )
            if node.type is Type.INT and type(divisor) is int and divisor != -1:
                a = self.value(args[0])
                return self.emit(
                    ("MODK_I", a, divisor), _Value("MODK_I", I64, a=a, i=divisor, reads=(a,))
                )
            if node.type is Type.FLOAT:
                a = self.as_float(args[0])
                return self.emit(
                    ("FMODK_F", a, repr(float(divisor))),
                    _Value("FMODK_F", F64, a=a, f=float(divisor), reads=(a,)),
                )
        raise UnsupportedError

    # -- registers ----------------------------------------------------------------------

    def allocate(self) -> tuple[bytes, bytes, int]:
        """The instructions and the PACKs' operands, each value in a register freed after
        its last read. Values of rules that turned out unsupported half way (nothing reads
        them) are dropped."""
        used = [False] * len(self.values)
        for index in range(len(self.values) - 1, -1, -1):
            value = self.values[index]
            if value.kind == "" or used[index]:
                used[index] = True
                for read in value.reads:
                    used[read] = True
        last: dict[int, int] = {}
        for index, value in enumerate(self.values):
            if used[index]:
                for read in value.reads:
                    last[read] = index
        free: list[int] = []
        registers = 0
        register: dict[int, int] = {}
        code = bytearray()
        pairs: list[int] = []
        for index, value in enumerate(self.values):
            if not used[index]:
                continue
            operands = [register[r] for r in value.reads]
            if value.bits:  # a pack: the bits of its values into an output
                code += _INSTRUCTION.pack(
                    OPCODES[value.op], value.dst, value.a, len(operands), len(pairs), 0.0
                )
                for operand, bit in zip(operands, value.bits, strict=True):
                    pairs += (operand, bit)
            elif value.kind == "":  # a store: its bit into an output
                code += _INSTRUCTION.pack(
                    OPCODES[value.op], value.dst, operands[0], value.b, value.i, value.f
                )
            else:
                # a register of its own, never one of its operands' (the kernel's loops
                # read and write through `restrict` pointers)
                if free:
                    dst = free.pop()
                else:
                    dst, registers = registers, registers + 1
                register[index] = dst
                a = operands[0] if operands else value.a
                b = operands[1] if len(operands) > 1 else value.b
                i = operands[2] if len(operands) > 2 else value.i
                code += _INSTRUCTION.pack(OPCODES[value.op], dst, a, b, i, value.f)
            for read in set(value.reads):
                if last[read] == index:
                    free.append(register[read])
        return bytes(code), struct.pack(f"<{len(pairs)}i", *pairs), registers


# A closed list of this many strings or more is looked up by a perfect hash of its keys
# (`_perfect_hash`): a lookup per row, where comparing each row with every string costs a
# pass per string (measured, one thread, 1M rows: the 2 markets 1.2 -> 0.8 ms, the 7
# employment types 2.7 -> 1.8 ms, 101 countries 9.7 -> 1.6 ms by the former hash table).
PERFECT_FROM = 2
_VOCABULARY_HEAD = 32  # count, slots, multiplier, longs: uint64 each
_ENTRY = struct.Struct("<QQQQ")  # a string's key (lo, hi), length, and start of its bytes
_NO_KEY = (0, 1)  # no view's key: a length of 0 and a byte past it
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = 2**64 - 1
# The largest table tried (the kernel's HASH_MAX_SLOTS): 8192 slots of 4 bytes, in cache.
MAX_SLOTS = 8192
SMALL_SLOTS = 16  # the kernel's: a table of this many slots or fewer is kept in registers


def _key(value: bytes) -> tuple[int, int]:
    """The key the kernel's `view_key` reads of a string's view: the view's two halves for an
    inline string (12 bytes or fewer, zero padded), for a longer one its length and first
    4 bytes, and zero."""
    size = len(value).to_bytes(4, "little")
    if len(value) > 12:
        return int.from_bytes(size + value[:4], "little"), 0
    view = size + value.ljust(12, b"\0")
    return int.from_bytes(view[:8], "little"), int.from_bytes(view[8:], "little")


def _key_hash(key: tuple[int, int], multiplier: int, bits: int) -> int:
    """The kernel's `key_hash`: the slot of a key of a table of 2**bits slots."""
    lo, hi = key
    return (((lo ^ ((hi * _GOLDEN) & _MASK64)) * multiplier) & _MASK64) >> (64 - bits)


def _multipliers() -> Iterator[int]:
    """Odd 64-bit multipliers to try, the same every time (splitmix64's sequence)."""
    state = 0
    while True:
        state = (state + _GOLDEN) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        yield (z ^ (z >> 31)) | 1


def _perfect_hash(keys: Sequence[tuple[int, int]]) -> tuple[int, int, list[int]] | None:
    """The slots, multiplier and table of a perfect hash of a closed list's keys, as the
    kernel's CODE_STR reads it: each key alone in its slot under the multiplier (a string
    listed twice at its last place, as the comparisons in turn find it), every other slot
    holding the count (the entry of no key). The smallest table (a power of two, of at least
    k^2 / 8 slots for k keys: under a fair share of multipliers they fall apart) in which one
    of a few multipliers tried holds them apart; a table of up to `SMALL_SLOTS` is kept in
    the processor's vector registers. None where no table of up to `MAX_SLOTS` is found
    (the list is read by comparing each row with every string)."""
    codes = {key: code for code, key in enumerate(keys)}
    bits = 2
    while (1 << bits) < max(len(codes), len(codes) ** 2 // 8):
        bits += 1
    while True:
        for multiplier in itertools.islice(_multipliers(), 64):
            table = [len(keys)] * (1 << bits)
            for key, code in codes.items():
                place = _key_hash(key, multiplier, bits)
                if table[place] != len(keys):
                    break
                table[place] = code
            else:
                return 1 << bits, multiplier, table
        if (1 << bits) >= MAX_SLOTS:
            return None
        bits += 1


_WIDTHS: dict[pl.DataType, int] = {pl.UInt8(): 1, pl.UInt16(): 2, pl.UInt32(): 4, pl.UInt64(): 8}


def _digest(node: Node) -> str:
    """A column name's part that tells nodes apart: the digest of the node's key."""
    return hashlib.sha256(repr(node_key(node)).encode()).hexdigest()[:20]


def _market() -> Var:
    return Var("market", Type.STR, "market")
