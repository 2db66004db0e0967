"""Re-scoring on Ray Data (a local 2-CPU Ray) writes the same outputs as the local engine;
without Ray installed the engine says how to install it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import polars as pl
import pytest

import matcher
from broker import EngineUnavailableError, ray_engine
from broker.rescoring import CHANGES_FILE, IMPACT_FILE, REJECTS_FILE, REPORT_FILE, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR

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
