"""Hints that move the amount and the term together: sound, complete, and plain when nothing
would do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lender_rules.vocabulary import PURPOSES
from matcher import CompiledLender, Hint, evaluate, explain, hints
from matcher.application import AMOUNT_MAX, AMOUNT_MIN, TERM_MAX, TERM_MIN
from matcher.features import debt_to_income, with_loan
from matcher.hints import MEMO_SIZE, _first, _first_debt_to_income, from_guess
from matcher.ruleset import Ruleset, ruleset_from_documents
from tests.matcher.pure_python import rerun_in_pure_python
from tests.matcher.test_engine import SHIPPED, _row
from tests.strategies import loan_feature_rows, loan_lender_documents

REASON = {"en": "r", "nb": "r", "sv": "r"}


def _lender(*requirements: tuple[str, Any]) -> Ruleset:
    return ruleset_from_documents(
        [
            {
                "lender_id": "fjord",
                "name": "Fjordkreditt AS",
                "markets": ["NO", "SE"],
                "requirements": [
                    {"id": rid, "rule": rule, "reason": {"en": text, "nb": text, "sv": text}}
                    for rid, rule, text in ((r[0], r[1], f"Rule {r[0]}.") for r in requirements)
                ],
            }
        ]
    )


def _accepts(lender: CompiledLender, row: dict[str, Any], amount: int, term: int) -> bool:
    return lender.evaluate(with_loan(row, amount=amount, term_months=term)) == (0, 0)


def _values(intervals: list[tuple[int, int]], step: int) -> set[int]:
    """The first, last and a middle value of each interval (on the step)."""
    out: set[int] = set()
    for low, high in intervals:
        out |= {low, high, low + (high - low) // 2 // step * step}
    return out


def _hinted(hint: Hint, amount: int, term: int) -> bool:
    def within(value: int, intervals: list[tuple[int, int]], step: int) -> bool:
        return any(a <= value <= b and (value - a) % step == 0 for a, b in intervals)

    return any(
        within(term, c.term_months, c.term_months_step) and within(amount, c.amount, c.amount_step)
        for c in hint.combinations or []
    )


def _grid(hint: Hint, row: dict[str, Any]) -> tuple[set[int], set[int]]:
    """Amounts and terms to try: a coarse grid of the whole domain, and every hinted
    boundary, one value and one step either side."""
    amounts = set(range(AMOUNT_MIN, 1_200_001, 9_973)) | {AMOUNT_MAX, row["amount"]}
    terms = set(range(TERM_MIN, TERM_MAX + 1, 7)) | {TERM_MAX, row["term_months"]}
    for c in hint.combinations or []:
        for values, intervals, step in (
            (amounts, c.amount, c.amount_step),
            (terms, c.term_months, c.term_months_step),
        ):
            for low, high in intervals:
                values |= {low - step, low - 1, low, high, high + 1, high + step}
    return (
        {a for a in amounts if AMOUNT_MIN <= a <= AMOUNT_MAX},
        {t for t in terms if TERM_MIN <= t <= TERM_MAX},
    )


def _check_pairs(ruleset: Ruleset, row: dict[str, Any]) -> int:
    """Every two-variable hint for `row` is sound and complete on a grid; how many there were."""
    checked = 0
    rejected = [o for o in evaluate(row, ruleset) if not o.eligible]
    for explanation in explain(row, rejected, ruleset):
        hint = explanation.hint
        if hint is None or hint.combinations is None:
            continue
        checked += 1
        lender = ruleset.lender(explanation.lender_id)
        # neither alone would do
        assert not hint.amount and not hint.term_months
        for c in hint.combinations:  # sound
            for term in _values(c.term_months, c.term_months_step):
                for amount in _values(c.amount, c.amount_step):
                    assert _accepts(lender, row, amount, term), (lender.lender_id, amount, term)
        amounts, terms = _grid(hint, row)
        passing = {(a, t) for t in terms for a in amounts if _accepts(lender, row, a, t)}
        assert {p for p in passing if not _hinted(hint, *p)} == set(), lender.lender_id  # complete
        assert bool(hint.combinations) == bool(passing) or not hint.combinations
        if not hint.combinations:
            assert hint.blocking and not passing
    return checked


@given(loan_feature_rows())
def test_pair_hints_of_shipped_lenders_are_sound_and_complete(row: dict[str, Any]) -> None:
    _check_pairs(SHIPPED, row)


@given(loan_lender_documents(), loan_feature_rows())
def test_pair_hints_are_sound_and_complete_when_a_rule_reads_amount_and_term(
    document: dict[str, Any], row: dict[str, Any]
) -> None:
    _check_pairs(ruleset_from_documents([document]), row)


PER_MONTH = ("per_month", {"<=": [{"var": "amount"}, {"*": [{"var": "term_months"}, 3_000]}]})
AMOUNT_RANGE = ("amount_range", {"<=": [10_000, {"var": "amount"}, 250_000]})
TERM_RANGE = ("term_range", {"<=": [12, {"var": "term_months"}, 96]})
WHOLE_YEARS = ("whole_years", {"==": [{"%": [{"var": "term_months"}, 12]}, 0]})


def test_when_neither_alone_would_do_the_hint_names_amounts_over_terms() -> None:
    ruleset = _lender(PER_MONTH, AMOUNT_RANGE, TERM_RANGE, WHOLE_YEARS)
    row = with_loan(_row(), amount=650_500, term_months=120)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    hint = explanation.hint
    assert hint is not None and (hint.amount, hint.term_months) == ([], [])
    assert [(c.term_months, c.amount) for c in hint.combinations or []] == [
        ([(12, 12)], [(10_000, 36_000)]),
        ([(24, 24)], [(10_000, 72_000)]),
        ([(36, 36)], [(10_000, 108_000)]),
        ([(48, 48)], [(10_000, 144_000)]),
        ([(60, 60)], [(10_000, 180_000)]),
        ([(72, 72)], [(10_000, 216_000)]),
        ([(84, 96)], [(10_000, 250_000)]),
    ]
    # the message writes out the shortest terms, the longest, and evenly between
    assert hint.message == (
        "Fjordkreditt AS would accept an amount of 10,000–36,000 over 12 months, "
        "or 10,000–108,000 over 36 months, or 10,000–180,000 over 60 months, "
        "or 10,000–250,000 over 84–96 (in steps of 12) months."
    )


def test_when_each_requirement_moves_one_of_them_the_hint_is_amounts_times_terms() -> None:
    ruleset = SHIPPED
    row = with_loan(
        _row(age=40, income=300_000, total_income=300_000, existing_debt=400_000),
        amount=1_200_000,
        term_months=96,
    )
    (explanation,) = explain(
        row, [o for o in evaluate(row, ruleset) if o.lender_id == "fjordkreditt"], ruleset
    )
    assert explanation.hint is not None
    assert explanation.hint.message == (
        "Fjordkreditt AS would accept an amount of 10,000–500,000 over 12–60 months."
    )


def test_when_no_amount_and_term_would_do_the_hint_says_so_and_what_stands_in_the_way() -> None:
    ruleset = _lender(PER_MONTH, ("debt", {"<=": [{"var": "debt_to_income"}, 5]}), TERM_RANGE)
    row = with_loan(
        _row(income=300_000, total_income=300_000, existing_debt=1_600_000),
        amount=100_000,
        term_months=120,
    )
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    hint = explanation.hint
    assert hint is not None and hint.combinations == [] and hint.blocking == ["fjord.debt"]
    assert hint.message == (
        "Fjordkreditt AS would accept no amount with any term. In the way: Rule debt."
    )


def test_a_negated_operand_whose_direction_is_unknown_loads_and_gives_no_hint() -> None:
    # -(amount * amount): the product of two moving factors has no known direction, and
    # neither has its negation; loading the lender crashed on it (an index past the one
    # operand of a unary minus)
    square = {"-": [{"*": [{"var": "amount"}, {"var": "amount"}]}]}
    ruleset = _lender(("square", {">=": [square, -40_000_000_000]}))
    row = with_loan(_row(income=300_000, total_income=300_000), amount=250_000, term_months=60)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert not explanation.eligible
    assert [r.code for r in explanation.reasons] == ["fjord.square"]
    assert explanation.hint is None


def test_a_full_memo_drops_its_oldest_entries_and_keeps_the_newest() -> None:
    memo: dict[int, int] = {}
    for i in range(3 * MEMO_SIZE + 7):
        hints.remember(memo, i, i * i)
        assert len(memo) <= MEMO_SIZE
        assert memo[i] == i * i  # the newest is always kept
    kept = sorted(memo)
    # what is kept is the latest run of entries, in the order they came
    assert kept == list(range(kept[0], 3 * MEMO_SIZE + 7))
    assert list(memo) == kept
    assert len(kept) > MEMO_SIZE // 2


def test_search_answers_kept_per_lender_are_bounded_and_reused() -> None:
    # the amounts accepted depend on the age and the purpose: 121 x 5 combinations
    per_age = {"*": [{"var": "age"}, {"if": [{"==": [{"var": "purpose"}, "car"]}, 2_000, 1_000]}]}
    ruleset = _lender(AMOUNT_RANGE, ("by_age", {"<=": [{"var": "amount"}, per_age]}))
    (lender,) = ruleset.lenders
    seen = [(age, purpose) for purpose in PURPOSES for age in range(18, 121)]
    assert len(seen) > MEMO_SIZE  # each a different answer
    for age, purpose in seen:
        row = with_loan(_row(age=age, purpose=purpose), amount=300_000, term_months=60)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
        assert explanation.hint is not None and explanation.hint.amount
    assert lender.analysis.memo
    assert all(len(answers) <= MEMO_SIZE for answers in lender.analysis.memo.values())
    # the same values again: the answer kept is the answer computed
    again = explain(row, evaluate(row, ruleset), ruleset)[0].hint
    for answers in lender.analysis.memo.values():
        answers.clear()
    assert explain(row, evaluate(row, ruleset), ruleset)[0].hint == again


def test_search_answers_that_depend_on_a_debt_are_not_kept() -> None:
    """Nearly unique per applicant: a kept answer would rarely be given again."""
    ruleset = _lender(AMOUNT_RANGE, ("debt", {"<=": [{"var": "debt_to_income"}, 5]}))
    (lender,) = ruleset.lenders
    for debt in (2_400_000, 2_400_000, 2_450_000):
        row = with_loan(_row(existing_debt=debt), amount=300_000, term_months=60)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
        assert explanation.hint is not None and explanation.hint.amount
    assert not any(lender.analysis.memo.values())


# --- closed forms against the search they stand in for ------------------------------------


def _cached(g: Callable[[int], Any]) -> Callable[[int], Any]:
    seen: dict[int, Any] = {}

    def at(x: int) -> Any:
        if x not in seen:
            seen[x] = g(x)
        return seen[x]

    return at


@given(
    debt=st.integers(0, 10_000_000),
    income=st.integers(0, 5_000_000),
    limit=st.integers(0, 60) | st.floats(0, 60, allow_nan=False) | st.floats(-1e3, 1e18),
    how=st.sampled_from([">=", ">"]),
    low=st.integers(AMOUNT_MIN, AMOUNT_MAX),
    span=st.integers(0, AMOUNT_MAX),
)
def test_debt_to_income_solved_for_the_amount_is_the_search(
    debt: int, income: int, limit: float, how: str, low: int, span: int
) -> None:
    """Where debt_to_income = (debt + amount) / income first reaches (or passes) a limit,
    solved in closed form, is where the search over whole amounts finds it."""
    high = min(low + span, AMOUNT_MAX)
    g = _cached(lambda x: debt_to_income(debt, x, income))
    expected = _first(low, high, g, limit, how)
    assert _first_debt_to_income(low, high, limit, how, debt, income) == expected


@given(
    slope=st.integers(-50, 50).filter(bool) | st.floats(-1e3, 1e3).filter(lambda s: abs(s) > 1e-9),
    offset=st.floats(-1e9, 1e9),
    limit=st.floats(-1e9, 1e9),
    guess=st.integers(-(10**7), 10**7),
    low=st.integers(0, 10**6),
    span=st.integers(0, 10**6),
)
def test_a_guess_is_moved_to_exactly_where_the_search_lands(
    slope: float, offset: float, limit: float, guess: int, low: int, span: int
) -> None:
    """`from_guess` gives `_first`'s answer whatever the guess (far ones through the search),
    for increasing and decreasing functions."""
    high = low + span
    g = _cached(lambda x: slope * x + offset)
    hows = (">=", ">") if slope > 0 else ("<=", "<")
    for how in hows:
        assert from_guess(guess, low, high, g, limit, how) == _first(low, high, g, limit, how)


# --- segments told by their crossings against segments evaluated ---------------------------


@st.composite
def _inequality_lenders(draw: st.DrawFn) -> dict[str, Any]:
    """A lender of inequalities of the amount or the term (increasing and decreasing operands,
    strict and not, one- and two-sided, against literals and row values), a congruence,
    `if`s whose conditions do not move (their branches such inequalities or not moving; a
    condition that is unknown), and sometimes a rule that is neither."""
    amount, term = {"var": "amount"}, {"var": "term_months"}
    low = draw(st.integers(1_000, 60_000))
    pool: dict[str, Any] = {
        "amount_range": {draw(st.sampled_from(["<", "<="])): [low, amount, low * 20]},
        "term_range": {"<=": [draw(st.integers(1, 24)), term, draw(st.integers(24, 240))]},
        "debt": {
            draw(st.sampled_from(["<", "<="])): [
                {"var": "debt_to_income"},
                draw(st.integers(2, 8) | st.floats(1.5, 9.5).map(lambda x: round(x, 3))),
            ]
        },
        "headroom": {">": [{"-": [2_000_000, amount]}, draw(st.integers(0, 1_900_000))]},
        "floor": {">=": [amount, draw(st.integers(1_000, 3_000_000))]},
        "by_income": {"<=": [amount, {"min": [800_000, {"*": [3, {"var": "total_income"}]}]}]},
        "half": {">=": [{"var": "total_income"}, {"max": [150_000, {"/": [amount, 2]}]}]},
        "age_at_end": {
            "<=": [{"+": [{"var": "age"}, {"/": [term, 12]}]}, draw(st.integers(60, 80))]
        },
        "whole_thousands": {"==": [{"%": [amount, 1000]}, 0]},
        "small_or_rich": {
            "or": [{"<=": [amount, 100_000]}, {">=": [{"var": "total_income"}, 900_000]}]
        },
        # `if`s whose conditions do not move: branches that are inequalities (of the variable
        # against literals or row values, of debt_to_income) or do not move at all
        "term_by_purpose": {
            "if": [
                {"==": [{"var": "purpose"}, "refinance"]},
                {"<=": [draw(st.integers(1, 24)), term, draw(st.integers(24, 240))]},
                {"<=": [draw(st.integers(1, 24)), term, draw(st.integers(24, 120))]},
            ]
        },
        "chained": {
            "if": [
                {"==": [{"var": "market"}, "SE"]},
                {draw(st.sampled_from([">=", ">"])): [amount, draw(st.integers(1_000, 90_000))]},
                {"==": [{"var": "purpose"}, "car"]},
                {"<": [amount, {"*": [{"var": "total_income"}, draw(st.integers(1, 4))]}]},
                {">=": [{"var": "employed_months"}, draw(st.integers(12, 240))]},
            ]
        },
        "debt_by_market": {
            "if": [
                {"==": [{"var": "market"}, "NO"]},
                {"<=": [{"var": "debt_to_income"}, draw(st.integers(2, 8))]},
                True,
            ]
        },
        "unknown_condition": {
            "if": [
                {">=": [{"var": "co_age"}, 30]},
                {"<=": [term, 120]},
                {"<=": [amount, draw(st.integers(1_000, 900_000))]},
            ]
        },
        "moving_condition": {
            "if": [{">=": [term, 120]}, {">=": [{"var": "income"}, 400_000]}, True]
        },
    }
    chosen = draw(st.lists(st.sampled_from(sorted(pool)), min_size=1, unique=True))
    return {
        "lender_id": "steps",
        "name": "Steps",
        "markets": ["NO", "SE"],
        "requirements": [
            {"id": name, "rule": pool[name], "reason": REASON} for name in sorted(chosen)
        ],
    }


@given(_inequality_lenders(), loan_feature_rows())
def test_segments_told_by_their_crossings_are_the_segments_evaluated(
    document: dict[str, Any], row: dict[str, Any]
) -> None:
    """Where every rule that moves with a variable is one inequality, the search tells each
    segment's outcome from the crossings instead of evaluating the rules there: the same
    hints, amounts, terms and requirements in the way as evaluating them."""
    told, evaluated = ruleset_from_documents([document]), ruleset_from_documents([document])
    evaluated.lenders[0].analysis.truths.update({"amount": None, "term_months": None})
    outcomes = [o for o in evaluate(row, told) if not o.eligible]
    assert explain(row, outcomes, told) == explain(row, outcomes, evaluated)


class _NoSolvers(dict[Any, Any]):
    """`Analysis.solvers` that has none: the search works every answer out as it goes (for
    every variable, every domain's solver is None)."""

    def get(self, key: Any, default: Any = None) -> Any:
        return _NoSolver()


class _NoSolver(dict[Any, Any]):
    def get(self, key: Any, default: Any = None) -> Any:
        return None


@given(_inequality_lenders(), loan_feature_rows())
def test_searches_written_out_once_are_the_search(
    document: dict[str, Any], row: dict[str, Any]
) -> None:
    """The search written out once per lender for its told shape (inequalities of the amount
    against literals or row values, debt_to_income against literals, a congruence) gives
    the search's own hints, amounts, terms and requirements in the way."""
    solved, searched = ruleset_from_documents([document]), ruleset_from_documents([document])
    searched.lenders[0].analysis.solvers = _NoSolvers()
    outcomes = [o for o in evaluate(row, solved) if not o.eligible]
    assert explain(row, outcomes, solved) == explain(row, outcomes, searched)


def test_requirements_told_in_the_way_are_those_evaluated_in_the_way() -> None:
    """Where no amount would do: the requirement that holds nowhere, or where each holds
    somewhere (a floor above a ceiling), both, as evaluating the segments says."""
    floor = ("floor", {">=": [{"var": "amount"}, 1_500_000]})
    ceiling = ("ceiling", {"<=": [{"var": "amount"}, 750_000]})
    debt = ("debt", {"<=": [{"var": "debt_to_income"}, 5]})
    row = with_loan(_row(existing_debt=4_000_000), amount=1_000_000, term_months=60)
    for rules, blocking in (
        ((floor, ceiling), ["fjord.floor", "fjord.ceiling"]),
        ((floor, ceiling, debt), ["fjord.debt"]),
    ):
        told, evaluated = _lender(*rules), _lender(*rules)
        evaluated.lenders[0].analysis.truths["amount"] = None
        outcomes = evaluate(row, told)
        (explanation,) = explain(row, outcomes, told)
        assert explanation.hint is not None and explanation.hint.blocking == blocking
        assert told.lenders[0].analysis.truths["amount"] is not None
        assert explain(row, outcomes, evaluated) == [explanation]


def test_segments_are_told_by_crossings_only_where_every_moving_rule_is_one_inequality() -> None:
    debt = ("debt", {"<=": [{"var": "debt_to_income"}, 5]})
    either = ("either", {"or": [{"<=": [{"var": "amount"}, 100_000]}, {"var": "has_co_applicant"}]})
    row = with_loan(_row(existing_debt=4_000_000), amount=300_000, term_months=60)
    for rules, told in (((AMOUNT_RANGE, debt), True), ((AMOUNT_RANGE, debt, either), False)):
        ruleset = _lender(*rules)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
        assert explanation.hint is not None and explanation.hint.blocking == ["fjord.debt"]
        truths = ruleset.lenders[0].analysis.truths["amount"]
        assert (truths is not None) is told


def test_an_if_whose_conditions_do_not_move_is_told_by_the_branch_the_row_chooses() -> None:
    """A term range by purpose is told by its crossings and written out once (`_solver`);
    an `if` whose condition moves with the term is evaluated on the segments."""
    by_purpose = (
        "term",
        {
            "if": [
                {"==": [{"var": "purpose"}, "refinance"]},
                {"<=": [12, {"var": "term_months"}, 240]},
                {"<=": [12, {"var": "term_months"}, 60]},
            ]
        },
    )
    moving = (
        "long",
        {"if": [{">=": [{"var": "term_months"}, 120]}, {"var": "has_co_applicant"}, True]},
    )
    for purpose, terms in (("refinance", [(12, 240)]), ("car", [(12, 60)])):
        row = with_loan(_row(purpose=purpose), amount=300_000, term_months=300)
        for rules, told in (((by_purpose,), True), ((by_purpose, moving), False)):
            ruleset = _lender(*rules)
            (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
            assert explanation.hint is not None
            assert explanation.hint.term_months == (
                terms if told else [(12, min(terms[0][1], 119))]
            )
            analysis = ruleset.lenders[0].analysis
            assert (analysis.truths["term_months"] is not None) is told
            assert (analysis.solvers["term_months"][(TERM_MIN, TERM_MAX)] is not None) is told


def test_a_hint_that_no_combination_would_do_is_given_again_for_the_same_answer() -> None:
    """Its message is kept per lender by what it is a function of: the same hint for
    applicants whose debts differ but whom no amount would help, another per language, the
    one kept is the one computed, and each answer has a record of its own."""
    ruleset = _lender(AMOUNT_RANGE, ("debt", {"<=": [{"var": "debt_to_income"}, 5]}))
    (lender,) = ruleset.lenders
    hints = {}
    for debt in (4_000_000, 4_100_000):
        for lang in ("en", "nb"):
            row = with_loan(_row(existing_debt=debt), amount=300_000, term_months=60)
            (explanation,) = explain(row, evaluate(row, ruleset), ruleset, lang)
            assert explanation.hint is not None and explanation.hint.blocking == ["fjord.debt"]
            hints[(debt, lang)] = explanation.hint
    assert hints[(4_000_000, "en")] == hints[(4_100_000, "en")]
    assert hints[(4_000_000, "en")] is not hints[(4_100_000, "en")]
    assert hints[(4_000_000, "en")].message != hints[(4_000_000, "nb")].message
    assert len(lender.analysis.hints) == 2
    assert set(lender.analysis.hints.values()) == {h.message for h in hints.values()}
    lender.analysis.hints.clear()
    (again,) = explain(row, evaluate(row, ruleset), ruleset, "nb")
    assert again.hint == hints[(4_100_000, "nb")] and again.hint is not hints[(4_100_000, "nb")]


def test_a_one_variable_hint_is_given_again_for_the_same_answer_and_applied_loan() -> None:
    """Its message is kept per lender by what it is a function of: the same hint for
    applicants whose incomes differ but whose amounts the lender would take alike over the
    same term; another for another term (the message names it) or language; the one kept is
    the one computed."""
    ruleset = _lender(AMOUNT_RANGE)
    (lender,) = ruleset.lenders
    hints = {}
    for income, term, lang in (
        (400_000, 60, "en"),
        (700_000, 60, "en"),
        (400_000, 72, "en"),
        (400_000, 60, "sv"),
    ):
        row = with_loan(_row(income=income, total_income=income), amount=300_000, term_months=term)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset, lang)
        assert explanation.hint is not None
        assert explanation.hint.amount == [(10_000, 250_000)]
        hints[(income, term, lang)] = explanation.hint
    assert hints[(400_000, 60, "en")] == hints[(700_000, 60, "en")]
    assert "72" in hints[(400_000, 72, "en")].message
    assert hints[(400_000, 72, "en")].message != hints[(400_000, 60, "en")].message
    assert hints[(400_000, 60, "sv")].message != hints[(400_000, 60, "en")].message
    assert len(lender.analysis.told_hints) == 3
    assert set(lender.analysis.told_hints.values()) == {h.message for h in hints.values()}
    lender.analysis.told_hints.clear()
    (again,) = explain(row, evaluate(row, ruleset), ruleset, "sv")
    assert again.hint == hints[(400_000, 60, "sv")]
    assert again.hint is not hints[(400_000, 60, "sv")]


def test_a_term_hint_for_another_amount_is_made_from_the_parts_kept() -> None:
    """A term hint names the applied amount ("... for 250,000"): what it is made of but the
    amount is kept once per answer and language (the message whole is not kept: an amount
    is nearly unique per applicant), and the hint for another amount is the one a lender
    that has seen no one gives, in every language."""
    ruleset = _lender(TERM_RANGE)
    (lender,) = ruleset.lenders
    for lang in ("en", "nb", "sv"):
        for amount in (100_000, 250_000, 1_234_567, 100_000):
            row = with_loan(_row(), amount=amount, term_months=120)
            (explanation,) = explain(row, evaluate(row, ruleset), ruleset, lang)
            cold = _lender(TERM_RANGE)
            (afresh,) = explain(row, evaluate(row, cold), cold, lang)
            assert explanation == afresh
            assert explanation.hint is not None
            assert explanation.hint.term_months == [(12, 96)]
            assert "\x00" not in explanation.hint.message
    assert len(lender.analysis.told_parts) == 3
    assert not lender.analysis.told_hints


def test_a_lender_whose_name_holds_the_amount_mark_has_its_term_hints_made_whole() -> None:
    """The parts are cut at a mark: a lender whose name holds it has none kept, and its
    hints are those made whole."""
    document = {
        "lender_id": "fjord",
        "name": "Fjord\x00kreditt",
        "markets": ["NO", "SE"],
        "requirements": [{"id": TERM_RANGE[0], "rule": TERM_RANGE[1], "reason": REASON}],
    }
    ruleset = ruleset_from_documents([document])
    (lender,) = ruleset.lenders
    for amount in (100_000, 250_000):
        row = with_loan(_row(), amount=amount, term_months=120)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset, "en")
        assert explanation.hint is not None
        assert explanation.hint.message == (
            f"Fjord\x00kreditt would accept a term of 12–96 months for {amount:,}."
        )
    assert list(lender.analysis.told_parts.values()) == [None]


@given(_inequality_lenders(), st.lists(loan_feature_rows(), min_size=2, max_size=6))
def test_answers_kept_from_earlier_applicants_are_those_worked_out_afresh(
    document: dict[str, Any], rows: list[dict[str, Any]]
) -> None:
    """Hints (and where an atom of the search holds, kept by the other values its operand
    reads: the age in "age + term / 12 <= 70") given to applicants of the same age after
    others are those a lender that has seen no one gives."""
    rows = [{**row, "age": rows[0]["age"]} for row in rows]
    warm = ruleset_from_documents([document])
    for row in rows:
        cold = ruleset_from_documents([document])
        outcomes = [o for o in evaluate(row, cold) if not o.eligible]
        assert explain(row, outcomes, warm) == explain(row, outcomes, cold)


def test_where_an_atom_holds_is_kept_by_the_values_its_operand_reads(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """ "age + term / 12 <= 70" is searched once per age: a term range by purpose beside it
    (the lender's answers kept by age and purpose) does not make it searched again for
    another purpose. (Counted by replacing `hints._first`: in pure Python.)"""
    if rerun_in_pure_python(request):
        return
    age_at_end = (
        "age_at_end",
        {"<=": [{"+": [{"var": "age"}, {"/": [{"var": "term_months"}, 12]}]}, 70]},
    )
    by_purpose = (
        "term",
        {
            "if": [
                {"==": [{"var": "purpose"}, "refinance"]},
                {"<=": [12, {"var": "term_months"}, 240]},
                {"<=": [12, {"var": "term_months"}, 96]},
            ]
        },
    )
    searches: list[Any] = []

    def counted(*args: Any) -> Any:
        searches.append(args)
        return _first(*args)

    monkeypatch.setattr(hints, "_first", counted)
    ruleset = _lender(age_at_end, by_purpose)
    for purpose, terms in (("car", [(12, 96)]), ("refinance", [(12, 120)]), ("other", [(12, 96)])):
        row = with_loan(_row(age=60, purpose=purpose), amount=100_000, term_months=200)
        (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
        assert explanation.hint is not None and explanation.hint.term_months == terms
        assert len(searches) == 1
    assert len(ruleset.lenders[0].analysis.memo[("term_months", 0)]) == 3


def test_what_explaining_works_out_once_is_worked_out_when_the_rules_load() -> None:
    """A lender's hint search (moving requirements, plans, solvers) and its requirements'
    reason parts in every language are ready when the ruleset is built: explaining
    applications adds none, so no request pays for them."""
    ruleset = ruleset_from_documents(list(SHIPPED.documents.values()))

    def analysed() -> list[tuple[object, ...]]:
        return [
            (
                dict(lender.analysis.moving),
                {v: dict(p) for v, p in lender.analysis.plans.items()},
                {v: dict(s) for v, s in lender.analysis.solvers.items()},
                lender.analysis.asks,
                [dict(r.told) for r in lender.requirements],
            )
            for lender in ruleset.lenders
        ]

    before = analysed()
    assert all(told for *_, tolds in before for told in tolds)
    assert any(solvers for _, _, solvers, _, _ in before)
    rejected = 0
    for income in (50_000, 150_000, 400_000):
        for amount, term in ((10_000, 12), (300_000, 60), (900_000, 180)):
            row = with_loan(
                _row(income=income, total_income=income), amount=amount, term_months=term
            )
            for lang in ("en", "nb", "sv"):
                answers = explain(row, evaluate(row, ruleset), ruleset, lang)
                rejected += sum(not a.eligible for a in answers)
    assert rejected > 0
    assert analysed() == before


def test_equal_answers_the_search_keeps_are_one_object() -> None:
    """Each answer the search keeps is kept once per lender, whatever the keys it answers:
    equal answers in a lender's memos are the same object. (Compiled, an answer passed on
    as a fixed-length tuple was a new copy each time, so none was shared.)"""
    ruleset = ruleset_from_documents(list(SHIPPED.documents.values()))
    for age in (25, 45, 62, 70):
        for purpose in PURPOSES:
            for amount, term in ((10_000, 12), (300_000, 60), (900_000, 180)):
                row = with_loan(_row(age=age, purpose=purpose), amount=amount, term_months=term)
                explain(row, evaluate(row, ruleset), ruleset)
    kept = 0
    for lender in ruleset.lenders:
        first: dict[object, object] = {}
        for memo in lender.analysis.memo.values():
            for answer in memo.values():
                if answer is not None:
                    kept += 1
                    assert first.setdefault(answer, answer) is answer
    assert kept > len(ruleset.lenders)
