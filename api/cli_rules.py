"""`lendmatch rules ...`: check, show and activate lender rule files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from api.cli import app
from lender_rules.errors import RulesetError
from matcher import Ruleset, load_ruleset

DEFAULT_RULES = Path("lender_rules/lenders")
LANGS = ("en", "nb", "sv")

rules_app = typer.Typer(
    help=(
        "Check, show and activate lender rule files.\n\n"
        "A lender's requirements live in lender_rules/lenders/<lender_id>.json as typed "
        "JsonLogic; see README.md for the format and the operators."
    ),
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")

RulesPath = typer.Option(
    DEFAULT_RULES, "--rules", "-r", help="A lender rule file or a folder of them."
)


def load_or_exit(path: Path, err: Console) -> Ruleset:
    """Load a ruleset; on problems, print every one of them and exit with status 1."""
    try:
        return load_ruleset(path)
    except RulesetError as e:
        for problem in e.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"{len(e.problems)} problem(s); the ruleset was not loaded.")
        raise typer.Exit(1) from e


@rules_app.command("check")
def check(
    path: Path = typer.Argument(DEFAULT_RULES, help="A lender rule file or a folder of them."),
) -> None:
    """Check rule files: print OK and the ruleset hash, or every problem (file, requirement,
    JSON path, what is wrong) and exit with status 1."""
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    ruleset = load_or_exit(path, err)
    count = sum(len(lender.requirements) for lender in ruleset.lenders)
    out.print(
        f"OK {ruleset.hash} ({len(ruleset.lenders)} lenders, {count} requirements)",
        highlight=False,
    )


@rules_app.command("show")
def show(
    lender_id: str = typer.Argument(..., help="The lender id, e.g. nordlys_bank."),
    lang: str = typer.Option("en", "--lang", "-l", help="Language of the reasons: en, nb or sv."),
    rules: Path = RulesPath,
) -> None:
    """Print a lender's requirements in plain words, generated from the rules, next to
    their reason texts."""
    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    if lang not in LANGS:
        err.print(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
        raise typer.Exit(2)
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
        table.add_row(requirement.id, requirement.plain(lang), requirement.reason[lang])
    out.print(table)


@rules_app.command("activate")
def activate(
    path: Path = typer.Argument(DEFAULT_RULES, help="A lender rule file or a folder of them."),
) -> None:
    """Validate, snapshot and activate a ruleset in the decision store (DATABASE_URL).

    An invalid ruleset is refused with every problem and the active ruleset stays active.
    Running services pick the new ruleset up within LENDMATCH_RULESET_REFRESH_SECONDS."""
    from api.settings import get_settings
    from audit import StoreUnavailable, open_store

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)
    ruleset = load_or_exit(path, err)
    try:
        store = open_store(get_settings().database_url)
        try:
            version = store.activate_ruleset(ruleset)
        finally:
            store.dispose()
    except StoreUnavailable as e:
        err.print(f"the decision store is unavailable: {e}")
        raise typer.Exit(1) from e
    out.print(f"active {version.hash} ({len(ruleset.lenders)} lenders)", highlight=False)
