"""`lendmatch audit verify|head|reproduce`, end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import matcher
from audit import Store, StoredDecision
from cli import options
from cli.main import app

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]


@pytest.fixture
def run(database_url: str) -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env={"DATABASE_URL": database_url})

    return invoke


def test_verify_passes_on_an_intact_log(run: Callable[..., Result], record: Record) -> None:
    record(3)
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 3 records verified")


def test_verify_fails_naming_the_first_bad_record(
    run: Callable[..., Result], record: Record, sql: Sql
) -> None:
    stored = record(4)
    sql("UPDATE decision SET features_json = '{}' WHERE seq = 2")
    result = run("audit", "verify")
    assert result.exit_code == options.EXIT_PROBLEM
    assert f"record 2 (decision {stored[1].decision_id})" in result.stderr
    assert "changed" in result.stderr


def test_verify_names_a_deleted_record(
    run: Callable[..., Result], record: Record, sql: Sql
) -> None:
    record(4)
    sql("DELETE FROM decision WHERE seq = 3")
    result = run("audit", "verify")
    assert result.exit_code == options.EXIT_PROBLEM
    assert "record 3" in result.stderr
    assert "missing" in result.stderr


def test_head_prints_the_chain_head_and_verify_checks_against_it(
    run: Callable[..., Result], store: Store, record: Record
) -> None:
    record(2)
    result = run("audit", "head")
    assert result.exit_code == 0
    assert result.stdout.strip() == store.decisions.head()
    record(1)
    assert run("audit", "verify", "--head", result.stdout.strip()).exit_code == 0
    wrong = run("audit", "verify", "--head", "2:" + "0" * 64)
    assert wrong.exit_code == options.EXIT_PROBLEM
    assert "record 2" in wrong.stderr


LENDER: dict[str, Any] = {
    "lender_id": "nordbank",
    "name": "Nordbank ASA",
    "markets": ["NO"],
    "requirements": [
        {
            "id": "min_age",
            "rule": {">=": [{"var": "age"}, 23]},
            "reason": {"en": "At least 23.", "nb": "Minst 23.", "sv": "Minst 23."},
        },
        {
            "id": "max_dti",
            "rule": {"<=": [{"var": "debt_to_income"}, 5]},
            "reason": {"en": "DTI at most 5.", "nb": "Høyst 5.", "sv": "Högst 5."},
        },
        {
            "id": "co_age",
            "rule": {">=": [{"var": "co_age"}, 23]},
            "reason": {"en": "Co at least 23.", "nb": "Minst 23.", "sv": "Minst 23."},
        },
    ],
}


def _features(age: int, debt_to_income: float) -> dict[str, Any]:
    return {
        "market": "NO",
        "age": age,
        "has_co_applicant": False,
        "co_age": None,
        "income": 0 if debt_to_income == float("inf") else 400_000,
        "co_income": 0,
        "total_income": 0 if debt_to_income == float("inf") else 400_000,
        "employment": "permanent",
        "employed_months": 24,
        "co_employment": None,
        "amount": 100_000,
        "term_months": 60,
        "purpose": "consumer",
        "existing_debt": 0,
        "debt_to_income": debt_to_income,
        "payment_remarks": 0,
        "housing": "rent",
        "housing_cost": 9_000,
        "children": 0,
        "years_in_country": 10,
        "citizenship": "NO",
    }


def _decide(store: Store, ruleset: matcher.Ruleset, n: int, **kw: Any) -> StoredDecision:
    features = _features(**kw)
    decision = matcher.Decision(
        ruleset.hash, datetime.now(UTC), features, matcher.evaluate(features, ruleset)
    )
    return store.decisions.record(
        application_id=f"app-{n}", channel="api", decision=decision, personal={}
    )


def test_reproduce_recomputes_every_stored_decision_under_its_own_ruleset(
    run: Callable[..., Result], store: Store
) -> None:
    old = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(old)
    _decide(store, old, 1, age=30, debt_to_income=2.0)
    _decide(store, old, 2, age=20, debt_to_income=float("inf"))
    stricter = dict(
        LENDER, requirements=[dict(LENDER["requirements"][0], rule={">=": [{"var": "age"}, 40]})]
    )
    new = matcher.ruleset_from_documents([stricter])
    store.rulesets.activate(new)  # a different ruleset is active now
    _decide(store, new, 3, age=30, debt_to_income=2.0)
    result = run("audit", "reproduce")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 3 decisions reproduce")


def test_reproduce_fails_on_a_decision_that_does_not_reproduce(
    run: Callable[..., Result], store: Store
) -> None:
    ruleset = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(ruleset)
    _decide(store, ruleset, 1, age=30, debt_to_income=2.0)
    wrong = matcher.Decision(
        ruleset.hash,
        datetime.now(UTC),
        _features(age=20, debt_to_income=2.0),
        (matcher.LenderOutcome("nordbank", 0, 0),),  # min_age failed, and co_age is unknown
    )
    bad = store.decisions.record(application_id="app-2", channel="api", decision=wrong, personal={})
    unknown_ruleset = matcher.Decision("cd" * 32, datetime.now(UTC), _features(30, 1.0), ())
    store.decisions.record(
        application_id="app-3", channel="api", decision=unknown_ruleset, personal={}
    )
    result = run("audit", "reproduce")
    assert result.exit_code == options.EXIT_PROBLEM
    assert f"record 2 (decision {bad.decision_id}" in result.stderr
    assert "nordbank: stored (0, 0), now (1, 4)" in result.stderr
    assert "record 3" in result.stderr
    assert "snapshot is not stored" in result.stderr
    assert "2 of 3 decisions do not reproduce" in result.stderr


def test_reproduce_names_the_decisions_of_a_changed_snapshot(
    run: Callable[..., Result], store: Store, sql: Sql
) -> None:
    ruleset = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(ruleset)
    stored = _decide(store, ruleset, 1, age=30, debt_to_income=2.0)
    sql("UPDATE ruleset_version SET snapshot = replace(snapshot, '23]', '18]')")  # a threshold
    result = run("audit", "reproduce")
    assert result.exit_code == options.EXIT_PROBLEM
    assert f"record 1 (decision {stored.decision_id}" in result.stderr
    assert "snapshot was changed" in result.stderr


def test_commands_exit_3_when_the_store_is_unreachable(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked.sqlite"
    blocked.mkdir()
    runner = CliRunner()
    for command in (["audit", "verify"], ["audit", "head"], ["audit", "reproduce"]):
        result = runner.invoke(app, command, env={"DATABASE_URL": f"sqlite:///{blocked}"})
        assert result.exit_code == options.EXIT_STORE_UNAVAILABLE
        assert "store unavailable" in result.stderr
