"""Matcher benchmark: lendmatch's frame and single paths against DuckDB SQL and per-row
JsonLogic engines, in one process, on the same rules and the same data.

    uv run python benchmarks/bench_matcher.py                  # N=1,000,000, 5 repeats
    uv run python benchmarks/bench_matcher.py --n 200000 --repeat 7
    uv run python benchmarks/bench_matcher.py --quick          # smoke run, well under a minute
    uv run python benchmarks/bench_matcher.py --only single    # the single path (about a minute)
    uv run python benchmarks/bench_matcher.py --only batch --before <checkout of main>

What it does (see issue 2, "Speed"):

- Rules: 50 lenders of 7 requirements each, derived from the shipped lender files
  (lender_rules/lenders): lender ids renamed, a seeded choice of requirements, the numeric
  thresholds of comparisons perturbed by a seeded factor in [0.8, 1.2] (reason texts are kept
  as they are, so their numbers may no longer match the rule).
- Data: N synthetic nested applications (`matcher.generate.generate`, seeded), their feature
  frame computed once, and a Parquet file of the nested applications written once.
- (a) lendmatch frame path: `matcher.match` on the precomputed feature frame, bitmasks included.
- (b) lendmatch from nested applications to outcomes (features + match), from memory and from
  the Parquet file; peak memory as the RSS high-water mark (VmHWM, as getrusage's ru_maxrss)
  of a fresh process that reads the Parquet file and matches it.
- (c) DuckDB SQL of the same rules (benchmarks/_sql.py translates the typed IR) over the same
  feature frame registered as an Arrow table; its bitmasks are asserted equal to lendmatch's.
- (d) datalogic-py, every rule compiled once, evaluated per row on a sample, extrapolated to N.
- (e) panzi-json-logic (pure Python) per row on a smaller sample, extrapolated to N.
- (f) lendmatch single path: JSON bytes -> the API's own reading of the body
  (`api.body.validated_json`: pydantic's JSON parser into `Application`, the checks of
  `api.body.parse_json` kept) -> `decide` -> `explain` of the rejected lenders, p50/p99
  over many calls, each on a different application, for the shipped lenders and for the
  50; and `evaluate` alone (feature row given) for the 50; the whole answer for the 50
  against datalogic-py's mean bare evaluation of the same rules (issue 8: p50 <= 2x, p99
  <= 4x). `--only single` runs just this part and adds a dated block to the
  `## Matcher: single path` section of RESULTS.md.
- `--only batch [--before DIR]`: (a) and (c) alone, one after the other in each of
  `--rounds` fresh processes per code (DIR's and this checkout's, alternating), with wall
  and CPU medians and the DuckDB ratio of each run (issue 12: <= 0.07 s, >= 25x DuckDB);
  adds a dated block to the `## Matcher: batch path` section of RESULTS.md.

Medians are over `--repeat` runs after one warm-up run. "Decisions" are application-lender
pairs (N x 50), as in the issue. Targets are the issue's, stated for N = 1,000,000; for
another N the time targets are scaled linearly.

A full run writes the `## Matcher` section of benchmarks/RESULTS.md (other sections are kept);
`--quick` only prints unless `--results PATH` is given.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import datalogic_py
import duckdb
import polars as pl
from json_logic.apply import apply as jsonlogic_apply
from json_logic.builtins import to_bool as jsonlogic_truthy

import api.body as api_body
import matcher
from matcher.application import Application
from matcher.ruleset import Ruleset
from matcher.schema import polars_schema

ROOT = Path(__file__).resolve().parent.parent
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sql import match_query  # noqa: E402 - benchmarks/ is not a package

LENDERS_DIR = ROOT / "lender_rules" / "lenders"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Matcher"
SINGLE_SECTION = "## Matcher: single path"
BATCH_SECTION = "## Matcher: batch path"
DECISION_DATE = dt.date(2026, 11, 25)
TARGET_N = 1_000_000

# The targets (for N = TARGET_N and 50 lenders).
TARGET_FRAME_S = 0.25
TARGET_NESTED_S = 1.5
TARGET_DECIDE_P50_US = 100.0
TARGET_DECIDE_P99_US = 300.0
TARGET_VS_DUCKDB = 3.0
TARGET_VS_PER_ROW = 100.0

# The targets for the single path against the bare evaluation of the same rules by
# the fastest per-row JsonLogic engine (datalogic-py, mean per application), 50 lenders.
TARGET_SINGLE_P50_VS_BARE = 2.0
TARGET_SINGLE_P99_VS_BARE = 4.0
WARM_UP = 200  # single-path calls before measuring, on other applications
BARE_BLOCK = 50  # --before: single-path calls between two blocks of the yardstick

T = TypeVar("T")


# --- rules ---------------------------------------------------------------------------------

_COMPARISONS = frozenset({"<", "<=", ">", ">="})


def _perturb(rule: Any, rng: random.Random) -> Any:
    """The rule with every numeric constant that a comparison compares against scaled by a
    seeded factor in [0.8, 1.2] (ints stay ints, zero stays zero)."""
    if isinstance(rule, list):
        return [_perturb(item, rng) for item in rule]
    if not isinstance(rule, dict) or len(rule) != 1:
        return rule
    ((op, args),) = rule.items()
    if op == "var":
        return rule
    items = args if isinstance(args, list) else [args]
    out: list[Any] = []
    for item in items:
        if op in _COMPARISONS and isinstance(item, int | float) and not isinstance(item, bool):
            factor = rng.uniform(0.8, 1.2)
            item = round(item * factor) if isinstance(item, int) else round(item * factor, 3)
        out.append(_perturb(item, rng))
    return {op: out if isinstance(args, list) else out[0]}


def derive_documents(
    base: Sequence[Mapping[str, Any]], *, lenders: int, per_lender: int, seed: int
) -> list[dict[str, Any]]:
    """`lenders` lender documents derived from `base` (cycled): renamed, `per_lender`
    requirements chosen with a seed (in file order), comparison thresholds perturbed."""
    rng = random.Random(seed)
    ordered = sorted(base, key=lambda d: str(d["lender_id"]))
    out: list[dict[str, Any]] = []
    for k in range(lenders):
        source = ordered[k % len(ordered)]
        doc = copy.deepcopy(dict(source))
        doc["lender_id"] = f"{source['lender_id']}_v{k:02d}"
        doc["name"] = f"{source['name']} (variant {k})"
        requirements = list(source["requirements"])
        chosen = sorted(rng.sample(range(len(requirements)), min(per_lender, len(requirements))))
        doc["requirements"] = [
            {**copy.deepcopy(requirements[i]), "rule": _perturb(requirements[i]["rule"], rng)}
            for i in chosen
        ]
        out.append(doc)
    return out


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs (after a warm-up run), and the CPU seconds of the
    process (all threads) in each run: less disturbed by other work on the machine."""

    runs: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def timed(fn: Callable[[], T], repeat: int) -> tuple[Timing, T]:
    """Run `fn` once to warm up, then `repeat` times; the runs' times and the last result."""
    result = fn()
    runs: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        del result
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return Timing(runs, cpu), result


@dataclass
class Latency:
    """Per-call latencies in microseconds."""

    micros: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.micros)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


@contextmanager
def step(title: str) -> Iterator[None]:
    print(f"  {title} ...", end="", flush=True, file=sys.stderr)
    start = time.perf_counter()
    yield
    print(f" {time.perf_counter() - start:.1f} s", file=sys.stderr)


# --- machine and versions ------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def machine() -> dict[str, str]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": f"{_cpu_model()}, {cores} cores usable ({os.cpu_count()} online)",
        "RAM": f"{_ram_gib():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Polars": pl.__version__,
        "DuckDB": duckdb.__version__,
        "datalogic-py": _version("datalogic-py"),
        "panzi-json-logic": _version("panzi-json-logic"),
        "pydantic": _version("pydantic"),
        "mypyc": _version("mypy"),
        "this checkout's matcher modules": (
            "compiled (mypyc)" if getattr(matcher, "compiled", False) else "Python"
        ),
    }


def _maxrss_mib() -> float:
    """This process's RSS high-water mark in MiB: VmHWM of /proc/self/status where there is
    one (Linux; unlike getrusage's ru_maxrss it is not inherited from the parent across
    fork/exec), else getrusage's ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes / KiB


# --- data ----------------------------------------------------------------------------------


def generate(n: int, seed: int) -> pl.DataFrame:
    """N nested applications (the shape of `Application`), seeded."""
    from matcher.generate import generate as gen

    frame: pl.DataFrame | pl.LazyFrame = gen(n, seed=seed, on=DECISION_DATE)
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _sample_indices(n: int, k: int, seed: int) -> list[int]:
    return sorted(random.Random(seed).sample(range(n), min(k, n)))


# --- per-row engines -----------------------------------------------------------------------

Bits = tuple[int | None, int | None]


@dataclass
class PerRow:
    """A per-row engine's time on a sample and its agreement with lendmatch."""

    name: str
    rows: int
    seconds: float
    agree: int = 0
    pairs: int = 0
    documented: int = 0  # disagreements on a requirement reading a null or infinite value

    @property
    def per_application_us(self) -> float:
        return self.seconds / self.rows * 1e6

    def extrapolated(self, n: int) -> float:
        return self.seconds / self.rows * n


def _lendmatch_bits(
    result: pl.DataFrame, ruleset: Ruleset, indices: Sequence[int]
) -> list[list[Bits]]:
    rows = result[list(indices)].to_dicts()
    return [
        [
            (row[f"{lender.lender_id}.failed"], row[f"{lender.lender_id}.unknown"])
            for lender in ruleset.lenders
        ]
        for row in rows
    ]


def _odd(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _agreement(
    engine: list[list[Bits]],
    expected: list[list[Bits]],
    rows: Sequence[Mapping[str, Any]],
    ruleset: Ruleset,
) -> tuple[int, int, int]:
    """(pairs with equal bitmasks, pairs, unequal pairs where every differing requirement
    reads a null or infinite feature value: where lendmatch's rule semantics (README, "The
    rule language") differ on purpose)."""
    agree = pairs = documented = 0
    for got_row, want_row, row in zip(engine, expected, rows, strict=True):
        for lender, got, want in zip(ruleset.lenders, got_row, want_row, strict=True):
            if want[0] is None:  # the lender does not serve the market
                continue
            pairs += 1
            if got == want:
                agree += 1
                continue
            differ = ((got[0] or 0) ^ (want[0] or 0)) | ((got[1] or 0) ^ (want[1] or 0))
            documented += all(
                any(_odd(row[f]) for f in r.reads) for r in lender.requirements if differ & r.bit
            )
    return agree, pairs, documented


def benchmark_lenders(args: argparse.Namespace) -> tuple[Ruleset, list[dict[str, Any]]]:
    """The shipped lenders, and the benchmark's lender documents derived from them
    (`--lenders`, `--per-lender`, `--seed`)."""
    shipped = matcher.load_ruleset(LENDERS_DIR)
    documents = derive_documents(
        list(shipped.documents.values()),
        lenders=args.lenders,
        per_lender=args.per_lender,
        seed=args.seed,
    )
    return shipped, documents


def datalogic_evaluator(ruleset: Ruleset) -> Callable[[dict[str, Any]], list[Bits]]:
    """datalogic-py's bare evaluation of one feature row: every requirement compiled once;
    one native call evaluates all requirements of the lenders serving the row's market;
    bitmasks assembled in Python."""
    engine = datalogic_py.Engine()
    session = engine.session()
    lender_index = {lender.lender_id: i for i, lender in enumerate(ruleset.lenders)}
    plan: dict[str, tuple[list[Any], list[tuple[int, int]]]] = {}
    for market in ("NO", "SE"):
        rules: list[Any] = []
        slots: list[tuple[int, int]] = []
        for lender in ruleset.for_market(market):
            document = ruleset.documents[lender.lender_id]
            for requirement, raw in zip(lender.requirements, document["requirements"], strict=True):
                rules.append(engine.compile(raw["rule"]))
                slots.append((lender_index[lender.lender_id], requirement.bit))
        plan[market] = (rules, slots)
    width = len(ruleset.lenders)

    def evaluate(row: dict[str, Any]) -> list[Bits]:
        rules, slots = plan[row["market"]]
        results = session.evaluate_many(rules, datalogic_py.DataHandle(row))
        failed: list[int | None] = [None] * width
        unknown: list[int | None] = [None] * width
        for (i, bit), value in zip(slots, results, strict=True):
            if failed[i] is None:
                failed[i] = unknown[i] = 0
            if not isinstance(value, str):  # an evaluation error (e.g. division by zero)
                unknown[i] = (unknown[i] or 0) | bit
            elif value != "true":
                failed[i] = (failed[i] or 0) | bit
        return list(zip(failed, unknown, strict=True))

    return evaluate


def run_datalogic(rows: list[dict[str, Any]], ruleset: Ruleset) -> tuple[float, list[list[Bits]]]:
    """`datalogic_evaluator` on every row, timed."""
    evaluate = datalogic_evaluator(ruleset)
    start = time.perf_counter()
    out = [evaluate(row) for row in rows]
    return time.perf_counter() - start, out


def run_panzi(rows: list[dict[str, Any]], ruleset: Ruleset) -> tuple[float, list[list[Bits]]]:
    """`json_logic.apply` of every requirement of every lender serving the row's market."""
    plan: dict[str, list[tuple[int, list[tuple[int, Any]]]]] = {}
    for market in ("NO", "SE"):
        plan[market] = []
        for i, lender in enumerate(ruleset.lenders):
            if market not in lender.markets:
                continue
            document = ruleset.documents[lender.lender_id]
            rules = [
                (r.bit, raw["rule"])
                for r, raw in zip(lender.requirements, document["requirements"], strict=True)
            ]
            plan[market].append((i, rules))
    width = len(ruleset.lenders)
    out: list[list[Bits]] = []
    start = time.perf_counter()
    for row in rows:
        bits: list[Bits] = [(None, None)] * width
        for i, rules in plan[row["market"]]:
            failed = unknown = 0
            for bit, rule in rules:
                try:
                    if not jsonlogic_truthy(jsonlogic_apply(rule, row)):
                        failed |= bit
                except (ArithmeticError, TypeError, ValueError):
                    unknown |= bit
            bits[i] = (failed, unknown)
        out.append(bits)
    return time.perf_counter() - start, out


# --- single path ---------------------------------------------------------------------------


@dataclass
class Single:
    """Latencies of the single-application path."""

    total: Latency
    validate: Latency
    decide: Latency
    explain: Latency
    rejected_per_call: float
    total_cpu: Latency  # the whole answer in this thread's CPU time: without preemptions
    # with `bare`: datalogic-py on the same application right after each call (wall, CPU)
    bare: Latency | None = None
    bare_cpu: Latency | None = None
    # garbage collections during the measured calls, by generation (0, 1, 2): each one stops
    # the call it falls in, so they are what many of the slowest calls have in common
    collections: tuple[int, int, int] = (0, 0, 0)


def set_collector_as_served() -> int:
    """Set this process's garbage collector as `lendmatch serve` sets a worker's
    (`api.app.collect_young_less_often`, where the measured code has it: a checkout from
    before keeps Python's default), since the single path stands for a request to the API;
    return the young generation's threshold."""
    import api.app as api_app

    setting = getattr(api_app, "collect_young_less_often", None)
    if setting is not None:
        setting()
    return gc.get_threshold()[0]


_COLLECTOR = (
    "Garbage collector as the API server sets it (`api.app.collect_young_less_often`; a "
    "checkout without it keeps Python's default, 700)"
)


def read_application(payload: bytes, context: dict[str, Any]) -> Application:
    """The body read as the API reads it: `api.body.validated_json`; in a checkout from
    before it (`--before`), what the API did then (`validated` of `parse_json`)."""
    if _VALIDATED_JSON is not None:
        return _VALIDATED_JSON(Application, payload, context)
    return api_body.validated(Application, api_body.parse_json(payload), context)


_VALIDATED_JSON = getattr(api_body, "validated_json", None)


def run_single(
    payloads: Sequence[bytes],
    ruleset: Ruleset,
    calls: int,
    bare: tuple[Callable[[dict[str, Any]], object], Sequence[dict[str, Any]]] | None = None,
) -> Single:
    """JSON bytes -> validated Application -> decide -> explain the rejected lenders. With
    `bare` (an evaluator and the feature rows of `payloads`), every `BARE_BLOCK` calls are
    followed by the evaluator on the same applications' rows: both see the same load on a
    shared machine, and neither pays for the other's cache misses or garbage collections
    call by call."""
    when = dt.datetime.combine(DECISION_DATE, dt.time(12), tzinfo=dt.UTC)
    context = {"on": DECISION_DATE}
    clock = time.perf_counter_ns

    def one(payload: bytes) -> tuple[int, int, int, int]:
        t0 = clock()
        # as the API takes a request's body (duplicate keys and lone surrogates refused)
        app = read_application(payload, context)
        t1 = clock()
        decision = matcher.decide(app, ruleset, decided_at=when)
        t2 = clock()
        rejected = [o for o in decision.outcomes if not o.eligible]
        matcher.explain(decision.features, rejected, ruleset, "en")
        t3 = clock()
        return t3 - t0, t1 - t0, t2 - t1, len(rejected)

    warm = min(WARM_UP, len(payloads) // 2)
    for payload in payloads[:warm]:  # warm-up, on applications not measured after
        one(payload)
    measured = payloads[warm:]
    total: list[float] = []
    validate: list[float] = []
    decide: list[float] = []
    explain: list[float] = []
    rejected = 0
    cpu: list[float] = []
    bare_wall: list[float] = []
    bare_cpu: list[float] = []
    cpu_clock = time.thread_time_ns
    gc.collect()
    collections = [0, 0, 0]

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections[info["generation"]] += 1

    gc.callbacks.append(counted)
    for k in range(calls):
        t0 = clock()
        c0 = cpu_clock()
        a, v, d, r = one(measured[k % len(measured)])
        cpu.append((cpu_clock() - c0) / 1e3)
        if bare is not None and ((k + 1) % BARE_BLOCK == 0 or k + 1 == calls):
            evaluator, rows = bare
            for j in range(k + 1 - (k % BARE_BLOCK + 1), k + 1):
                row = rows[warm + j % len(measured)]
                b0, c0 = clock(), cpu_clock()
                evaluator(row)
                bare_wall.append((clock() - b0) / 1e3)
                bare_cpu.append((cpu_clock() - c0) / 1e3)
        total.append(a / 1e3)
        validate.append(v / 1e3)
        decide.append(d / 1e3)
        explain.append((a - v - d) / 1e3)
        rejected += r
        del t0
    gc.callbacks.remove(counted)
    return Single(
        Latency(total),
        Latency(validate),
        Latency(decide),
        Latency(explain),
        rejected / calls,
        Latency(cpu),
        Latency(bare_wall) if bare is not None else None,
        Latency(bare_cpu) if bare is not None else None,
        (collections[0], collections[1], collections[2]),
    )


def run_evaluate(features: Sequence[dict[str, Any]], ruleset: Ruleset, calls: int) -> Latency:
    clock = time.perf_counter_ns
    evaluate = matcher.evaluate
    for row in features[:200]:
        evaluate(row, ruleset)
    out: list[float] = []
    gc.collect()
    for k in range(calls):
        row = features[k % len(features)]
        t0 = clock()
        evaluate(row, ruleset)
        out.append((clock() - t0) / 1e3)
    return Latency(out)


# --- peak memory in a fresh process --------------------------------------------------------

_CHILD_FLAG = "--peak-child"


def peak_child(parquet: str, documents: str) -> None:
    """Run in a fresh process: Parquet -> outcomes once; print RSS high-water marks (MiB)."""
    ruleset = matcher.ruleset_from_documents(json.loads(Path(documents).read_text()))
    # build (and cache) the frame plan before the baseline: match on no rows
    matcher.match(pl.DataFrame(schema=polars_schema()), ruleset, on=DECISION_DATE)
    baseline = _maxrss_mib()
    out = matcher.match(pl.scan_parquet(parquet), ruleset, on=DECISION_DATE)
    peak = _maxrss_mib()
    print(json.dumps({"baseline_mib": baseline, "peak_mib": peak, "rows": out.height}))


def measure_peak(parquet: Path, documents: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, _CHILD_FLAG, str(parquet), str(documents)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- report --------------------------------------------------------------------------------


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 100 else f"{seconds:,.0f} s"


def _rate(n_decisions: int, seconds: float) -> str:
    rate = n_decisions / seconds
    if rate >= 1e6:
        return f"{rate / 1e6:,.1f} M/s"
    if rate >= 1e3:
        return f"{rate / 1e3:,.1f} k/s"
    return f"{rate:,.0f} /s"


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _fmt_us(us: float) -> str:
    return f"{us:,.1f}"


@dataclass
class Report:
    args: argparse.Namespace
    info: dict[str, str]
    sizes: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def _cells(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


@dataclass
class Measured:
    """Everything `render` reports."""

    n: int
    lenders: int
    shipped_lenders: int
    frame: Timing
    nested_memory: Timing
    nested_parquet: Timing
    peak: dict[str, float]
    duckdb: Timing
    per_row: list[PerRow]
    single_shipped: Single
    single_all: Single
    evaluate_all: Latency


def render(report: Report, m: Measured) -> str:
    """The Markdown body of the `## Matcher` section (also printed)."""
    n, lenders = m.n, m.lenders
    scale = n / TARGET_N
    decisions = n * lenders
    fastest = min(m.per_row, key=lambda p: p.seconds / p.rows)
    out: list[str] = [
        f"Command: `{report.args.command}`",
        "",
        "Machine and versions: " + "; ".join(f"{k} {v}" for k, v in report.info.items()) + ".",
        "",
        "Sizes: " + "; ".join(f"{k}: {v}" for k, v in report.sizes.items()) + ".",
        "",
    ]
    scaled = (
        ""
        if n == TARGET_N
        else f" (targets scaled linearly from 1M to {n:,}: indicative only, fixed costs weigh more)"
    )
    out += [
        f"### Batch: {n:,} applications x {lenders} lenders{scaled}",
        "",
        _cells("path", "median", "best", "CPU (all threads)", "decisions/s", "target", ""),
        "|---|---:|---:|---:|---:|---:|---|",
    ]

    def batch(name: str, seconds: float, timing: Timing | None, target: float | None) -> str:
        goal = "" if target is None else f"<= {_s(target * scale)}"
        verdict = "" if target is None else _verdict(seconds <= target * scale)
        best = "-" if timing is None else _s(timing.best)
        cpu = "-" if timing is None else _s(timing.cpu_median)
        rate = _rate(decisions, seconds)
        return _cells(name, _s(seconds), best, cpu, rate, goal, verdict)

    out += [
        batch(
            "lendmatch frame (features precomputed), bitmasks",
            m.frame.median,
            m.frame,
            TARGET_FRAME_S,
        ),
        batch(
            "lendmatch nested (in memory) -> features + match",
            m.nested_memory.median,
            m.nested_memory,
            None,
        ),
        batch(
            "lendmatch nested Parquet file -> features + match",
            m.nested_parquet.median,
            m.nested_parquet,
            TARGET_NESTED_S,
        ),
        batch(
            "DuckDB SQL of the same rules (features precomputed)",
            m.duckdb.median,
            m.duckdb,
            None,
        ),
    ]
    for p in m.per_row:
        name = (
            f"{p.name} per row ({p.rows:,}-row sample, "
            f"{_fmt_us(p.per_application_us)} us/application), extrapolated"
        )
        out.append(batch(name, p.extrapolated(n), None, None))
    peak = m.peak
    out += [
        "",
        f"Peak memory, nested Parquet -> outcomes: RSS high-water {peak['peak_mib']:,.0f} MiB "
        f"(VmHWM of a fresh process; {peak['baseline_mib']:,.0f} MiB after imports and "
        f"ruleset, so {peak['peak_mib'] - peak['baseline_mib']:,.0f} MiB for the work).",
        "",
        "### Ratios (time of the peer / time of the lendmatch frame path)",
        "",
        _cells("comparison", "measured", "target", ""),
        "|---|---:|---:|---|",
    ]
    vs_duck = m.duckdb.median / m.frame.median
    out.append(
        _cells(
            "DuckDB SQL / lendmatch frame",
            f"{vs_duck:,.1f}x",
            f">= {TARGET_VS_DUCKDB:.0f}x",
            _verdict(vs_duck >= TARGET_VS_DUCKDB),
        )
    )
    for p in m.per_row:
        ratio = p.extrapolated(n) / m.frame.median
        if p is fastest:
            label = f"{p.name} per row / lendmatch frame (fastest per-row engine)"
            target, verdict = f">= {TARGET_VS_PER_ROW:.0f}x", _verdict(ratio >= TARGET_VS_PER_ROW)
        else:
            label, target, verdict = f"{p.name} per row / lendmatch frame", "", ""
        out.append(_cells(label, f"{ratio:,.0f}x", target, verdict))
    out += [
        "",
        *render_single(m.single_shipped, m.shipped_lenders, m.single_all, lenders),
        *_single_rows(m.single_all, m.evaluate_all, lenders, fastest),
        "",
        *report.lines,
    ]
    return "\n".join(out) + "\n"


def render_single(
    shipped: Single, shipped_lenders: int, every: Single, lenders: int, level: str = "###"
) -> list[str]:
    """The single-application table: the whole answer and its parts, shipped and all lenders."""
    out = [
        f"{level} Single application (microseconds per call)",
        "",
        _cells("call", "lenders", "p50", "p99", "target", ""),
        "|---|---:|---:|---:|---:|---|",
    ]
    call = "JSON -> validate -> decide -> explain rejected"
    for single, count in ((shipped, shipped_lenders), (every, lenders)):
        total = single.total
        if single is shipped:
            ok = total.p50 <= TARGET_DECIDE_P50_US and total.p99 <= TARGET_DECIDE_P99_US
            target = f"p50 <= {TARGET_DECIDE_P50_US:.0f}, p99 <= {TARGET_DECIDE_P99_US:.0f}"
            row = (f"{count} (shipped)", _fmt_us(total.p50), _fmt_us(total.p99), target)
            out.append(_cells(call, *row, _verdict(ok)))
        else:
            out.append(_cells(call, str(count), _fmt_us(total.p50), _fmt_us(total.p99), "", ""))
        rejected = f"{single.rejected_per_call:.1f} rejected lenders/call"
        for part, lat in (
            ("&nbsp;&nbsp;of which validation", single.validate),
            ("&nbsp;&nbsp;of which decide (features + evaluate)", single.decide),
            (f"&nbsp;&nbsp;of which explain ({rejected})", single.explain),
        ):
            out.append(_cells(part, str(count), _fmt_us(lat.p50), _fmt_us(lat.p99), "", ""))
    return out


def _single_rows(single: Single, evaluate: Latency, lenders: int, bare: PerRow) -> list[str]:
    """The `evaluate` row, and the whole answer against the bare per-row evaluation."""
    mean = bare.per_application_us
    p50, p99 = single.total.p50 / mean, single.total.p99 / mean
    return [
        _cells(
            "evaluate (feature row given)",
            str(lenders),
            _fmt_us(evaluate.p50),
            _fmt_us(evaluate.p99),
            "",
            "",
        ),
        _cells(
            f"{bare.name} bare evaluation of the same rules (mean; no reasons)",
            str(lenders),
            _fmt_us(mean),
            "",
            "",
            "",
        ),
        "",
        f"Whole answer for {lenders} lenders / {bare.name}'s mean bare evaluation: "
        f"p50 **{p50:.1f}x** (target <= {TARGET_SINGLE_P50_VS_BARE:.0f}x: "
        f"{_verdict(p50 <= TARGET_SINGLE_P50_VS_BARE)}), "
        f"p99 **{p99:.1f}x** (target <= {TARGET_SINGLE_P99_VS_BARE:.0f}x: "
        f"{_verdict(p99 <= TARGET_SINGLE_P99_VS_BARE)}).",
    ]


def write_section(path: Path, body: str) -> None:
    """Replace (or add) the `## Matcher` section of `path`, keeping every other section."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = f"{SECTION}\n\n{body}"
    pattern = re.compile(rf"^{re.escape(SECTION)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=TARGET_N, help="applications (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (>= 5)")
    parser.add_argument("--quick", action="store_true", help="N=20,000, 2 repeats, small samples")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--lenders", type=int, default=50)
    parser.add_argument("--per-lender", type=int, default=7, help="requirements per lender")
    parser.add_argument("--datalogic-sample", type=int, default=2000)
    parser.add_argument("--panzi-sample", type=int, default=300)
    parser.add_argument("--calls", type=int, default=5000, help="single-path calls per measurement")
    parser.add_argument(
        "--results", type=Path, default=None, help=f"default {RESULTS.relative_to(ROOT)}"
    )
    parser.add_argument("--no-results", action="store_true", help="print only")
    parser.add_argument(
        "--only",
        choices=["all", "single", "batch"],
        default="all",
        help="single: only the single path (and datalogic-py's bare evaluation of the same "
        "rules, its yardstick), on --calls different applications; adds a dated block to "
        f"the {SINGLE_SECTION!r} section. batch: only the frame path and DuckDB, "
        f"alternating in each run; adds a dated block to the {BATCH_SECTION!r} section",
    )
    parser.add_argument(
        "--label", default="", help="a few words naming the run's code (--only single)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="with --only single or batch: also run that path of the code in this folder (a "
        "checkout of main, say) in the same session, in alternating child processes, and "
        "report both (before and after), each run with its own yardstick (datalogic-py or DuckDB)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="--before: rounds of each code (--only batch: runs)"
    )
    parser.add_argument("--emit", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    given = list(sys.argv[1:] if argv is None else argv)
    args.command = " ".join(["uv run python benchmarks/bench_matcher.py", *given]).strip()
    if args.quick:
        if "--n" not in given:
            args.n = 20_000
        if "--repeat" not in given:
            args.repeat = 2
        if "--datalogic-sample" not in given:
            args.datalogic_sample = 300
        if "--panzi-sample" not in given:
            args.panzi_sample = 50
        if "--calls" not in given:
            args.calls = 500
    if args.only == "single" and "--calls" not in given:
        args.calls = 500 if args.quick else 5000
    if args.results is None and not args.quick:
        args.results = RESULTS
    if args.no_results:
        args.results = None
    return args


def main_single(args: argparse.Namespace) -> int:
    """`--only single`: the single path for the shipped and the derived lenders, and
    datalogic-py's bare evaluation of the derived lenders' rules, in one process."""
    if args.before is not None:
        return main_compare(args)
    info = machine()
    load_before = os.getloadavg()
    with step("rules"):
        shipped, documents = benchmark_lenders(args)
        ruleset = matcher.ruleset_from_documents(documents)
    n = args.calls + WARM_UP
    with step(f"generate {n:,} applications"):
        nested = generate(n, args.seed).drop("application_id", strict=False)
        features = matcher.feature_frame(nested, DECISION_DATE).collect()
    sample = features.head(args.datalogic_sample).to_dicts()
    with step(f"datalogic-py on {len(sample):,} rows"):
        cpu_start = time.thread_time()
        seconds, _ = run_datalogic(sample, ruleset)
        bare_cpu_us = (time.thread_time() - cpu_start) / len(sample) * 1e6
    bare = PerRow("datalogic-py", len(sample), seconds)
    payloads = [json.dumps(d, separators=(",", ":")).encode() for d in nested.to_dicts()]
    rows = features.to_dicts()
    young = set_collector_as_served()
    with step(f"single path, {args.calls:,} calls x 2 rulesets + evaluate"):
        single_shipped = run_single(payloads, shipped, args.calls)
        interleaved = (datalogic_evaluator(ruleset), rows) if args.emit is not None else None
        single_all = run_single(payloads, ruleset, args.calls, interleaved)
        evaluate_all = run_evaluate(rows, ruleset, args.calls)
    load_after = os.getloadavg()
    lenders = len(ruleset.lenders)
    if args.emit is not None:
        # the yardstick measured call by call beside the whole answer (same load), and the
        # separate sample's for reference
        assert single_all.bare is not None and single_all.bare_cpu is not None
        figures = _figures(single_all, evaluate_all, bare) | {
            "bare_mean": statistics.fmean(single_all.bare.micros),
            "bare_cpu_mean": statistics.fmean(single_all.bare_cpu.micros),
            "bare_sample_mean": bare.per_application_us,
            "bare_sample_cpu_mean": bare_cpu_us,
        }
        args.emit.write_text(json.dumps(figures))
        return 0
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {stamp}{' — ' + args.label if args.label else ''}",
        "",
        f"Command: `{args.command}`",
        "",
        "Machine and versions: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        f"Load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)} "
        f"(2 CPUs shared with other work: it inflates medians and p99s).",
        f"{args.calls:,} calls, each on a different application (after {WARM_UP} warm-up calls "
        f"on others); {lenders} lenders derived from the {len(shipped.lenders)} shipped ones "
        f"(seed {args.seed}); datalogic-py on {len(sample):,} of the same applications.",
        f"{_COLLECTOR}: a young collection every {young:,} new objects.",
        "",
        *render_single(single_shipped, len(shipped.lenders), single_all, lenders, "####"),
        *_single_rows(single_all, evaluate_all, lenders, bare),
    ]
    body = "\n".join(lines) + "\n"
    print(body)
    if args.results is not None:
        append_block(args.results, SINGLE_SECTION, body)
        print(f"added a block to the {SINGLE_SECTION!r} section of {args.results}", file=sys.stderr)
    return 0


# --- before and after, in one session ------------------------------------------------------

_FIGURES = ("total", "validate", "decide", "explain")


def _figures(single: Single, evaluate: Latency, bare: PerRow) -> dict[str, Any]:
    """What a child run reports to `main_compare` (microseconds; 50 lenders)."""
    out: dict[str, Any] = {
        f"{part}_{q}": getattr(getattr(single, part), q)
        for part in _FIGURES
        for q in ("p50", "p99")
    }
    out |= {
        "total_cpu_p50": single.total_cpu.p50,
        "total_cpu_p99": single.total_cpu.p99,
        "evaluate_p50": evaluate.p50,
        "bare_mean": bare.per_application_us,
        "rejected": single.rejected_per_call,
        "collections": list(single.collections),
        "matcher": str(Path(matcher.__file__).resolve().parent),
        # whether the hot modules ran compiled by mypyc (`matcher/_native.py`; False before it)
        "compiled": bool(getattr(matcher, "compiled", False)),
    }
    return out


def _commit(folder: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(folder), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "?"


def _child(code: Path, only: str, options: list[str], out: Path) -> dict[str, Any]:
    """One `--only single|batch` run of this script in a fresh process, with `matcher`
    imported from `code` (checked), its figures read back from `out`."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, __file__, "--only", only, "--emit", str(out), *options]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    figures: dict[str, Any] = json.loads(out.read_text())
    if Path(figures["matcher"]) != (code / "matcher").resolve():
        raise RuntimeError(f"the run of {code} imported matcher from {figures['matcher']}")
    return figures


def main_compare(args: argparse.Namespace) -> int:
    """`--only single --before DIR`: the single path of DIR's code ("before") and of this
    checkout ("after"), `--rounds` child processes each, alternating (B A, A B, ...), so load
    on the machine falls on both alike; each run has its own datalogic-py yardstick."""
    info = machine()
    load_before = os.getloadavg()
    codes = {"before": args.before.resolve(), "after": ROOT}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for name in order:
                with step(f"round {i + 1}: {name} ({codes[name]})"):
                    runs[name].append(
                        _child(
                            codes[name],
                            "single",
                            ["--calls", str(args.calls), "--seed", str(args.seed)],
                            Path(tmp) / "figures.json",
                        )
                    )
    load_after = os.getloadavg()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {stamp} — before ({_commit(codes['before'])}) and after ({_commit(ROOT)})"
        + (f": {args.label}" if args.label else ""),
        "",
        f"Command: `{args.command}`",
        "",
        "Machine and versions: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        f"Load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)} "
        f"(2 CPUs shared with other work: it inflates medians and p99s).",
        f"{args.rounds} rounds, each a fresh process per code, alternating; per run "
        f"{args.calls:,} calls on different applications (after {WARM_UP} warm-up calls), "
        f"50 derived lenders (seed {args.seed}); datalogic-py's bare evaluation of the same "
        f"rules on the same applications after every {BARE_BLOCK} calls (its mean is the "
        "yardstick, taken under the same load). Microseconds; the ratios are each run's own; "
        "collections: the garbage collector's runs during the measured calls, by generation "
        f"(each stops the call it falls in). {_COLLECTOR}.",
        "",
        *render_compare(runs),
    ]
    body = "\n".join(lines) + "\n"
    print(body)
    if args.results is not None:
        append_block(args.results, SINGLE_SECTION, body)
        print(f"added a block to the {SINGLE_SECTION!r} section of {args.results}", file=sys.stderr)
    return 0


def render_compare(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """One row per run and a median row per code: the whole answer, its parts, the yardstick
    and the ratios to it (issue 8: p50 <= 2x, p99 <= 4x)."""
    out = [
        _cells(
            "code",
            "run",
            "whole p50",
            "whole p99",
            "validation p50",
            "decide p50",
            "explain p50",
            "explain p99",
            "evaluate p50",
            "datalogic-py mean",
            "p50 / datalogic",
            "p99 / datalogic",
            "collections (gen 0/1/2)",
        ),
        "|---|---|" + "---:|" * 11,
    ]

    def row(name: str, run: str, f: Mapping[str, float]) -> str:
        p50, p99 = f["total_p50"] / f["bare_mean"], f["total_p99"] / f["bare_mean"]
        return _cells(
            name,
            run,
            *(
                _fmt_us(f[k])
                for k in (
                    "total_p50",
                    "total_p99",
                    "validate_p50",
                    "decide_p50",
                    "explain_p50",
                    "explain_p99",
                    "evaluate_p50",
                    "bare_mean",
                )
            ),
            f"{p50:.1f}x {_verdict(p50 <= TARGET_SINGLE_P50_VS_BARE)}",
            f"{p99:.1f}x {_verdict(p99 <= TARGET_SINGLE_P99_VS_BARE)}",
            "/".join(str(n) for n in f.get("collections", ())) or "?",
        )

    medians: list[str] = []
    for name, figures in runs.items():
        for i, f in enumerate(figures):
            out.append(row(name, str(i + 1), f))
        ratios = {
            k: statistics.median(f[k] / f["bare_mean"] for f in figures)
            for k in ("total_p50", "total_p99")
        }
        middle = {
            k: statistics.median(f[k] for f in figures)
            for k in figures[0]
            if k not in {"matcher", "compiled", "collections"}
        }
        compiled = "compiled" if all(f.get("compiled") for f in figures) else "pure Python"
        medians.append(
            f"- {name} ({compiled} matcher modules): median whole answer p50 "
            f"{_fmt_us(middle['total_p50'])} us, p99 "
            f"{_fmt_us(middle['total_p99'])} us; median ratios to datalogic-py p50 "
            f"**{ratios['total_p50']:.1f}x** (target <= {TARGET_SINGLE_P50_VS_BARE:.0f}x: "
            f"{_verdict(ratios['total_p50'] <= TARGET_SINGLE_P50_VS_BARE)}), p99 "
            f"**{ratios['total_p99']:.1f}x** (target <= {TARGET_SINGLE_P99_VS_BARE:.0f}x: "
            f"{_verdict(ratios['total_p99'] <= TARGET_SINGLE_P99_VS_BARE)}); "
            f"{middle['rejected']:.1f} rejected lenders per call."
        )
    cpu = [
        _cells(
            "code",
            "run",
            "whole p50 (CPU)",
            "whole p99 (CPU)",
            "datalogic-py mean (CPU)",
            "p50 / datalogic (CPU)",
            "p99 / datalogic (CPU)",
        ),
        "|---|---|" + "---:|" * 5,
    ]
    for name, figures in runs.items():
        for i, f in enumerate(figures):
            p50, p99 = (f[k] / f["bare_cpu_mean"] for k in ("total_cpu_p50", "total_cpu_p99"))
            cpu.append(
                _cells(
                    name,
                    str(i + 1),
                    _fmt_us(f["total_cpu_p50"]),
                    _fmt_us(f["total_cpu_p99"]),
                    _fmt_us(f["bare_cpu_mean"]),
                    f"{p50:.1f}x {_verdict(p50 <= TARGET_SINGLE_P50_VS_BARE)}",
                    f"{p99:.1f}x {_verdict(p99 <= TARGET_SINGLE_P99_VS_BARE)}",
                )
            )
        ratios = {
            k: statistics.median(f[k] / f["bare_cpu_mean"] for f in figures)
            for k in ("total_cpu_p50", "total_cpu_p99")
        }
        medians.append(
            f"- {name}, in CPU time (this thread's: preemptions by other work left out): "
            f"median ratios to datalogic-py p50 **{ratios['total_cpu_p50']:.1f}x**, p99 "
            f"**{ratios['total_cpu_p99']:.1f}x**."
        )
    inflation = statistics.median(
        f["bare_mean"] / f["bare_cpu_mean"] for figures in runs.values() for f in figures
    )
    if inflation > YARDSTICK_INFLATION:
        medians.append(
            f"- datalogic-py's wall-clock mean is {inflation:.1f}x its CPU-time mean in these "
            "runs (median): a mean takes every preemption by other work and a p50 none, so "
            "the wall-time verdicts above compare unlike figures; the CPU-time ratios decide."
        )
    return [*out, "", *cpu, "", *medians]


YARDSTICK_INFLATION = 1.25
"""Above this ratio of the yardstick's wall-clock mean to its CPU-time mean, the block says
that its wall-time verdicts are not to be read (a loaded machine)."""


def append_block(path: Path, section: str, block: str) -> None:
    """Add `block` at the end of `section` of `path` (made at the end if missing)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(section)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    if found is None:
        text = text.rstrip("\n") + f"\n\n{section}\n\n{block}"
    else:
        grown = found.group(0).rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n\n"
        text = text[: found.start()] + grown + text[found.end() :]
    path.write_text(text.rstrip("\n") + "\n")


# --- batch path: frame path against DuckDB, before and after -------------------------------

# The targets for the frame path (issue 12), for N = TARGET_N and 50 lenders.
TARGET_BATCH_FRAME_S = 0.07
TARGET_BATCH_VS_DUCKDB = 25.0


def batch_child(args: argparse.Namespace) -> dict[str, Any]:
    """One run: the frame path and DuckDB's SQL of the same rules on the same feature frame,
    one after the other `--repeat` times (after a warm-up of each), so that load on the
    machine falls on both alike; DuckDB's bitmasks asserted equal to lendmatch's."""
    _, documents = benchmark_lenders(args)
    ruleset = matcher.ruleset_from_documents(documents)
    # as the full run's (a): features computed once from the rechunked nested frame
    nested = generate(args.n, args.seed).rechunk()
    features = matcher.feature_frame(nested, DECISION_DATE).collect()
    del nested
    keep = ["application_id"] if "application_id" in features.columns else []
    con = duckdb.connect()
    con.register("features", features.to_arrow())
    sql = match_query(ruleset, "features", keep=keep)
    ours, theirs = matcher.match(features, ruleset), con.sql(sql).to_arrow_table()
    widened = ours.with_columns(pl.exclude("application_id").cast(pl.UInt64))
    from_duck = pl.from_arrow(theirs)
    assert isinstance(from_duck, pl.DataFrame)
    if not (from_duck.equals(widened) and from_duck.schema == widened.schema):
        raise AssertionError("DuckDB bitmasks differ from lendmatch's")
    del ours, theirs, widened, from_duck
    frame: list[tuple[float, float]] = []
    duck: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        for out, fn in (
            (frame, lambda: matcher.match(features, ruleset)),
            (duck, lambda: con.sql(sql).to_arrow_table()),
        ):
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            result = fn()
            out.append((time.perf_counter() - start, time.process_time() - start_cpu))
            del result
    con.close()
    return {
        "matcher": str(Path(matcher.__file__).parent.resolve()),
        "frame": statistics.median(w for w, _ in frame),
        "frame_cpu": statistics.median(c for _, c in frame),
        "duckdb": statistics.median(w for w, _ in duck),
        "duckdb_cpu": statistics.median(c for _, c in duck),
        "requirements": sum(len(lender.requirements) for lender in ruleset.lenders),
        "lenders": len(ruleset.lenders),
    }


def main_batch(args: argparse.Namespace) -> int:
    """`--only batch [--before DIR]`: the frame path and DuckDB, `--rounds` fresh processes
    per code, alternating between DIR's code ("before") and this checkout ("after")."""
    if args.emit is not None:
        args.emit.write_text(json.dumps(batch_child(args)))
        return 0
    info = machine()
    load_before = os.getloadavg()
    codes = {"after": ROOT} if args.before is None else {"before": args.before.resolve()}
    codes["after"] = ROOT
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = list(codes) if i % 2 == 0 else list(reversed(codes))
            for name in order:
                with step(f"round {i + 1}: {name} ({codes[name]})"):
                    runs[name].append(
                        _child(
                            codes[name],
                            "batch",
                            [
                                f"--n={args.n}",
                                f"--repeat={args.repeat}",
                                f"--seed={args.seed}",
                                f"--lenders={args.lenders}",
                                f"--per-lender={args.per_lender}",
                            ],
                            Path(tmp) / "batch.json",
                        )
                    )
    load_after = os.getloadavg()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = " and ".join(f"{name} ({_commit(code)})" for name, code in codes.items())
    first = runs["after"][0]
    scale = args.n / TARGET_N
    lines = [
        f"### {stamp} — {title}" + (f": {args.label}" if args.label else ""),
        "",
        f"Command: `{args.command}`",
        "",
        "Machine and versions: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        f"Load average (1, 5, 15 min) before {_load(load_before)}, after {_load(load_after)} "
        "(2 CPUs shared with other work: it inflates wall times, CPU times less so).",
        f"{args.n:,} applications (seed {args.seed}) x {first['lenders']} derived lenders "
        f"({first['requirements']} requirements), features precomputed. {args.rounds} rounds, "
        "each a fresh process per code, codes alternating; in each, the lendmatch frame path "
        f"and DuckDB one after the other, {args.repeat} times after a warm-up of each "
        "(DuckDB's bitmasks asserted identical to lendmatch's); medians per run. CPU: the "
        "process's CPU time over all threads.",
        "",
        _cells(
            "code",
            "run",
            "frame path",
            "frame CPU",
            "DuckDB",
            "DuckDB CPU",
            "DuckDB / frame",
            "(CPU)",
        ),
        "|---|---|" + "---:|" * 6,
    ]
    summary: list[str] = []
    for name, figures in runs.items():
        for i, f in enumerate(figures):
            lines.append(
                _cells(
                    name,
                    str(i + 1),
                    _s(f["frame"]),
                    _s(f["frame_cpu"]),
                    _s(f["duckdb"]),
                    _s(f["duckdb_cpu"]),
                    f"{f['duckdb'] / f['frame']:.1f}x",
                    f"{f['duckdb_cpu'] / f['frame_cpu']:.1f}x",
                )
            )
        frame = statistics.median(f["frame"] for f in figures)
        ratio = statistics.median(f["duckdb"] / f["frame"] for f in figures)
        cpu_ratio = statistics.median(f["duckdb_cpu"] / f["frame_cpu"] for f in figures)
        summary.append(
            f"- {name}: median frame path {_s(frame)} (target <= "
            f"{_s(TARGET_BATCH_FRAME_S * scale)}: {_verdict(frame <= TARGET_BATCH_FRAME_S * scale)}"
            f"), median DuckDB / frame **{ratio:.1f}x** (target >= "
            f"{TARGET_BATCH_VS_DUCKDB:.0f}x: {_verdict(ratio >= TARGET_BATCH_VS_DUCKDB)}), in "
            f"CPU time {cpu_ratio:.1f}x."
        )
    if "before" in runs:
        speedup = statistics.median(f["frame"] for f in runs["before"]) / statistics.median(
            f["frame"] for f in runs["after"]
        )
        cpu = statistics.median(f["frame_cpu"] for f in runs["before"]) / statistics.median(
            f["frame_cpu"] for f in runs["after"]
        )
        summary.append(f"- after / before: frame path {speedup:.2f}x faster ({cpu:.2f}x in CPU).")
    body = "\n".join([*lines, "", *summary]) + "\n"
    print(body)
    if args.results is not None:
        append_block(args.results, BATCH_SECTION, body)
        print(f"added a block to the {BATCH_SECTION!r} section of {args.results}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only == "single":
        return main_single(args)
    if args.only == "batch":
        return main_batch(args)
    n: int = args.n
    info = machine()
    load_before = os.getloadavg()
    print(f"lendmatch matcher benchmark: N={n:,}, repeat={args.repeat}", file=sys.stderr)

    with step("rules"):
        shipped, documents = benchmark_lenders(args)
        ruleset = matcher.ruleset_from_documents(documents)
    lenders = len(ruleset.lenders)
    requirements = sum(len(lender.requirements) for lender in ruleset.lenders)

    with step(f"generate {n:,} nested applications"):
        nested = generate(n, args.seed).rechunk()
    with step("feature frame (once)"):
        features = matcher.feature_frame(nested, DECISION_DATE).collect()
    keep = ["application_id"] if "application_id" in features.columns else []

    workdir = Path(tempfile.mkdtemp(prefix="lendmatch-bench-"))
    parquet = workdir / "applications.parquet"
    docs_file = workdir / "ruleset.json"
    docs_file.write_text(json.dumps(documents))
    with step("write nested Parquet (once)"):
        nested.write_parquet(parquet)

    markets = features["market"].value_counts().sort("market")
    co = int(features["has_co_applicant"].sum())
    applicable = sum(
        int(count) * sum(1 for lender in ruleset.lenders if market in lender.markets)
        for market, count in markets.iter_rows()
    )
    sizes = {
        "applications": f"{n:,} ("
        + ", ".join(f"{m} {c:,}" for m, c in markets.iter_rows())
        + f"; {co / n:.0%} with a co-applicant)",
        "rules": f"{lenders} lenders derived from the {len(shipped.lenders)} shipped ones, "
        f"{requirements} requirements ({requirements / lenders:.1f} per lender), seed {args.seed}",
        "applicable application-lender pairs": f"{applicable:,} of {n * lenders:,}",
        "nested Parquet": f"{parquet.stat().st_size / 2**20:,.1f} MiB",
        "nested frame in memory": f"{nested.estimated_size() / 2**20:,.1f} MiB",
        "feature frame": f"{features.estimated_size() / 2**20:,.1f} MiB",
        "repeats": f"median of {args.repeat} after 1 warm-up",
    }
    report = Report(args, info, sizes)

    # (a) frame path on precomputed features
    with step("(a) lendmatch frame path"):
        frame_t, expected = timed(lambda: matcher.match(features, ruleset), args.repeat)

    # (b) nested -> outcomes, in memory and from Parquet
    with step("(b) lendmatch nested in memory -> outcomes"):
        nested_t, from_nested = timed(
            lambda: matcher.match(nested, ruleset, on=DECISION_DATE), args.repeat
        )
    assert from_nested.equals(expected), "nested path differs from the feature-frame path"
    del from_nested
    with step("(b) lendmatch nested Parquet -> outcomes"):
        parquet_t, from_parquet = timed(
            lambda: matcher.match(pl.scan_parquet(parquet), ruleset, on=DECISION_DATE), args.repeat
        )
    assert from_parquet.equals(expected), "Parquet path differs from the feature-frame path"
    del from_parquet
    with step("(b) peak memory in a fresh process"):
        peak = measure_peak(parquet, docs_file)

    # (c) DuckDB SQL of the same rules
    with step("(c) DuckDB SQL"):
        con = duckdb.connect()
        con.register("features", features.to_arrow())
        sql = match_query(ruleset, "features", keep=keep)
        duck_t, table = timed(lambda: con.sql(sql).to_arrow_table(), args.repeat)
        from_duck = pl.from_arrow(table)
        assert isinstance(from_duck, pl.DataFrame)
        # lendmatch keeps each lender's bits in the narrowest unsigned type; SQL in UBIGINT
        widened = expected.with_columns(pl.exclude("application_id").cast(pl.UInt64))
        identical = from_duck.equals(widened) and from_duck.schema == widened.schema
        assert identical, "DuckDB bitmasks differ from lendmatch's"
        threads = con.execute("SELECT current_setting('threads')").fetchone()
        con.close()
    print(f"DuckDB bitmasks vs lendmatch: identical ({n:,} x {lenders} x 2 values)")
    report.add(
        f"DuckDB: the typed IR translated to one SELECT of CASE/boolean expressions "
        f"(benchmarks/_sql.py), over the feature frame registered as an Arrow table, result "
        f"fetched as an Arrow table, {threads[0] if threads else '?'} threads; its bitmasks are "
        f"**identical** to lendmatch's on all {n:,} x {lenders} x 2 values (asserted).",
        "",
    )

    # (d), (e) per-row engines on samples
    per_row: list[PerRow] = []
    for name, runner, size in (
        ("datalogic-py", run_datalogic, args.datalogic_sample),
        ("panzi-json-logic", run_panzi, args.panzi_sample),
    ):
        with step(f"({'d' if name.startswith('data') else 'e'}) {name} on {size:,} rows"):
            indices = _sample_indices(n, size, args.seed)
            rows = features[indices].drop(keep).to_dicts()
            seconds, bits = runner(rows, ruleset)
            want = _lendmatch_bits(expected, ruleset, indices)
            agree, pairs, documented = _agreement(bits, want, rows, ruleset)
            per_row.append(PerRow(name, len(rows), seconds, agree, pairs, documented))
    for p in per_row:
        differ = (
            f"; of the {p.pairs - p.agree:,} others, {p.documented:,} differ only in "
            "requirements reading a null or infinite value (debt_to_income = +inf without "
            "income), where lendmatch's rule semantics (README) depart from reference "
            "JsonLogic on purpose"
            if p.agree < p.pairs
            else ""
        )
        report.add(
            f"{p.name}: {p.per_application_us:,.1f} us per application (every requirement of "
            f"every lender serving its market), bitmasks as lendmatch's on {p.agree:,} of "
            f"{p.pairs:,} sampled application-lender pairs ({p.agree / max(p.pairs, 1):.1%})"
            f"{differ}.",
        )
    report.add("")

    # (f) single path
    pool = nested.head(min(n, args.calls + WARM_UP)).drop(keep).to_dicts()
    payloads = [json.dumps(d, separators=(",", ":")).encode() for d in pool]
    feature_rows = features.head(min(n, args.calls + WARM_UP)).drop(keep).to_dicts()
    with step(f"(f) single path, {args.calls:,} calls x 2 rulesets + evaluate"):
        single_shipped = run_single(payloads, shipped, args.calls)
        single_50 = run_single(payloads, ruleset, args.calls)
        evaluate_50 = run_evaluate(feature_rows, ruleset, args.calls)
    load_after = os.getloadavg()
    report.add(
        f"Single path: {args.calls:,} calls over {len(payloads):,} different applications "
        "(JSON bytes as a client posts them, taken as the API takes them), one warm-up pass, "
        "garbage collector on; per-call "
        "time.perf_counter_ns. `decide` includes features_of; explain covers every rejected lender "
        "(reasons, plain words, and hints).",
        "",
        f"In-process RSS high-water at the end: {_maxrss_mib():,.0f} MiB. Load average "
        f"(1, 5, 15 min) before the run {_load(load_before)}, after {_load(load_after)}: other "
        "work on the machine during the run inflates medians and p99s.",
    )

    measured = Measured(
        n=n,
        lenders=lenders,
        shipped_lenders=len(shipped.lenders),
        frame=frame_t,
        nested_memory=nested_t,
        nested_parquet=parquet_t,
        peak=peak,
        duckdb=duck_t,
        per_row=per_row,
        single_shipped=single_shipped,
        single_all=single_50,
        evaluate_all=evaluate_50,
    )
    body = render(report, measured)
    print()
    print(body)
    if args.results is not None:
        write_section(args.results, body)
        print(f"wrote the {SECTION!r} section of {args.results}", file=sys.stderr)
    parquet.unlink(missing_ok=True)
    docs_file.unlink(missing_ok=True)
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == _CHILD_FLAG:
        peak_child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
