"""`lendmatch serve`: run the HTTP API under uvicorn, in one process or several workers."""

from __future__ import annotations

import typer
import uvicorn

from broker import get_settings

# How long uvicorn's supervisor waits for a worker to answer its health check before taking it
# for hung and killing it. A new worker first imports the whole app (Polars included): on a
# busy machine that alone takes longer than uvicorn's default of 5 s, and every worker would
# be killed before it started.
WORKER_HEALTHCHECK_SECONDS = 60


def serve(
    host: str | None = typer.Option(None, help="Interface to bind (LENDMATCH_HOST; 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port to bind (LENDMATCH_PORT; 8000)."),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="Worker processes (LENDMATCH_WORKERS; 1). Several workers need PostgreSQL to "
        "scale writes; every guarantee holds across them (the chain lock is in the database).",
    ),
    access_log: bool | None = typer.Option(
        None,
        "--access-log/--no-access-log",
        help="A line per request on stdout, subject ids redacted (LENDMATCH_ACCESS_LOG; on).",
        show_default=False,
    ),
    reload: bool = typer.Option(False, help="Restart when the code changes (development)."),
) -> None:
    """Serve the API (OpenAPI page at /docs). On first start the database (DATABASE_URL, an
    SQLite file by default) is created and migrated and the shipped demo lenders are activated.
    """
    settings = get_settings()
    uvicorn.run(
        "api.app:served_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        access_log=settings.access_log if access_log is None else access_log,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        reload=reload,
    )
