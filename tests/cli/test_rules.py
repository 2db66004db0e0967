"""`lendmatch rules check|show` and `lendmatch match` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from matcher import load_ruleset

RULES = Path(__file__).parents[2] / "lender_rules" / "lenders"
REASON = {"en": "r", "nb": "r", "sv": "r"}


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_check_prints_ok_with_the_ruleset_hash() -> None:
    result = run("rules", "check", str(RULES))
    assert result.exit_code == 0, result.output
    words = result.output.split()
    assert words[0] == "OK"
    assert words[1] == load_ruleset(RULES).hash


def test_check_lists_every_problem_and_exits_non_zero(tmp_path: Path) -> None:
    bad = {
        "lender_id": "bank",
        "name": "Bank",
        "markets": ["NO"],
        "requirements": [
            {"id": "a", "rule": {">=": [{"var": "agee"}, 18]}, "reason": REASON},
            {"id": "b", "rule": {"==": [{"var": "employment"}, 1]}, "reason": REASON},
        ],
    }
    (tmp_path / "bank.json").write_text(json.dumps(bad))
    (tmp_path / "broken.json").write_text("{\n  ,\n}")
    result = run("rules", "check", str(tmp_path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any("bank.json [a]" in line and "unknown feature 'agee'" in line for line in lines)
    assert any("bank.json [b]" in line and '$.requirements[1].rule["=="]' in line for line in lines)
    assert any("broken.json:2:3" in line and "malformed JSON" in line for line in lines)
    assert lines[-1].startswith("3 problem(s)")


def test_show_prints_plain_words_next_to_the_reason() -> None:
    ruleset = load_ruleset(RULES)
    lender = ruleset.lenders[0]
    result = run("rules", "show", lender.lender_id, "--lang", "sv", "--rules", str(RULES))
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    for requirement in lender.requirements:
        assert requirement.id in flat
        # the table wraps long cells: compare the first words
        assert " ".join(requirement.reason["sv"].split()[:2]) in flat


def test_show_unknown_lender_names_the_known_ones() -> None:
    result = run("rules", "show", "nosuchbank", "--rules", str(RULES))
    assert result.exit_code == 1
    assert "unknown lender 'nosuchbank'" in result.output


def test_activate_stores_and_activates_and_refuses_invalid_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from audit import open_store

    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    result = run("rules", "activate", str(RULES))
    assert result.exit_code == 0, result.output
    shipped = load_ruleset(RULES).hash
    assert result.output.split()[:2] == ["active", shipped]

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bank.json").write_text('{"lender_id": "bank"}')
    refused = run("rules", "activate", str(tmp_path / "bad"))
    assert refused.exit_code == 1
    assert "missing field 'name'" in refused.output
    store = open_store(url)
    try:
        active = store.rulesets.active()
        assert active is not None and active.hash == shipped
    finally:
        store.dispose()


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ('{"!": [' * 40 + "true" + "]}" * 40, "operations nested deeper than 32 levels"),
        ('{"!": [' * 5000 + "true" + "]}" * 5000, "nested deeper than 100 levels"),
        ('{"==": [{"var": "citizenship"}, "\\ud800"]}', "lone surrogate"),
        ('{">": [{"*": [1000000000000000, 1000000000000000]}, {"var": "amount"}]}', "64-bit"),
        ('{"<=": {"preserve": [1, 2, 3]}}', "unsupported operator 'preserve'"),
    ],
)
def test_check_reports_rules_at_the_edges_without_a_traceback(
    tmp_path: Path, rule: str, words: str
) -> None:
    doc = {
        "lender_id": "bank",
        "name": "Bank",
        "markets": ["NO"],
        "requirements": [{"id": "a", "rule": "RULE", "reason": REASON}],
    }
    (tmp_path / "bank.json").write_text(json.dumps(doc).replace('"RULE"', rule))
    result = run("rules", "check", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert any("bank.json" in line and words in line for line in result.output.splitlines())
