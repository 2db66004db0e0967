"""`lendmatch audit ...`: verify the store, keep signed checkpoints, print the head, reproduce.

Each command that reads the store opens it at DATABASE_URL (an SQLite file by default) and
migrates its schema first. Exit codes: 0 all good, 1 the check found a problem (or a
checkpoint was refused), 2 a bad option or a missing key, 3 the store could not be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer

import broker
from audit import (
    AuditReport,
    Checkpoint,
    CheckpointError,
    CheckpointKeyError,
    Store,
    checkpoint_public_key,
    new_checkpoint_keys,
    newest_checkpoint,
    write_checkpoint,
)
from cli.options import EXIT_PROBLEM, EXIT_USAGE, opened_store

app = typer.Typer(
    help=(
        "Check the decision store: verify everything a decision depends on, keep signed "
        "checkpoints of its heads, print the head, reproduce decisions."
    ),
    no_args_is_help=True,
)

DIR_HELP = "Folder of checkpoints (default: LENDMATCH_CHECKPOINT_DIR)."


@contextmanager
def _checkpoint_errors() -> Iterator[None]:
    """A bad key is a usage error (exit 2); a checkpoint that is wrong is a problem (exit 1)."""
    try:
        yield
    except CheckpointKeyError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    except CheckpointError as error:
        typer.echo(f"FAILED: {error}", err=True)
        raise typer.Exit(EXIT_PROBLEM) from error


def _trusted_public_key(given: str | None) -> str | None:
    """The public key to trust: the option, the setting, or the private key's own."""
    settings = broker.get_settings()
    if given is not None:
        return given
    if settings.checkpoint_public_key is not None:
        return settings.checkpoint_public_key
    if settings.checkpoint_key is not None:
        return checkpoint_public_key(settings.checkpoint_key.get_secret_value())
    return None


def _newest(directory: Path | None, public_key: str | None) -> Checkpoint | None:
    """The newest checkpoint of `directory` whose signature holds; exit 1 on a refused one,
    2 when there is no key to check it with."""
    if directory is None:
        return None
    with _checkpoint_errors():
        key = _trusted_public_key(public_key)
        if key is None:
            typer.echo(
                "error: checking checkpoints needs the public key: --public-key or "
                "LENDMATCH_CHECKPOINT_PUBLIC_KEY",
                err=True,
            )
            raise typer.Exit(EXIT_USAGE)
        return newest_checkpoint(directory, key)


def _verify(store: Store, checkpoint: Checkpoint | None) -> AuditReport:
    """Verify the store (against `checkpoint`); print every problem and exit 1 on any."""
    report = store.verify(None if checkpoint is None else checkpoint.heads)
    if report.ok:
        return report
    chain = report.chain
    if not chain.ok:
        where = "the log" if chain.first_bad_seq is None else f"record {chain.first_bad_seq}"
        if chain.first_bad_decision_id is not None:
            where += f" (decision {chain.first_bad_decision_id})"
        typer.echo(
            f"FAILED at {where}: {chain.reason} ({chain.checked} records verified before it)",
            err=True,
        )
    for finding in report.findings:
        typer.echo(f"FAILED at {finding.where}: {finding.reason}", err=True)
    if checkpoint is not None:
        typer.echo(f"(checked against checkpoint {checkpoint.path})", err=True)
    raise typer.Exit(EXIT_PROBLEM)


@app.command()
def verify(
    head: str | None = typer.Option(
        None,
        "--head",
        metavar="DIGEST",
        help="A head printed earlier by `lendmatch audit head` (`<seq>:<hash>`) and kept "
        "outside the database; the log must still contain it unchanged.",
    ),
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        metavar="DIR",
        help=f"Check the log against the newest signed checkpoint here. {DIR_HELP}",
    ),
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        metavar="KEY",
        help="The public key checkpoints must be signed with (default: "
        "LENDMATCH_CHECKPOINT_PUBLIC_KEY).",
    ),
) -> None:
    """Verify everything a decision depends on; exit 1 naming each problem found.

    The decision chain (the first changed, removed or reordered record), every ruleset
    snapshot against its hash, the activations, every personal payload against its record's
    digest (a missing one is an error unless its erasure is recorded), the erasures, and,
    with a checkpoint folder, the log against the newest signed checkpoint.
    """
    directory = checkpoints or broker.get_settings().checkpoint_dir
    checkpoint = _newest(directory, public_key)
    with opened_store() as store:
        report = _verify(store, checkpoint)
        kept = None if head is None else store.decisions.verify(head)
    if kept is not None and not kept.ok:
        where = "the log" if kept.first_bad_seq is None else f"record {kept.first_bad_seq}"
        if kept.first_bad_decision_id is not None:
            where += f" (decision {kept.first_bad_decision_id})"
        typer.echo(f"FAILED at {where}: {kept.reason} (checked against --head)", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    against = (
        ""
        if checkpoint is None
        else f"; holds checkpoint {checkpoint.path.name} (record {checkpoint.decision_seq})"
    )
    typer.echo(
        f"ok: {report.chain.checked} records verified, head {report.heads.decisions}; "
        f"{report.snapshots} ruleset snapshots, {report.activations} activations, "
        f"{report.payloads} personal payloads ({report.erased} erased), "
        f"{report.subject_requests} subject requests, {report.redacted} records redacted{against}"
    )
    for redaction in report.redactions:
        typer.echo(f"  {redaction.records} redacted on {redaction.day}: {redaction.reason}")


@app.command()
def checkpoint(
    directory: Path | None = typer.Option(None, "--dir", metavar="DIR", help=DIR_HELP),
) -> None:
    """Verify the store, then write a signed checkpoint of its heads (sequence, head hash,
    time) to the checkpoint folder; signed with LENDMATCH_CHECKPOINT_KEY.

    Nothing is written if the store does not verify, or does not hold the newest checkpoint
    already there. Run it from cron; keep the folder off the database's machine.
    """
    settings = broker.get_settings()
    directory = directory or settings.checkpoint_dir
    if directory is None:
        typer.echo("error: no checkpoint folder: --dir or LENDMATCH_CHECKPOINT_DIR", err=True)
        raise typer.Exit(EXIT_USAGE)
    if settings.checkpoint_key is None:
        typer.echo(
            "error: LENDMATCH_CHECKPOINT_KEY is not set (make a key pair with "
            "`lendmatch audit keygen`)",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    private_key = settings.checkpoint_key.get_secret_value()
    previous = _newest(directory, None) if directory.is_dir() else None
    with opened_store() as store:
        report = _verify(store, previous)
    with _checkpoint_errors():
        written = write_checkpoint(directory, report.heads, private_key, now=datetime.now(UTC))
    typer.echo(f"checkpoint {written.path}: record {written.decision_seq}")


@app.command()
def keygen() -> None:
    """Make an Ed25519 key pair for checkpoints and print both as environment settings.

    LENDMATCH_CHECKPOINT_KEY (secret) goes to the machine that runs `lendmatch audit
    checkpoint`; LENDMATCH_CHECKPOINT_PUBLIC_KEY goes to whoever verifies, kept where the
    database's users cannot change it.
    """
    private_key, public_key = new_checkpoint_keys()
    typer.echo(f"LENDMATCH_CHECKPOINT_KEY={private_key}")
    typer.echo(f"LENDMATCH_CHECKPOINT_PUBLIC_KEY={public_key}")


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
    checked = mismatches = redacted = 0
    with opened_store() as store:
        for result in broker.reproduce(store):
            if result.redacted:
                redacted += 1
                continue
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
    typer.echo(
        f"ok: {checked} decisions reproduce their stored bitmasks; {redacted} redacted "
        "decisions skipped (their features were erased)"
    )
