"""`lendmatch generate`: writes the generator's frame to Parquet; bad paths fail clearly."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from cli.main import app
from matcher.generate import generate

runner = CliRunner()


def said(text: str, output: str) -> bool:
    """Whether `output` says `text`, however the error box wrapped and framed its lines."""
    return "".join(text.split()) in "".join(output.replace("│", " ").split())


def test_generate_writes_the_generated_frame_to_parquet(tmp_path: Path) -> None:
    out = tmp_path / "apps.parquet"
    args = ["generate", "--n", "300", "--seed", "7", "--out", str(out), "--on", "2026-11-25"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).equals(generate(300, 7, date(2026, 11, 25)))
    assert result.stdout.startswith(
        f"Wrote 300 applications to {out} (seed 7, decision date 2026-11-25)"
    )


def test_an_existing_file_is_replaced_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    out = tmp_path / "apps.parquet"
    out.write_text("old")
    result = runner.invoke(app, ["generate", "-n", "5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 5
    assert [p.name for p in tmp_path.iterdir()] == ["apps.parquet"]


def test_the_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        out = tmp_path / "apps.parquet"
        assert runner.invoke(app, ["generate", "-n", "5", "-o", str(out)]).exit_code == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_the_decision_date_defaults_to_today(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "-n", "1", "-o", str(tmp_path / "a.parquet")])
    assert result.exit_code == 0, result.output
    assert f"decision date {date.today().isoformat()}" in result.stdout


def test_a_missing_directory_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "apps.parquet"
    result = runner.invoke(app, ["generate", "-n", "5", "-o", str(out)])
    assert result.exit_code == 2
    assert said(f"{out.parent}: no such directory", result.stderr)
    assert not out.parent.exists()


def test_a_directory_as_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "dir.parquet"
    out.mkdir()
    result = runner.invoke(app, ["generate", "-n", "5", "-o", str(out)])
    assert result.exit_code == 2
    assert said(f"{out}: is a directory", result.stderr)


def test_a_name_without_parquet_suffix_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "apps.csv"
    result = runner.invoke(app, ["generate", "-n", "5", "-o", str(out)])
    assert result.exit_code == 2
    assert said(f"{out}: the file name must end in .parquet", result.stderr)
    assert not out.exists()


def test_bad_decision_dates_are_refused(tmp_path: Path) -> None:
    out = str(tmp_path / "a.parquet")
    bad_format = runner.invoke(app, ["generate", "-n", "5", "-o", out, "--on", "25.11.2026"])
    assert bad_format.exit_code == 2
    assert said("--on", bad_format.stderr)
    too_early = runner.invoke(app, ["generate", "-n", "5", "-o", out, "--on", "1970-01-01"])
    assert too_early.exit_code == 2
    assert said("1970-01-01: must be in the years 1990-2057", too_early.stderr)


def test_negative_counts_and_seeds_are_refused(tmp_path: Path) -> None:
    out = str(tmp_path / "a.parquet")
    assert runner.invoke(app, ["generate", "-n", "-1", "-o", out]).exit_code == 2
    assert runner.invoke(app, ["generate", "--seed", "-1", "-o", out]).exit_code == 2


def test_help_explains_the_options_with_an_example() -> None:
    result = runner.invoke(app, ["generate", "--help"], terminal_width=120)
    assert result.exit_code == 0
    for option in ("--out", "--n", "--seed", "--on"):
        assert option in result.stdout
    assert "lendmatch generate --n 1000000 --seed 7 --out apps.parquet" in result.stdout
