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
  its own: chained decision records per second, timed inside the recorder (evaluating each
  recorded row on the single path, preparing and appending it), so scoring is not counted.

The rulesets: `--lenders` lenders derived from the shipped ones (`bench_matcher.
derive_documents`), and the same with the comparison thresholds of every fifth lender moved.
Inputs are cached in `--work` (default /tmp/lendmatch-bench-rescore) by size and seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from _databases import postgres_schema
from _sql import match_query
from bench_matcher import _perturb, derive_documents

import matcher
from audit import open_store
from broker import BatchRecorder, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR

ON = "2026-11-25"
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


def run_rescore(args: list[str]) -> tuple[float, float, dict[str, Any]]:
    """`lendmatch rescore ARGS` in a fresh process: (seconds, peak RSS MiB, impact.json)."""
    lendmatch = str(Path(sys.executable).with_name("lendmatch"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([lendmatch, "rescore", *args], check=True, capture_output=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = Path(args[args.index("--out") + 1])
    return seconds, max(peak, before) / 1024, json.loads((out / "impact.json").read_text())


def duckdb_diff(features: Path, old: matcher.Ruleset, new: matcher.Ruleset) -> tuple[float, dict]:
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


def apply_rate(work: Path, n: int, old: matcher.Ruleset, new: matcher.Ruleset) -> tuple[int, float]:
    """`rescore --apply --all` of n applications on PostgreSQL: (records, seconds recording)."""
    on = dt.date.fromisoformat(ON)
    apps = work / f"apply-{n}.parquet"
    matcher.generate(n, 3, on).write_parquet(apps)
    with postgres_schema("bench_rescore") as url:
        store = open_store(url)
        try:
            recorder = BatchRecorder(store, new, everything=True)
            spent = 0.0

            def timed(features: pl.DataFrame, changes: pl.DataFrame) -> None:
                nonlocal spent
                started = time.perf_counter()
                recorder(features, changes)
                spent += time.perf_counter() - started

            rescore_file(apps, new, old, on=on, out=work / "out-apply", record=timed)
            assert store.decisions.verify().ok
        finally:
            store.dispose()
    return recorder.recorded, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--lenders", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--apply-n", type=int, default=50_000, help="0: no --apply run")
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

    results: dict[str, tuple[float, float]] = {}
    impacts: dict[str, dict[str, Any]] = {}
    for name, path, extra in (
        ("nested", nested, []),
        ("features", features, []),
        *((("ray", features, ["--engine", "ray", "--ray-cpus", "2"]),) if args.ray else ()),
    ):
        out = work / f"out-{name}"
        seconds, peak, impact = run_rescore(
            [*common, "--input", str(path), "--out", str(out), *extra]
        )
        results[name], impacts[name] = (seconds, peak), impact
        print(
            f"lendmatch rescore, {name}: {seconds:.1f} s, peak RSS {peak:,.0f} MiB, "
            f"{impact['changes']:,} changed outcomes"
        )

    duck_seconds, duck_counts = duckdb_diff(features, old, new)
    changed = pl.read_parquet(work / "out-features" / "changes.parquet").group_by("lender_id").len()
    ours = {lender_id: 0 for lender_id in duck_counts} | dict(changed.iter_rows())
    assert ours == duck_counts, "DuckDB's changed outcomes differ from lendmatch's"
    print(
        f"DuckDB diff from the feature Parquet: {duck_seconds:.1f} s (counts equal, asserted); "
        f"lendmatch/DuckDB speed ratio {duck_seconds / results['features'][0]:.2f}x"
    )
    if args.ray:
        print(f"Ray (local, 2 CPUs) / local time: {results['ray'][0] / results['features'][0]:.2f}")
    if args.apply_n:
        records, seconds = apply_rate(work, args.apply_n, old, new)
        print(
            f"--apply on PostgreSQL: {records:,} chained decision records in {seconds:.1f} s "
            f"recording: {records / seconds:,.0f} records/s"
        )


if __name__ == "__main__":
    main()
