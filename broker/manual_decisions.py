"""The review part of a manual decision (channel `manual`), as it is chained: written here,
read here.

    {"request_id": ..., "reviews": <the automated decision_id>, "reviewer": <user name>,
     "language": <the applicant's language>, "corrections": {feature: value, ...},
     "verdicts": [{"lender_id": ..., "verdict": "uphold" | "override",
                   "explanation": <for the applicant, in their language>}, ...]}

The record's own features are the automated decision's with the corrections applied, and its
bitmasks those features evaluated under the same ruleset, so `audit reproduce` re-checks
them like any decision. Internal notes are not part of it (they stay in the review store).
An erasure or the retention purge reduces it (`audit._redaction.redacted_review`): the
corrections and explanations go, `"redacted": true` is added, the verdicts stay.

An override makes the application count as eligible for that lender from then on: the
lenders of every override on an application are `overridden_lenders`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from audit import StoredDecision

Verdict = Literal["uphold", "override"]
VERDICTS: tuple[Verdict, ...] = ("uphold", "override")


def review_part(
    *,
    request_id: str,
    reviews: str,
    reviewer: str,
    language: str,
    corrections: Mapping[str, Any],
    verdicts: Sequence[tuple[str, Verdict, str]],
) -> dict[str, Any]:
    """The chained review part; `verdicts` as (lender_id, verdict, explanation)."""
    return {
        "request_id": request_id,
        "reviews": reviews,
        "reviewer": reviewer,
        "language": language,
        "corrections": dict(corrections),
        "verdicts": [
            {"lender_id": lender, "verdict": verdict, "explanation": explanation}
            for lender, verdict, explanation in verdicts
        ],
    }


def verdicts_of(manual: StoredDecision) -> dict[str, tuple[str, str]]:
    """lender_id -> (verdict, explanation) of a stored manual decision (the explanation is
    "" once erased)."""
    part = manual.review or {}
    return {
        str(v["lender_id"]): (str(v["verdict"]), str(v.get("explanation") or ""))
        for v in part.get("verdicts", ())
    }


def overridden_lenders(manuals: Iterable[StoredDecision]) -> frozenset[str]:
    """The lenders some manual decision overrode (eligible from then on)."""
    return frozenset(
        lender
        for manual in manuals
        for lender, (verdict, _) in verdicts_of(manual).items()
        if verdict == "override"
    )
