"""`lendmatch rules ...`: check, show and activate lender rule files."""

from __future__ import annotations

import typer

from api.cli import app

rules_app = typer.Typer(help="Check and show lender rule files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
