"""The `lendmatch` command line: one root, each command group in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lendmatch",
    help=(
        "Loan-brokerage eligibility matcher with explainable automated decisions.\n\n"
        "A tour: write a lender's requirements to lender_rules/lenders/LENDER.json, then "
        "`lendmatch rules check`, `lendmatch rules show LENDER`, `lendmatch generate`, "
        "`lendmatch match`, `lendmatch serve`. README.md has the rule language and the "
        "settings (environment variables)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _register() -> None:
    # Each module adds its commands or command group to `app`. Imported here, not at the
    # top, so that `api.cli` stays the single root every module registers into.
    from api import cli_audit, cli_generate, cli_match, cli_rules, cli_serve  # noqa: F401


def main() -> None:
    """Entry point of the `lendmatch` console command."""
    _register()
    app()
