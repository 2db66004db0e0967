"""Everything the compiled modules compute, for generated applications, as JSON lines:
`python -m tests.matcher.native_answers N SEED` prints them (tests/matcher/test_native.py
runs it with the compiled modules and without, and compares).

Per application and a few broken copies of it: the validation's answer (the application's
features, or its problems), and for a valid one the decision's bitmasks and every lender's
explanation (reasons, values, thresholds, hints) in each language, for the shipped lenders.
The first line says whether the compiled modules were in use.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import matcher
from lender_rules.vocabulary import LANGUAGES
from matcher import Application, decide, explain, generate, load_ruleset, validation_context

RULES = Path(__file__).resolve().parents[2] / "lender_rules" / "lenders"
ON = dt.date(2026, 6, 1)


def _broken(application: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Copies with one value a validation check refuses (a national id's check digit, an
    email, a phone number, an amount, a debt) or keeps with a correction."""
    applicant = application["applicant"]
    national_id = applicant["national_id"]
    last = str((int(national_id[-1]) + 1) % 10)
    changes: list[tuple[str, str, Any]] = [
        ("applicant", "national_id", national_id[:-1] + last),
        ("applicant", "email", (applicant["email"] or "a@example.org").replace("@", "")),
        ("applicant", "phone", (applicant["phone"] or "+4712345678")[:-4]),
        ("applicant", "unsecured_debt", -1),
        ("loan", "amount", application["loan"]["amount"] * 1000),
        ("loan", "term_months", 0),
    ]
    for part, name, value in changes:
        copy = json.loads(json.dumps(application))
        copy[part][name] = value
        yield copy


def _plain(value: Any) -> Any:
    """What `json.dumps` cannot write itself: an explanation's records (dataclasses) as
    dicts, anything else by its repr."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return repr(value)


def answers(n: int, seed: int) -> Iterator[str]:
    ruleset = load_ruleset(RULES)
    context = validation_context(on=ON)
    when = dt.datetime.combine(ON, dt.time(12), tzinfo=dt.UTC)
    yield json.dumps({"compiled": matcher.compiled})
    for application in generate(n, seed, ON).drop("application_id").to_dicts():
        for candidate in (application, *_broken(application)):
            try:
                valid = Application.model_validate(candidate, context=context)
            except ValidationError as error:
                yield json.dumps({"problems": error.errors(include_url=False)}, default=_plain)
                continue
            decision = decide(valid, ruleset, decided_at=when)
            rejected = [o for o in decision.outcomes if not o.eligible]
            explained = {
                lang: explain(decision.features, rejected, ruleset, lang) for lang in LANGUAGES
            }
            answer = {
                "features": decision.features,
                "outcomes": decision.outcomes,
                "explained": explained,
            }
            yield json.dumps(answer, sort_keys=True, default=_plain)


if __name__ == "__main__":
    for line in answers(int(sys.argv[1]), int(sys.argv[2])):
        print(line)
