"""`lendmatch audit verify|checkpoint|keygen|head|reproduce`, end to end."""

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
from tests.audit.audit_testkit import Ruleset

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]


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


# --- tampering with what a decision depends on, and signed checkpoints -----------------------

RULES = Ruleset(
    {
        "nordbank": {
            "lender_id": "nordbank",
            "requirements": [
                {
                    "id": "min_age",
                    "rule": {">=": [{"var": "age"}, 23]},
                    "reason": {"en": "At least 23."},
                }
            ],
        }
    }
)
LATER = Ruleset({"sorbank": {"lender_id": "sorbank", "requirements": []}})


@pytest.fixture
def evidence(store: Store, record: Record) -> list[StoredDecision]:
    """Two activations and three decisions with personal payloads (app-1 .. app-3)."""
    store.rulesets.activate(RULES)
    store.rulesets.activate(LATER)
    return record(3)


def _failed(result: Result) -> list[str]:
    assert result.exit_code == options.EXIT_PROBLEM, result.output
    return [line for line in result.stderr.splitlines() if line.startswith("FAILED at ")]


def test_verify_reports_everything_it_checked(
    run: Callable[..., Result], evidence: list[StoredDecision], store: Store
) -> None:
    store.decisions.erase_personal_data("app-1", reason="the applicant asked")
    result = run("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"ok: 3 records verified, head {store.decisions.head()}; 2 ruleset snapshots, "
        "2 activations, 2 personal payloads (1 erased), 0 subject requests, 0 records redacted"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [("At least 23.", "At least 18."), ("23]", "18]")],
    ids=["reason text", "threshold"],
)
def test_verify_names_a_changed_ruleset_snapshot(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql, old: str, new: str
) -> None:
    sql(
        "UPDATE ruleset_version SET snapshot = replace(snapshot, :old, :new) WHERE hash = :h",
        old=old,
        new=new,
        h=RULES.hash,
    )
    (line,) = _failed(run("audit", "verify"))
    assert line.startswith(f"FAILED at ruleset snapshot {RULES.hash}: the snapshot was changed")


def test_verify_names_a_changed_activation(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql
) -> None:
    sql("UPDATE ruleset_activation SET ruleset_hash = :h WHERE seq = 2", h=RULES.hash)
    (line,) = _failed(run("audit", "verify"))
    assert line.startswith("FAILED at activation 2: activation 2 was changed")


def test_verify_names_a_removed_latest_activation(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql
) -> None:
    sql("DELETE FROM ruleset_activation WHERE seq = 2")  # the earlier ruleset is active again
    (line,) = _failed(run("audit", "verify"))
    assert line.startswith("FAILED at the activation log: the activation log's head names")


def test_verify_names_a_changed_personal_payload(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql, store: Store
) -> None:
    """Changed by someone holding the data key: sealed again, it opens, the digest differs."""
    ((key_id, sealed),) = sql(
        "SELECT key_id, payload_json FROM personal_data WHERE application_id = 'app-2'"
    )
    changed = store.keys.open(key_id, sealed, "app-2").replace("ase2@", "eve2@")
    _, resealed = store.keys.seal(changed, "app-2")
    sql("UPDATE personal_data SET payload_json = :p WHERE application_id = 'app-2'", p=resealed)
    (line,) = _failed(run("audit", "verify"))
    assert line.startswith(
        f"FAILED at personal payload of application app-2 (record 2, decision "
        f"{evidence[1].decision_id}): the payload does not match the record's digest"
    )


def test_verify_names_a_changed_ciphertext(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql
) -> None:
    ((sealed,),) = sql("SELECT payload_json FROM personal_data WHERE application_id = 'app-2'")
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    sql("UPDATE personal_data SET payload_json = :p WHERE application_id = 'app-2'", p=flipped)
    (line,) = _failed(run("audit", "verify"))
    assert line.startswith(
        f"FAILED at personal payload of application app-2 (record 2, decision "
        f"{evidence[1].decision_id}): the payload does not open"
    )


def test_verify_names_both_payloads_of_a_swap(
    run: Callable[..., Result], evidence: list[StoredDecision], sql: Sql
) -> None:
    rows = dict(sql("SELECT application_id, payload_json FROM personal_data"))
    for one, other in (("app-1", "app-3"), ("app-3", "app-1")):
        sql(
            "UPDATE personal_data SET payload_json = :p WHERE application_id = :a",
            p=rows[other],
            a=one,
        )
    lines = _failed(run("audit", "verify"))
    assert [line.split(":")[0] for line in lines] == [
        f"FAILED at personal payload of application app-1 (record 1, decision "
        f"{evidence[0].decision_id})",
        f"FAILED at personal payload of application app-3 (record 3, decision "
        f"{evidence[2].decision_id})",
    ]


def test_verify_names_a_deleted_payload_unless_its_erasure_is_recorded(
    run: Callable[..., Result], evidence: list[StoredDecision], store: Store, sql: Sql
) -> None:
    store.decisions.erase_personal_data("app-1", reason="the applicant asked")
    sql("DELETE FROM personal_data WHERE application_id = 'app-3'")
    (line,) = _failed(run("audit", "verify"))
    assert line == (
        f"FAILED at personal payload of application app-3 (record 3, decision "
        f"{evidence[2].decision_id}): the payload is missing and no erasure of it is recorded"
    )


def test_verify_names_a_forged_erasure_record(
    run: Callable[..., Result], evidence: list[StoredDecision], store: Store, sql: Sql
) -> None:
    store.decisions.erase_personal_data("app-1", reason="the applicant asked")
    sql("UPDATE personal_erasure SET application_id = 'app-3' WHERE seq = 1")
    sql("DELETE FROM personal_data WHERE application_id = 'app-3'")
    lines = _failed(run("audit", "verify"))
    assert any(line.startswith("FAILED at erasure 1: erasure 1 was changed") for line in lines)


@pytest.fixture
def keys() -> dict[str, str]:
    """A checkpoint key pair as the environment of the commands."""
    result = CliRunner().invoke(app, ["audit", "keygen"])
    assert result.exit_code == 0
    pairs = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert set(pairs) == {"LENDMATCH_CHECKPOINT_KEY", "LENDMATCH_CHECKPOINT_PUBLIC_KEY"}
    return pairs


def _cut_tail(sql: Sql, store: Store, keep: int) -> None:
    """Remove the records after `keep` (and their personal payloads, which verify would name)
    and move the chain head back to record `keep`, as a careful forger would."""
    ((digest,),) = sql("SELECT record_hash FROM decision WHERE seq = :s", s=keep)
    sql(
        "DELETE FROM personal_data WHERE application_id IN "
        "(SELECT application_id FROM decision WHERE seq > :s)",
        s=keep,
    )
    sql("DELETE FROM decision WHERE seq > :s", s=keep)
    sql("UPDATE chain_head SET seq = :s, hash = :h", s=keep, h=digest)


def test_a_cut_tail_with_its_head_moved_back_is_caught_by_the_checkpoint(
    run: Callable[..., Result],
    evidence: list[StoredDecision],
    store: Store,
    sql: Sql,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "checkpoints")
    written = run("audit", "checkpoint", "--dir", folder, **keys)
    assert written.exit_code == 0, written.output
    assert written.stdout.startswith(f"checkpoint {folder}/checkpoint-")
    _cut_tail(sql, store, keep=2)

    assert run("audit", "verify").exit_code == 0  # the store alone cannot tell
    result = run("audit", "verify", "--checkpoints", folder, **keys)
    (line,) = _failed(result)
    assert line.startswith("FAILED at record 3: record 3 is missing")
    assert "checked against checkpoint" in result.stderr
    public = {"LENDMATCH_CHECKPOINT_PUBLIC_KEY": keys["LENDMATCH_CHECKPOINT_PUBLIC_KEY"]}
    from_settings = run("audit", "verify", LENDMATCH_CHECKPOINT_DIR=folder, **public)
    assert _failed(from_settings) == [line]
    again = run("audit", "checkpoint", "--dir", folder, **keys)
    assert again.exit_code == options.EXIT_PROBLEM  # nothing signed over a cut log
    assert len(list(Path(folder).iterdir())) == 1


def test_verify_holds_a_checkpoint_of_a_log_that_grew_since(
    run: Callable[..., Result],
    evidence: list[StoredDecision],
    record: Record,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "checkpoints")
    assert run("audit", "checkpoint", "--dir", folder, **keys).exit_code == 0
    record(4)  # app-1 .. app-4 decided again: records 4 .. 7
    result = run("audit", "verify", "--checkpoints", folder, **keys)
    assert result.exit_code == 0, result.output
    assert "records verified" in result.stdout
    assert "(record 3)" in result.stdout


def test_a_forged_checkpoint_is_refused(
    run: Callable[..., Result],
    evidence: list[StoredDecision],
    store: Store,
    sql: Sql,
    keys: dict[str, str],
    tmp_path: Path,
) -> None:
    folder = tmp_path / "checkpoints"
    assert run("audit", "checkpoint", "--dir", str(folder), **keys).exit_code == 0
    _cut_tail(sql, store, keep=2)
    forger = CliRunner().invoke(app, ["audit", "keygen"]).stdout.splitlines()[0].split("=", 1)
    forged = run("audit", "checkpoint", "--dir", str(folder), LENDMATCH_CHECKPOINT_KEY=forger[1])
    assert forged.exit_code == options.EXIT_PROBLEM  # the genuine checkpoint is not held
    (genuine,) = folder.iterdir()
    # the forger's own checkpoint of the cut log, carrying the genuine signature
    text = genuine.read_text().replace(
        f'"decisions":"3:{evidence[2].record_hash}"', f'"decisions":"2:{evidence[1].record_hash}"'
    )
    assert text != genuine.read_text()
    forged_file = folder / "checkpoint-99991231T000000000000Z-000000000002.json"
    forged_file.write_text(text)
    result = run("audit", "verify", "--checkpoints", str(folder), **keys)
    assert result.exit_code == options.EXIT_PROBLEM
    assert result.stderr.strip() == (
        f"FAILED: checkpoint {forged_file}: its signature does not verify with the trusted "
        "public key: it is forged"
    )


def test_a_checkpoint_signed_with_another_key_is_refused(
    run: Callable[..., Result], evidence: list[StoredDecision], tmp_path: Path
) -> None:
    folder = str(tmp_path / "checkpoints")
    forger = dict(
        line.split("=", 1)
        for line in CliRunner().invoke(app, ["audit", "keygen"]).stdout.splitlines()
    )
    trusted = CliRunner().invoke(app, ["audit", "keygen"]).stdout.splitlines()[1].split("=", 1)
    assert run("audit", "checkpoint", "--dir", folder, **forger).exit_code == 0
    result = run("audit", "verify", "--checkpoints", folder, "--public-key", trusted[1])
    assert result.exit_code == options.EXIT_PROBLEM
    assert "signature does not verify with the trusted public key: it is forged" in result.stderr


def test_checkpoints_need_a_folder_and_a_key(
    run: Callable[..., Result], evidence: list[StoredDecision], tmp_path: Path
) -> None:
    assert run("audit", "checkpoint", "--dir", str(tmp_path)).exit_code == options.EXIT_USAGE
    no_folder = run("audit", "checkpoint", LENDMATCH_CHECKPOINT_KEY="a2V5")
    assert no_folder.exit_code == options.EXIT_USAGE
    no_key = run("audit", "verify", "--checkpoints", str(tmp_path))
    assert no_key.exit_code == options.EXIT_USAGE
    assert "public key" in no_key.stderr


def test_verify_and_reproduce_report_redacted_records(
    run: Callable[..., Result], store: Store
) -> None:
    ruleset = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(ruleset)
    _decide(store, ruleset, 1, age=30, debt_to_income=2.0)
    _decide(store, ruleset, 2, age=20, debt_to_income=2.0)
    store.decisions.redact(
        "app-2", reason="erasure request", now=datetime(2026, 11, 30, tzinfo=UTC)
    )
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.splitlines()[0].endswith("1 records redacted")
    assert verified.stdout.splitlines()[1] == "  1 redacted on 2026-11-30: erasure request"
    reproduced = run("audit", "reproduce")
    assert reproduced.exit_code == 0, reproduced.output
    assert reproduced.stdout.strip() == (
        "ok: 1 decisions reproduce their stored bitmasks; 1 redacted decisions skipped "
        "(their features were erased)"
    )
