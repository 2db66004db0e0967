"""The compiler: every operator with its typing, and refused rules named precisely."""

from __future__ import annotations

from typing import Any

import pytest

from lender_rules.errors import Problem, RulesetError
from matcher.compiler import MAX_DEPTH, compile_rule, too_deep
from matcher.ir import Call, Var
from matcher.operators import OPERATORS
from matcher.ruleset import ruleset_from_documents
from matcher.schema import Type
from tests.matcher.lowerings import both, compiled
from tests.matcher.test_ranges import _row_at

REASON = {"en": "r", "nb": "r", "sv": "r"}


def lender(*rules: Any, lender_id: str = "testbank") -> dict[str, Any]:
    return {
        "lender_id": lender_id,
        "name": "Testbank",
        "markets": ["NO"],
        "requirements": [
            {"id": f"req_{i}", "rule": r, "reason": REASON} for i, r in enumerate(rules)
        ],
    }


def problems_of(rule: Any) -> list[Problem]:
    with pytest.raises(RulesetError) as caught:
        ruleset_from_documents([lender({">=": [{"var": "age"}, 18]}, rule)])
    return caught.value.problems


V = {"var": "age"}

# (rule, JSON path below the requirement's rule, words the message must contain)
REFUSED: list[tuple[Any, str, tuple[str, ...]]] = [
    (
        {">=": [{"var": "agee"}, 18]},
        '$.requirements[1].rule[">="][0]["var"]',
        ("unknown feature 'agee'", "did you mean 'age'"),
    ),
    (
        {">=": [{"var": "applicant.age"}, 18]},
        '$.requirements[1].rule[">="][0]["var"]',
        ("unknown feature",),
    ),
    (
        {"==": [{"var": "employment"}, 1]},
        '$.requirements[1].rule["=="]',
        ("compares values of one type", "str, int"),
    ),
    (
        {"<": [{"var": "income"}, "100"]},
        '$.requirements[1].rule["<"]',
        ("compares numbers with numbers", "int, str"),
    ),
    ({">=": [{"var": "has_co_applicant"}, 1]}, '$.requirements[1].rule[">="]', ("int",)),
    (
        {"and": [{"var": "income"}, {"var": "age"}]},
        '$.requirements[1].rule["and"]',
        ("expects booleans", "int, int"),
    ),
    ({"or": [True, {"var": "employment"}]}, '$.requirements[1].rule["or"]', ("expects booleans",)),
    ({"+": [{"var": "employment"}, 1]}, '$.requirements[1].rule["+"]', ("expects numbers",)),
    ({"*": [2, True]}, '$.requirements[1].rule["*"]', ("expects numbers", "bool")),
    ({"regex": ["a", "b"]}, '$.requirements[1].rule["regex"]', ("unsupported operator 'regex'",)),
    ({"cat": ["a", "b"]}, '$.requirements[1].rule["cat"]', ("unsupported operator 'cat'",)),
    ({"missing": ["income"]}, '$.requirements[1].rule["missing"]', ("unsupported operator",)),
    ({">=": [V]}, '$.requirements[1].rule[">="]', ("'>=' takes 2 to 3 operands, got 1",)),
    ({"==": [V, 1, 2]}, '$.requirements[1].rule["=="]', ("'==' takes 2 operands, got 3",)),
    ({"/": [V]}, '$.requirements[1].rule["/"]', ("'/' takes 2 operands, got 1",)),
    ({"!": [True, False]}, '$.requirements[1].rule["!"]', ("'!' takes 1 operand, got 2",)),
    ({"if": [True, True]}, '$.requirements[1].rule["if"]', ("needs an else branch",)),
    (
        {"if": [{"var": "income"}, True, False]},
        '$.requirements[1].rule["if"][0]',
        ("condition must be a bool", "int"),
    ),
    (
        {"==": [{"if": [True, 1, "x"]}, 1]},
        '$.requirements[1].rule["=="][0]["if"]',
        ("branches must have one type", "int, str"),
    ),
    ({"+": [V, 1]}, "$.requirements[1].rule", ("a requirement's rule must be a bool, got int",)),
    ("yes", "$.requirements[1].rule", ("must be a bool, got str",)),
    ({"==": [V, None]}, '$.requirements[1].rule["=="][1]', ("null is not a value",)),
    ({">=": [V, 18], "<=": [V, 70]}, "$.requirements[1].rule", ("exactly one operator key",)),
    (
        {"in": [{"var": "employment"}, ["permanent", 3]]},
        '$.requirements[1].rule["in"][1]',
        ("values of one type",),
    ),
    (
        {"in": [{"var": "age"}, ["a", "b"]]},
        '$.requirements[1].rule["in"]',
        ("looks for a int in a list of str",),
    ),
    ({"in": [{"var": "employment"}, []]}, '$.requirements[1].rule["in"][1]', ("is empty",)),
    (
        {"in": [{"var": "employment"}, [{"var": "housing"}]]},
        '$.requirements[1].rule["in"][1][0]',
        ("literal values",),
    ),
    (
        {"in": [1, {"var": "citizenship"}]},
        '$.requirements[1].rule["in"]',
        ("a string and a string",),
    ),
    ({"==": [[1, 2], 1]}, '$.requirements[1].rule["=="][0]', ("list is allowed only", "'in'")),
    (
        {"==": [{"var": ["co_age", "none"]}, 1]},
        '$.requirements[1].rule["=="][0]["var"][1]',
        ("default of 'co_age' must be a literal int",),
    ),
    (
        {"==": [{"var": ["age", 1, 2]}, 1]},
        '$.requirements[1].rule["=="][0]["var"]',
        ("'var' takes a feature name",),
    ),
    ({"==": [{"var": 3}, 1]}, '$.requirements[1].rule["=="][0]["var"]', ("needs a feature name",)),
    ({"<": [V, 10**16]}, '$.requirements[1].rule["<"][1]', ("out of range",)),
    ({"!": {"var": "nope"}}, '$.requirements[1].rule["!"]["var"]', ("unknown feature 'nope'",)),
    ({"min": []}, '$.requirements[1].rule["min"]', ("at least 1 operand",)),
]


@pytest.mark.parametrize(
    ("rule", "path", "words"), REFUSED, ids=[str(i) for i in range(len(REFUSED))]
)
def test_refused_rule_names_file_requirement_and_path(
    rule: Any, path: str, words: tuple[str, ...]
) -> None:
    problems = problems_of(rule)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.file == "testbank.json"
    assert problem.requirement_id == "req_1"
    assert problem.path == path
    for word in words:
        assert word in problem.message
    assert "testbank.json [req_1]" in str(problem)


def test_every_problem_of_a_ruleset_is_reported_at_once() -> None:
    doc_a = lender({"<": [{"var": "x"}, 1]}, {"and": [1, 2]}, lender_id="a")
    doc_b = lender({"==": [{"var": "employment"}, 1]}, lender_id="b")
    with pytest.raises(RulesetError) as caught:
        ruleset_from_documents([doc_a, doc_b])
    where = {(p.file, p.requirement_id) for p in caught.value.problems}
    assert where == {("a.json", "req_0"), ("a.json", "req_1"), ("b.json", "req_0")}


def test_two_problems_inside_one_rule_are_both_reported() -> None:
    _, problems = compile_rule(
        {"and": [{">": [{"var": "x1"}, 1]}, {">": [{"var": "x2"}, 1]}]},
        file="f",
        requirement_id="r",
    )
    assert [p.path for p in problems] == [
        '$.rule["and"][0][">"][0]["var"]',
        '$.rule["and"][1][">"][0]["var"]',
    ]


ACCEPTED: list[tuple[Any, Type]] = [
    ({"var": "has_co_applicant"}, Type.BOOL),
    ({"==": [{"var": "employment"}, "permanent"]}, Type.BOOL),
    ({"!=": [{"var": "housing"}, "parents"]}, Type.BOOL),
    ({"===": [{"var": "children"}, 0]}, Type.BOOL),
    ({"!==": [{"var": "has_co_applicant"}, True]}, Type.BOOL),
    ({"==": [{"var": "debt_to_income"}, 2]}, Type.BOOL),  # int and float mix
    ({"<": [{"var": "age"}, 70]}, Type.BOOL),
    ({"<=": [18, {"var": "age"}, 70]}, Type.BOOL),
    ({">": [{"var": "citizenship"}, "AA"]}, Type.BOOL),  # strings compare with strings
    ({">=": [70, {"var": "age"}, 18]}, Type.BOOL),
    ({"!": {"var": "has_co_applicant"}}, Type.BOOL),
    ({"!": [{"var": "children"}]}, Type.BOOL),  # truthiness of a number
    ({"!!": [{"var": "citizenship"}]}, Type.BOOL),  # truthiness of a string
    ({"and": [True, {"var": "has_co_applicant"}, False]}, Type.BOOL),
    ({"or": [{"var": "has_co_applicant"}]}, Type.BOOL),
    ({"if": [{"var": "has_co_applicant"}, {">=": [{"var": "co_age"}, 18]}, True]}, Type.BOOL),
    ({"<": [{"if": [True, 1, False, 2.5, 3]}, 2]}, Type.BOOL),
    ({"in": [{"var": "employment"}, ["permanent", "retired"]]}, Type.BOOL),
    ({"in": [{"var": "debt_to_income"}, [1, 2.5]]}, Type.BOOL),
    ({"in": ["N", {"var": "citizenship"}]}, Type.BOOL),
    ({">": [{"+": [{"var": "income"}, {"var": "co_income"}, 1]}, 0]}, Type.BOOL),
    ({">": [{"+": 5}, 0]}, Type.BOOL),
    ({">": [{"-": [{"var": "income"}]}, -1]}, Type.BOOL),
    ({">": [{"*": [2, {"var": "income"}]}, {"var": "amount"}]}, Type.BOOL),
    ({">": [{"/": [{"var": "amount"}, 12]}, 1]}, Type.BOOL),
    ({"==": [{"%": [{"var": "amount"}, 1000]}, 0]}, Type.BOOL),
    (
        {"<=": [{"var": "amount"}, {"min": [500000, {"*": [3, {"var": "total_income"}]}]}]},
        Type.BOOL,
    ),
    ({">=": [{"max": [{"var": "age"}, {"var": ["co_age", 0]}]}, 25]}, Type.BOOL),
]


@pytest.mark.parametrize(("rule", "result"), ACCEPTED, ids=[str(i) for i in range(len(ACCEPTED))])
def test_well_typed_rules_compile(rule: Any, result: Type) -> None:
    node, problems = compile_rule(rule, file="f", requirement_id="r")
    assert problems == []
    assert node is not None and node.type is result


def test_the_accepted_rules_use_every_operator() -> None:
    used: set[str] = set()
    for rule, _ in ACCEPTED:
        node, _problems = compile_rule(rule, file="f", requirement_id="r")
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, Call):
                used.add(n.op.name)
                stack.extend(n.args)
    assert set(OPERATORS) <= used


@pytest.mark.parametrize(
    ("rule", "result_type", "nullable"),
    [
        ({"/": [{"var": "amount"}, {"var": "term_months"}]}, Type.FLOAT, True),  # by zero: null
        ({"%": [{"var": "amount"}, {"var": "children"}]}, Type.INT, True),
        ({"/": [{"var": "amount"}, 12]}, Type.FLOAT, False),  # by a non-zero literal
        ({"%": [{"var": "amount"}, 0]}, Type.INT, True),
        ({"+": [{"var": "amount"}, 1]}, Type.INT, False),
        ({"+": [{"var": "amount"}, 1.5]}, Type.FLOAT, False),
        ({"+": [{"var": "debt_to_income"}, 1]}, Type.FLOAT, True),  # inf - inf is NaN -> null
        ({"min": [{"var": "amount"}, 2]}, Type.INT, False),
        ({"-": [{"var": "co_age"}]}, Type.INT, True),  # nullable feature
        ({"-": [{"var": ["co_age", 0]}]}, Type.INT, False),  # default replaces null
    ],
)
def test_result_types_and_nullability(rule: Any, result_type: Type, nullable: bool) -> None:
    compiler_rule = {"==": [rule, 0]}
    node, problems = compile_rule(compiler_rule, file="f", requirement_id="r")
    assert problems == [] and isinstance(node, Call)
    operand = node.args[0]
    assert operand.type is result_type
    assert operand.nullable is nullable


def test_var_reads_are_recorded_for_explanations() -> None:
    node, _ = compile_rule(
        {
            "if": [
                {"==": [{"var": "employment"}, "temporary"]},
                {">=": [{"var": "employed_months"}, 12]},
                True,
            ]
        },
        file="f",
        requirement_id="r",
    )
    assert node is not None
    assert node.features == {"employment", "employed_months"}


def test_var_shorthand_and_list_forms_are_the_same_feature() -> None:
    a, _ = compile_rule({">": [{"var": "age"}, 1]}, file="f", requirement_id="r")
    b, _ = compile_rule({">": [{"var": ["age"]}, 1]}, file="f", requirement_id="r")
    assert isinstance(a, Call) and isinstance(b, Call)
    assert isinstance(a.args[0], Var) and isinstance(b.args[0], Var)
    assert a.args[0].name == b.args[0].name == "age"


# --- the edges: deep nesting, long if chains, what an arity problem hides ------------------


def _nested(depth: int) -> Any:
    """A bool rule of `depth` nested operations, each a different operator (so the lowerings
    nest every kind of guard they have): a worst case for generated source."""
    rule: Any = {">": [{"var": "co_age"}, 18]}  # nullable: every level guards null
    for level in range(depth - 1):
        kind = level % 4
        if kind == 0:
            rule = {"!": [rule]}
        elif kind == 1:
            rule = {"and": [rule, {"<": [{"%": [{"var": "amount"}, 7]}, 5]}]}
        elif kind == 2:
            rule = {"if": [rule, {"var": "has_co_applicant"}, rule]}
        else:
            rule = {"or": [{"==": [{"/": [{"var": "income"}, {"var": "co_income"}]}, 1]}, rule]}
    return rule


def test_rules_nested_up_to_the_limit_compile_and_both_lowerings_agree() -> None:
    # the deepest such rule the limit allows, with every kind of guard at every level
    depth = next(d for d in range(MAX_DEPTH, 0, -1) if too_deep(_nested(d), "$") is None)
    rule = _nested(depth)
    assert too_deep(rule, "$", MAX_DEPTH - 1) is not None  # it does reach the limit
    row = _row_at("high")
    rows = [row, {**row, "co_age": None}, {**row, "co_income": 0, "amount": 1003}]
    by_python, by_polars = both(compiled(rule), rows)
    assert by_python == by_polars


@pytest.mark.parametrize(
    ("depth", "message", "where"),
    [
        # deeper than the compiler's limit: the 33rd operation
        (33, "operations nested deeper than 32 levels", '["!"][0]' * 32),
        # deeper than any document is read (100 arrays and objects, from the top)
        (200, "nested deeper than 100 levels", '["!"][0]' * 48 + '["!"]'),
        (500, "nested deeper than 100 levels", '["!"][0]' * 48 + '["!"]'),
    ],
)
def test_rules_nested_deeper_than_the_limit_are_a_located_problem(
    depth: int, message: str, where: str
) -> None:
    rule: Any = True
    for _ in range(depth):
        rule = {"!": [rule]}
    problems = problems_of(rule)
    assert [(p.requirement_id, p.message, p.path) for p in problems] == [
        ("req_1", message, "$.requirements[1].rule" + where)
    ]


def test_an_if_with_hundreds_of_branches_compiles_and_both_lowerings_pick_the_same() -> None:
    branches: list[Any] = []
    for k in range(300):
        branches += [{"==": [{"var": "children"}, k % 20]}, {">": [{"var": "age"}, k]}]
    rule = {"if": [*branches, {"var": "has_co_applicant"}]}
    rows = [{**_row_at("high"), "children": c, "age": a} for c in (0, 7, 19) for a in (5, 12)]
    by_python, by_polars = both(compiled(rule), rows)
    assert by_python == by_polars == [True, True, False, True, False, False]


def test_an_arity_problem_also_names_what_is_wrong_inside_the_operand() -> None:
    problems = problems_of({"<=": {"preserve": [1, 2, 3]}})
    assert [(p.path, p.message) for p in problems] == [
        ('$.requirements[1].rule["<="]', "'<=' takes 2 to 3 operands, got 1"),
        ('$.requirements[1].rule["<="]["preserve"]', "unsupported operator 'preserve'"),
    ]
