"""The streaming batch loop: a Parquet file of applications matched chunk by chunk.

Each chunk of `chunk_rows` applications is scanned lazily from the file, matched against every
lender of its market (`matcher.match`), and turned into one row per (application, lender):
eligible, the failed and unknown bitmasks and, when a language is given, the reasons. The
caller sees progress after each chunk; the result is written next to its destination and
renamed into place, so a failure leaves no half-written file.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

from broker.errors import BatchInputError, BatchOutputError
from lender_rules.vocabulary import Language
from matcher import FeatureFrameError, Ruleset, explain_frame, match, to_long

CHUNK_ROWS = 250_000


def count_rows(applications: Path) -> int:
    """How many applications a Parquet file holds; `BatchInputError` if it cannot be read."""
    if not applications.is_file():
        raise BatchInputError(applications, "no such file")
    try:
        return int(pl.scan_parquet(applications).select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as error:
        raise BatchInputError(applications, f"not a readable Parquet file ({error})") from None


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
    total = count_rows(applications)
    results: list[pl.DataFrame] = []
    for start in range(0, total, chunk_rows):
        chunk = pl.scan_parquet(applications).slice(start, chunk_rows)
        try:
            wide = match(chunk, ruleset, on=on)
        except (pl.exceptions.PolarsError, FeatureFrameError) as error:
            raise BatchInputError(
                applications, f"rows {start}..{start + chunk_rows}: {error}"
            ) from None
        results.append(
            explain_frame(wide, ruleset, language) if language else to_long(wide, ruleset)
        )
        progress(min(chunk_rows, total - start))
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
