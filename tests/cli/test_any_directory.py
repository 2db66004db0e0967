"""Every command finds its defaults from the installed package, not the working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import app
from lender_rules import SHIPPED_LENDERS_DIR
from matcher import load_ruleset

SHIPPED_HASH = load_ruleset(SHIPPED_LENDERS_DIR).hash


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside the repository, with no lender files in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_rules_check_without_a_path_checks_the_shipped_lenders(elsewhere: Path) -> None:
    result = CliRunner().invoke(app, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split()[:2] == ["OK", SHIPPED_HASH]


def test_rules_show_finds_a_shipped_lender(elsewhere: Path) -> None:
    lender = load_ruleset(SHIPPED_LENDERS_DIR).lenders[0]
    result = CliRunner().invoke(app, ["rules", "show", lender.lender_id])
    assert result.exit_code == 0, result.output
    assert lender.requirements[0].id in result.stdout


def test_match_uses_the_shipped_lenders(elsewhere: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["generate", "--n", "50", "--out", "apps.parquet"]).exit_code == 0
    result = runner.invoke(app, ["match", "apps.parquet", "--out", "out.parquet"])
    assert result.exit_code == 0, result.output
    assert f"(ruleset {SHIPPED_HASH[:12]})" in result.stdout
    outcomes = pl.read_parquet(elsewhere / "out.parquet")
    assert outcomes["application_id"].n_unique() == 50


def test_the_installed_command_runs_from_another_directory(elsewhere: Path) -> None:
    command = Path(sys.executable).parent / "lendmatch"
    done = subprocess.run(
        [str(command), "rules", "check"], cwd=elsewhere, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["OK", SHIPPED_HASH]
