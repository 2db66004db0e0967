"""`lendmatch match`: every application of a Parquet file against every lender."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli import app
from api.cli_rules import DEFAULT_RULES, LANGS, load_or_exit
from matcher import match, to_long
from matcher.explain import explain_frame

CHUNK_ROWS = 250_000


@app.command("match")
def match_command(
    applications: Path = typer.Argument(
        ..., help="Parquet file of applications (`lendmatch generate`)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write the outcomes to."),
    explain: bool = typer.Option(False, "--explain", help="Add each lender's reasons."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the reasons: en, nb or sv."),
    rules: Path = typer.Option(DEFAULT_RULES, "--rules", "-r", help="Lender rule files."),
    on: str = typer.Option(None, "--on", help="Decision date YYYY-MM-DD (default today)."),
) -> None:
    """Evaluate every application against every lender of its market and write, per
    application and lender: eligible, the failed and unknown bitmasks (bit i = requirement
    i of the lender, in file order) and, with --explain, the reasons."""
    err = Console(stderr=True, soft_wrap=True)
    if lang not in LANGS:
        err.print(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
        raise typer.Exit(2)
    try:
        when = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        err.print(f"--on must be a date YYYY-MM-DD, got {on!r}")
        raise typer.Exit(2) from None
    ruleset = load_or_exit(rules, err)
    if not applications.is_file():
        err.print(f"{applications}: no such file")
        raise typer.Exit(1)
    try:
        total = pl.scan_parquet(applications).select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as e:
        err.print(f"{applications}: not a readable Parquet file ({e})")
        raise typer.Exit(1) from None
    results: list[pl.DataFrame] = []
    progress = Progress(
        TextColumn("matching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    with progress:
        task = progress.add_task("match", total=total)
        for start in range(0, total, CHUNK_ROWS):
            chunk = pl.scan_parquet(applications).slice(start, CHUNK_ROWS)
            try:
                wide = match(chunk, ruleset, on=when)
            except pl.exceptions.PolarsError as e:
                err.print(f"{applications}: rows {start}..{start + CHUNK_ROWS}: {e}")
                raise typer.Exit(1) from None
            results.append(
                explain_frame(wide, ruleset, lang) if explain else to_long(wide, ruleset)
            )
            progress.advance(task, min(CHUNK_ROWS, total - start))
    outcomes = pl.concat(results) if results else pl.DataFrame()
    tmp = out.with_name(out.name + ".partial")
    try:
        outcomes.write_parquet(tmp)
        tmp.replace(out)
    except OSError as e:
        err.print(f"{out}: cannot write ({e})")
        raise typer.Exit(1) from None
    eligible = outcomes["eligible"].sum() if len(outcomes) else 0
    Console().print(
        f"{total} applications, {len(outcomes)} lender outcomes, {eligible} eligible "
        f"-> {out} (ruleset {ruleset.hash[:12]})",
        highlight=False,
    )
