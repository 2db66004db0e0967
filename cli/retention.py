"""`lendmatch retention purge [--dry-run]`: apply the retention periods (safe daily from cron).

Periods from the settings (`LENDMATCH_RETENTION_*_DAYS`); what the purge does is
`broker.retention`. Exit codes: 0 done, 2 a bad option or key setting, 3 the store could
not be reached.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

import broker
from cli.options import opened_store

app = typer.Typer(help="Retention: remove what is held longer than its period.")


@app.command("purge")
def purge_command(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would be removed; remove nothing."
    ),
) -> None:
    """Remove every application's personal data past its retention period (2 years when no
    lender accepted it, 5 years when one did, by default), with its review requests'
    content, the case views of applications past their period, and the identity checks past
    theirs (5 years); print what was removed per category. Idempotent; recorded."""
    settings = broker.get_settings()
    with opened_store() as store:
        report = broker.purge(
            store,
            broker.RetentionPeriods.from_settings(settings),
            datetime.now(UTC),
            dry_run=dry_run,
        )
    verb = "would remove" if dry_run else "removed"
    for category, count in report.removed.items():
        typer.echo(f"{category}: {verb} {count}")
    if not dry_run:
        typer.echo(
            f"decision records redacted: {report.records_redacted}; identity checks kept "
            f"under anti-money-laundering law: {report.identity_checks_kept}; open review "
            f"requests withdrawn: {report.review_requests_withdrawn}"
        )
