"""`lendmatch match`: every application of a Parquet file against every lender."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from typer.testing import CliRunner, Result

from cli.main import app
from matcher import generate, load_ruleset

RULES = Path(__file__).parents[2] / "lender_rules" / "lenders"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_match_writes_one_outcome_per_application_and_lender(tmp_path: Path) -> None:
    on = dt.date(2026, 11, 25)
    apps = tmp_path / "apps.parquet"
    generate(500, 7, on).write_parquet(apps)
    out = tmp_path / "outcomes.parquet"
    result = run(
        "match", str(apps), "--out", str(out), "--explain", "--lang", "nb", "--on", on.isoformat()
    )
    assert result.exit_code == 0, result.output
    outcomes = pl.read_parquet(out)
    ruleset = load_ruleset(RULES)
    markets = pl.read_parquet(apps).select("application_id", "market")
    serving = {m: sum(m in lender.markets for lender in ruleset.lenders) for m in ("NO", "SE")}
    expected = sum(serving[m] for m in markets["market"])
    assert len(outcomes) == expected
    assert outcomes.columns == [
        "application_id",
        "lender_id",
        "eligible",
        "failed",
        "unknown",
        "reasons",
    ]
    rejected = outcomes.filter(~pl.col("eligible")).row(0, named=True)
    lender = ruleset.lender(rejected["lender_id"])
    codes = {r["code"] for r in rejected["reasons"]}
    bits = rejected["failed"] | rejected["unknown"]
    assert codes == {f"{lender.lender_id}.{q.id}" for q in lender.requirements if bits & q.bit}
    assert all(
        r["message"] in {q.reason["nb"] for q in lender.requirements} for r in rejected["reasons"]
    )
    eligible = outcomes.filter(pl.col("eligible"))
    assert eligible["reasons"].list.len().eq(0).all()


def test_match_reports_a_missing_file(tmp_path: Path) -> None:
    result = run("match", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "o.parquet"))
    assert result.exit_code == 1
    assert "nope.parquet: no such file" in result.output
