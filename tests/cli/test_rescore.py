"""`lendmatch rescore`: outputs written, plain progress lines off a terminal, a summary per
lender, the baseline from a folder or the store, bad rules refused before any work."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
from typer.testing import Result

import matcher
from audit import Store
from broker.rescoring import CHANGES_FILE, IMPACT_FILE
from lender_rules import SHIPPED_LENDERS_DIR
from tests.cli.test_rules_diff import moved_threshold

ON = dt.date(2026, 11, 25)


def test_rescore_writes_changes_and_impact_with_progress_and_a_summary(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(3_000, 2, ON).write_parquet(apps)
    new = moved_threshold(tmp_path)
    out = tmp_path / "out"
    result = run(
        "rescore", "--rules", str(new), "--input", str(apps), "--out", str(out),
        "--baseline", str(SHIPPED_LENDERS_DIR), "--on", ON.isoformat(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    progress = [line for line in result.output.splitlines() if line.startswith("rescoring:")]
    assert len(progress) == 1
    assert re.fullmatch(r"rescoring: 3000/3000 rows, [\d,]+ rows/s, 0 s left", progress[0])
    report = json.loads((out / IMPACT_FILE).read_text(encoding="utf-8"))
    changes = pl.read_parquet(out / CHANGES_FILE)
    nordlys = next(item for item in report["lenders"] if item["lender_id"] == "nordlys_bank")
    assert nordlys["newly_rejected"] == changes.height > 0
    assert set(changes["lender_id"]) == {"nordlys_bank"}
    row = next(line for line in result.output.splitlines() if "nordlys_bank" in line)
    assert row.split("│")[1].strip() == "nordlys_bank"
    numbers = [int(cell) for cell in row.split("│")[2:-1]]
    assert numbers == [
        nordlys["eligible_before"],
        nordlys["eligible_after"],
        nordlys["newly_eligible"],
        nordlys["newly_rejected"],
    ]
    assert result.output.splitlines()[-1] == (
        f"3000 applications, 0 rejected rows, {changes.height} changed outcomes -> {out}"
    )


def test_the_default_baseline_is_the_active_ruleset_of_the_store(
    run: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(500, 2, ON).write_parquet(apps)
    store.rulesets.activate(matcher.load_ruleset(SHIPPED_LENDERS_DIR))
    new = moved_threshold(tmp_path)
    result = run("rescore", "--rules", str(new), "--input", str(apps), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / IMPACT_FILE).read_text(encoding="utf-8"))
    assert report["baseline_ruleset"] == matcher.load_ruleset(SHIPPED_LENDERS_DIR).hash
    assert report["new_ruleset"] == matcher.load_ruleset(new).hash


def test_rules_that_do_not_load_stop_the_run_before_any_work(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(10, 2, ON).write_parquet(apps)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bank.json").write_text("{\n  ,\n}")
    out = tmp_path / "out"
    for args in (("--rules", str(bad)), ("--baseline", str(bad))):
        result = run("rescore", "--input", str(apps), "--out", str(out), *args)
        assert result.exit_code == 1
        assert "bank.json:2:3" in result.output
        assert "rescoring:" not in result.output
        assert not out.exists()


def test_bad_input_is_named_and_rejected_rows_are_counted(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    rows = matcher.generate(30, 2, ON).to_dicts()
    rows[4]["loan"]["term_months"] = 999
    pl.DataFrame(rows, schema=matcher.generate(1, 2, ON).schema).write_parquet(apps)
    common = ("--input", str(apps), "--baseline", str(SHIPPED_LENDERS_DIR), "--on", ON.isoformat())
    result = run("rescore", *common, "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("29 applications, 1 rejected rows, ")
    strict = run("rescore", *common, "--out", str(tmp_path / "strict"), "--strict")
    assert strict.exit_code == 1
    assert "row 4: loan.term_months: 999 is above the maximum 360" in strict.output
    missing = tmp_path / "missing.parquet"
    matcher.generate(3, 2, ON).drop("household").write_parquet(missing)
    refused = run("rescore", "--input", str(missing), "--baseline", str(SHIPPED_LENDERS_DIR),
                  "--out", str(tmp_path / "never"))  # fmt: skip
    assert refused.exit_code == 1
    assert "column household missing; expected a struct" in refused.output
    assert "rescoring:" not in refused.output
    assert not (tmp_path / "never").exists()


def test_from_db_rescores_the_stored_decisions_against_their_stored_outcomes(
    run: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    shipped = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
    store.rulesets.save(shipped)
    frame = matcher.feature_frame(matcher.generate(200, 4, ON), ON).collect()
    decided_at = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    for row in frame.iter_rows(named=True):
        application_id = row.pop("application_id")
        decision = matcher.Decision(shipped.hash, decided_at, row, matcher.evaluate(row, shipped))
        store.decisions.record(
            application_id=application_id, channel="api", decision=decision, personal={}
        )
    new = moved_threshold(tmp_path)
    out = tmp_path / "out"
    result = run("rescore", "--rules", str(new), "--from-db", "--out", str(out),
                 "--chunk-rows", "64", "--lender", "nordlys_bank")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / IMPACT_FILE).read_text(encoding="utf-8"))
    assert report["baseline_ruleset"] == shipped.hash
    changes = pl.read_parquet(out / CHANGES_FILE)
    assert sorted(changes["application_id"]) == flipped(frame, shipped, matcher.load_ruleset(new))
    assert set(changes["lender_id"]) == {"nordlys_bank"}
    assert report["applications"] == count_lender(frame, shipped, "nordlys_bank")
    later = run("rescore", "--rules", str(new), "--from-db", "--since", "2026-11-21",
                "--out", str(tmp_path / "none"))  # fmt: skip
    assert later.exit_code == 0, later.output
    assert later.output.splitlines()[-1].startswith("0 applications, 0 rejected rows, 0 changed")


def count_lender(frame: pl.DataFrame, ruleset: matcher.Ruleset, lender_id: str) -> int:
    """How many rows of `frame` the ruleset evaluates `lender_id` for (its markets)."""
    markets = next(lender.markets for lender in ruleset.lenders if lender.lender_id == lender_id)
    return frame.filter(pl.col("market").is_in(list(markets))).height


def test_from_db_options_are_checked(run: Callable[..., Result], tmp_path: Path) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(3, 2, ON).write_parquet(apps)
    out = ("--out", str(tmp_path / "out"))
    neither = run("rescore", *out)
    both = run("rescore", "--input", str(apps), "--from-db", *out)
    since = run("rescore", "--input", str(apps), "--since", "2026-01-01", *out)
    stored = run("rescore", "--input", str(apps), "--baseline", "stored", *out)
    bad_day = run("rescore", "--from-db", "--since", "yesterday", *out)
    ray = run("rescore", "--from-db", "--engine", "ray", *out)
    for result in (neither, both, since, stored, bad_day, ray):
        assert result.exit_code == 2, result.output
    assert "--since must be a date YYYY-MM-DD, got 'yesterday'" in bad_day.output
    assert "--baseline stored needs --from-db" in stored.output


def flipped(frame: pl.DataFrame, old: matcher.Ruleset, new: matcher.Ruleset) -> list[str]:
    """The applications whose nordlys_bank outcome differs, each row evaluated alone."""

    def outcome(row: dict[str, object], ruleset: matcher.Ruleset) -> tuple[bool, bool] | None:
        found = [o for o in matcher.evaluate(row, ruleset) if o.lender_id == "nordlys_bank"]
        return (bool(found[0].failed), bool(found[0].unknown)) if found else None

    ids = []
    for row in frame.iter_rows(named=True):
        application_id = row.pop("application_id")
        if outcome(row, old) != outcome(row, new):
            ids.append(application_id)
    return sorted(ids)
