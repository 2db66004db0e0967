"""Reading rule files: syntax and shape problems, each located, all reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lender_rules.errors import RulesetError
from lender_rules.model import LenderFile
from matcher import load_ruleset

RULES = Path(__file__).parents[2] / "lender_rules"
REASON = {"en": "r", "nb": "r", "sv": "r"}


def write(folder: Path, name: str, document: Any) -> Path:
    path = folder / f"{name}.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document, indent=2))
    return path


def good(lender_id: str = "bank", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "lender_id": lender_id,
        "name": "Bank",
        "markets": ["NO"],
        "effective_from": "2026-11-01",
        "requirements": [{"id": "min_age", "rule": {">=": [{"var": "age"}, 18]}, "reason": REASON}],
    }
    doc.update(changes)
    return doc


def problems(folder: Path) -> list[tuple[str, str | None, str, str]]:
    with pytest.raises(RulesetError) as caught:
        load_ruleset(folder)
    return [(Path(p.file).name, p.requirement_id, p.path, p.message) for p in caught.value.problems]


def test_the_shipped_lenders_load(tmp_path: Path) -> None:
    ruleset = load_ruleset(RULES)  # the folder holding lenders/ works as well
    assert len(ruleset.lenders) >= 12
    assert {m for lender in ruleset.lenders for m in lender.markets} == {"NO", "SE"}


def test_malformed_json_is_located_by_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "bank", '{\n  "lender_id": "bank",\n  "name": "Bank"\n  "markets": ["NO"]\n}')
    with pytest.raises(RulesetError) as caught:
        load_ruleset(tmp_path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (4, 3)
    assert problem.message.startswith("malformed JSON")
    assert str(problem).startswith(f"{tmp_path / 'bank.json'}:4:3")


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"markets": ["DK"]}, "$.markets[0]", "unknown market 'DK'"),
        ({"markets": []}, "$.markets", "at least 1"),
        ({"markets": ["NO", "NO"]}, "$.markets", "listed twice"),
        ({"lender_id": "other"}, "$.lender_id", "must equal the file name 'bank'"),
        ({"lender_id": "Bank-1"}, "$.lender_id", "should match pattern"),
        ({"colour": "red"}, "$.colour", "unknown field 'colour'"),
        ({"effective_from": "yesterday"}, "$.effective_from", "date"),
        ({"requirements": []}, "$.requirements", "at least 1"),
    ],
)
def test_shape_problems_name_the_json_path(
    tmp_path: Path, changes: dict[str, Any], path: str, words: str
) -> None:
    write(tmp_path, "bank", good(**changes))
    found = problems(tmp_path)
    assert [(f, p) for f, _, p, _ in found] == [("bank.json", path)]
    assert words in found[0][3]


def test_requirement_problems_name_the_requirement(tmp_path: Path) -> None:
    requirements = [
        {"id": "min_age", "rule": True, "reason": REASON},
        {"id": "min_age", "rule": True, "reason": REASON},
        {"id": "no_swedish", "rule": True, "reason": {"en": "r", "nb": "r"}},
        {"id": "Bad Id", "rule": True, "reason": REASON},
    ]
    write(tmp_path, "bank", good(requirements=requirements))
    found = problems(tmp_path)
    assert ("bank.json", "no_swedish", "$.requirements[2].reason.sv", "missing field 'sv'") in found
    assert any(r == "Bad Id" and p == "$.requirements[3].id" for _, r, p, _ in found)


def test_duplicate_requirement_ids_are_refused(tmp_path: Path) -> None:
    rule = {"id": "min_age", "rule": True, "reason": REASON}
    write(tmp_path, "bank", good(requirements=[rule, rule]))
    assert problems(tmp_path) == [
        ("bank.json", "min_age", "$.requirements[1].id", "duplicate requirement id 'min_age'")
    ]


def test_more_than_64_requirements_are_refused(tmp_path: Path) -> None:
    rules = [{"id": f"r{i}", "rule": True, "reason": REASON} for i in range(65)]
    write(tmp_path, "bank", good(requirements=rules))
    ((file, _, path, message),) = problems(tmp_path)
    assert (file, path) == ("bank.json", "$.requirements")
    assert "at most 64 requirements" in message


def test_problems_of_every_file_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "alpha", "{ nope")
    write(tmp_path, "beta", good("beta", markets=["XX"]))
    write(
        tmp_path,
        "gamma",
        good(
            "gamma",
            requirements=[{"id": "r", "rule": {">": [{"var": "agee"}, 1]}, "reason": REASON}],
        ),
    )
    files = {f for f, _, _, _ in problems(tmp_path)}
    assert files == {"alpha.json", "beta.json", "gamma.json"}


def test_an_empty_folder_is_a_problem(tmp_path: Path) -> None:
    assert problems(tmp_path) == [(tmp_path.name, None, "$", "no lender rule files (*.json) found")]


def test_the_hash_depends_on_content_not_on_formatting(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write(a, "bank", good())
    (b / "bank.json").write_text(json.dumps(good(), separators=(",", ":")))
    assert load_ruleset(a).hash == load_ruleset(b).hash
    write(b, "bank", good(name="Bank 2"))
    assert load_ruleset(a).hash != load_ruleset(b).hash


def test_committed_json_schema_matches_the_model() -> None:
    committed = json.loads((RULES / "schema.json").read_text())
    assert committed == LenderFile.model_json_schema()


@pytest.mark.parametrize("depth", [200, 500, 5000])
def test_json_nested_too_deep_to_read_is_a_located_problem(tmp_path: Path, depth: int) -> None:
    # 500 and 5000 levels (1000 and 10000 arrays and objects): Python's JSON reader itself
    # gives up (RecursionError), located by line and column; 200: read, then refused by the
    # document's walk before anything recurses over it, located by JSON path
    rule = '{"!": [' * depth + "true" + "]}" * depth
    text = json.dumps(good()).replace('{">=": [{"var": "age"}, 18]}', rule)  # one line
    write(tmp_path, "bank", text)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(tmp_path)
    (problem,) = caught.value.problems
    assert problem.message == "nested deeper than 100 levels"
    if depth >= 500:
        # the 101st array or object: 3 around the rule, then 2 per level
        column = text.index('{"!"') + 1 + len('{"!": [') * 48 + len('{"!": ')
        assert (problem.line, problem.column, problem.path) == (1, column, "$")
    else:
        assert problem.requirement_id == "min_age"
        assert problem.path == "$.requirements[0].rule" + '["!"][0]' * 48 + '["!"]'


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"<": [{"var": "citizenship"}, "\\ud800"]}', '$.requirements[0].rule["<"][1]'),
        (
            '{"in": [{"var": "citizenship"}, ["NO", "\\udc00x"]]}',
            '$.requirements[0].rule["in"][1][1]',
        ),
    ],
)
def test_a_lone_surrogate_in_a_rule_is_a_located_problem(
    tmp_path: Path, text: str, path: str
) -> None:
    doc = json.dumps(good()).replace('{">=": [{"var": "age"}, 18]}', text)
    write(tmp_path, "bank", doc)
    ((file, requirement, where, message),) = problems(tmp_path)
    assert (file, requirement, where) == ("bank.json", "min_age", path)
    assert "lone surrogate" in message
