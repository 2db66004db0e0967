"""`lendmatch audit ...`: verify the hash chain, print its head, reproduce stored decisions.

Each command opens the decision store at DATABASE_URL (an SQLite file by default) and
migrates its schema first. Exit codes: 0 all good, 1 the check found a problem, 3 the store
could not be reached.
"""

from __future__ import annotations

import typer

import broker
from cli.options import EXIT_PROBLEM, opened_store

app = typer.Typer(
    help="Check the decision log: verify its hash chain, print its head, reproduce decisions.",
    no_args_is_help=True,
)


@app.command()
def verify(
    head: str | None = typer.Option(
        None,
        "--head",
        metavar="DIGEST",
        help="A head printed earlier by `lendmatch audit head` (`<seq>:<hash>`) and kept "
        "outside the database; the log must still contain it unchanged.",
    ),
) -> None:
    """Verify the hash chain; exit 1 naming the first changed, removed or reordered record."""
    with opened_store() as store:
        report = store.decisions.verify(head)
    if report.ok:
        typer.echo(f"ok: {report.checked} records verified, head {report.head}")
        return
    where = "the log" if report.first_bad_seq is None else f"record {report.first_bad_seq}"
    if report.first_bad_decision_id is not None:
        where += f" (decision {report.first_bad_decision_id})"
    typer.echo(
        f"FAILED at {where}: {report.reason} ({report.checked} records verified before it)",
        err=True,
    )
    raise typer.Exit(EXIT_PROBLEM)


@app.command()
def head() -> None:
    """Print the chain head (`<seq>:<hash>`); keep it outside the database for `verify --head`."""
    with opened_store() as store:
        typer.echo(store.decisions.head())


@app.command()
def reproduce() -> None:
    """Re-evaluate every stored decision under its stored ruleset; exit 1 on any mismatch.

    Each decision's stored feature row is evaluated again under the ruleset snapshot stored
    for its ruleset hash, and must give exactly the stored failed and unknown bitmasks.
    """
    checked = mismatches = 0
    with opened_store() as store:
        for result in broker.reproduce(store):
            checked += 1
            if result.problem is not None:
                mismatches += 1
                stored = result.stored
                typer.echo(
                    f"MISMATCH record {stored.seq} (decision {stored.decision_id}, ruleset "
                    f"{stored.ruleset_hash[:12]}): {result.problem}",
                    err=True,
                )
    if mismatches:
        typer.echo(f"FAILED: {mismatches} of {checked} decisions do not reproduce", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"ok: {checked} decisions reproduce their stored bitmasks")
