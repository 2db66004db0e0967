"""`lendmatch audit ...` (verify, head, reproduce) and `lendmatch keys ...` (add, revoke).

Each command opens the decision store at DATABASE_URL (an SQLite file by default) and
migrates its schema first. Exit codes: 0 all good, 1 the check found a problem, 3 the store
could not be reached.
"""

from __future__ import annotations

import enum
from typing import Any

import typer

import matcher
from api.cli import app
from api.settings import get_settings
from audit import DecisionStore, StoredDecision, StoreUnavailable, open_store
from lender_rules.errors import RulesetError

EXIT_PROBLEM = 1
EXIT_STORE_UNAVAILABLE = 3

audit_app = typer.Typer(
    help="Check the decision log: verify its hash chain, print its head, reproduce decisions.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")


class KeyRole(enum.StrEnum):
    """What an API key may do."""

    frontend = "frontend"
    admin = "admin"


def _open() -> DecisionStore:
    try:
        return open_store(get_settings().database_url)
    except StoreUnavailable as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_STORE_UNAVAILABLE) from error


def _fail_unavailable(error: StoreUnavailable) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_STORE_UNAVAILABLE)


@audit_app.command()
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
    store = _open()
    try:
        report = store.verify(head)
    except StoreUnavailable as error:
        raise _fail_unavailable(error) from error
    finally:
        store.dispose()
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


@audit_app.command()
def head() -> None:
    """Print the chain head (`<seq>:<hash>`); keep it outside the database for `verify --head`."""
    store = _open()
    try:
        typer.echo(store.head())
    except StoreUnavailable as error:
        raise _fail_unavailable(error) from error
    finally:
        store.dispose()


def _outcome_map(outcomes: Any) -> dict[str, tuple[int, int]]:
    return {str(lender): (int(failed), int(unknown)) for lender, failed, unknown in outcomes}


def _difference(stored: StoredDecision, ruleset: matcher.Ruleset) -> str | None:
    """None if re-evaluating the stored features gives the stored bitmasks, else what differs."""
    again = matcher.evaluate(stored.features, ruleset)
    want = _outcome_map(stored.outcomes)
    got = _outcome_map((o.lender_id, o.failed, o.unknown) for o in again)
    if want == got:
        return None
    parts = []
    for lender in sorted(want.keys() | got.keys()):
        if want.get(lender) != got.get(lender):
            parts.append(f"{lender}: stored {want.get(lender)}, now {got.get(lender)}")
    return "; ".join(parts)


@audit_app.command()
def reproduce() -> None:
    """Re-evaluate every stored decision under its stored ruleset; exit 1 on any mismatch.

    Each decision's stored feature row is evaluated again under the ruleset snapshot stored
    for its ruleset hash, and must give exactly the stored failed and unknown bitmasks.
    """
    store = _open()
    rulesets: dict[str, matcher.Ruleset | str] = {}
    checked = mismatches = 0
    try:
        for stored in store.iter_decisions():
            if stored.ruleset_hash not in rulesets:
                snapshot = store.ruleset_snapshot(stored.ruleset_hash)
                if snapshot is None:
                    rulesets[stored.ruleset_hash] = "its ruleset snapshot is not stored"
                else:
                    try:
                        rulesets[stored.ruleset_hash] = matcher.ruleset_from_snapshot(snapshot)
                    except RulesetError as error:
                        rulesets[stored.ruleset_hash] = f"its ruleset does not load: {error}"
            ruleset = rulesets[stored.ruleset_hash]
            problem = ruleset if isinstance(ruleset, str) else _difference(stored, ruleset)
            checked += 1
            if problem is not None:
                mismatches += 1
                typer.echo(
                    f"MISMATCH record {stored.seq} (decision {stored.decision_id}, ruleset "
                    f"{stored.ruleset_hash[:12]}): {problem}",
                    err=True,
                )
    except StoreUnavailable as error:
        raise _fail_unavailable(error) from error
    finally:
        store.dispose()
    if mismatches:
        typer.echo(f"FAILED: {mismatches} of {checked} decisions do not reproduce", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"ok: {checked} decisions reproduce their stored bitmasks")


@keys_app.command("add")
def add_key(
    role: KeyRole = typer.Option(
        ...,
        "--role",
        help="frontend: post applications and read "
        "decisions; admin: also activate and list rulesets.",
    ),
) -> None:
    """Create an API key and print its secret (shown once; only its hash is stored)."""
    store = _open()
    try:
        key_id, secret = store.add_api_key(role.value)
    except StoreUnavailable as error:
        raise _fail_unavailable(error) from error
    finally:
        store.dispose()
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo(f"role:   {role.value}", err=True)
    typer.echo("secret (shown once; send it as the X-API-Key header):", err=True)
    typer.echo(secret)


@keys_app.command("revoke")
def revoke_key(key_id: str = typer.Argument(..., help="The key id printed by `keys add`.")) -> None:
    """Revoke an API key; exit 1 if there is no such active key."""
    store = _open()
    try:
        revoked = store.revoke_api_key(key_id)
    except StoreUnavailable as error:
        raise _fail_unavailable(error) from error
    finally:
        store.dispose()
    if not revoked:
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"revoked {key_id}")
