"""The append path alone: the group commit's writer thread's CPU a batch and the wall time a
record, on SQLite and PostgreSQL, with nothing else in the process (no HTTP, no event loop).

    uv run python benchmarks/bench_append.py                      # this checkout
    uv run python benchmarks/bench_append.py --before <checkout>  # and another, alternating

`<checkout>` is a source tree (`git archive COMMIT | tar -x -C DIR`); its `audit` is imported
instead of this checkout's (checked). Each run is a fresh process on a fresh database: the
shipped lenders' decisions on `--records` generated applications, each with its personal
payload and people, submitted with `DecisionLog.record_future` in waves of `--batch` (a wave
waits for its futures, so each is one batch of the writer thread), after 50 records of
warm-up. Per run: the writer thread's CPU time (`time.thread_time` around each batch's
commit) per batch, and the wall time per record. Per code `--rounds` runs, alternating
(B A, A B, ...) so that load on the machine falls on both alike; medians printed as a
Markdown table with the machine and versions. Nothing is written to RESULTS.md.

The HTTP figures (`bench_api.py`) add the event loop's share and the two threads' contention
for the interpreter's lock; this isolates what the store's writer costs a batch, the part
that a second worker (smaller batches) pays more often.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _databases import database
from bench_matcher import _commit, machine

ON = dt.date(2026, 11, 25)
WARM_UP = 50


def run_once(kind: str, batch: int, records: int) -> dict[str, Any]:
    """One run in this process: writer CPU per batch (ms) and wall per record (ms)."""
    import audit
    import matcher
    from audit import open_store
    from broker.decisions import _append
    from matcher.application import Application
    from matcher.generate import generate

    ruleset = matcher.load_ruleset(Path(__file__).parents[1] / "lender_rules" / "lenders")
    nested = generate(records + WARM_UP, 3, ON).drop("application_id", strict=False)
    appends = []
    for row in nested.to_dicts():
        application = Application.model_validate(row, context={"on": ON})
        decision = matcher.decide(application, ruleset)
        appends.append(_append(application, decision, "api", None, "bench"))
    with tempfile.TemporaryDirectory() as folder, database(kind, Path(folder), "append") as url:
        store = open_store(url)
        log = store.decisions
        for arguments in appends[:WARM_UP]:
            log.record(**arguments)
        cpu = 0.0
        commit = log._commit_appends

        def timed(items: Any) -> Any:
            nonlocal cpu
            start = time.thread_time()
            try:
                return commit(items)
            finally:
                cpu += time.thread_time() - start

        log._commit_appends = timed  # type: ignore[method-assign]
        rest = appends[WARM_UP:]
        batches = 0
        start = time.perf_counter()
        for i in range(0, len(rest), batch):
            for future in [log.record_future(**arguments) for arguments in rest[i : i + batch]]:
                future.result()
            batches += 1
        wall = time.perf_counter() - start
        if not log.verify().ok:
            raise RuntimeError("the chain does not verify after the run")
        store.dispose()
    return {
        "audit": str(Path(audit.__file__).parent.resolve()),
        "cpu_ms_per_batch": cpu / batches * 1e3,
        "wall_ms_per_record": wall / len(rest) * 1e3,
    }


def _child(code: Path, kind: str, batch: int, records: int) -> dict[str, Any]:
    """`run_once` in a fresh process with `audit` imported from `code` (checked)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "PYTHONPATH": str(code)}
        command = [sys.executable, __file__, "--emit", out.name, "--databases", kind]
        command += ["--batch", str(batch), "--records", str(records)]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        figures: dict[str, Any] = json.loads(Path(out.name).read_text())
    if Path(figures["audit"]) != (code / "audit").resolve():
        raise RuntimeError(f"the run of {code} imported audit from {figures['audit']}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4], help="records a batch")
    parser.add_argument("--records", type=int, default=1000, help="records a run")
    parser.add_argument("--rounds", type=int, default=4, help="runs per code")
    parser.add_argument("--before", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--emit", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.emit is not None:
        figures = run_once(args.databases[0], args.batch[0], args.records)
        args.emit.write_text(json.dumps(figures))
        return 0
    this = Path(__file__).resolve().parents[1]
    codes = {"this": this} if args.before is None else {"before": args.before, "this": this}
    load = os.getloadavg()
    rows = []
    for kind in args.databases:
        for batch in args.batch:
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
            for r in range(args.rounds):
                order = list(codes) if r % 2 == 0 else list(reversed(codes))
                for name in order:
                    runs[name].append(_child(codes[name], kind, batch, args.records))
                    print(f"  {kind}, batch {batch}, {name}, run {r + 1}", file=sys.stderr)
            for name, found in runs.items():
                cpu = [f["cpu_ms_per_batch"] for f in found]
                wall = [f["wall_ms_per_record"] for f in found]
                rows.append(
                    f"| {kind} | {batch} | {name} ({_commit(codes[name])}) "
                    f"| {statistics.median(cpu):.3f} | {min(cpu):.3f}-{max(cpu):.3f} "
                    f"| {statistics.median(wall):.3f} | {len(found)} |"
                )
    info = machine()
    print("Machine and versions: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".")
    print(f"Load average before: {', '.join(f'{x:.2f}' for x in load)}; {args.records:,} "
          f"records a run after {WARM_UP} of warm-up; runs alternate between codes.\n")  # fmt: skip
    print("| database | records a batch | code | writer CPU ms/batch (median) | range "
          "| wall ms/record (median) | runs |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
