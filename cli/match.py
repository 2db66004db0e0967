"""`lendmatch match`: every application of a Parquet file against every lender."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from broker import BatchInputError, BatchOutputError, count_rows, match_file, write_atomically
from cli.options import (
    DEFAULT_LANGUAGE,
    DEFAULT_RULES,
    EXIT_PROBLEM,
    EXIT_USAGE,
    LANGUAGE_HELP,
    RULES_HELP,
    language_or_exit,
    load_or_exit,
    stderr,
    stdout,
)


def match_command(
    applications: Path = typer.Argument(
        ..., help="Parquet file of applications (`lendmatch generate`)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write the outcomes to."),
    explain: bool = typer.Option(False, "--explain", help="Add each lender's reasons."),
    lang: str = typer.Option(DEFAULT_LANGUAGE, "--lang", "-l", help=LANGUAGE_HELP),
    rules: Path = typer.Option(DEFAULT_RULES, "--rules", "-r", help=RULES_HELP, show_default=False),
    on: str = typer.Option(None, "--on", help="Decision date YYYY-MM-DD (default today)."),
) -> None:
    """Evaluate every application against every lender of its market and write, per
    application and lender: eligible, the failed and unknown bitmasks (bit i = requirement
    i of the lender, in file order) and, with --explain, the reasons."""
    err = stderr()
    language = language_or_exit(lang, err)
    try:
        when = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        err.print(f"--on must be a date YYYY-MM-DD, got {on!r}")
        raise typer.Exit(EXIT_USAGE) from None
    ruleset = load_or_exit(rules, err)
    progress = Progress(
        TextColumn("matching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    )
    try:
        total = count_rows(applications)
        with progress:
            task = progress.add_task("match", total=total)
            outcomes = match_file(
                applications,
                ruleset,
                on=when,
                language=language if explain else None,
                progress=lambda rows: progress.advance(task, rows),
            )
        write_atomically(outcomes, out)
    except (BatchInputError, BatchOutputError) as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(EXIT_PROBLEM) from None
    eligible = outcomes["eligible"].sum() if len(outcomes) else 0
    stdout().print(
        f"{total} applications, {len(outcomes)} lender outcomes, {eligible} eligible "
        f"-> {out} (ruleset {ruleset.hash[:12]})",
        highlight=False,
    )
