"""`lendmatch subject export` and `lendmatch retention purge`, end to end (SQLite and
PostgreSQL), and `lendmatch keys rotate-data-key`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

import matcher
from audit import DEVELOPMENT_DATA_KEYS, Store
from cli import options
from cli.main import app
from tests.audit.audit_testkit import a_decision
from tests.audit.test_previous_release import FIXTURE
from tests.cli.test_audit import LENDER, _features

KARI = "21858641206"


def _decide(store: Store, application_id: str, national_id: str, age: int, days_ago: int) -> None:
    ruleset = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(ruleset)
    features = _features(age=age, debt_to_income=2.0)
    decided = datetime.now(UTC) - timedelta(days=days_ago)
    store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=matcher.Decision(
            ruleset.hash, decided, features, matcher.evaluate(features, ruleset)
        ),
        personal={"applicant": {"name": "Kari Nordmann", "national_id": national_id}},
        subjects=[("applicant", national_id)],
    )


def test_subject_export_prints_the_document(run: Callable[..., Result], store: Store) -> None:
    _decide(store, "app-1", KARI, age=30, days_ago=1)
    result = run("subject", "export", KARI)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["subject"] == {"national_id": KARI}
    (data,) = [c for c in document["categories"] if c["category"] == "application_data"]
    assert [item["application_id"] for item in data["items"]] == ["app-1"]
    unknown = run("subject", "export", "15076500565")
    assert unknown.exit_code == options.EXIT_PROBLEM
    assert "No data is held about this person." in unknown.stderr


def test_retention_purge_prints_per_category_and_a_second_run_removes_nothing(
    run: Callable[..., Result], store: Store
) -> None:
    _decide(store, "old", KARI, age=20, days_ago=800)  # not accepted, over 2 years ago
    _decide(store, "new", "03898923311", age=20, days_ago=10)
    dry = run("retention", "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        "application_data: would remove 1",
        "review_requests: would remove 0",
        "case_views: would remove 0",
        "identity_checks: would remove 0",
    ]
    first = run("retention", "purge")
    assert first.stdout.splitlines()[:4] == [
        "application_data: removed 1",
        "review_requests: removed 0",
        "case_views: removed 0",
        "identity_checks: removed 0",
    ]
    assert "identity checks kept under anti-money-laundering law: 1" in first.stdout
    second = run("retention", "purge")
    assert second.stdout.splitlines()[:4] == [
        "application_data: removed 0",
        "review_requests: removed 0",
        "case_views: removed 0",
        "identity_checks: removed 0",
    ]
    assert store.decisions.personal_data("old") is None
    assert store.decisions.personal_data("new") is not None
    assert run("audit", "verify").exit_code == 0


def test_rotate_data_key_reseals_under_the_first_key(
    run: Callable[..., Result], store: Store, sql: Callable[..., list[object]]
) -> None:
    _decide(store, "app-1", KARI, age=30, days_ago=1)
    new_key = "k2:" + "A" * 43 + "="
    result = run(
        "keys", "rotate-data-key", LENDMATCH_DATA_KEYS=f"{new_key},{DEVELOPMENT_DATA_KEYS}"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: 1 sealed values re-sealed under key k2; 0 left"
    assert sql("SELECT key_id FROM personal_data") == [("k2",)]
    bad = run("keys", "rotate-data-key", LENDMATCH_DATA_KEYS="k2:short")
    assert bad.exit_code == options.EXIT_USAGE
    assert "LENDMATCH_DATA_KEYS" in bad.stderr


def test_rotation_seals_a_previous_release_store_and_links_its_people(tmp_path: Path) -> None:
    """0.1 stored payloads clear and no subject links: after `keys rotate-data-key` every
    payload is sealed, the log verifies, and a person is found by their national id."""
    copy = tmp_path / "store_v0_1.sqlite"
    shutil.copyfile(FIXTURE, copy)
    runner = CliRunner()
    env = {"DATABASE_URL": f"sqlite:///{copy}"}
    assert runner.invoke(app, ["subject", "export", "12048590185"], env=env).exit_code == 1
    rotated = runner.invoke(app, ["keys", "rotate-data-key", "--batch", "4"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip() == "ok: 9 sealed values re-sealed under key dev1; 0 left"
    assert rotated.stderr.splitlines() == [
        "re-sealed 4, 5 left",
        "re-sealed 8, 1 left",
        "re-sealed 9, 0 left",
    ]
    for trace in (b"Kari Nordmann", b"12048590185", b"kari@example.no", b"912 34 567"):
        assert trace in FIXTURE.read_bytes()
        assert trace not in copy.read_bytes()  # overwritten, not left in free pages
    verified = runner.invoke(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    exported = runner.invoke(app, ["subject", "export", "12048590185"], env=env)
    assert exported.exit_code == 0, exported.output
    (data,) = [
        c for c in json.loads(exported.stdout)["categories"] if c["category"] == "application_data"
    ]
    assert data["items"] and all(
        i["data"].get("applicant", i["data"].get("co_applicant")) for i in data["items"]
    )


def test_export_gives_outcomes_without_reasons_when_a_ruleset_is_not_stored(
    run: Callable[..., Result], store: Store
) -> None:
    store.decisions.record(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),  # under a ruleset whose snapshot the store does not hold
        personal={"applicant": {"name": "Kari Nordmann", "national_id": KARI}},
        subjects=[("applicant", KARI)],
    )
    result = run("subject", "export", KARI)
    assert result.exit_code == 0, result.output
    (decisions,) = [
        c for c in json.loads(result.stdout)["categories"] if c["category"] == "automated_decisions"
    ]
    (item,) = decisions["items"]
    assert item["lenders"] == []
    assert [o["lender_id"] for o in item["outcomes"]] == ["nordbank", "fjordkreditt", "kvartalbank"]
