"""`lendmatch rules diff OLD NEW`: folders or stored rulesets, changes in plain words."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from audit import Store
from lender_rules import SHIPPED_LENDERS_DIR
from matcher import load_ruleset


def moved_threshold(tmp_path: Path) -> Path:
    """The shipped lenders with nordlys_bank's minimum age raised to 30."""
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_LENDERS_DIR, rules)
    path = rules / "nordlys_bank.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["requirements"][0]["rule"] = {">=": [{"var": "age"}, 30]}
    path.write_text(json.dumps(document), encoding="utf-8")
    return rules


def test_diff_of_two_folders_prints_the_changed_rule_in_words(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    new = moved_threshold(tmp_path)
    result = run("rules", "diff", str(SHIPPED_LENDERS_DIR), str(new))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{load_ruleset(SHIPPED_LENDERS_DIR).hash} -> {load_ruleset(new).hash}"
    assert lines[1:] == ["nordlys_bank.min_age changed: age >= 25 -> age >= 30"]


def test_diff_reads_stored_rulesets_by_hash_prefix_and_active(
    run: Callable[..., Result], store: Store, tmp_path: Path
) -> None:
    new = load_ruleset(moved_threshold(tmp_path))
    old = load_ruleset(SHIPPED_LENDERS_DIR)
    store.rulesets.activate(old)
    store.rulesets.activate(new)
    result = run("rules", "diff", old.hash[:12], "active")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "nordlys_bank.min_age changed: age >= 25 -> age >= 30"
    ]


def test_diff_names_a_reference_that_is_neither_a_path_nor_stored(
    run: Callable[..., Result], store: Store
) -> None:
    result = run("rules", "diff", "ffff", str(SHIPPED_LENDERS_DIR))
    assert result.exit_code == 1
    assert "'ffff' is neither a path nor a single stored ruleset" in result.output
