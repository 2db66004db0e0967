"""What the commands share: the rules and language options, loading a ruleset or exiting
with its problems, and opening the decision store for one command.

Exit codes of every command: 0 done, 1 a problem with the input or what was checked, 2 a bad
option (Typer's usage error), 3 the decision store could not be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from audit import DataKeyError, Store, StoreUnavailable, open_store
from broker import (
    DevelopmentKeysError,
    NoActiveRulesetError,
    SnapshotMissingError,
    get_settings,
    personal_keys,
    stored_ruleset,
)
from lender_rules import SHIPPED_LENDERS_DIR
from lender_rules.errors import RulesetError
from lender_rules.vocabulary import DEFAULT_LANGUAGE, LANGUAGES, Language
from matcher import Ruleset, load_ruleset

EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_STORE_UNAVAILABLE = 3

DEFAULT_RULES = SHIPPED_LENDERS_DIR
"""The shipped demo lenders, found from the installed package (not the working directory)."""

RULES_HELP = "A lender rule file or a folder of them (default: the shipped demo lenders)."
LANGUAGE_HELP = f"Language of the reasons: {', '.join(LANGUAGES)}."


def stdout() -> Console:
    """A console for results (soft-wrapped, so long lines are not cut)."""
    return Console(soft_wrap=True)


def stderr() -> Console:
    """A console for progress, problems and errors."""
    return Console(stderr=True, soft_wrap=True)


def language_or_exit(value: str, err: Console) -> Language:
    """`value` as a language of the vocabulary; exit 2 naming the choices otherwise."""
    for language in LANGUAGES:
        if value == language:
            return language
    err.print(f"--lang must be one of {', '.join(LANGUAGES)}, got {value!r}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


def load_or_exit(path: Path, err: Console) -> Ruleset:
    """Load a ruleset; on problems, print every one of them and exit with status 1."""
    try:
        return load_ruleset(path)
    except RulesetError as e:
        for problem in e.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"{len(e.problems)} problem(s); the ruleset was not loaded.")
        raise typer.Exit(EXIT_PROBLEM) from e


RULESET_REFERENCE_HELP = (
    "A rules folder or file, or a ruleset stored in the decision store: `active`, a hash, "
    "or a unique prefix of one."
)


def ruleset_or_exit(reference: str, err: Console) -> Ruleset:
    """The ruleset `reference` names: a path to rule files if one exists there, else a ruleset
    of the decision store (`broker.stored_ruleset`). Exit 1 naming what is missing."""
    if Path(reference).exists():
        return load_or_exit(Path(reference), err)
    with opened_store() as store:
        try:
            return stored_ruleset(store, reference)
        except (NoActiveRulesetError, SnapshotMissingError) as error:
            err.print(
                f"{error} ({reference!r} is neither a path nor a single stored ruleset)",
                markup=False,
                highlight=False,
            )
            raise typer.Exit(EXIT_PROBLEM) from None
        except RulesetError as error:
            err.print(f"stored ruleset {reference!r} does not load: {error}", markup=False)
            raise typer.Exit(EXIT_PROBLEM) from None


@contextmanager
def opened_store() -> Iterator[Store]:
    """The decision store at DATABASE_URL (schema migrated), closed when the command ends.

    The store being unreachable, on opening or during the command, is a message on stderr
    and exit status 3; a malformed key of personal data (or a development key in production
    mode) exit status 2.
    """
    err = stderr()
    settings = get_settings()
    try:
        keys = personal_keys(settings)
    except (DataKeyError, DevelopmentKeysError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    try:
        store = open_store(settings.database_url, keys=keys)
    except StoreUnavailable as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_STORE_UNAVAILABLE) from error
    try:
        with store:
            yield store
    except StoreUnavailable as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_STORE_UNAVAILABLE) from error


__all__ = [
    "DEFAULT_LANGUAGE",
    "DEFAULT_RULES",
    "EXIT_PROBLEM",
    "EXIT_STORE_UNAVAILABLE",
    "EXIT_USAGE",
    "LANGUAGE_HELP",
    "RULESET_REFERENCE_HELP",
    "RULES_HELP",
    "language_or_exit",
    "load_or_exit",
    "opened_store",
    "ruleset_or_exit",
    "stderr",
    "stdout",
]
