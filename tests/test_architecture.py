"""The layers of ARCHITECTURE.md are enforced: `lint-imports` (run by `make lint`) passes on
the code as it is and fails on a copy with one import pointing up a layer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("lender_rules", "matcher", "audit", "broker", "api", "cli")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's packages before the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied so that a test may break them."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_code_as_it_is(copy: Path) -> None:
    done = _lint_imports(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        ("matcher/_upward.py", "import broker", "matcher is not allowed to import broker"),
        ("audit/_sideways.py", "import matcher", "audit is not allowed to import matcher"),
        ("broker/_web.py", "import fastapi", "Web and command-line frameworks"),
        ("api/_inside.py", "import matcher.compiler", "matcher.compiler"),
    ],
)
def test_an_import_against_the_layers_breaks_a_contract(
    copy: Path, module: str, statement: str, broken: str
) -> None:
    (copy / module).write_text(f"{statement}  # against the layers\n")
    done = _lint_imports(copy)
    assert done.returncode == 1, done.stdout
    assert broken in done.stdout
