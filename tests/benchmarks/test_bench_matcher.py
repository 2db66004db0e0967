"""The matcher benchmark still runs (a smoke test: it times nothing and asserts no speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_matcher.py"


def quick_run(*options: str) -> str:
    """The benchmark's standard output from a `--quick --no-results` run with `options`,
    which must succeed."""
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-results", *options],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_quick_benchmark_runs_and_its_peers_agree_with_lendmatch() -> None:
    stdout = quick_run()
    # the DuckDB translation of the same rules gave the very same bitmasks
    assert "DuckDB bitmasks vs lendmatch: identical" in stdout
    assert "| lendmatch frame (features precomputed), bitmasks |" in stdout


@pytest.mark.slow
def test_the_single_path_alone_runs_and_compares_with_the_bare_evaluation() -> None:
    stdout = quick_run("--only", "single")
    assert "| JSON -> validate -> decide -> explain rejected | 50 |" in stdout
    assert "Whole answer for 50 lenders / datalogic-py's mean bare evaluation: p50" in stdout
    assert "lendmatch frame" not in stdout  # the batch part did not run


@pytest.mark.slow
def test_before_and_after_run_in_alternating_processes_each_with_its_own_yardstick() -> None:
    """`--before DIR` runs the single path of DIR's code and of this checkout (here both are
    this checkout), each child importing `matcher` from its own folder (checked)."""
    stdout = quick_run("--only", "single", "--before", str(BENCH.parents[1]), "--rounds", "1")
    rows = [line for line in stdout.splitlines() if line.startswith(("| before", "| after"))]
    assert [row.split("|")[1:3] for row in rows] == [
        [" before ", " 1 "],
        [" after ", " 1 "],
        [" before ", " 1 "],
        [" after ", " 1 "],
    ]  # the wall-clock table and the CPU-time table
    assert "- after, in CPU time" in stdout


def test_the_comparison_divides_each_run_by_its_own_yardstick() -> None:
    sys.path.insert(0, str(BENCH.parent))
    import bench_matcher

    def run(total: float, bare: float) -> dict[str, float]:
        parts = {f"{p}_{q}": 1.0 for p in ("validate", "decide", "explain") for q in ("p50", "p99")}
        return parts | {
            "total_p50": total,
            "total_p99": 4 * total,
            "total_cpu_p50": total,
            "total_cpu_p99": 4 * total,
            "evaluate_p50": 1.0,
            "bare_mean": bare,
            "bare_cpu_mean": bare,
            "rejected": 14.0,
        }

    collected = run(300.0, 200.0) | {"collections": [40, 3, 0]}
    lines = bench_matcher.render_compare(
        {"before": [run(300.0, 100.0)], "after": [run(150.0, 100.0), collected]}
    )
    rows = [line.split("|")[-4:-1] for line in lines if line.startswith("| after")]
    # the garbage collector's runs by generation; "?" from a run that did not count them
    assert rows[0] == [" 1.5x met ", " 6.0x **missed** ", " ? "]
    assert rows[1] == [" 1.5x met ", " 6.0x **missed** ", " 40/3/0 "]
    assert any(
        line.startswith("- before (pure Python matcher modules): ") and "p50 **3.0x**" in line
        for line in lines
    )
    assert not any("wall-clock mean is" in line for line in lines)


def test_a_yardstick_inflated_by_load_is_said_to_decide_nothing_in_wall_time() -> None:
    """Under load the yardstick's wall-clock mean takes preemptions a p50 does not: the block
    says so, and that the CPU-time ratios decide."""
    sys.path.insert(0, str(BENCH.parent))
    import bench_matcher

    figures = {
        "total_p50": 150.0,
        "total_p99": 600.0,
        "total_cpu_p50": 150.0,
        "total_cpu_p99": 600.0,
        "bare_mean": 120.0,
        "bare_cpu_mean": 50.0,
        "rejected": 14.0,
    } | {
        f"{p}_{q}": 1.0
        for p in ("validate", "decide", "explain", "evaluate")
        for q in ("p50", "p99")
    }
    lines = bench_matcher.render_compare({"before": [figures], "after": [figures]})
    (said,) = [line for line in lines if "wall-clock mean is" in line]
    assert "2.4x its CPU-time mean" in said and "CPU-time ratios decide" in said


@pytest.mark.slow
def test_the_batch_path_alone_runs_before_and_after_against_duckdb() -> None:
    """`--only batch --before DIR`: the frame path and DuckDB in alternating processes (both
    this checkout here), DuckDB's bitmasks asserted identical, ratios reported."""
    stdout = quick_run("--only", "batch", "--before", str(BENCH.parents[1]), "--rounds", "1")
    rows = [line for line in stdout.splitlines() if line.startswith(("| before", "| after"))]
    assert [row.split(" | ")[0:2] for row in rows] == [["| before", "1"], ["| after", "1"]]
    assert "median DuckDB / frame" in stdout
    assert "lendmatch frame (features precomputed)" not in stdout  # nothing else ran
