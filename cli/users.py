"""`lendmatch users ...`: add, list and disable the users of the review screen (caseworkers
and supervisors) in the decision store (DATABASE_URL).

A password is never an option: it is asked twice without echo, or read from the first line
of standard input with `--password-stdin` (for scripts). Only its Argon2 hash is stored.
Exit codes: 0 done, 1 a bad name, role or password, or no such active user, 2 a bad option,
3 the store could not be reached.
"""

from __future__ import annotations

import enum
import sys

import typer

from audit import MIN_PASSWORD_LENGTH, InvalidRecord
from cli.options import EXIT_PROBLEM, opened_store
from lender_rules.vocabulary import CASEWORKER_ROLES

app = typer.Typer(help="Add, list and disable users of the review screen.", no_args_is_help=True)

UserRole = enum.StrEnum("UserRole", {role: role for role in CASEWORKER_ROLES})  # type: ignore[misc]
"""What a user of the review screen may do, as a choice of `--role`."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("add")
def add_user(
    name: str = typer.Argument(
        ..., help="The user name: lower-case letters, digits, '_', '.', '-'."
    ),
    role: UserRole = typer.Option(
        ...,
        "--role",
        help="caseworker: reviews cases; supervisor: also reassigns cases to others.",
    ),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password from the first line of standard input instead of asking "
        f"(at least {MIN_PASSWORD_LENGTH} characters).",
    ),
) -> None:
    """Add a user of the review screen; the password is asked twice (or read from stdin)."""
    password = _password(password_stdin)
    with opened_store() as store:
        try:
            user = store.caseworkers.add(name, role.value, password)
        except InvalidRecord as error:
            typer.echo(f"{error.field}: {error.message}", err=True)
            raise typer.Exit(EXIT_PROBLEM) from error
    typer.echo(f"added {user.name} ({user.role})")


@app.command("list")
def list_users() -> None:
    """Every user: name, role, added, disabled (never a password: none is stored)."""
    with opened_store() as store:
        users = store.caseworkers.list_users()
    typer.echo("name\trole\tadded\tdisabled")  # tab-separated, for cut and awk
    for user in users:
        disabled = "-" if user.disabled_at is None else user.disabled_at.isoformat()
        typer.echo(f"{user.name}\t{user.role}\t{user.created_at.isoformat()}\t{disabled}")


@app.command("disable")
def disable_user(name: str = typer.Argument(..., help="The user name.")) -> None:
    """Disable a user: they can no longer sign in; exit 1 if there is no such active user."""
    with opened_store() as store:
        disabled = store.caseworkers.disable(name)
    if not disabled:
        typer.echo(f"no active user {name}", err=True)
        raise typer.Exit(EXIT_PROBLEM)
    typer.echo(f"disabled {name}")
