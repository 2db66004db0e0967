"""`lendmatch subject export ID`: everything held about one person, as one JSON document.

The same document as `GET /v1/subjects/{national_id}/export` (schema:
`broker/schemas/subject-export.schema.json`). Exit codes: 0 done, 1 nothing is held about
the person, 2 a bad option or key setting, 3 the store could not be reached.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

import broker
from cli.options import EXIT_PROBLEM, LANGUAGE_HELP, language_or_exit, opened_store, stderr

app = typer.Typer(help="Data-subject requests: export what is held about a person.")


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


@app.command("export")
def export_command(
    national_id: str = typer.Argument(..., help="The person's national id, any written form."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
    lang: str = typer.Option("en", "--lang", help=LANGUAGE_HELP),
) -> None:
    """Everything held about the person, as applicant or co-applicant: applications,
    features, every decision with its explanation, rectifications, identity checks, review
    requests and who viewed their case, and per
    category its purpose, legal basis and deletion date (one JSON document)."""
    err = stderr()
    language = language_or_exit(lang, err)
    settings = broker.get_settings()
    with opened_store() as store:
        try:
            document = broker.export(
                store,
                broker.CompiledRulesets(store),
                broker.RetentionPeriods.from_settings(settings),
                national_id,
                now=datetime.now(UTC),
                language=language,
            )
        except broker.SubjectNotFoundError as error:
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(EXIT_PROBLEM) from None
    text = json.dumps(document, default=_json_default, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        try:
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            err.print(f"{out}: {error.strerror or error}", markup=False, highlight=False)
            raise typer.Exit(EXIT_PROBLEM) from None
        err.print(f"written to {out}", markup=False, highlight=False)
