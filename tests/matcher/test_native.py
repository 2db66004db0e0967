"""The compiled matcher modules (`matcher/_native.py`): in use after `make setup`, the same
answers as the pure-Python modules, and never used when they were built from other sources."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import matcher
from matcher import _native

ROOT = Path(__file__).resolve().parents[2]


def _answers(native: str, n: int, seed: int) -> list[str]:
    env = os.environ | {"LENDMATCH_NATIVE": native}
    found = subprocess.run(
        [sys.executable, "-m", "tests.matcher.native_answers", str(n), str(seed)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return found.stdout.splitlines()


def test_the_compiled_modules_are_in_use() -> None:
    # `make setup` builds them (`make native`); without a build this fails and says so
    assert matcher.compiled, f"no usable build in {_native.native_dir()}: run `make native`"
    suffix = _native.extension_suffix()
    for name in _native.COMPILED:
        module = sys.modules.get(f"matcher.{name}")
        assert module is not None, name
        assert str(module.__file__).endswith(suffix), (name, module.__file__)
    assert matcher.application.__file__ is not None
    assert matcher.application.__file__.endswith(".py")  # a module not compiled


@pytest.mark.parametrize("seed", [3, 11])
def test_compiled_and_pure_python_modules_give_the_same_answers(seed: int) -> None:
    compiled = _answers("1", 400, seed)
    pure = _answers("0", 400, seed)
    assert json.loads(compiled[0]) == {"compiled": True}
    assert json.loads(pure[0]) == {"compiled": False}
    assert len(compiled) == len(pure) == 1 + 400 * 7
    # validations refused and accepted, decisions, explanations with hints in every language
    assert sum('"problems"' in line for line in pure) >= 400
    assert sum('"hint": {' in line for line in pure) >= 100
    pairs = zip(compiled[1:], pure[1:], strict=True)
    different = [i for i, (a, b) in enumerate(pairs, start=1) if a != b]
    assert different == [], f"{len(different)} answers differ, the first: line {different[:1]}"


def _copy_of_build(tmp_path: Path) -> Path:
    where = tmp_path / "native"
    shutil.copytree(_native.native_dir(), where)
    return where


def test_a_build_from_other_sources_is_not_used(tmp_path: Path) -> None:
    where = _copy_of_build(tmp_path)
    assert _native.usable(where)
    recorded = json.loads((where / _native.MANIFEST).read_text())
    (where / _native.MANIFEST).write_text(json.dumps(recorded | {"source_digest": "0" * 64}))
    assert not _native.usable(where)


def test_a_build_missing_a_module_or_its_manifest_is_not_used(tmp_path: Path) -> None:
    where = _copy_of_build(tmp_path)
    (where / "matcher" / f"hints{_native.extension_suffix()}").unlink()
    assert not _native.usable(where)
    assert not _native.usable(tmp_path / "nowhere")


def test_an_edit_to_any_matcher_module_changes_the_digest(tmp_path: Path) -> None:
    package = tmp_path / "matcher"
    shutil.copytree(_native.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = _native.source_digest(package)
    assert before == _native.source_digest(_native.PACKAGE_DIR)
    schema = package / "schema.py"  # not compiled: the compiled ones bind its names
    schema.write_text(schema.read_text() + "\n")
    assert _native.source_digest(package) != before


def test_lendmatch_native_0_turns_them_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENDMATCH_NATIVE", "0")
    path, used = _native.search_path(["somewhere"])
    assert (path, used) == (["somewhere"], False)
    monkeypatch.setenv("LENDMATCH_NATIVE", "1")
    path, used = _native.search_path(["somewhere"])
    assert used and path == [str(_native.native_dir() / "matcher"), "somewhere"]
