"""HTTP API benchmark: POST /v1/applications over real HTTP with real, durable writes.

The server is `uvicorn --factory api.app:create_app` in a process of its own (one worker);
the load generator is another process: a small asyncio HTTP/1.1 client with keep-alive
connections, one per unit of concurrency, on the loopback interface only. Every request is a
new application (distinct synthetic applications, `matcher.generate`), decided and committed
to the store before the answer. For SQLite (a fresh file) and PostgreSQL (a fresh schema,
dropped afterwards), at concurrency 1, 8 and 32: requests/s, p50, p99 latency.

    uv run python benchmarks/bench_api.py                 # both databases, 8 s per point
    uv run python benchmarks/bench_api.py --seconds 3 --databases sqlite --no-record

The table is printed with the machine and versions, and appended to benchmarks/RESULTS.md
under "HTTP API (bench_api.py)" unless --no-record. Bounded: each point runs for --seconds
after --warmup seconds; the whole run stops after the last point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from audit import open_store
from matcher.generate import generate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## HTTP API (bench_api.py)"
POSTGRES_URL = os.environ.get(
    "LENDMATCH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CONCURRENCY = (1, 8, 32)


@dataclass(frozen=True)
class Point:
    """One measured point."""

    database: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# --- the load generator (runs in a process of its own) ----------------------------------------


async def _one_connection(
    port: int,
    requests: list[bytes],
    start_at: float,
    measure_from: float,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    index = 0
    try:
        while (now := time.monotonic()) < stop_at:
            request = requests[index % len(requests)]
            index += 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            done = time.monotonic()
            if now >= measure_from:
                if status == 201:
                    latencies.append(done - now)
                else:
                    errors.append(status)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _load(
    port: int, requests: list[bytes], concurrency: int, warmup: float, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    start_at = time.monotonic() + 0.2
    measure_from = start_at + warmup
    stop_at = measure_from + seconds
    share = [requests[i::concurrency] for i in range(concurrency)]
    await asyncio.gather(
        *(
            _one_connection(port, share[i], start_at, measure_from, stop_at, latencies, errors)
            for i in range(concurrency)
        )
    )
    return latencies, errors, seconds


def _load_process(
    port: int,
    requests: list[bytes],
    concurrency: int,
    warmup: float,
    seconds: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    out.put(asyncio.run(_load(port, requests, concurrency, warmup, seconds)))


# --- the server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def _server(database_url: str) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\n\r\n")
                    if probe.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def _database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    schema = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _requests(key: str, count: int) -> list[bytes]:
    frame = generate(count, seed=7, on=date.today()).drop("application_id")
    out = []
    for body in frame.to_dicts():
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            "POST /v1/applications HTTP/1.1\r\nHost: bench\r\n"
            f"X-API-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        out.append(head + payload)
    return out


def measure(
    kind: str, concurrencies: tuple[int, ...], warmup: float, seconds: float
) -> list[Point]:
    """Every concurrency on one fresh database of `kind`, one server for all of them."""
    points = []
    with tempfile.TemporaryDirectory() as tmp, _database(kind, Path(tmp)) as url:
        store = open_store(url)
        _, key = store.add_api_key(role="frontend")
        store.dispose()
        requests = _requests(key, 20_000)
        context = multiprocessing.get_context("spawn")
        with _server(url) as port:
            for concurrency in concurrencies:
                queue = context.Queue()
                loader = context.Process(
                    target=_load_process,
                    args=(port, requests, concurrency, warmup, seconds, queue),
                )
                loader.start()
                latencies, errors, measured = queue.get(timeout=warmup + seconds + 120)
                loader.join()
                latencies.sort()
                points.append(
                    Point(
                        database=kind,
                        concurrency=concurrency,
                        requests=len(latencies),
                        errors=len(errors),
                        seconds=measured,
                        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
                        p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))]
                        if latencies
                        else float("nan"),
                    )
                )
                print(_row(points[-1]), flush=True)
    return points


# --- the report ----------------------------------------------------------------------------


def _row(point: Point) -> str:
    return (
        f"| {point.database} | {point.concurrency} | {point.rate:,.0f} | {point.p50_ms:.1f} "
        f"| {point.p99_ms:.1f} | {point.requests} | {point.errors} |"
    )


def _postgres_version() -> str:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            found = str(connection.execute(text("SHOW server_version")).scalar_one())
        engine.dispose()
        return found
    except Exception as error:  # the table still names what was measured
        return f"unavailable ({type(error).__name__})"


def machine() -> list[str]:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "psycopg")
    )
    return [
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}; {packages}",
        f"- SQLite {sqlite3.sqlite_version}; PostgreSQL {_postgres_version()}",
    ]


def _uvicorn_stack() -> str:
    found = []
    for module, name in (("httptools", "httptools parser"), ("uvloop", "uvloop event loop")):
        try:
            __import__(module)
            found.append(name)
        except ImportError:
            found.append(f"no {module}")
    return ", ".join(found)


def report(points: list[Point], warmup: float, seconds: float) -> str:
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *machine(),
        f"- one uvicorn worker ({_uvicorn_stack()}); load: asyncio HTTP/1.1 keep-alive client in "
        f"another process; {warmup:g} s warm-up, {seconds:g} s measured per row; every request "
        "a new application, stored durably (SQLite: WAL, synchronous=FULL; PostgreSQL: "
        "default fsync) and appended to the hash chain",
        "- chain append off: not measured; the store has no switch to disable it",
        "",
        "| database | concurrency | requests/s | p50 ms | p99 ms | answered 201 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_row(point) for point in points),
        "",
    ]
    return "\n".join(lines)


def record(text_block: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if HEADING not in existing:
        existing = existing.rstrip("\n") + f"\n\n{HEADING}\n"
    start = existing.index(HEADING) + len(HEADING)
    following = existing.find("\n## ", start)
    insert_at = len(existing) if following == -1 else following + 1
    block = "\n" + text_block
    RESULTS.write_text(existing[:insert_at].rstrip("\n") + "\n" + block + existing[insert_at:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(CONCURRENCY))
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--no-record", action="store_true", help="Do not write RESULTS.md.")
    args = parser.parse_args()
    print("| database | concurrency | requests/s | p50 ms | p99 ms | answered 201 | errors |")
    points = [
        point
        for kind in args.databases
        for point in measure(kind, tuple(args.concurrency), args.warmup, args.seconds)
    ]
    block = report(points, args.warmup, args.seconds)
    print()
    print(block)
    if not args.no_record:
        record(block)
        print(f"appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
