"""Conformance with the JSON Logic compatibility suites (json-logic/compat-tables, vendored in
`jsonlogic_compat/` with its licence and commit id).

Every case runs through the compiler (`tests/matcher/compat.py`): a case inside the typed
subset gives the suite's result on both lowerings; a case outside it is refused with a located
message; the few cases where lendmatch deliberately answers otherwise are listed, by case
name with the reason, in `DEVIATIONS` below, the one place. The test fails when a case
outside the list stops giving the suite's result, and when a listed case starts to.
README.md ("Rule language") reports the counts; a test keeps them true.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from tests.matcher.compat import SUITES, Case, Outcome, cases, run

NULL_BY_ZERO = "division by zero is null (unknown) in lendmatch, an error in the suite"
SHORTHAND = (
    "the one-operand shorthand (an operand not in a list) is accepted for every operator, "
    "as classic JsonLogic (json-logic-js) does; the suite's newer rule throws"
)

DEVIATIONS: dict[str, str] = {
    "arithmetic/divide.json#Divide by Zero": NULL_BY_ZERO,
    "arithmetic/divide.json#Any division by zero should return NaN": NULL_BY_ZERO,
    "control/and.json#And with non-array arguments should throw": SHORTHAND,
    "control/or.json#OR with non-array arguments should throw": SHORTHAND,
}

README = Path(__file__).parents[2] / "README.md"


@functools.cache
def outcomes() -> tuple[tuple[Case, Outcome], ...]:
    return tuple((case, run(case)) for case in cases())


def test_every_case_gives_the_suites_result_is_refused_or_is_a_listed_deviation() -> None:
    differs = {case.name for case, outcome in outcomes() if outcome.kind == "differs"}
    assert sorted(differs - DEVIATIONS.keys()) == [], "new deviations from the suites"
    assert sorted(DEVIATIONS.keys() - differs) == [], "listed deviations that no longer are"


def test_both_lowerings_agree_on_every_accepted_case() -> None:
    for case, outcome in outcomes():
        if outcome.kind != "refused":
            assert outcome.by_python == outcome.by_polars, case.name


def test_a_refused_case_is_refused_with_a_located_message() -> None:
    for case, outcome in outcomes():
        if outcome.kind == "refused":
            assert outcome.problems, case.name
            for problem in outcome.problems:
                assert problem.file == case.name
                assert problem.path.startswith("$")
                assert len(problem.message.split()) >= 3, (case.name, problem.message)


def test_a_case_the_suite_expects_to_fail_is_never_answered_silently() -> None:
    for case, outcome in outcomes():
        if case.expects_error and outcome.kind != "refused":
            assert case.name in DEVIATIONS, case.name


def test_the_readme_reports_the_counts() -> None:
    kinds = [outcome.kind for _, outcome in outcomes()]
    counts = (
        len(kinds),
        kinds.count("passes"),
        kinds.count("refused"),
        kinds.count("differs"),
    )
    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(
        r"of the (\d+) cases, (\d+) are inside the typed subset and pass on both lowerings, "
        r"(\d+) are refused .*?and (\d+) are documented deviations",
        text,
    )
    assert found is not None, "README's rule-language section reports the suites' counts"
    assert tuple(int(n) for n in found.groups()) == counts


def test_the_suites_are_vendored_with_licence_and_commit() -> None:
    folder = SUITES.parent
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert re.search(r"\b[0-9a-f]{40}\b", (folder / "SOURCE.md").read_text(encoding="utf-8"))
