"""`lendmatch keys ...`: create, list and revoke API keys in the decision store (DATABASE_URL).

Every key belongs to a client (`--client`): a frontend key reads only its client's
applications. Exit codes: 0 done, 1 no such active key or an invalid client name, 3 the
store could not be reached.
"""

from __future__ import annotations

import enum

import typer

from audit import DEFAULT_CLIENT, InvalidRecord
from broker import people_in_payload
from cli.options import EXIT_PROBLEM, opened_store
from lender_rules.vocabulary import ROLES

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

KeyRole = enum.StrEnum("KeyRole", {role: role for role in ROLES})  # type: ignore[misc]
"""What an API key may do (the roles of the vocabulary), as a choice of `--role`."""


@app.command("add")
def add_key(
    role: KeyRole = typer.Option(
        ...,
        "--role",
        help="frontend: post applications and read "
        "its client's decisions; admin: read every client's, activate and list rulesets.",
    ),
    client: str = typer.Option(
        DEFAULT_CLIENT,
        "--client",
        help="The client (front end, partner) the key belongs to: lower-case letters, digits, "
        "'_', '.', '-'. Keys made before clients existed belong to 'default'.",
    ),
) -> None:
    """Create an API key and print its secret (shown once; only its hash is stored)."""
    with opened_store() as store:
        try:
            key_id, secret = store.api_keys.add(role.value, client=client)
        except InvalidRecord as error:
            typer.echo(f"--{error.field}: {error.message}", err=True)
            raise typer.Exit(EXIT_PROBLEM) from error
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo(f"client: {client}", err=True)
    typer.echo(f"role:   {role.value}", err=True)
    typer.echo("secret (shown once; send it as the X-API-Key header):", err=True)
    typer.echo(secret)


@app.command("list")
def list_keys() -> None:
    """Every API key: id, client, role, created, revoked (never a secret: none is stored)."""
    with opened_store() as store:
        keys = store.api_keys.list_keys()
    typer.echo("key_id\tclient\trole\tcreated\trevoked")  # tab-separated, for cut and awk
    for key in keys:
        revoked = "-" if key.revoked_at is None else key.revoked_at.isoformat()
        typer.echo(
            f"{key.key_id}\t{key.client}\t{key.role}\t{key.created_at.isoformat()}\t{revoked}"
        )


@app.command("revoke")
def revoke_key(key_id: str = typer.Argument(..., help="The key id printed by `keys add`.")) -> None:
    """Revoke an API key; exit 1 if there is no such active key."""
    with opened_store() as store:
        revoked = store.api_keys.revoke(key_id)
    if not revoked:
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"revoked {key_id}")


@app.command("rotate-data-key")
def rotate_data_key(
    batch: int = typer.Option(500, "--batch", min=1, help="Payloads re-sealed per commit."),
) -> None:
    """Re-seal every personal payload, rectification and identity check under the first key
    of LENDMATCH_DATA_KEYS, committing every `--batch`; progress on stderr. Payloads stored
    clear before encryption are sealed too, and their people linked (so a subject export
    finds them). Resumable: run it again after an interruption. Keep the old key listed
    until it reports 0 left."""
    with opened_store() as store:
        done = left = 0
        for done, left in store.rotate_data_key(batch=batch, people=people_in_payload):
            typer.echo(f"re-sealed {done}, {left} left", err=True)
        key_id = store.keys.current_key_id
    typer.echo(f"ok: {done} sealed values re-sealed under key {key_id}; {left} left")
