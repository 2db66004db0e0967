"""A store written by lendmatch 0.1 (tests/fixtures/store_v0_1.sqlite, see the README there)
opens, migrates and verifies with today's code, and tampering with it is still found."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import Store, open_store
from lender_rules.canonical import sha256_hex

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0_1.sqlite"
HEAD = "10:1a64c307c092ccb80eb3dda103c8fcb491deb07c15a635365b8c10d8390111f1"
FIRST_RULESET = "2400a62e8e1a725c5e73fdf2d11f8d2a5f62a2ddf76a38ca527ae5ba921b9771"
SECOND_RULESET = "9cf0c2192a62f4fe13c5d317a0ef8b67472f3e67ac30a8b4e72ffc2330a7bcb3"
RECORD_4 = "71318fa8-daaa-4616-ba8a-0534301f171d"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the 0.1 store (the fixture itself is never opened for writing)."""
    target = tmp_path / "store_v0_1.sqlite"
    shutil.copyfile(FIXTURE, target)
    return target


@pytest.fixture
def old_store(copy: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{copy}") as store:
        yield store


def test_the_previous_release_log_verifies_to_its_recorded_head(old_store: Store) -> None:
    report = old_store.decisions.verify()
    assert (report.ok, report.checked, report.first_bad_seq) == (True, 10, None), report.reason
    assert report.head == HEAD
    assert old_store.decisions.head() == HEAD
    kept = old_store.decisions.verify(HEAD)
    assert kept.ok, kept.reason
    assert kept.checked == 10


def test_the_previous_release_decisions_read_back(old_store: Store) -> None:
    stored = list(old_store.decisions.stream())
    assert [d.seq for d in stored] == list(range(1, 11))
    assert [d.channel for d in stored] == ["api"] * 9 + ["batch"]
    assert {d.ruleset_hash for d in stored} == {FIRST_RULESET, SECOND_RULESET}
    assert old_store.decisions.latest("batch-app-1") == stored[-1]


def test_the_previous_release_ruleset_snapshots_hash_to_their_keys(old_store: Store) -> None:
    versions = old_store.rulesets.versions()
    assert [(v.hash, v.active) for v in versions] == [
        (FIRST_RULESET, False),
        (SECOND_RULESET, True),
    ]
    for version in versions:
        snapshot = old_store.rulesets.snapshot(version.hash)
        assert snapshot is not None
        assert sha256_hex(snapshot) == version.hash
    assert old_store.rulesets.activation_history() == [FIRST_RULESET, SECOND_RULESET]


def test_a_tampered_previous_release_record_is_found_at_that_record(copy: Path) -> None:
    connection = sqlite3.connect(copy)
    try:
        with connection:
            ((features,),) = connection.execute("SELECT features_json FROM decision WHERE seq = 4")
            assert '"amount":900000,' in features
            connection.execute(
                "UPDATE decision SET features_json = ? WHERE seq = 4",
                (features.replace('"amount":900000,', '"amount":90000,'),),
            )
    finally:
        connection.close()
    with open_store(f"sqlite:///{copy}") as store:
        report = store.decisions.verify()
        assert not report.ok
        assert (report.first_bad_seq, report.first_bad_decision_id) == (4, RECORD_4)
        assert report.checked == 3
        assert not store.decisions.verify(HEAD).ok


def test_the_previous_release_activations_are_chained_on_upgrade(old_store: Store) -> None:
    report = old_store.verify()
    assert report.ok, (report.chain.reason, report.findings)
    assert (report.snapshots, report.activations) == (2, 2)
    assert report.heads.decisions == HEAD
    assert report.heads.erasures == "0:" + "0" * 64


def test_a_changed_previous_release_activation_is_named(copy: Path) -> None:
    connection = sqlite3.connect(copy)
    try:
        with connection:
            connection.execute(
                "UPDATE ruleset_activation SET activated_at = '2020-01-01 00:00:00.000000' "
                "WHERE id = 1"
            )
    finally:
        connection.close()
    with open_store(f"sqlite:///{copy}") as store:  # migrated now: chained as it is
        assert store.verify().ok
    with open_store(f"sqlite:///{copy}") as store:
        with store.engine.begin() as tamper:
            tamper.exec_driver_sql(
                f"UPDATE ruleset_activation SET ruleset_hash = '{SECOND_RULESET}' WHERE seq = 1"
            )
        findings = store.verify().findings
    assert [f.where for f in findings] == ["activation 1"]


def test_an_old_record_moved_to_another_client_is_found(tmp_path: Path) -> None:
    """Records from before clients verify as the default client's, and only as that."""
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(FIXTURE, copy)
    with open_store(f"sqlite:///{copy}") as store:
        assert store.decisions.verify().ok
        with store.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE decision SET client = 'acme' WHERE seq = 2")
        report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 2
