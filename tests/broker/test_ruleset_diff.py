"""Ruleset diffs: lenders added and removed, requirements added, removed, changed (old and new
rule in words) and reworded, lender fields; nothing reported for equal rulesets."""

from __future__ import annotations

import copy
from typing import Any

from broker import LenderChange, RequirementChange, diff_rulesets
from lender_rules import SHIPPED_LENDERS_DIR
from matcher import load_ruleset, ruleset_from_documents

SHIPPED = load_ruleset(SHIPPED_LENDERS_DIR)


def documents() -> dict[str, dict[str, Any]]:
    return copy.deepcopy({k: dict(v) for k, v in SHIPPED.documents.items()})


def requirement(doc: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    return next(r for r in doc["requirements"] if r["id"] == requirement_id)


def test_equal_rulesets_have_no_changes() -> None:
    diff = diff_rulesets(SHIPPED, ruleset_from_documents(documents()))
    assert diff.unchanged
    assert diff.sentences() == ["no changes"]


def test_every_kind_of_change_is_named_with_the_rules_in_words() -> None:
    docs = documents()
    removed = docs.pop("vidde_finans")
    added = copy.deepcopy(removed) | {"lender_id": "ny_bank", "name": "Ny Bank"}
    docs["ny_bank"] = added
    nordlys = docs["nordlys_bank"]
    requirement(nordlys, "min_age")["rule"] = {">=": [{"var": "age"}, 30]}
    old_age = SHIPPED.lender("nordlys_bank").requirement("min_age").plain("en")
    dropped = nordlys["requirements"].pop()
    nordlys["requirements"].append(
        {
            "id": "max_children",
            "rule": {"<=": [{"var": "children"}, 4]},
            "reason": dropped["reason"],
        }
    )
    reworded = requirement(docs["tindebank"], "min_age")
    reworded["reason"] = reworded["reason"] | {"en": "Other words."}
    docs["lofotlaan"]["name"] = "Lofotlån Renamed"
    new = ruleset_from_documents(docs)

    diff = diff_rulesets(SHIPPED, new)

    assert (diff.old_hash, diff.new_hash) == (SHIPPED.hash, new.hash)
    assert diff.lenders_added == ("ny_bank",)
    assert diff.lenders_removed == ("vidde_finans",)
    assert diff.lender_changes == (
        LenderChange("lofotlaan", "name", SHIPPED.lender("lofotlaan").name, "Lofotlån Renamed"),
    )
    old_dropped = SHIPPED.lender("nordlys_bank").requirement(dropped["id"]).plain("en")
    assert [c for c in diff.requirement_changes if c.lender_id == "nordlys_bank"] == [
        RequirementChange("nordlys_bank", "min_age", "changed", old_age, "age >= 30"),
        RequirementChange("nordlys_bank", dropped["id"], "removed", old_dropped, None),
        RequirementChange("nordlys_bank", "max_children", "added", None, "children <= 4"),
    ]
    tinde = [c for c in diff.requirement_changes if c.lender_id == "tindebank"]
    assert [(c.requirement_id, c.kind) for c in tinde] == [("min_age", "reworded")]
    new_lender = [c for c in diff.requirement_changes if c.lender_id == "ny_bank"]
    assert [c.requirement_id for c in new_lender] == [r["id"] for r in removed["requirements"]]
    assert {c.kind for c in new_lender} == {"added"}
    lines = diff.sentences()
    assert "lender ny_bank added" in lines
    assert "lender vidde_finans removed" in lines
    assert f"nordlys_bank.min_age changed: {old_age} -> age >= 30" in lines


def test_rules_are_given_in_the_language_asked() -> None:
    docs = documents()
    requirement(docs["nordlys_bank"], "min_age")["rule"] = {
        "in": [{"var": "employment"}, ["permanent", "retired"]]
    }
    diff = diff_rulesets(SHIPPED, ruleset_from_documents(docs), "nb")
    (change,) = diff.requirement_changes
    assert change.after == (
        ruleset_from_documents(docs).lender("nordlys_bank").requirement("min_age").plain("nb")
    )
    assert change.after != ruleset_from_documents(docs).lender("nordlys_bank").requirement(
        "min_age"
    ).plain("en")
