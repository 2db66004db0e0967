"""Restriction of processing: re-scoring skips a restricted person's applications and says
how many; lifting the restriction lets them be re-scored. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import matcher
from audit import Store
from broker import BatchRecorder, ProcessingRestrictedError, ensure_unrestricted, restricted
from broker.rescoring import rescore_file
from tests.audit.audit_testkit import a_decision, a_person
from tests.audit.conftest import sql, store
from tests.broker.test_batch_decisions import ON, SHIPPED, batch_decisions, stricter

__all__ = ["sql", "store"]


def _link(store: Store, application_id: str, national_id: str) -> None:
    store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        subjects=[("applicant", national_id)],
    )


def test_rescoring_skips_restricted_applications_and_counts_them(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(300, 8, ON).write_parquet(apps)
    ids = pl.read_parquet(apps)["application_id"].to_list()
    _link(store, ids[0], "01019012345")
    _link(store, ids[1], "01019012345")
    _link(store, ids[2], "02029012345")
    assert store.subjects.restrict("01019012345", reason="contested", now=dt.datetime.now(dt.UTC))
    assert restricted(store, ids) == {ids[0], ids[1]}

    new = stricter()
    recorder = BatchRecorder(store, new, everything=True)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path, chunk_rows=100, record=recorder)
    assert recorder.restricted == 2
    assert recorder.recorded == 298
    recorded = {app for app, _ in batch_decisions(sql, new.hash)}
    assert ids[0] not in recorded and ids[1] not in recorded and ids[2] in recorded

    assert store.subjects.lift("01019012345")
    again = BatchRecorder(store, new, everything=True)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path, chunk_rows=100, record=again)
    assert (again.recorded, again.restricted, again.skipped) == (2, 0, 298)


def test_the_one_check_refuses_a_restricted_application(store: Store) -> None:
    _link(store, "app-1", "01019012345")
    ensure_unrestricted(store, "app-1")
    store.subjects.restrict("01019012345", reason="contested", now=dt.datetime.now(dt.UTC))
    with pytest.raises(ProcessingRestrictedError) as raised:
        ensure_unrestricted(store, "app-1")
    assert raised.value.application_id == "app-1"
