"""The root of the `lendmatch` command line; every command and group is registered here."""

from __future__ import annotations

import typer

from cli import audit, generate, keys, match, rescore, retention, rules, serve, subject, users

app = typer.Typer(
    name="lendmatch",
    help=(
        "Loan-brokerage eligibility matcher with explainable automated decisions.\n\n"
        "A tour: `lendmatch rules check` (the shipped demo lenders, or a folder of your own "
        "LENDER.json files), `lendmatch rules show LENDER`, `lendmatch generate`, "
        "`lendmatch match`, `lendmatch rescore`, `lendmatch serve`. README.md has the rule "
        "language and the settings (environment variables)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

app.add_typer(rules.app, name="rules")
app.add_typer(audit.app, name="audit")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(subject.app, name="subject")
app.add_typer(retention.app, name="retention")
app.command("generate")(generate.generate)
app.command("match")(match.match_command)
app.command("rescore")(rescore.rescore_command)
app.command("serve")(serve.serve)


def main() -> None:
    """Entry point of the `lendmatch` console command."""
    app()
