"""`lendmatch rescore`: what a rule change does to applications (a file, or the decision
store), a dry run unless `--apply`."""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from broker import (
    ACTIVE,
    CHUNK_ROWS,
    FILE_CHUNK_ROWS,
    BatchInputError,
    BatchOutputError,
    BatchRecorder,
    Engine,
    EngineUnavailableError,
    Impact,
    SnapshotMissingError,
    SnapshotTamperedError,
    count_applications,
    count_rows,
    local_engine,
    ray_engine,
    rescore_file,
    rescore_store,
)
from cli.options import (
    DEFAULT_RULES,
    EXIT_PROBLEM,
    EXIT_USAGE,
    RULES_HELP,
    RULESET_REFERENCE_HELP,
    load_or_exit,
    opened_store,
    ruleset_or_exit,
    stderr,
    stdout,
)

STORED = "stored"
"""The `--baseline` of `--from-db` that takes each application's stored decision."""


def rescore_command(
    rules: Path = typer.Option(
        DEFAULT_RULES, "--rules", "-r", help=f"The new rules. {RULES_HELP}", show_default=False
    ),
    applications: Path = typer.Option(
        None,
        "--input",
        "-i",
        help="Parquet file of applications: nested as `lendmatch generate` writes them, or a "
        "feature frame; either with an application_id column.",
    ),
    from_db: bool = typer.Option(
        False,
        "--from-db",
        help="Instead of --input: the applications of the decision store (DATABASE_URL), each "
        "with the features of its latest decision.",
    ),
    since: str = typer.Option(
        None,
        "--since",
        help="With --from-db: only applications whose latest decision was made on or after "
        "this day (YYYY-MM-DD, UTC).",
    ),
    lender: str = typer.Option(
        None,
        "--lender",
        help="With --from-db: only applications whose latest decision evaluated this lender.",
    ),
    baseline: str = typer.Option(
        None,
        "--baseline",
        "-b",
        help=f"The rules to compare with. {RULESET_REFERENCE_HELP} With --from-db also "
        f"`{STORED}` (the default there): each application's stored decision. Default for "
        f"--input: `{ACTIVE}`.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for changes.parquet and impact.json (created)."
    ),
    on: str = typer.Option(None, "--on", help="Decision date YYYY-MM-DD (default today)."),
    strict: bool = typer.Option(
        False, "--strict", help="Stop at the first row that fails validation (default: reject it)."
    ),
    apply: bool = typer.Option(
        False,
        "--apply/--dry-run",
        help="Record a batch decision under the new rules for each application whose outcome "
        "changed (DATABASE_URL); an interrupted run started again resumes.",
    ),
    everything: bool = typer.Option(
        False, "--all", help="With --apply: record every application, changed or not."
    ),
    chunk_rows: int = typer.Option(
        None,
        "--chunk-rows",
        min=1,
        help=f"Applications read and scored at a time (default {FILE_CHUNK_ROWS:,} from a "
        f"file, {CHUNK_ROWS:,} from the store).",
        show_default=False,
    ),
    engine: str = typer.Option(
        "local", "--engine", help="local (this process) or ray (Ray Data; the ray extra)."
    ),
    ray_address: str = typer.Option(
        None,
        "--ray-address",
        help="With --engine ray: the cluster to join (default: a local Ray for the run).",
    ),
    ray_cpus: int = typer.Option(
        2, "--ray-cpus", min=1, help="With --engine ray and no address: CPUs of the local Ray."
    ),
) -> None:
    """Score every application (of a Parquet file, or with --from-db the latest decision of
    each application in the decision store) under the new rules and the baseline (with
    --from-db by default the stored decisions themselves), and write what changed:
    changes.parquet (per application and lender whose outcome changed: before, after, the
    failed and unknown requirements on both sides), rejects.parquet (rows that fail
    validation, with the reason) and impact.json (per lender: eligible before and after,
    newly eligible, newly rejected, the requirements behind the change). A file with a
    missing or mistyped column is refused before any work. By default a dry run; with
    --apply each changed application (with --all, each application) gets a batch decision
    under the new rules, committed in chunks, so a run killed midway and started again
    records each application once. Exit 1 on a bad input or rules, 3 if the store is needed
    and cannot be reached."""
    err = stderr()
    when = _date_or_exit("--on", on, err) or dt.date.today()
    since_day = _date_or_exit("--since", since, err)
    if (applications is None) == (not from_db):
        err.print("give either --input FILE or --from-db", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if not from_db and (since_day is not None or lender is not None):
        err.print("--since and --lender select stored applications: they need --from-db")
        raise typer.Exit(EXIT_USAGE)
    if baseline == STORED and not from_db:
        err.print(f"--baseline {STORED} needs --from-db", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    new = load_or_exit(rules, err)
    reference = baseline or (STORED if from_db else ACTIVE)
    old = None if reference == STORED else ruleset_or_exit(reference, err)
    if everything and not apply:
        err.print("--all records decisions: it needs --apply", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if engine not in ("local", "ray"):
        err.print(f"--engine must be local or ray, got {engine!r}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if engine == "ray" and from_db:
        err.print("--from-db runs on the local engine (not with --engine ray)", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    scorer: Engine = local_engine
    if engine == "ray":
        try:
            scorer = ray_engine(
                ray_address,
                num_cpus=ray_cpus,
                send_features=("all" if everything else "changed") if apply else "none",
            )
        except EngineUnavailableError as error:
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(EXIT_PROBLEM) from None
    with ExitStack() as stack:
        store = stack.enter_context(opened_store()) if apply or from_db else None
        recorder = None
        if apply and store is not None:
            recorder = BatchRecorder(store, new, everything=everything)
        try:
            if store is not None and from_db:
                total = count_applications(store, since=since_day, lender_id=lender)
                with _progress(err, total) as advance:
                    impact = rescore_store(
                        store,
                        new,
                        old,
                        on=when,
                        out=out,
                        since=since_day,
                        lender_id=lender,
                        strict=strict,
                        chunk_rows=chunk_rows or CHUNK_ROWS,
                        progress=advance,
                        record=recorder,
                    )
            elif applications is not None and old is not None:  # always, given the checks above
                total = count_rows(applications)
                with _progress(err, total) as advance:
                    impact = rescore_file(
                        applications,
                        new,
                        old,
                        on=when,
                        out=out,
                        strict=strict,
                        chunk_rows=chunk_rows or FILE_CHUNK_ROWS,
                        progress=advance,
                        record=recorder,
                        engine=scorer,
                    )
            else:
                raise typer.Exit(EXIT_USAGE)
        except (
            BatchInputError,
            BatchOutputError,
            SnapshotMissingError,
            SnapshotTamperedError,
        ) as error:
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(EXIT_PROBLEM) from None
    _summary(stdout(), impact, out)
    if recorder is not None:
        stdout().print(
            f"recorded {recorder.recorded} batch decisions under {new.hash[:12]} "
            f"({recorder.skipped} already recorded by an earlier run; {recorder.restricted} "
            "skipped: processing restricted)",
            highlight=False,
        )


def _date_or_exit(option: str, value: str | None, err: Console) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err.print(f"{option} must be a date YYYY-MM-DD, got {value!r}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s")


class _progress:  # noqa: N801 - used as a function: `with _progress(console, total) as advance`
    """A progress bar on a terminal (rows, rows/s, time left), one plain line per chunk
    otherwise; entered, it gives the function to call with the rows of each chunk."""

    def __init__(self, console: Console, total: int) -> None:
        self._console = console
        self._total = total
        self._done = 0
        self._started = time.monotonic()
        self._bar = Progress(
            TextColumn("rescoring"),
            BarColumn(),
            MofNCompleteColumn(),
            _RowsPerSecond(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = self._bar.add_task("rescore", total=total)

    def __enter__(self) -> _progress:
        if self._console.is_terminal:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.stop()

    def __call__(self, rows: int) -> None:
        self._done += rows
        if self._console.is_terminal:
            self._bar.advance(self._task, rows)
            return
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self._done / elapsed
        left = (self._total - self._done) / rate if rate else 0.0
        self._console.print(
            f"rescoring: {self._done}/{self._total} rows, {rate:,.0f} rows/s, {left:.0f} s left",
            highlight=False,
        )


def _summary(out: Console, impact: Impact, folder: Path) -> None:
    table = Table(title=f"{impact.baseline_hash[:12]} -> {impact.new_hash[:12]}")
    for column in ("lender", "eligible before", "eligible after", "newly eligible"):
        if column == "lender":
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, justify="right")
    table.add_column("newly rejected", justify="right")
    for lender_id, counts in sorted(impact.counts.items()):
        table.add_row(
            lender_id,
            str(counts.eligible_before),
            str(counts.eligible_after),
            str(counts.newly_eligible),
            str(counts.newly_rejected),
        )
    out.print(table)
    out.print(
        f"{impact.applications} applications, {impact.rejected_rows} rejected rows, "
        f"{impact.changes} changed outcomes -> {folder}",
        highlight=False,
    )
