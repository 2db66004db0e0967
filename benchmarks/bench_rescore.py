"""Re-scoring speed and memory: `lendmatch rescore` (dry run) on generated applications.

    uv run python benchmarks/bench_rescore.py [--n 10000000] [--lenders 50] [--ray]

What it measures, each in a fresh process (`lendmatch rescore`, wall time and its peak RSS):
- nested Parquet (as `lendmatch generate` writes it): validation (bounds, national ids),
  features, both evaluations, the diff, every output;
- a feature frame Parquet of the same applications (no national id checks);
- DuckDB computing the same diff (changed (application, lender) outcomes, counted per lender)
  from the feature frame Parquet, with the SQL `benchmarks/_sql.py` translates from the typed
  IR; its counts are checked equal to lendmatch's;
- with `--ray`, the Ray engine on a local 2-CPU Ray on the feature frame, as a ratio to local;
- `--apply` on PostgreSQL (`--apply-n` applications, each recorded: `--all`), in a schema of
  its own: chained decision records per second, timed inside the recorder (each record's
  texts made from the bitmasks the scoring computed, its digests, people and links, its
  append), so scoring (both evaluations) is not counted.

The rulesets: `--lenders` lenders derived from the shipped ones (`bench_matcher.
derive_documents`), and the same with the comparison thresholds of every fifth lender moved.
Inputs are cached in `--work` (default /tmp/lendmatch-bench-rescore) by size and seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from _databases import postgres_schema
from _sql import match_query
from bench_matcher import _perturb, derive_documents
from sqlalchemy import make_url

import matcher
from audit import open_store
from broker import BatchRecorder, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR

ON = "2026-11-25"
RESULTS = Path(__file__).parent / "RESULTS.md"
BLOCK = 1_000_000


def write_rules(folder: Path, documents: list[dict[str, Any]]) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for document in documents:
        (folder / f"{document['lender_id']}.json").write_text(json.dumps(document))
    return folder


def inputs(work: Path, n: int, seed: int) -> tuple[Path, Path]:
    """Nested and feature-frame Parquet files of n applications, written block by block."""
    nested, features = work / f"apps-{n}-{seed}.parquet", work / f"features-{n}-{seed}.parquet"
    if nested.exists() and features.exists():
        return nested, features
    on = pl.Series([ON]).str.to_date()[0]
    parts = work / "parts"
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    for k, start in enumerate(range(0, n, BLOCK)):
        block = matcher.generate(min(BLOCK, n - start), seed + k, on).with_columns(
            pl.format("{}-{}", pl.lit(k), pl.col("application_id")).alias("application_id")
        )
        block.write_parquet(parts / f"n{k:05d}.parquet")
        matcher.feature_frame(block, on).collect().write_parquet(parts / f"f{k:05d}.parquet")
    pl.scan_parquet(sorted(parts.glob("n*.parquet"))).sink_parquet(nested)
    pl.scan_parquet(sorted(parts.glob("f*.parquet"))).sink_parquet(features)
    shutil.rmtree(parts)
    return nested, features


def run_rescore(args: list[str]) -> tuple[float, float, float, dict[str, Any]]:
    """`lendmatch rescore ARGS` in a fresh process: (seconds, CPU seconds (user + system),
    peak RSS MiB, impact.json)."""
    lendmatch = str(Path(sys.executable).with_name("lendmatch"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([lendmatch, "rescore", *args], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = Path(args[args.index("--out") + 1])
    impact = json.loads((out / "impact.json").read_text())
    return seconds, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024, impact


def duckdb_diff(
    features: Path, old: matcher.Ruleset, new: matcher.Ruleset
) -> tuple[float, dict[str, int]]:
    """Per lender: how many (application, lender) outcomes changed, in DuckDB SQL."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW apps AS SELECT * FROM read_parquet('{features}')")

    def outcome(prefix: str, lender_id: str) -> str:
        f, u = f'{prefix}."{lender_id}.failed"', f'{prefix}."{lender_id}.unknown"'
        return (
            f"CASE WHEN {f} IS NULL THEN 'not_served' WHEN {f} <> 0 THEN 'rejected' "
            f"WHEN {u} <> 0 THEN 'missing_data' ELSE 'eligible' END"
        )

    lenders = sorted({lender.lender_id for lender in (*old.lenders, *new.lenders)})
    counts = ", ".join(
        f'count(*) FILTER (WHERE {outcome("b", x)} <> {outcome("a", x)}) AS "{x}"' for x in lenders
    )
    sql = (
        f"WITH b AS ({match_query(old, 'apps', keep=['application_id'])}), "
        f"a AS ({match_query(new, 'apps', keep=['application_id'])}) "
        f"SELECT {counts} FROM b POSITIONAL JOIN a"
    )
    started = time.perf_counter()
    row = con.execute(sql).fetchone()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, dict(zip(lenders, row or (), strict=True))


def _backend_cpu(store: Any) -> float:
    """CPU seconds used so far by the PostgreSQL backends of `store`'s pool (found by their
    application_name; read from /proc: the server runs on this machine)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with store.engine.connect() as connection:
        pids = connection.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (_APP_NAME,)
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


_APP_NAME = "bench_rescore_apply"


def apply_rate(
    work: Path, n: int, old: matcher.Ruleset, new: matcher.Ruleset
) -> tuple[int, float, float, float]:
    """`rescore --apply --all` of n applications on PostgreSQL: (records, seconds recording,
    CPU seconds of this process while recording, CPU seconds of its PostgreSQL backends)."""
    on = dt.date.fromisoformat(ON)
    apps = work / f"apply-{n}.parquet"
    matcher.generate(n, 3, on).write_parquet(apps)
    with postgres_schema("bench_rescore") as url:
        store = open_store(
            make_url(url)
            .update_query_dict({"application_name": _APP_NAME})
            .render_as_string(hide_password=False)
        )
        try:
            recorder = BatchRecorder(store, new, everything=True)
            spent = cpu = 0.0
            server_before = _backend_cpu(store)

            def timed(
                features: pl.DataFrame, changes: pl.DataFrame, after: pl.DataFrame | None
            ) -> None:
                nonlocal spent, cpu
                started, started_cpu = time.perf_counter(), time.process_time()
                recorder(features, changes, after)
                spent += time.perf_counter() - started
                cpu += time.process_time() - started_cpu

            rescore_file(apps, new, old, on=on, out=work / "out-apply", record=timed)
            server = _backend_cpu(store) - server_before
            assert store.decisions.verify().ok
        finally:
            store.dispose()
    return recorder.recorded, spent, cpu, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--lenders", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--apply-n", type=int, default=50_000, help="0: no --apply run")
    parser.add_argument("--apply-repeat", type=int, default=3, help="--apply runs (median)")
    parser.add_argument("--skip-dry", action="store_true", help="only the --apply runs")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--no-duckdb", action="store_true", help="no DuckDB run (its 8 GB)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lendmatch-bench-rescore"))
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)

    base = [json.loads(p.read_text()) for p in sorted(SHIPPED_LENDERS_DIR.glob("*.json"))]
    old_docs = derive_documents(base, lenders=args.lenders, per_lender=10, seed=1)
    rng = random.Random(2)
    new_docs = [
        d
        if k % 5
        else d
        | {"requirements": [r | {"rule": _perturb(r["rule"], rng)} for r in d["requirements"]]}
        for k, d in enumerate(old_docs)
    ]
    old_dir, new_dir = write_rules(work / "old", old_docs), write_rules(work / "new", new_docs)
    old, new = matcher.load_ruleset(old_dir), matcher.load_ruleset(new_dir)

    started = time.perf_counter()
    nested, features = inputs(work, args.n, args.seed)
    print(f"inputs: {args.n:,} applications ({time.perf_counter() - started:.0f} s, cached)")
    common = ["--rules", str(new_dir), "--baseline", str(old_dir), "--on", ON]

    rows: list[str] = []
    results: dict[str, tuple[float, float, float]] = {}
    for name, path, extra in (
        ("nested Parquet", nested, []),
        ("feature frame", features, []),
        *(
            (("Ray, local 2 CPUs", features, ["--engine", "ray", "--ray-cpus", "2"]),)
            if args.ray
            else ()
        ),
    ):
        if args.skip_dry:
            break
        out = work / f"out-{name.split()[0]}"
        load = os.getloadavg()[0]
        seconds, cpu, peak, impact = run_rescore(
            [*common, "--input", str(path), "--out", str(out), *extra]
        )
        results[name] = (seconds, cpu, peak)
        rows.append(
            f"| lendmatch rescore, {name}, {args.n:,} | {seconds:.1f} s | {cpu:.1f} s | "
            f"{peak:,.0f} MiB | {args.n / seconds:,.0f} apps/s | {load:.1f} | "
            f"{'met' if seconds <= 20 * args.n / 10_000_000 else 'missed'} (20 s per 10M) |"
        )
        print(rows[-1], f"({impact['changes']:,} changed outcomes)", flush=True)

    if not args.skip_dry and not args.no_duckdb:
        load = os.getloadavg()[0]
        duck_seconds, duck_counts = duckdb_diff(features, old, new)
        changed = (
            pl.read_parquet(work / "out-feature" / "changes.parquet").group_by("lender_id").len()
        )
        ours = {lender_id: 0 for lender_id in duck_counts} | dict(changed.iter_rows())
        assert ours == duck_counts, "DuckDB's changed outcomes differ from lendmatch's"
        ratio = duck_seconds / results["feature frame"][0]
        rows.append(
            f"| DuckDB, the same diff from the feature frame (counts asserted equal) | "
            f"{duck_seconds:.1f} s | | | | {load:.1f} | lendmatch {ratio:.1f}x faster: "
            f"{'met' if ratio >= 3 else 'missed'} (>= 3x) |"
        )
        print(rows[-1], flush=True)
        if args.ray:
            ray_ratio = results["Ray, local 2 CPUs"][0] / results["feature frame"][0]
            rows.append(f"| Ray / local time | {ray_ratio:.2f} | | | | | |")
    if args.apply_n:
        runs = []
        for _ in range(args.apply_repeat):
            load = os.getloadavg()[0]
            records, seconds, cpu, server = apply_rate(work, args.apply_n, old, new)
            runs.append(records / seconds)
            rows.append(
                f"| --apply --all on PostgreSQL, {records:,} records | {seconds:.2f} s | "
                f"{cpu:.2f} s + {server:.2f} s server | | {records / seconds:,.0f} records/s | "
                f"{load:.1f} | |"
            )
            print(rows[-1], flush=True)
        median = statistics.median(runs)
        rows.append(
            f"| --apply, median of {len(runs)} | | | | **{median:,.0f} records/s** | | "
            f"{'met' if median >= 50_000 else 'missed'} (>= 50,000/s) |"
        )
        print(rows[-1])
    if not args.no_record:
        record(args, rows)


def record(args: argparse.Namespace, rows: list[str]) -> None:
    """Append a dated block with the machine, versions and `rows` to the re-scoring section
    of benchmarks/RESULTS.md."""
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("polars", "duckdb", "psycopg", "sqlalchemy")
    )
    block = "\n".join(
        [
            "",
            f"### {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
            f"`uv run python benchmarks/bench_rescore.py {' '.join(sys.argv[1:])}`",
            "",
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
            f"{platform.release()}, shared (load average at each row); Python "
            f"{platform.python_version()}; {versions}. One run per row (medians where said).",
            "",
            "| run | wall | CPU | peak RSS | rate | load | target |",
            "|---|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
        ]
    )
    text = RESULTS.read_text()
    heading = text.index("## Re-scoring")
    following = text.find("\n## ", heading + 1)
    at = len(text) if following < 0 else following
    RESULTS.write_text(text[:at].rstrip("\n") + "\n" + block + text[at:])
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
