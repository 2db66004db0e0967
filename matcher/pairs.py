"""What would pass when the amount and the term move together: the (amount, term)
combinations a lender would accept when neither alone would do, or none and what stands in
the way.

Built on the one-variable search of `matcher.hints`. When no requirement reads both the
amount and the term (every shipped lender), the accepted pairs are exactly the amounts the
amount's requirements accept times the terms the term's accept: one search each, shared with
the one-variable answers. Otherwise the amounts are searched at every term of the domain and
neighbouring terms with the same amounts are grouped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matcher.features import set_loan
from matcher.hints import (
    ASK_AMOUNT,
    ASK_TERM,
    Accepted,
    Interval,
    accepted,
    comparisons,
    moving_requirements,
    split,
)
from matcher.lower_python import Bits, Row

if TYPE_CHECKING:
    from matcher.compiled_lender import CompiledLender


Pair = tuple[list[Interval], int, tuple[Interval, ...], int]
"""Terms (intervals and step) and the amounts (intervals and step) accepted with each of them."""


class Options:
    """What would pass for one lender and application: amounts at the applied term and terms
    at the applied amount (None: not asked, or not computable exactly); and when neither
    alone can pass, the (amount, term) combinations that would, or none and the bits of the
    requirements in the way (`pairs` None: not computable exactly).

    A class with its own `__init__`, not a dataclass: compiled, a dataclass's generated
    `__init__` runs in the interpreter, one frame per hint."""

    def __init__(
        self,
        amounts: Accepted | None = None,
        terms: Accepted | None = None,
        pairs: list[Pair] | None = None,
        blocking: int = 0,
    ) -> None:
        self.amounts = amounts
        self.terms = terms
        self.pairs = pairs
        self.blocking = blocking


def options(
    lender: CompiledLender,
    row: Row,
    bits: Bits,
    asks: int,
    amounts: Interval,
    terms: Interval,
) -> Options:
    """What would pass, for a lender whose failing requirements each read the amount, the
    term or debt_to_income: the amounts, the terms or both, as `asks` says
    (`hints.loan_asks`).

    When no requirement reads both the amount and the term (every shipped lender), the
    accepted pairs are exactly the amounts accepted by the amount's requirements times the
    terms accepted by the term's: one search each, shared with the one-variable answers.
    Otherwise the amounts are searched at every term of the domain, and equal neighbours
    grouped."""
    # Compiled, a fixed-length tuple is held unboxed, and using one as an object (a
    # search's argument, `x or y`, a truth test) makes a new tuple of it each time: hence
    # `split` called (it returns the lender's, worked out at load), `bits` boxed once for
    # the searches, and the answers tested with `is not None` (an answer is never empty).
    amount_bits, term_bits, both = split(lender)
    given: Bits | None = bits
    ask_amount = bool(asks & ASK_AMOUNT)
    ask_term = bool(asks & ASK_TERM)
    if both:
        out = Options()
        if ask_amount:
            out.amounts = accepted(lender, row, "amount", amounts, bits=given)
        if ask_term:
            out.terms = accepted(lender, row, "term_months", terms, bits=given)
        if not _any(out):
            out.pairs, out.blocking = _every_term(lender, row, amounts, terms)
        return out
    # each variable searched with the other's requirements left out; the one-variable
    # answer is none where one of the other's requirements fails at the applied value
    failing = bits[0] | bits[1]
    found_a = (
        accepted(lender, row, "amount", amounts, bits=given, ignore=term_bits)
        if ask_amount
        else None
    )
    found_t = (
        accepted(lender, row, "term_months", terms, bits=given, ignore=amount_bits)
        if ask_term
        else None
    )
    alone_a = _alone(found_a, failing & term_bits)
    alone_t = _alone(found_t, failing & amount_bits)
    if (alone_a is not None and alone_a[0]) or (alone_t is not None and alone_t[0]):
        return Options(alone_a, alone_t)
    if not ask_amount:
        found_a = accepted(lender, row, "amount", amounts, bits=given, ignore=term_bits)
    if not ask_term:
        found_t = accepted(lender, row, "term_months", terms, bits=given, ignore=amount_bits)
    if found_a is None or found_t is None:
        return Options(alone_a, alone_t)
    if found_a[0] and found_t[0]:
        return Options(alone_a, alone_t, [(list(found_t[0]), found_t[1], found_a[0], found_a[1])])
    blocking = (0 if found_a[0] else found_a[2]) | (0 if found_t[0] else found_t[2])
    return Options(alone_a, alone_t, [], blocking)


def _alone(found: Accepted | None, other: int) -> Accepted | None:
    """The one-variable answer from a search that left the other variable's requirements
    out: none when one of those (`other`: their bits) fails at the applied value."""
    if found is None or not other:
        return found
    return (), found[1], other


def _any(out: Options) -> bool:
    # `is not None`, not a truth test: see `options`
    return bool(
        (out.amounts is not None and out.amounts[0]) or (out.terms is not None and out.terms[0])
    )


def _every_term(
    lender: CompiledLender, row: Row, amounts: Interval, terms: Interval
) -> tuple[list[Pair] | None, int]:
    """The accepted amounts at each term of the domain, neighbouring terms with the same
    amounts grouped (a requirement reads both, so the amounts may change with the term)."""
    shape = comparisons(lender, "term_months")
    term_step = shape[1][0] if shape is not None and shape[1] is not None else 1
    moving = moving_requirements(lender, "amount")[0]
    scratch = dict(row)
    out: list[Pair] = []
    # what is in the way at every term where only amounts were the matter, else at every term
    always, outside, seen, searched = -1, -1, 0, False
    for term in range(terms[0], terms[1] + 1):
        set_loan(scratch, amount=row["amount"], term_months=term)
        f, u = lender.evaluate(scratch)
        if (f | u) & ~moving:
            outside &= (f | u) & ~moving
            seen |= (f | u) & ~moving
            continue
        found = accepted(lender, scratch, "amount", amounts, bits=(f, u))
        if found is None:
            return None, 0
        if found[0]:
            last = out[-1] if out else None
            if (
                last is not None
                and (last[2], last[3]) == (found[0], found[1])
                and term - last[0][-1][1] == term_step
            ):
                last[0][-1] = (last[0][-1][0], term)
            else:
                out.append(([(term, term)], term_step, found[0], found[1]))
            continue
        always &= found[2]
        seen |= found[2]
        searched = True
    if out:
        return out, 0
    common = always if searched else outside
    return out, common if common > 0 else seen
