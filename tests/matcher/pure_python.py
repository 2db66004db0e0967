"""Re-running a test in a process where the matcher's modules are plain Python.

A test that counts calls of a matcher function by replacing it on its module
(`monkeypatch.setattr(hints, "_first", counted)`) counts nothing where the module runs
compiled (`matcher/_native.py`): compiled code calls its own functions directly. Such a
test starts with `if rerun_in_pure_python(request): return`: in a process with the compiled
modules it runs itself again with LENDMATCH_NATIVE=0 and fails if that run does not pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import matcher

ROOT = Path(__file__).resolve().parents[2]


def rerun_in_pure_python(request: pytest.FixtureRequest) -> bool:
    """Whether the test was run (and passed) in a pure-Python process instead of this one."""
    if not matcher.compiled:
        return False
    found = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        cwd=ROOT,
        env=os.environ | {"LENDMATCH_NATIVE": "0"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert found.returncode == 0, found.stdout[-4000:] + found.stderr[-2000:]
    assert "1 passed" in found.stdout, found.stdout[-2000:]
    return True
