"""The streaming batch loop: a Parquet file of applications worked through chunk by chunk.

`chunks` is the loop every batch workflow shares: each chunk of `chunk_rows` applications is
scanned lazily from the file (only its row groups are read), so memory is bounded by the chunk
whatever the file's size; an error in a chunk names the file and the rows. `match_file` matches
each chunk against every lender of its market (`matcher.match`), one row per (application,
lender): eligible, the failed and unknown bitmasks and, when a language is given, the reasons;
re-scoring (`broker.rescoring`) evaluates each chunk under two rulesets. Results are written
next to their destination and renamed into place, so a failure leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from broker.errors import BatchInputError, BatchOutputError
from lender_rules.vocabulary import Language
from matcher import FeatureFrameError, Ruleset, explain_frame, match, to_long

CHUNK_ROWS = 250_000
"""Rows per chunk of a batch over the decision store's pages and of `match_file`."""
FILE_CHUNK_ROWS = 1_000_000
"""Rows per chunk when re-scoring a Parquet file: fewer, larger chunks cost less per row
(the per-chunk plan and comparison set-up), and a chunk of 1M still peaks near 1.2 GB."""


def count_rows(applications: Path) -> int:
    """How many applications a Parquet file holds; `BatchInputError` if it cannot be read."""
    if not applications.is_file():
        raise BatchInputError(applications, "no such file")
    try:
        return int(pl.scan_parquet(applications).select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as error:
        raise BatchInputError(applications, f"not a readable Parquet file ({error})") from None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows `start` .. `start + rows` of a Parquet file, scanned lazily."""

    path: Path
    start: int
    rows: int
    frame: pl.LazyFrame

    def error(self, error: Exception) -> BatchInputError:
        """`error` met while working on this chunk, as an input error naming file and rows."""
        return BatchInputError(self.path, f"rows {self.start}..{self.start + self.rows}: {error}")


def chunks(applications: Path, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """The file's rows in chunks of at most `chunk_rows`, in file order."""
    total = count_rows(applications)
    for start in range(0, total, chunk_rows):
        rows = min(chunk_rows, total - start)
        yield Chunk(applications, start, rows, pl.scan_parquet(applications).slice(start, rows))


def match_file(
    applications: Path,
    ruleset: Ruleset,
    *,
    on: dt.date,
    language: Language | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] = lambda rows: None,
) -> pl.DataFrame:
    """Every application of the file against every lender of its market, one row per
    (application, lender); with `language`, each lender's reasons in it.

    `progress(rows)` is called after each chunk with the rows it held.
    """
    results: list[pl.DataFrame] = []
    for chunk in chunks(applications, chunk_rows=chunk_rows):
        try:
            wide = match(chunk.frame, ruleset, on=on)
        except (pl.exceptions.PolarsError, FeatureFrameError) as error:
            raise chunk.error(error) from None
        results.append(
            explain_frame(wide, ruleset, language) if language else to_long(wide, ruleset)
        )
        progress(chunk.rows)
    return pl.concat(results) if results else pl.DataFrame()


def write_atomically(frame: pl.DataFrame, out: Path) -> None:
    """Write `frame` to a temporary file next to `out`, then rename it into place."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # same directory: atomic rename
    try:
        frame.write_parquet(temporary)
        os.replace(temporary, out)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BatchOutputError(out, f"could not write: {error.strerror or error}") from None


class ChunkParts:
    """A result written chunk by chunk, in order, as the row groups of one Parquet file next
    to `out` (pyarrow's streaming writer: nothing is read back or written twice), renamed
    into place by `finish`; `discard` removes it."""

    def __init__(self, out: Path, schema: pl.Schema) -> None:
        self._out = out
        self._schema = schema
        self._temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        self._writer: Any = None
        self.rows = 0
        for stale in out.parent.glob(f".{out.name}.*.tmp"):  # left by a run that was killed
            stale.unlink(missing_ok=True)

    def add(self, start: int, frame: pl.DataFrame) -> None:
        """Append the rows of the chunk starting at row `start` (chunks come in file order)."""
        if not frame.height:
            return
        table = frame.to_arrow()
        try:
            if self._writer is None:
                # imported here: only batch runs pay for it; pyarrow ships no type hints
                import pyarrow.parquet  # type: ignore[import-untyped]

                self._writer = pyarrow.parquet.ParquetWriter(
                    self._temporary, table.schema, compression="zstd"
                )
            self._writer.write_table(table)
        except OSError as error:
            self.discard()
            raise BatchOutputError(
                self._out, f"could not write: {error.strerror or error}"
            ) from None
        self.rows += frame.height

    def finish(self) -> None:
        """Close the file (an empty one with the schema when no rows came) and rename it to
        `out`."""
        try:
            if self._writer is None:
                self._schema.to_frame().write_parquet(self._temporary)
            else:
                self._writer.close()
                self._writer = None
            os.replace(self._temporary, self._out)
        except OSError as error:
            raise BatchOutputError(
                self._out, f"could not write: {error.strerror or error}"
            ) from None
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove what was written (nothing, once `finish` has renamed it)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._temporary.unlink(missing_ok=True)
