"""`lendmatch generate`: write synthetic loan applications to a Parquet file."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

import matcher
from broker import BatchOutputError, write_atomically
from cli.options import EXIT_PROBLEM
from matcher import EARLIEST_DECISION_YEAR, LATEST_DECISION_YEAR


def _check_out(out: Path) -> None:
    """Refuse an output path that cannot be written, naming it, before any work is done."""
    if out.suffix != ".parquet":
        raise typer.BadParameter(f"{out}: the file name must end in .parquet", param_hint="--out")
    if out.is_dir():
        raise typer.BadParameter(f"{out}: is a directory, not a file", param_hint="--out")
    parent = out.parent
    if not parent.is_dir():
        raise typer.BadParameter(f"{parent}: no such directory", param_hint="--out")
    if not os.access(parent, os.W_OK):
        raise typer.BadParameter(f"{parent}: the directory is not writable", param_hint="--out")


def generate(
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="The Parquet file to write (replaced if it exists).",
        show_default=False,
    ),
    n: int = typer.Option(100_000, "--n", "-n", min=0, help="How many applications to make."),
    seed: int = typer.Option(
        0, "--seed", min=0, help="Random seed: the same seed (and --on) gives the same file."
    ),
    on: datetime | None = typer.Option(
        None,
        "--on",
        formats=["%Y-%m-%d"],
        help="Decision date (YYYY-MM-DD): ages and national ids are valid on it. Default: today.",
        show_default=False,
    ),
) -> None:
    """Write N realistic synthetic loan applications to a Parquet file.

    Each row is one application in the nested shape the HTTP API accepts (market, applicant,
    co_applicant or null, loan, household as struct columns) plus a unique application_id.
    Both markets (NO, SE) about half each, a third with a co-applicant, valid fødselsnummer
    and personnummer (some D-numbers and samordningsnummer), made-up names and example.*
    e-mail addresses: no real person's data.

    Example: lendmatch generate --n 1000000 --seed 7 --out apps.parquet --on 2026-11-25

    Read it back with polars.read_parquet, or score it with `lendmatch match`.
    """
    err = Console(stderr=True)
    _check_out(out)
    decision_date = on.date() if on is not None else date.today()
    if not EARLIEST_DECISION_YEAR <= decision_date.year <= LATEST_DECISION_YEAR:
        raise typer.BadParameter(
            f"{decision_date}: must be in the years {EARLIEST_DECISION_YEAR}-"
            f"{LATEST_DECISION_YEAR} (the centuries national ids can express)",
            param_hint="--on",
        )
    started = time.perf_counter()
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("generating", total=n)
        frame = matcher.generate(
            n,
            seed,
            decision_date,
            progress=lambda done, _total: progress.update(task, completed=done),
        )
        progress.update(task, description=f"writing {escape(str(out))}")
        try:
            write_atomically(frame, out)
        except BatchOutputError as e:
            err.print(str(e), markup=False, highlight=False)
            raise typer.Exit(EXIT_PROBLEM) from e
    seconds = time.perf_counter() - started
    typer.echo(
        f"Wrote {n:,} applications to {out} "
        f"(seed {seed}, decision date {decision_date.isoformat()}) in {seconds:.1f} s"
    )
