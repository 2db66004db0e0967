"""HTTP API benchmark: POST /v1/applications over real HTTP with real, durable writes.

The server is `uvicorn --factory api.app:served_app` (as `lendmatch serve` runs it) in a
process of its own (one worker, or several with `--workers 1 2`: each count is measured on a
fresh database, side by side);
the load generator is another process: a small asyncio HTTP/1.1 client with keep-alive
connections, one per unit of concurrency, on the loopback interface only. Every request is a
new application (distinct synthetic applications, `matcher.generate`), decided and committed
to the store before the answer. For SQLite (a fresh file) and PostgreSQL (a fresh schema,
dropped afterwards), at concurrency 1, 8 and 32: requests/s, p50, p99 latency.

Each database is measured twice, on two fresh databases side by side: "chained", the server
as shipped, and "unchained", the same server started through benchmarks/_unchained.py, which
swaps the store's batch writer for one doing the same work minus the hash chain (no chain-head
lock, no hashing, no head update; see that module). The two are run in alternation (A B B A
...) at every concurrency, so load from elsewhere on the machine hits both alike, and the
chain's overhead on the p50 is reported against the issue's target (<= 20 %). After the run
both databases are checked: the chained one's head names every record, the unchained one's
records all carry the placeholder digests (so it really ran without the chain).

The floors (issue 12) run in the same alternation, with the same uvicorn options and load
client: "validating", FastAPI parsing the same `Application` and answering 201, and "bare", a
FastAPI POST that parses nothing (benchmarks/_floors.py; no database). lendmatch's requests/s
is reported as a share of the validating floor (target >= 40 % per worker). Every row also
gives the server's CPU time per answered request (user + system of the uvicorn process and
its workers, from /proc; PostgreSQL's own backends are not counted).

    uv run python benchmarks/bench_api.py                 # both databases, both variants
    uv run python benchmarks/bench_api.py --seconds 3 --databases sqlite --no-record
    uv run python benchmarks/bench_api.py --variants chained   # the shipped server only
    uv run python benchmarks/bench_api.py --workers 1 2 --variants chained --databases postgresql
    uv run python benchmarks/bench_api.py --variants chained validating bare --concurrency 8
    uv run python benchmarks/bench_api.py --idempotency-keys   # a key with every request
    git archive 4bade48 | tar -x -C /tmp/base   # an earlier commit, beside this one:
    uv run python benchmarks/bench_api.py --variants chained baseline validating \
        --baseline /tmp/base

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
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

from _databases import POSTGRES_URL
from _databases import database as throwaway_database
from _unchained import PLACEHOLDER_DIGEST
from sqlalchemy import create_engine, text

from audit import open_store
from matcher.generate import generate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADING = "## HTTP API (bench_api.py)"
CONCURRENCY = (1, 8, 32)
VARIANTS = ("chained", "unchained", "validating", "bare", "baseline")
FLOORS = ("validating", "bare")  # benchmarks/_floors.py: FastAPI alone, no database
UNCHAINED_LAUNCHER = ROOT / "benchmarks" / "_unchained.py"
P50_OVERHEAD_TARGET = 20.0  # percent, issue 3


@dataclass(frozen=True)
class Point:
    """One measured point."""

    database: str
    variant: str  # "chained" (as shipped) or "unchained" (benchmarks/_unchained.py)
    workers: int  # uvicorn worker processes of the server
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU (user + system, every worker) per answered request

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
    keys: bytes | None = None,
) -> None:
    """Send `requests` in turn on one connection until `stop_at`; with `keys`, each with an
    `Idempotency-Key` header of its own (`keys` followed by the request's number on this
    connection), as a front end sends one with every application."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    index = 0
    try:
        while (now := time.monotonic()) < stop_at:
            request = requests[index % len(requests)]
            index += 1
            if keys is not None:  # the header goes before the blank line ending the head
                head, _, body = request.partition(b"\r\n\r\n")
                request = b"%s\r\nIdempotency-Key: %s-%d\r\n\r\n%s" % (head, keys, index, body)
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
    port: int,
    requests: list[bytes],
    concurrency: int,
    warmup: float,
    seconds: float,
    keyed: bool = False,
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    start_at = time.monotonic() + 0.2
    measure_from = start_at + warmup
    stop_at = measure_from + seconds
    share = [requests[i::concurrency] for i in range(concurrency)]
    # keys unique to this point: a database serves several points, and a key sent again
    # would be a replay (answered from the store, not decided)
    run = f"bench-{os.getpid()}-{time.time_ns()}"
    await asyncio.gather(
        *(
            _one_connection(
                port,
                share[i],
                start_at,
                measure_from,
                stop_at,
                latencies,
                errors,
                f"{run}-{i}".encode() if keyed else None,
            )
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
    keyed: bool = False,
) -> None:
    out.put(asyncio.run(_load(port, requests, concurrency, warmup, seconds, keyed)))


# --- the server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its children (uvicorn's workers), as
    /proc counts them (children that are still running, and those reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime are fields 14-17 of stat; [0] here is field 3
            total += sum(int(value) for value in fields[11:15]) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
    return total


def _factory(tree: Path) -> str:
    """The app factory a source tree's server runs: `served_app` as `lendmatch serve` does,
    or `create_app` in a tree from before `served_app`."""
    source = (tree / "api" / "app.py").read_text()
    return "served_app" if "def served_app(" in source else "create_app"


@contextlib.contextmanager
def _server(
    database_url: str, variant: str, workers: int = 1, baseline: Path | None = None
) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url}
    # Same interpreter, same uvicorn options; the unchained launcher only patches the store's
    # batch writer before handing its arguments to uvicorn; the floors are other apps.
    launcher = [str(UNCHAINED_LAUNCHER)] if variant == "unchained" else ["-m", "uvicorn"]
    if variant in FLOORS:
        app = ["--app-dir", "benchmarks", f"_floors:{variant}_app"]
    elif variant == "baseline":  # lendmatch from another source tree, same interpreter
        assert baseline is not None
        app = ["--app-dir", str(baseline), f"api.app:{_factory(baseline)}"]
    else:  # as `lendmatch serve` runs it
        app = ["api.app:served_app"]
    process = subprocess.Popen(
        [
            sys.executable, *launcher, "--factory", *app,
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log",
            "--workers", str(workers), "--timeout-worker-healthcheck", "60",
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
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(timeout=60)


def _database(kind: str, workdir: Path) -> contextlib.AbstractContextManager[str]:
    return throwaway_database(kind, workdir, "bench_api")


def _frontend_key(url: str, tree: Path | None) -> str:
    """A frontend API key on the fresh database at `url`, made by the code that will serve
    it: an earlier tree (`--baseline`) migrates the database with its own migrations, which
    may lack this tree's newer ones."""
    if tree is None:
        store = open_store(url)
        _, key = store.api_keys.add(role="frontend")
        store.dispose()
        return key
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from audit import open_store; "
        "store = open_store(sys.argv[2]); print(store.api_keys.add(role='frontend')[1]); "
        "store.dispose()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tree), url],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


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


def _run_point(
    server: tuple[int, int],
    requests: list[bytes],
    concurrency: int,
    warmup: float,
    seconds: float,
    keyed: bool = False,
) -> tuple[list[float], list[int], float]:
    """Latencies, error statuses and the server's CPU seconds over the measured window
    (approximately: CPU is read when the warm-up ends and when the load stops); `keyed`:
    every request with an idempotency key of its own."""
    pid, port = server
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    loader = context.Process(
        target=_load_process,
        args=(port, requests, concurrency, warmup, seconds, queue, keyed),
    )
    loader.start()
    time.sleep(0.2 + warmup)
    cpu_before = cpu_seconds(pid)
    latencies, errors, _ = queue.get(timeout=warmup + seconds + 120)
    cpu = cpu_seconds(pid) - cpu_before
    loader.join()
    return latencies, errors, cpu


@dataclass(frozen=True)
class Plan:
    """What to measure on each database."""

    concurrencies: tuple[int, ...]
    variants: tuple[str, ...]
    workers: tuple[int, ...]
    warmup: float
    seconds: float
    rounds: int
    baseline: Path | None = None  # a source tree of an earlier lendmatch ("baseline")
    idempotency_keys: bool = False  # every request with a key of its own, as front ends send


def _point(
    kind: str,
    variant: str,
    workers: int,
    concurrency: int,
    latencies: list[float],
    errors: int,
    seconds: float,
    cpu: float,
) -> Point:
    latencies = sorted(latencies)
    return Point(
        database=kind,
        variant=variant,
        workers=workers,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=1000 * statistics.median(latencies) if latencies else float("nan"),
        p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        cpu_ms=1000 * cpu / len(latencies) if latencies else float("nan"),
    )


def _check_log(url: str, variant: str) -> str:
    """What a run left in the decision log; raises if it is not what `variant` writes."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            records = connection.execute(text("SELECT count(*) FROM decision")).scalar_one()
            placeholders = connection.execute(
                text("SELECT count(*) FROM decision WHERE record_hash = :digest"),
                {"digest": PLACEHOLDER_DIGEST},
            ).scalar_one()
            head = connection.execute(text("SELECT seq FROM chain_head WHERE id = 1")).scalar_one()
            keyed = connection.execute(
                text("SELECT count(idempotency_key) FROM decision")
            ).scalar_one()
    finally:
        engine.dispose()
    label = variant
    if variant == "baseline":
        variant = "chained"  # an earlier lendmatch: the same chain
    if variant == "chained" and (placeholders != 0 or head != records):
        raise RuntimeError(f"chained: {records} records, head {head}, {placeholders} unchained")
    if variant == "unchained" and (placeholders != records or head != 0):
        raise RuntimeError(f"unchained: {records} records, {placeholders} unchained, head {head}")
    with_keys = f", {keyed:,} with idempotency keys" if keyed else ""
    if variant == "chained":
        return f"{label}: {records:,} records{with_keys}, chain head at seq {head:,}"
    return (
        f"{variant}: {records:,} records{with_keys}, all with placeholder digests, chain head"
        " at seq 0"
    )


def _alternate(
    kind: str,
    plan: Plan,
    workers: int,
    servers: dict[str, tuple[int, int]],
    requests: dict[str, list[bytes]],
) -> list[Point]:
    """Every concurrency, the variants in alternation (A B, B A, ...), rounds pooled."""
    points = []
    for concurrency in plan.concurrencies:
        latencies: dict[str, list[float]] = {variant: [] for variant in plan.variants}
        errors = dict.fromkeys(plan.variants, 0)
        cpu = dict.fromkeys(plan.variants, 0.0)
        for round_ in range(plan.rounds):
            order = plan.variants if round_ % 2 == 0 else plan.variants[::-1]
            for variant in order:
                got, failed, used = _run_point(
                    servers[variant],
                    requests[variant],
                    concurrency,
                    plan.warmup,
                    plan.seconds,
                    plan.idempotency_keys,
                )
                latencies[variant] += got
                errors[variant] += len(failed)
                cpu[variant] += used
        for variant in plan.variants:
            measured = plan.seconds * plan.rounds
            point = _point(
                kind,
                variant,
                workers,
                concurrency,
                latencies[variant],
                errors[variant],
                measured,
                cpu[variant],
            )
            points.append(point)
            print(_row(point), flush=True)
    return points


def measure(kind: str, plan: Plan) -> tuple[list[Point], list[str]]:
    """`plan` on `kind`, once per worker count."""
    points: list[Point] = []
    checks: list[str] = []
    for workers in plan.workers:
        measured, checked = measure_workers(kind, plan, workers)
        points += measured
        checks += checked
    return points, checks


def measure_workers(kind: str, plan: Plan, workers: int) -> tuple[list[Point], list[str]]:
    """`plan` on `kind` with `workers` worker processes: a fresh database and a server of its
    own per variant, all started before the first point; the logs are checked once the
    servers have stopped. `unchained` runs with one worker only: uvicorn starts further
    workers as fresh interpreters, which the launcher's patch does not reach."""
    if workers > 1 and "unchained" in plan.variants:
        plan = replace(plan, variants=tuple(v for v in plan.variants if v != "unchained"))
    with contextlib.ExitStack() as databases:
        tmp = Path(databases.enter_context(tempfile.TemporaryDirectory()))
        urls: dict[str, str] = {}
        requests: dict[str, list[bytes]] = {}
        for variant in plan.variants:
            if variant in FLOORS:  # no database; the key header is sent and ignored
                urls[variant] = ""
                requests[variant] = _requests("floor", 20_000)
                continue
            urls[variant] = url = databases.enter_context(_database(kind, tmp))
            key = _frontend_key(url, plan.baseline if variant == "baseline" else None)
            requests[variant] = _requests(key, 20_000)  # the same bodies for every variant
        with contextlib.ExitStack() as running:
            servers = {
                variant: running.enter_context(
                    _server(urls[variant], variant, workers, plan.baseline)
                )
                for variant in plan.variants
            }
            points = _alternate(kind, plan, workers, servers, requests)
        checks = [
            f"{kind}, {workers} worker(s), {_check_log(urls[variant], variant)}"
            for variant in plan.variants
            if variant not in FLOORS
        ]
    return points, checks


# --- the report ----------------------------------------------------------------------------


HEADER = (
    "| database | server | workers | concurrency | requests/s | p50 ms | p99 ms "
    "| server CPU ms/request | answered 201 | errors |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _row(point: Point) -> str:
    database = "-" if point.variant in FLOORS else point.database
    return (
        f"| {database} | {point.variant} | {point.workers} | {point.concurrency} "
        f"| {point.rate:,.0f} | {point.p50_ms:.1f} | {point.p99_ms:.1f} | {point.cpu_ms:.2f} "
        f"| {point.requests} | {point.errors} |"
    )


FLOOR_TARGET = 40.0  # percent of the validating floor per worker, issue 12


def floor_table(points: list[Point]) -> list[str]:
    """lendmatch's requests/s as a share of the floors measured in the same run."""
    found = {(p.database, p.variant, p.workers, p.concurrency): p for p in points}
    lines = [
        "| database | server | workers | concurrency | requests/s | of validating floor "
        f"| target >= {FLOOR_TARGET:g} % | of bare FastAPI |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for point in points:
        if point.variant in FLOORS:
            continue
        key = (point.database, point.workers, point.concurrency)
        validating = found.get((key[0], "validating", *key[1:]))
        bare = found.get((key[0], "bare", *key[1:]))
        if validating is None:
            continue
        share = 100 * point.rate / validating.rate
        verdict = "met" if share >= FLOOR_TARGET else "**missed**"
        of_bare = "-" if bare is None else f"{100 * point.rate / bare.rate:.1f} %"
        lines.append(
            f"| {point.database} | {point.variant} | {point.workers} | {point.concurrency} "
            f"| {point.rate:,.0f} | {share:.1f} % | {verdict} | {of_bare} |"
        )
    return lines if len(lines) > 2 else []


def overhead_table(points: list[Point]) -> list[str]:
    """The chain's cost on the p50 where both variants were measured, against the target."""
    found = {(p.database, p.variant, p.workers, p.concurrency): p for p in points}
    lines = [
        "| database | concurrency | p50 chained ms | p50 unchained ms | chain adds to p50 "
        f"| target <= {P50_OVERHEAD_TARGET:g} % | requests/s chained / unchained |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for point in points:
        if point.variant != "chained":
            continue
        other = found.get((point.database, "unchained", point.workers, point.concurrency))
        if other is None:
            continue
        added = 100 * (point.p50_ms / other.p50_ms - 1)
        verdict = "met" if added <= P50_OVERHEAD_TARGET else "**missed**"
        lines.append(
            f"| {point.database} | {point.concurrency} | {point.p50_ms:.2f} | {other.p50_ms:.2f} "
            f"| {added:+.1f} % | {verdict} | {point.rate:,.0f} / {other.rate:,.0f} |"
        )
    return lines if len(lines) > 2 else []


def workers_table(points: list[Point]) -> list[str]:
    """Requests/s at each worker count side by side, per database, chain and concurrency."""
    counts = sorted({p.workers for p in points})
    if len(counts) < 2:
        return []
    found = {(p.database, p.variant, p.concurrency, p.workers): p for p in points}
    rows = dict.fromkeys((p.database, p.variant, p.concurrency) for p in points)
    lines = [
        "| database | chain | concurrency | "
        + " | ".join(f"requests/s, {n} worker(s)" for n in counts)
        + " |",
        "|---|---|---:|" + "---:|" * len(counts),
    ]
    for database, variant, concurrency in rows:
        rates = [found.get((database, variant, concurrency, n)) for n in counts]
        cells = " | ".join("-" if p is None else f"{p.rate:,.0f}" for p in rates)
        lines.append(f"| {database} | {variant} | {concurrency} | {cells} |")
    return lines


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


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


def report(
    points: list[Point], plan: Plan, checks: list[str], load_before: str, load_after: str
) -> str:
    overhead = overhead_table(points)
    by_workers = workers_table(points)
    floors = floor_table(points)
    lines = [
        f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *machine(),
        f"- load average (1, 5, 15 min) before the run {load_before}, after {load_after} "
        f"({os.cpu_count()} CPUs; other work on the machine inflates p50s and p99s)",
        f"- uvicorn workers {', '.join(map(str, plan.workers))} ({_uvicorn_stack()}), each "
        "count on fresh databases; load: asyncio HTTP/1.1 keep-alive client in "
        f"another process; per row {plan.rounds} x ({plan.warmup:g} s warm-up + "
        f"{plan.seconds:g} s measured), latencies pooled; every request a new application, "
        "stored durably (SQLite: WAL, synchronous=FULL; PostgreSQL: default fsync)"
        + (
            "; every request with an `Idempotency-Key` of its own (`--idempotency-keys`: "
            "each append also looks its key up; the floors ignore the header)"
            if plan.idempotency_keys
            else "; no idempotency keys sent (`--idempotency-keys` sends one per request)"
        ),
        "- chain `chained`: the server as shipped, every record appended to the hash chain; "
        "`unchained`: the same server started through benchmarks/_unchained.py, same group "
        "commit, transaction and inserts but no chain-head lock, no hashing, no head update; "
        "the variants alternate (A B, B A) at each concurrency, each on a fresh database of "
        "its own; `validating` and `bare`: the floors of benchmarks/_floors.py (FastAPI "
        "parsing the same Application; FastAPI reading the body only), no database; server "
        "CPU ms/request: user + system time of the uvicorn processes over the measured "
        "window (PostgreSQL's backends not counted)",
        *(f"- afterwards, {check}" for check in checks),
        "",
        HEADER,
        *(_row(point) for point in points),
        "",
    ]
    if floors:
        lines += [*floors, ""]
    if overhead:
        lines += [*overhead, ""]
    if by_workers:
        lines += [*by_workers, ""]
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
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, default=[v for v in VARIANTS if v != "baseline"]
    )
    parser.add_argument(
        "--workers", nargs="+", type=int, default=[1, 2], help="uvicorn worker counts to compare."
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="Seconds before each point.")
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds measured per point.")
    parser.add_argument(
        "--rounds", type=int, default=4, help="Points per row, variants alternating."
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Source tree of an earlier lendmatch (`git archive COMMIT | tar -x -C DIR`), "
        "measured as the variant `baseline` (add it to --variants) in the same run, its "
        "server started as that tree's `lendmatch serve` starts it.",
    )
    parser.add_argument(
        "--idempotency-keys",
        action="store_true",
        help="Send every request with an Idempotency-Key of its own, as a front end should: "
        "each append then also looks its key up.",
    )
    parser.add_argument("--no-record", action="store_true", help="Do not write RESULTS.md.")
    args = parser.parse_args()
    plan = Plan(
        concurrencies=tuple(args.concurrency),
        variants=tuple(dict.fromkeys(args.variants)),
        workers=tuple(dict.fromkeys(args.workers)),
        warmup=args.warmup,
        seconds=args.seconds,
        rounds=args.rounds,
        baseline=args.baseline,
        idempotency_keys=args.idempotency_keys,
    )
    if "baseline" in plan.variants and plan.baseline is None:
        parser.error("the variant baseline needs --baseline DIR")
    load_before = _load_average()
    print(HEADER)
    points: list[Point] = []
    checks: list[str] = []
    for kind in args.databases:
        measured, checked = measure(kind, plan)
        points += measured
        checks += checked
    block = report(points, plan, checks, load_before, _load_average())
    print()
    print(block)
    if not args.no_record:
        record(block)
        print(f"appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
