"""Instructions per explanation: `matcher.explain` counted by valgrind (callgrind), for this
checkout and, with `--before DIR`, another one, on the same lenders and applications.

    uv run python benchmarks/count_explain.py --before <checkout of main>   # ~6 minutes
    uv run python benchmarks/count_explain.py --apps 500 --warm 200

Why: on a shared 2-core machine the single path's wall-clock p50 and p99
(`bench_matcher.py --only single`) move by 20-30 % from run to run, which hides a change
of 10 %. The number of instructions executed does not move: the same code on the same data
runs the same instructions (hash seed fixed, garbage collections included). It is a
developer's yardstick for the explanations' cost, not a speed: it does not see cache misses,
and the issue's targets stay those of `bench_matcher.py`.

What it does, per code, with `matcher` imported from that checkout (compiled modules where
its `.native/` build matches, as `import matcher` decides): a plain process builds the
benchmark's 50 derived lenders (`bench_matcher.benchmark_lenders`, seed 7) and decides
`--warm` applications (seed 99) and `--apps` others (seed 7); a process under `valgrind
--tool=callgrind` loads the lenders and those decisions, explains the rejected lenders of
the first set (warm-up: the lenders' kept answers fill as in a running server), then those
of the second set. Only this last part is counted (`--toggle-collect` on the C function of
the `itertools.starmap` that drives it). The table gives instructions per application and
per rejected lender, and checks that both codes gave the same explanations (a digest of
their `repr`, made after the count).

Needs valgrind on the PATH (Debian: `apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import itertools
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench_matcher

ROOT = Path(__file__).resolve().parent.parent
TOGGLE = "starmap_next"  # the C function of itertools.starmap: it runs only the counted part


def prepare(args: argparse.Namespace) -> int:
    """Not counted (a plain process, `matcher` from the code counted): the lender documents,
    and each application's feature row and rejected lenders' outcomes, pickled to
    `--prepare`."""
    import matcher

    defaults = bench_matcher.parse_args(["--only", "single"])
    _, documents = bench_matcher.benchmark_lenders(defaults)
    ruleset = matcher.ruleset_from_documents(documents)
    on = bench_matcher.DECISION_DATE
    when = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)

    def decided(n: int, seed: int) -> list[tuple[dict[str, Any], list[tuple[str, int, int]]]]:
        out = []
        nested = bench_matcher.generate(n, seed).drop("application_id", strict=False)
        for document in nested.to_dicts():
            application = matcher.Application.model_validate(document, context={"on": on})
            decision = matcher.decide(application, ruleset, decided_at=when)
            rejected = [
                (o.lender_id, o.failed, o.unknown) for o in decision.outcomes if not o.eligible
            ]
            out.append((dict(decision.features), rejected))
        return out

    data = {"documents": documents, "warm": decided(args.warm, 99), "apps": decided(args.apps, 7)}
    Path(args.prepare).write_bytes(pickle.dumps(data))
    return 0


def child(args: argparse.Namespace) -> int:
    """In the counted process: the ruleset from the prepared documents, the warm-up
    explanations, then the measured ones through `itertools.starmap` (the part counted);
    what was counted printed as JSON."""
    import matcher
    from matcher.engine import LenderOutcome

    data = pickle.loads(Path(args.child).read_bytes())
    ruleset = matcher.ruleset_from_documents(data["documents"])

    def outcomes(rows: list[Any]) -> list[tuple[dict[str, Any], list[LenderOutcome]]]:
        return [(row, [LenderOutcome(*o) for o in rejected]) for row, rejected in rows]

    warm, measured = outcomes(data["warm"]), outcomes(data["apps"])
    for row, rejected in warm:
        matcher.explain(row, rejected, ruleset, args.lang)
    calls = ((row, rejected, ruleset, args.lang) for row, rejected in measured)
    # dropped as they come, as a server drops them once answered (kept, they would make
    # every garbage collection walk them)
    collections.deque(itertools.starmap(matcher.explain, calls), maxlen=0)
    # the digest from the same explanations made again, after the counted part
    digest = hashlib.sha256()
    for row, rejected in measured:
        digest.update(repr(matcher.explain(row, rejected, ruleset, args.lang)).encode())
    print(
        json.dumps(
            {
                "compiled": matcher.compiled,
                "matcher": str(Path(matcher.__file__).parent),
                "applications": len(measured),
                "rejected": sum(len(rejected) for _, rejected in measured),
                "digest": digest.hexdigest()[:16],
            }
        )
    )
    return 0


def count(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One counted run with `matcher` imported from `code`: the child's figures and the
    instructions callgrind collected."""
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONHASHSEED": "0"}
    sizes = ("--apps", str(args.apps), "--warm", str(args.warm), "--lang", args.lang)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "decided.pickle"
        this = [sys.executable, __file__]
        subprocess.run([*this, "--prepare", str(data), *sizes], env=env, check=True)
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--toggle-collect={TOGGLE}",
            f"--callgrind-out-file={Path(tmp) / 'callgrind.out'}",
            *this,
            "--child",
            str(data),
            *sizes,
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the counted run of {code} failed:\n{done.stderr[-3000:]}")
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind printed no count for {code}:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(figures["matcher"]) != (code / "matcher").resolve():
        raise RuntimeError(f"the run of {code} imported matcher from {figures['matcher']}")
    figures["instructions"] = int(collected.group(1))
    figures["commit"] = bench_matcher._commit(code)
    return figures


def render(runs: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Instructions executed by `matcher.explain` (callgrind), {args.apps:,} applications "
        f"after {args.warm:,} warm-up ones, 50 derived lenders (seed 7), language {args.lang}.",
        "",
        "| code | commit | compiled | rejected lenders | instructions | per application "
        "| per rejected lender | digest |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for name, f in runs.items():
        lines.append(
            f"| {name} | {f['commit']} | {'yes' if f['compiled'] else 'no'} "
            f"| {f['rejected']:,} | {f['instructions']:,} "
            f"| {f['instructions'] / f['applications']:,.0f} "
            f"| {f['instructions'] / max(f['rejected'], 1):,.0f} | {f['digest']} |"
        )
    if "before" in runs:
        before, after = runs["before"], runs["after"]
        lines += [
            "",
            f"after / before: {after['instructions'] / before['instructions']:.3f}; "
            + (
                "same explanations."
                if after["digest"] == before["digest"]
                else "**the explanations differ** (digests)."
            ),
        ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--before", type=Path, default=None, help="another checkout to count alike (before)"
    )
    parser.add_argument("--apps", type=int, default=2000, help="applications counted")
    parser.add_argument("--warm", type=int, default=1000, help="warm-up applications")
    parser.add_argument("--lang", default="en", choices=["en", "nb", "sv"])
    parser.add_argument("--prepare", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.prepare is not None:
        return prepare(args)
    if args.child is not None:
        return child(args)
    if shutil.which("valgrind") is None:
        print(
            "count_explain: valgrind is not on the PATH (apt-get install valgrind)", file=sys.stderr
        )
        return 2
    codes = (
        {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
    )
    runs: dict[str, dict[str, Any]] = {}
    for name, code in codes.items():
        print(f"counting {name} ({code}) ...", file=sys.stderr, flush=True)
        runs[name] = count(code, args)
    print(render(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
