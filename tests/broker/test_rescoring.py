"""Re-scoring: exactly the pairs whose outcome changed, the same as scoring each row alone
under both rulesets; counts per lender; impact.json follows its published schema."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import matcher
from broker.rescoring import (
    CHANGES_FILE,
    IMPACT_FILE,
    REJECTS_FILE,
    REPORT_FILE,
    SCHEMA_PATH,
    _count_reasons,
    compare,
    rescore_file,
)
from lender_rules import SHIPPED_LENDERS_DIR
from lender_rules.errors import RulesetError
from tests.strategies import bool_rules

ON = dt.date(2026, 11, 25)
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
REASON = {"en": "r", "nb": "r", "sv": "r"}
SAMPLE = matcher.feature_frame(matcher.generate(300, 11, ON), ON).collect()


def lender(lender_id: str, *requirements: tuple[str, Any]) -> dict[str, Any]:
    return {
        "lender_id": lender_id,
        "name": lender_id,
        "markets": ["NO", "SE"],
        "requirements": [{"id": i, "rule": rule, "reason": REASON} for i, rule in requirements],
    }


def test_one_threshold_moved_flips_exactly_the_applications_between_old_and_new(
    tmp_path: Path,
) -> None:
    ages = [24, 25, 27, 29, 30, 41]
    features = SAMPLE.head(len(ages)).with_columns(
        pl.Series("age", ages, dtype=SAMPLE.schema["age"]),
        pl.Series("application_id", [f"a{age}" for age in ages]),
        pl.lit(0).cast(SAMPLE.schema["payment_remarks"]).alias("payment_remarks"),
    )
    steady = lender("steady", ("no_remarks", {"==": [{"var": "payment_remarks"}, 0]}))
    old = matcher.ruleset_from_documents(
        [lender("moving", ("min_age", {">=": [{"var": "age"}, 25]})), steady]
    )
    new = matcher.ruleset_from_documents(
        [lender("moving", ("min_age", {">=": [{"var": "age"}, 30]})), steady]
    )
    apps = tmp_path / "features.parquet"
    features.write_parquet(apps)

    impact = rescore_file(apps, new, old, on=ON, out=tmp_path / "out", chunk_rows=4)

    changes = pl.read_parquet(tmp_path / "out" / CHANGES_FILE)
    assert changes.sort("application_id").to_dicts() == [
        {
            "application_id": f"a{age}",
            "lender_id": "moving",
            "before": "eligible",
            "after": "rejected",
            "failed_before": [],
            "unknown_before": [],
            "failed_after": ["min_age"],
            "unknown_after": [],
        }
        for age in (25, 27, 29)
    ]
    report = json.loads((tmp_path / "out" / IMPACT_FILE).read_text(encoding="utf-8"))
    assert report["lenders"] == [
        {
            "lender_id": "moving",
            "eligible_before": 5,
            "eligible_after": 2,
            "newly_eligible": 0,
            "newly_rejected": 3,
            "newly_rejected_by": [{"requirement_id": "min_age", "applications": 3}],
            "newly_eligible_by": [],
        },
        {
            "lender_id": "steady",
            "eligible_before": 6,
            "eligible_after": 6,
            "newly_eligible": 0,
            "newly_rejected": 0,
            "newly_rejected_by": [],
            "newly_eligible_by": [],
        },
    ]
    assert (report["applications"], report["changes"]) == (6, 3)
    assert (report["baseline_ruleset"], report["new_ruleset"]) == (old.hash, new.hash)
    assert report["rules_diff"] == ["moving.min_age changed: age >= 25 -> age >= 30"]
    assert impact.changes == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        CHANGES_FILE,
        REPORT_FILE,
        IMPACT_FILE,
        REJECTS_FILE,
    ]


def outcome(found: matcher.LenderOutcome | None) -> str:
    if found is None:
        return "not_served"
    if found.failed:
        return "rejected"
    return "missing_data" if found.unknown else "eligible"


def ids(ruleset: matcher.Ruleset, lender_id: str, bits: int) -> list[str]:
    if lender_id not in {lender.lender_id for lender in ruleset.lenders}:
        return []
    return [r.id for r in ruleset.lender(lender_id).requirements if bits & r.bit]


def expected_changes(
    features: pl.DataFrame, new: matcher.Ruleset, old: matcher.Ruleset
) -> set[tuple[Any, ...]]:
    """The changed pairs found by scoring each row alone under both rulesets."""
    lenders = sorted({lender.lender_id for lender in (*old.lenders, *new.lenders)})
    found: set[tuple[Any, ...]] = set()
    for row in features.to_dicts():
        before = {o.lender_id: o for o in matcher.evaluate(row, old)}
        after = {o.lender_id: o for o in matcher.evaluate(row, new)}
        for lender_id in lenders:
            b, a = before.get(lender_id), after.get(lender_id)
            if outcome(b) != outcome(a):
                found.add(
                    (
                        row["application_id"],
                        lender_id,
                        outcome(b),
                        outcome(a),
                        tuple(ids(old, lender_id, b.failed if b else 0)),
                        tuple(ids(old, lender_id, b.unknown if b else 0)),
                        tuple(ids(new, lender_id, a.failed if a else 0)),
                        tuple(ids(new, lender_id, a.unknown if a else 0)),
                    )
                )
    return found


@st.composite
def rule_changes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The shipped lenders with a few rules replaced, thresholds moved, requirements and
    lenders removed."""
    documents = copy.deepcopy([dict(d) for d in SHIPPED.documents.values()])
    for _ in range(draw(st.integers(1, 4))):
        document = draw(st.sampled_from(documents))
        requirements = document["requirements"]
        index = draw(st.integers(0, len(requirements) - 1))
        change = draw(st.sampled_from(["rule", "threshold", "remove"]))
        if change == "rule":
            requirements[index]["rule"] = draw(bool_rules(2))
        elif change == "remove" and len(requirements) > 1:
            requirements.pop(index)
        elif isinstance(rule := requirements[index]["rule"], dict):  # not a literal drawn before
            operator, operands = next(iter(rule.items()))
            if isinstance(operands, list) and isinstance(operands[-1], int | float):
                operands[-1] = operands[-1] + draw(st.integers(-20_000, 20_000))
                requirements[index]["rule"] = {operator: operands}
    if draw(st.booleans()):
        documents.pop(draw(st.integers(0, len(documents) - 1)))
    return documents


@settings(
    max_examples=min(settings().max_examples, 40),
    suppress_health_check=[HealthCheck.too_slow],
)
@pytest.mark.slow
@given(rule_changes(), st.integers(100, 400))
def test_changes_equal_scoring_each_row_alone_under_both_rulesets(
    documents: list[dict[str, Any]], chunk_rows: int
) -> None:
    try:
        new = matcher.ruleset_from_documents(documents)
    except RulesetError:
        assume(False)
        raise
    with tempfile.TemporaryDirectory() as folder:
        apps = Path(folder) / "features.parquet"
        SAMPLE.write_parquet(apps)
        impact = rescore_file(apps, new, SHIPPED, on=ON, out=Path(folder), chunk_rows=chunk_rows)
        changes = pl.read_parquet(Path(folder) / CHANGES_FILE)
    got = {
        (*row[:4], *(tuple(ids) for ids in row[4:]))
        for row in changes.with_columns(pl.col("before", "after").cast(pl.String)).iter_rows()
    }
    assert got == expected_changes(SAMPLE, new, SHIPPED)
    assert len(got) == changes.height == impact.changes
    for lender_id, counts in impact.counts.items():
        assert counts.eligible_after - counts.eligible_before == (
            counts.newly_eligible - counts.newly_rejected
        ), lender_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_changes())
def test_the_bitmasks_kept_for_recording_are_match_under_the_new_rules(
    documents: list[dict[str, Any]],
) -> None:
    """What `--apply` records from (`Comparison.after`) is `match` under the new ruleset,
    whether the baseline was evaluated or given as stored bits."""
    try:
        new = matcher.ruleset_from_documents(documents)
    except RulesetError:
        assume(False)
        raise
    expected = matcher.match(SAMPLE, new).drop("application_id")
    evaluated = compare(SAMPLE, new, SHIPPED).after
    stored = compare(SAMPLE, new, SHIPPED, matcher.match(SAMPLE, SHIPPED)).after
    assert evaluated is not None and stored is not None
    assert evaluated.equals(expected) and evaluated.schema == expected.schema
    assert stored.equals(expected) and stored.schema == expected.schema


def test_the_same_rules_change_nothing_and_count_what_is_eligible() -> None:
    comparison = compare(SAMPLE, SHIPPED, SHIPPED)
    assert comparison.changes.height == 0
    eligible = matcher.to_long(matcher.match(SAMPLE, SHIPPED), SHIPPED).filter("eligible")
    per_lender = dict(eligible.group_by("lender_id").len().iter_rows())
    assert {k: c.eligible_before for k, c in comparison.counts.items()} == {
        lender.lender_id: per_lender.get(lender.lender_id, 0) for lender in SHIPPED.lenders
    }
    assert all(c.eligible_after == c.eligible_before for c in comparison.counts.values())


def test_impact_json_validates_against_its_published_schema(tmp_path: Path) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(500, 5, ON).write_parquet(apps)
    documents = [dict(d) for d in SHIPPED.documents.values()]
    documents = [d for d in documents if d["lender_id"] != "vidde_finans"]
    new = matcher.ruleset_from_documents(documents)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path / "out")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    report = json.loads((tmp_path / "out" / IMPACT_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    vidde = next(item for item in report["lenders"] if item["lender_id"] == "vidde_finans")
    assert vidde["eligible_after"] == 0
    assert vidde["newly_rejected"] == vidde["eligible_before"] > 0
    broken = dict(report, applications=-1)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(broken))
    assert [list(e.path) for e in errors] == [["applications"]]


@settings(
    max_examples=min(settings().max_examples, 30),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(rule_changes())
def test_the_requirements_behind_the_changes_are_counted_pair_by_pair(
    documents: list[dict[str, Any]],
) -> None:
    """`_count_reasons` (counted per distinct list of requirements) gives, per (lender,
    requirement), the changed pairs whose other side is eligible and whose side fails or
    lacks data for it, as counting each pair's requirements one by one does."""
    try:
        new = matcher.ruleset_from_documents(documents)
    except RulesetError:
        assume(False)
        raise
    changes = compare(SAMPLE, new, SHIPPED).changes
    for side, other in (("after", "before"), ("before", "after")):
        expected: Counter[tuple[str, str]] = Counter()
        for row in changes.with_columns(pl.col("before", "after").cast(pl.String)).iter_rows(
            named=True
        ):
            if row[other] == "eligible" and row[side] != "eligible":
                for requirement_id in [*row[f"failed_{side}"], *row[f"unknown_{side}"]]:
                    expected[(row["lender_id"], requirement_id)] += 1
        counted: Counter[tuple[str, str]] = Counter()
        _count_reasons(changes, side, counted)
        assert counted == expected
