"""Review screen benchmark: the queue page and the case page with 10,000 open cases.

For SQLite (a fresh file) and PostgreSQL (a fresh schema, dropped afterwards): N synthetic
applications (`matcher.generate`) are decided under the shipped lenders and stored
(`record_many`), and a review request is opened on every one that a lender rejected, up to
N open cases (`broker.request_review`). Then the app (`api.app.create_app`, in process through
Starlette's TestClient: no network, the whole request path from the session middleware to the
rendered HTML) is signed in as a caseworker, and these pages are requested, each in turn:

- queue: `GET /review` (page 1, oldest due first), and the same with filters (a lender, a
  market, a status, a due date) and on a page deep in the queue;
- case: `GET /review/cases/{id}` of a random open case (which also records the view);
- peer: `GET /review/sign-in`, a page of the same app that renders a template and reads no
  table: what any page costs here, so the ratios say what the queue and the case add.

p50 and p95 in milliseconds per page kind, and the ratio of each p95 to the peer's, against
the issue's targets (queue p95 and case p95 <= 100 ms on this machine).

    uv run python benchmarks/bench_review.py                        # 10,000 cases, both DBs
    uv run python benchmarks/bench_review.py --cases 2000 --databases sqlite --no-record

The table is printed with the machine and versions, and appended to benchmarks/RESULTS.md
under "Review screen (bench_review.py)" unless --no-record.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from _databases import POSTGRES_URL, database
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import broker
from api.app import create_app
from api.service import Service
from broker import Settings
from matcher import Application, decide, generate, validation_context

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## Review screen (bench_review.py)"
PASSWORD = "benchmark password, long enough"
TARGET_MS = 100.0


@dataclass(frozen=True)
class Row:
    database: str
    page: str
    requests: int
    p50: float
    p95: float


def seed(service: Service, cases: int) -> list[str]:
    """Decide and store applications until `cases` of them have an open review request;
    return the request ids."""
    ruleset = service.rules.now()
    context = validation_context(synthetic_ids=True)
    frame = generate(cases * 2, seed=11, on=date.today()).drop("application_id")
    decided = []
    for body in frame.to_dicts():
        decision = decide(Application.model_validate(body, context=context), ruleset)
        if any(not outcome.eligible for outcome in decision.outcomes):
            decided.append((str(uuid.uuid4()), decision))
        if len(decided) == cases:
            break
    service.store.decisions.record_many(channel="batch", decisions=decided)
    requests = []
    for application_id, _ in decided:
        status = broker.request_review(
            service.store,
            service.rules.compiled,
            application_id,
            client=None,
            statement="My income is higher than the application said.",
            lenders=None,
            corrections={},
            language="nb",
        )
        requests.append(status.request_id)
    return requests


def timed(client: TestClient, paths: Callable[[int], str], count: int) -> list[float]:
    """Milliseconds of `count` GETs of `paths(i)`, after 10 unmeasured ones."""
    for i in range(10):
        answer = client.get(paths(i))
        answer.raise_for_status()
    spent = []
    for i in range(count):
        start = time.perf_counter()
        answer = client.get(paths(i))
        spent.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return spent


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def measure(kind: str, cases: int, count: int, workdir: Path) -> tuple[list[Row], str]:
    with database(kind, workdir, "bench_review") as url:
        app = create_app(Settings(database_url=url, synthetic_ids=True))
        with TestClient(app) as client:
            service: Service = app.state.service
            started = time.perf_counter()
            request_ids = seed(service, cases)
            seeded = f"{kind}: {len(request_ids):,} open cases seeded in " + (
                f"{time.perf_counter() - started:.0f} s"
            )
            service.store.caseworkers.add("bench", "caseworker", PASSWORD)
            sign_in = client.get("/review/sign-in").text
            token = sign_in.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            client.post(
                "/review/sign-in", data={"name": "bench", "password": PASSWORD, "csrf_token": token}
            ).raise_for_status()
            lender = service.rules.now().lenders[0].lender_id
            rng = random.Random(5)
            filters = [
                "/review",
                f"/review?lender={lender}",
                "/review?market=SE",
                "/review?status=received&due_before=2099-12-31",
                "/review?page=200",
            ]
            pages = {
                "queue (page 1 and filtered, page 200)": lambda i: filters[i % len(filters)],
                "case page (random open case)": lambda i: (
                    f"/review/cases/{rng.choice(request_ids)}"
                ),
                "peer: sign-in page (template only)": lambda i: "/review/sign-in",
            }
            rows = []
            for name, paths in pages.items():
                spent = timed(client, paths, count)
                rows.append(Row(kind, name, count, statistics.median(spent), p95(spent)))
    return rows, seeded


def machine() -> list[str]:
    cpu = platform.processor() or "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("fastapi", "starlette", "jinja2", "sqlalchemy", "psycopg", "pwdlib")
    )
    postgres = "unknown"
    with suppress(Exception):
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            postgres = str(connection.execute(text("SHOW server_version")).scalar())
        engine.dispose()
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- SQLite {sqlite3.sqlite_version}; PostgreSQL {postgres}",
        "- load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    ]


def report(rows: list[Row], notes: list[str], cases: int, command: str) -> str:
    peers = {row.database: row.p95 for row in rows if row.page.startswith("peer")}
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}`",
        "",
        *machine(),
        f"- {cases:,} open cases per database; in process (TestClient), signed in; "
        "milliseconds per page, the whole request path (session, store, template)",
        *(f"- {note}" for note in notes),
        "",
        "| database | page | requests | p50 ms | p95 ms | p95 / peer p95 | target p95 <= 100 ms |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        peer = row.page.startswith("peer")
        verdict = "" if peer else ("met" if row.p95 <= TARGET_MS else "**missed**")
        lines.append(
            f"| {row.database} | {row.page} | {row.requests} | {row.p50:.1f} | {row.p95:.1f} | "
            f"{row.p95 / peers[row.database]:.1f}x | {verdict} |"
        )
    return "\n".join([*lines, ""])


def record(block: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if HEADING not in existing:
        existing = existing.rstrip("\n") + f"\n\n{HEADING}\n"
    start = existing.index(HEADING) + len(HEADING)
    following = existing.find("\n## ", start)
    insert_at = len(existing) if following == -1 else following + 1
    RESULTS.write_text(existing[:insert_at].rstrip("\n") + "\n\n" + block + existing[insert_at:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="measured GETs per page kind")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    command = "uv run python benchmarks/bench_review.py" + (
        "" if args.cases == 10_000 else f" --cases {args.cases}"
    )
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in args.databases:
            found, seeded = measure(kind, args.cases, args.requests, Path(workdir))
            rows += found
            notes.append(seeded)
    block = report(rows, notes, args.cases, command)
    print(block)
    if not args.no_record:
        record(block)


if __name__ == "__main__":
    main()
