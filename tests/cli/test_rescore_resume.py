"""`lendmatch rescore --apply` killed midway (SIGKILL, a real process) and started again ends
with exactly one batch decision per changed application, and the log verifies; on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import matcher
from audit import Store
from broker.rescoring import CHANGES_FILE
from lender_rules import SHIPPED_LENDERS_DIR
from tests.broker.test_batch_decisions import batch_decisions, stricter

ON = dt.date(2026, 11, 25)
LENDMATCH = str(Path(sys.executable).with_name("lendmatch"))


@pytest.mark.slow
def test_an_apply_killed_midway_resumes_and_records_each_changed_application_once(
    database_url: str, store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(6_000, 12, ON).write_parquet(apps)
    new = stricter()
    rules = tmp_path / "rules"
    rules.mkdir()
    for lender_id, document in new.documents.items():
        (rules / f"{lender_id}.json").write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "out"
    command = [
        LENDMATCH, "rescore", "--rules", str(rules), "--input", str(apps),
        "--baseline", str(SHIPPED_LENDERS_DIR), "--out", str(out), "--on", ON.isoformat(),
        "--apply", "--chunk-rows", "500",
    ]  # fmt: skip
    env = os.environ | {"DATABASE_URL": database_url}

    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as first:
        assert first.stderr is not None
        for line in first.stderr:  # one line per chunk, printed after the chunk is recorded
            if line.startswith("rescoring: 1000/6000 rows"):
                first.send_signal(signal.SIGKILL)
                break
    assert first.returncode == -signal.SIGKILL
    before = dict(batch_decisions(sql, new.hash))
    assert before and set(before.values()) == {1}
    assert not out.joinpath(CHANGES_FILE).exists()  # the run did not finish

    second = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    changed = set(pl.read_parquet(out / CHANGES_FILE)["application_id"])
    assert len(before) < len(changed)  # killed midway
    after = batch_decisions(sql, new.hash)
    assert {app for app, _ in after} == changed
    assert {n for _, n in after} == {1}
    assert f"recorded {len(changed) - len(before)} batch decisions" in second.stdout
    assert f"({len(before)} already recorded by an earlier run; 0 skipped" in second.stdout

    verify = subprocess.run(
        [LENDMATCH, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert store.decisions.verify().ok
