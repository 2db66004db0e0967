"""Re-scoring on Ray Data (a local 2-CPU Ray) writes the same outputs as the local engine,
and with --apply records the same batch decisions, resuming an earlier run; without Ray
installed the engine says how to install it."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import matcher
from audit import Store
from broker import BatchRecorder, EngineUnavailableError, ray_engine
from broker.rescoring import CHANGES_FILE, IMPACT_FILE, REJECTS_FILE, REPORT_FILE, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR
from tests.audit.conftest import sql, store
from tests.broker.test_batch_decisions import batch_decisions, stricter

__all__ = ["sql", "store"]

ON = dt.date(2026, 11, 25)
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)


@pytest.mark.slow
def test_ray_output_equals_local_output(tmp_path: Path) -> None:
    documents = [dict(d) for d in SHIPPED.documents.values() if d["lender_id"] != "tindebank"]
    for document in documents:
        document["requirements"] = [
            r | {"rule": {">=": [{"var": "age"}, 28]}} if r["id"] == "min_age" else r
            for r in document["requirements"]
        ]
    new = matcher.ruleset_from_documents(documents)
    rows = matcher.generate(3_000, 21, ON).to_dicts()
    rows[10]["loan"]["amount"] = 1  # one reject
    apps = tmp_path / "apps.parquet"
    pl.DataFrame(rows, schema=matcher.generate(1, 21, ON).schema).write_parquet(apps)

    local, on_ray = tmp_path / "local", tmp_path / "ray"
    rescore_file(apps, new, SHIPPED, on=ON, out=local, chunk_rows=700)
    rescore_file(
        apps, new, SHIPPED, on=ON, out=on_ray, chunk_rows=700, engine=ray_engine(num_cpus=2)
    )

    keys = ["application_id", "lender_id"]
    changes = pl.read_parquet(local / CHANGES_FILE)
    assert changes.height > 100
    assert changes.sort(keys).equals(pl.read_parquet(on_ray / CHANGES_FILE).sort(keys))
    rejects = pl.read_parquet(local / REJECTS_FILE)
    assert rejects.height == 1
    assert rejects.sort("row").equals(pl.read_parquet(on_ray / REJECTS_FILE).sort("row"))
    for name in (IMPACT_FILE, REPORT_FILE):
        assert (local / name).read_bytes() == (on_ray / name).read_bytes(), name


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(EngineUnavailableError, match=r"lendmatch\[ray\]") as missing:
        ray_engine()
    assert missing.value.engine == "ray"


@pytest.mark.slow
def test_ray_apply_records_each_changed_application_once_resuming_an_earlier_run(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(2_000, 8, ON).write_parquet(apps)
    new = stricter()
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path / "dry", chunk_rows=500)
    changes = pl.read_parquet(tmp_path / "dry" / CHANGES_FILE)
    changed = set(changes["application_id"])
    assert len(changed) > 50
    # an earlier run that stopped after recording some of them
    earlier = sorted(changed)[:20]
    features = matcher.feature_frame(pl.read_parquet(apps), ON).collect()
    BatchRecorder(store, new)(
        features.filter(pl.col("application_id").is_in(earlier)),
        changes.filter(pl.col("application_id").is_in(earlier)),
    )

    recorder = BatchRecorder(store, new)
    engine = ray_engine(num_cpus=2, send_features="changed")
    rescore_file(
        apps, new, SHIPPED, on=ON, out=tmp_path / "ray", chunk_rows=500, record=recorder,
        engine=engine,
    )  # fmt: skip

    assert (recorder.recorded, recorder.skipped) == (len(changed) - 20, 20)
    recorded = batch_decisions(sql, new.hash)
    assert {app for app, _ in recorded} == changed
    assert {n for _, n in recorded} == {1}
    assert store.decisions.verify().ok
