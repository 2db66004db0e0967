"""`lendmatch keys ...`: create and revoke API keys in the decision store (DATABASE_URL).

Exit codes: 0 done, 1 no such active key, 3 the store could not be reached.
"""

from __future__ import annotations

import enum

import typer

from cli.options import EXIT_PROBLEM, opened_store
from lender_rules.vocabulary import ROLES

app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)

KeyRole = enum.StrEnum("KeyRole", {role: role for role in ROLES})  # type: ignore[misc]
"""What an API key may do (the roles of the vocabulary), as a choice of `--role`."""


@app.command("add")
def add_key(
    role: KeyRole = typer.Option(
        ...,
        "--role",
        help="frontend: post applications and read "
        "decisions; admin: also activate and list rulesets.",
    ),
) -> None:
    """Create an API key and print its secret (shown once; only its hash is stored)."""
    with opened_store() as store:
        key_id, secret = store.api_keys.add(role.value)
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo(f"role:   {role.value}", err=True)
    typer.echo("secret (shown once; send it as the X-API-Key header):", err=True)
    typer.echo(secret)


@app.command("revoke")
def revoke_key(key_id: str = typer.Argument(..., help="The key id printed by `keys add`.")) -> None:
    """Revoke an API key; exit 1 if there is no such active key."""
    with opened_store() as store:
        revoked = store.api_keys.revoke(key_id)
    if not revoked:
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"revoked {key_id}")
