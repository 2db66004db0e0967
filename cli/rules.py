"""`lendmatch rules ...`: check, show, compare and activate lender rule files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from broker import diff_rulesets
from cli.options import (
    DEFAULT_RULES,
    LANGUAGE_HELP,
    RULES_HELP,
    RULESET_REFERENCE_HELP,
    language_or_exit,
    load_or_exit,
    opened_store,
    ruleset_or_exit,
    stderr,
    stdout,
)
from lender_rules.vocabulary import DEFAULT_LANGUAGE

app = typer.Typer(
    help=(
        "Check, show and activate lender rule files.\n\n"
        "A lender's requirements live in one JSON file per lender (<lender_id>.json) as typed "
        "JsonLogic; see README.md for the format and the operators. Without a path, "
        "the shipped demo lenders are used."
    ),
    no_args_is_help=True,
)


@app.command("check")
def check(
    path: Path = typer.Argument(DEFAULT_RULES, help=RULES_HELP, show_default=False),
) -> None:
    """Check rule files: print OK and the ruleset hash, or every problem (file, requirement,
    JSON path, what is wrong) and exit with status 1."""
    out, err = stdout(), stderr()
    ruleset = load_or_exit(path, err)
    count = sum(len(lender.requirements) for lender in ruleset.lenders)
    out.print(
        f"OK {ruleset.hash} ({len(ruleset.lenders)} lenders, {count} requirements)",
        highlight=False,
    )


@app.command("show")
def show(
    lender_id: str = typer.Argument(..., help="The lender id, e.g. nordlys_bank."),
    lang: str = typer.Option(DEFAULT_LANGUAGE, "--lang", "-l", help=LANGUAGE_HELP),
    rules: Path = typer.Option(DEFAULT_RULES, "--rules", "-r", help=RULES_HELP, show_default=False),
) -> None:
    """Print a lender's requirements in plain words, generated from the rules, next to
    their reason texts."""
    out, err = stdout(), stderr()
    language = language_or_exit(lang, err)
    ruleset = load_or_exit(rules, err)
    try:
        lender = ruleset.lender(lender_id)
    except KeyError:
        known = ", ".join(lender.lender_id for lender in ruleset.lenders)
        err.print(f"unknown lender {lender_id!r}; known lenders: {known}", highlight=False)
        raise typer.Exit(1) from None
    markets = ", ".join(lender.markets)
    since = f", in force from {lender.effective_from}" if lender.effective_from else ""
    table = Table(title=f"{lender.name} ({lender.lender_id}; {markets}{since})", show_lines=True)
    table.add_column("id", no_wrap=True)
    table.add_column("rule")
    table.add_column("reason")
    for requirement in lender.requirements:
        table.add_row(requirement.id, requirement.plain(language), requirement.reason[language])
    out.print(table)


@app.command("diff")
def diff(
    old: str = typer.Argument(..., help=f"The old ruleset. {RULESET_REFERENCE_HELP}"),
    new: str = typer.Argument(..., help=f"The new ruleset. {RULESET_REFERENCE_HELP}"),
    lang: str = typer.Option(DEFAULT_LANGUAGE, "--lang", "-l", help=LANGUAGE_HELP),
) -> None:
    """Print what changed from OLD to NEW in plain words: lenders added or removed, a
    lender's name, markets or date in force, and requirements added, removed, changed (old
    and new rule in words) or reworded. Exit 3 if a stored ruleset is named and the store
    cannot be reached."""
    out, err = stdout(), stderr()
    language = language_or_exit(lang, err)
    before, after = ruleset_or_exit(old, err), ruleset_or_exit(new, err)
    changes = diff_rulesets(before, after, language)
    out.print(f"{before.hash} -> {after.hash}", highlight=False)
    for line in changes.sentences():
        out.print(line, markup=False, highlight=False)


@app.command("activate")
def activate(
    path: Path = typer.Argument(DEFAULT_RULES, help=RULES_HELP, show_default=False),
) -> None:
    """Validate, snapshot and activate a ruleset in the decision store (DATABASE_URL).

    An invalid ruleset is refused with every problem and the active ruleset stays active.
    Running services pick the new ruleset up within LENDMATCH_RULESET_REFRESH_SECONDS.
    Exit 3 if the store cannot be reached."""
    out, err = stdout(), stderr()
    ruleset = load_or_exit(path, err)
    with opened_store() as store:
        version = store.rulesets.activate(ruleset)
    out.print(f"active {version.hash} ({len(ruleset.lenders)} lenders)", highlight=False)
