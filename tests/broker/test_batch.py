"""The streaming batch loop: chunked matching gives the rows of one pass; bad input and output are
errors naming the file; nothing half-written is left."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import matcher
from broker import BatchInputError, BatchOutputError, match_file, write_atomically
from lender_rules import SHIPPED_LENDERS_DIR

ON = dt.date(2026, 11, 25)
RULESET = matcher.load_ruleset(SHIPPED_LENDERS_DIR)


def test_chunks_give_the_same_rows_as_one_pass_and_report_progress(tmp_path: Path) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(1_000, 3, ON).write_parquet(apps)
    seen: list[int] = []
    chunked = match_file(apps, RULESET, on=ON, chunk_rows=300, progress=seen.append)
    whole = matcher.to_long(matcher.match(pl.scan_parquet(apps), RULESET, on=ON), RULESET)
    assert seen == [300, 300, 300, 100]
    keys = ["application_id", "lender_id"]
    assert chunked.sort(keys).equals(whole.sort(keys))  # rows are grouped per chunk


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match="no such file") as missing:
        match_file(tmp_path / "nope.parquet", RULESET, on=ON)
    assert missing.value.path == tmp_path / "nope.parquet"
    text = tmp_path / "text.parquet"
    text.write_text("not parquet")
    with pytest.raises(BatchInputError, match="not a readable Parquet file"):
        match_file(text, RULESET, on=ON)


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "out.parquet"
    with pytest.raises(BatchOutputError, match="could not write"):
        write_atomically(pl.DataFrame({"a": [1]}), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_rows_outside_the_feature_contract_are_refused_naming_the_column(tmp_path: Path) -> None:
    apps = tmp_path / "apps.parquet"
    frame = matcher.generate(20, 5, ON)
    applicant = frame["applicant"].struct.unnest()
    income = applicant["income"].scatter(3, -5)  # no income is negative
    frame = frame.with_columns(
        applicant=applicant.with_columns(income=income).to_struct("applicant")
    )
    frame.write_parquet(apps)
    with pytest.raises(BatchInputError, match="income") as refused:
        match_file(apps, RULESET, on=ON)
    assert "1 of 20" in str(refused.value)
