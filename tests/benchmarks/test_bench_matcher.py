"""The matcher benchmark still runs (a smoke test: it times nothing and asserts no speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_matcher.py"


@pytest.mark.slow
def test_quick_benchmark_runs_and_its_peers_agree_with_lendmatch() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-results"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # the DuckDB translation of the same rules gave the very same bitmasks
    assert "DuckDB bitmasks vs lendmatch: identical" in result.stdout
    assert "| lendmatch frame (features precomputed), bitmasks |" in result.stdout


@pytest.mark.slow
def test_the_single_path_alone_runs_and_compares_with_the_bare_evaluation() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--only", "single", "--quick", "--no-results"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| JSON -> validate -> decide -> explain rejected | 50 |" in result.stdout
    assert "Whole answer for 50 lenders / datalogic-py's mean bare evaluation: p50" in result.stdout
    assert "lendmatch frame" not in result.stdout  # the batch part did not run
