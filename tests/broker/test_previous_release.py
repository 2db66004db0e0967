"""A decision store written by lendmatch 0.1 (tests/fixtures/store_v0_1.sqlite) still
reproduces, and its decisions are still explained (that it verifies:
tests/audit/test_previous_release.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from audit import open_store
from broker import CompiledRulesets, reproduce, stored_decision

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store_v0_1.sqlite"


def _copy(tmp_path: Path) -> str:
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(FIXTURE, copy)
    return f"sqlite:///{copy}"


def test_every_old_decision_reproduces(tmp_path: Path) -> None:
    with open_store(_copy(tmp_path)) as store:
        results = list(reproduce(store))
    assert len(results) == 10
    assert [r.problem for r in results if not r.ok] == []
    assert len({r.stored.ruleset_hash for r in results}) == 2


def test_an_old_decision_is_explained_under_its_own_ruleset(tmp_path: Path) -> None:
    with open_store(_copy(tmp_path)) as store:
        first = next(iter(store.decisions.stream()))
        recorded = stored_decision(store, CompiledRulesets(store), first.application_id)
        explanations = recorded.explain("nb")
    assert recorded.ruleset.hash == first.ruleset_hash
    assert {e.lender_id for e in explanations} == {o[0] for o in first.outcomes}
