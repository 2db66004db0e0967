"""Rulesets: content hashes, snapshots, and the version of each lender in force on a date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lender_rules.canonical import canonical_json, digest
from matcher.errors import NothingActivatedError
from matcher.ruleset import in_force, ruleset_from_documents, ruleset_from_snapshot
from tests.matcher.test_engine import SHIPPED, _doc


def versioned(lender_id: str, min_age: int, effective_from: str | None) -> dict[str, Any]:
    doc = _doc(lender_id, ["NO"], {">=": [{"var": "age"}, min_age]})
    if effective_from is not None:
        doc["effective_from"] = effective_from
    return doc


def min_age(ruleset: Any, lender_id: str) -> int:
    node = ruleset.lender(lender_id).requirements[0].node
    return int(node.args[1].value)


def test_a_snapshot_rebuilds_the_same_ruleset() -> None:
    again = ruleset_from_snapshot(SHIPPED.snapshot())
    assert again.hash == SHIPPED.hash
    assert [lender.lender_id for lender in again.lenders] == [
        lender.lender_id for lender in SHIPPED.lenders
    ]


def test_snapshot_is_canonical_json_by_lender_id_and_hash_is_its_digest() -> None:
    documents = {
        "b": versioned("b", 20, None) | {"name": "Bjørn Bank"},
        "a": versioned("a", 18, None),
    }
    ruleset = ruleset_from_documents(documents)
    expected = {"lenders": [documents["a"], documents["b"]]}
    assert ruleset.snapshot() == canonical_json(expected)
    assert "Bjørn" in ruleset.snapshot()  # non-ASCII as is, not \u00f8
    assert ruleset.hash == digest(expected)


def test_a_change_activated_ahead_of_its_date_takes_over_on_that_date() -> None:
    first = ruleset_from_documents(
        [versioned("bank", 18, "2026-01-01"), versioned("other", 20, None)]
    )
    second = ruleset_from_documents(
        [versioned("bank", 25, "2026-12-01"), versioned("other", 21, None)]
    )
    before = in_force([first, second], dt.date(2026, 11, 30))
    assert min_age(before, "bank") == 18  # the earlier version still decides
    assert min_age(before, "other") == 21  # no date: in force at once
    on_the_day = in_force([first, second], dt.date(2026, 12, 1))
    assert on_the_day.hash == second.hash
    assert before.hash not in (first.hash, second.hash)
    assert ruleset_from_snapshot(before.snapshot()).hash == before.hash


def test_a_lender_without_a_version_in_force_yet_is_left_out() -> None:
    only = ruleset_from_documents(
        [versioned("bank", 18, "2027-01-01"), versioned("other", 20, None)]
    )
    ruleset = in_force([only], dt.date(2026, 11, 25))
    assert [lender.lender_id for lender in ruleset.lenders] == ["other"]


def test_a_lender_dropped_from_the_newest_activation_is_retired() -> None:
    first = ruleset_from_documents([versioned("bank", 18, None), versioned("other", 20, None)])
    second = ruleset_from_documents([versioned("other", 20, None)])
    assert [
        lender.lender_id for lender in in_force([first, second], dt.date(2026, 11, 25)).lenders
    ] == ["other"]


def test_in_force_needs_an_activation() -> None:
    with pytest.raises(NothingActivatedError, match="no ruleset"):
        in_force([], dt.date(2026, 11, 25))
