"""Explanations from bitmasks: what was checked, what the applicant's values were (each
requirement's reason: `matcher.reasons`), what would pass (hints, their messages here).

Everything here is derived from a feature row, the bitmasks and the ruleset, so a stored
decision's reasons can be derived again, byte for byte, from what was stored.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from lender_rules.vocabulary import DEFAULT_LANGUAGE, Language
from matcher.compiled_lender import CompiledLender
from matcher.engine import LenderOutcome, failed_column, to_long, unknown_column
from matcher.explanation import Combination, Hint, LenderExplanation
from matcher.hints import AMOUNTS, TERMS, Interval, loan_asks, remember
from matcher.lower_python import Row
from matcher.pairs import Options, Pair, options
from matcher.reasons import reason
from matcher.ruleset import Ruleset
from matcher.texts import HINTS


def _number(value: int, lang: Language) -> str:
    """`value` with its thousands separated as `lang` writes them: f"{value:,}" with the
    language's separator, the digits grouped here (compiled, formatting with "," and
    replacing it costs twice as much)."""
    digits = str(value)
    start = 1 if value < 0 else 0
    if len(digits) - start <= 3:
        return digits
    head = start + ((len(digits) - start) % 3 or 3)
    groups = [digits[:head]]
    for i in range(head, len(digits), 3):
        groups.append(digits[i : i + 3])
    return _THOUSANDS[lang].join(groups)


_THOUSANDS = {lang: text["thousands"] for lang, text in HINTS.items()}


def _ranges(intervals: Sequence[Interval], step: int, lang: Language) -> str:
    """Intervals as a hint writes them (`_written`), kept by intervals, step and language."""
    key = (*intervals, step, lang)
    text = _RANGES.get(key)
    if text is None:
        text = remember(_RANGES, key, _written(intervals, step, lang), RANGES_KEPT)
    return text


def _written(intervals: Sequence[Interval], step: int, lang: Language) -> str:
    parts = [
        _number(a, lang) if a == b else f"{_number(a, lang)}–{_number(b, lang)}"
        for a, b in intervals
    ]
    text = f" {HINTS[lang]['or']} ".join(parts)
    if step > 1 and any(a != b for a, b in intervals):
        text += " " + HINTS[lang]["step"].format(step=_number(step, lang))
    return text


RANGES_KEPT = 4096
_RANGES: dict[tuple[Any, ...], str] = {}
"""Ranges as written in hints, by intervals, step and language (a pure function of them;
the oldest dropped first, `hints.make_room`)."""


def _filled(
    template: str,
    lender: str,
    row: Row,
    lang: Language,
    key: str,
    value: str,
    amount: str | None = None,
) -> str:
    """A hint's message: `template` filled with the lender's name, the applied term, the
    amount written in the language (worked out only when the template has it; `amount` when
    given) and `key`."""
    fill = {"lender": lender, "term": row["term_months"], key: value}
    needs = _fields(template)
    if "amount" in needs:
        fill["amount"] = _number(row["amount"], lang) if amount is None else amount
    return template.format_map(fill)


_FIELDS: dict[str, frozenset[str]] = {}
"""The fields each hint template (`texts.HINTS`) has, by template."""


def _fields(template: str) -> frozenset[str]:
    """The fields of a hint template, worked out at its first use (`_FIELDS`)."""
    needs = _FIELDS.get(template)
    if needs is None:
        needs = _FIELDS[template] = frozenset(
            field for _, field, _, _ in string.Formatter().parse(template) if field
        )
    return needs


MESSAGE_COMBINATIONS = 4
"""At most this many (amount, term) combinations are written out in a hint's message (the
shortest terms, the longest, and evenly between); `Hint.combinations` has every one."""


def _shown(pairs: list[Pair]) -> list[Pair]:
    if len(pairs) <= MESSAGE_COMBINATIONS:
        return pairs
    last = len(pairs) - 1
    picks = sorted(
        {round(i * last / (MESSAGE_COMBINATIONS - 1)) for i in range(MESSAGE_COMBINATIONS)}
    )
    return [pairs[i] for i in picks]


def hint_for(lender: CompiledLender, row: Row, failing: int, lang: Language) -> Hint | None:
    """A hint when every requirement that did not pass (the bits of `failing`) depends on
    the amount or the term (directly or through debt_to_income; other features it reads,
    such as the age in "age at the end of the term", stay as they are); None otherwise."""
    asks = loan_asks(lender, failing)
    if asks is None:
        return None
    found = options(lender, row, (failing, 0), asks, AMOUNTS, TERMS)
    if found.pairs is None:
        return _one_variable(lender, row, found, lang)
    if not found.pairs:
        return _no_pair(lender, row, found, lang)
    text = HINTS[lang]
    either = f", {text['or']} "
    combinations = either.join(
        text["pair"].format(amounts=_ranges(a, a_step, lang), terms=_ranges(t, t_step, lang))
        for t, t_step, a, a_step in _shown(found.pairs)
    )
    return _hint(
        lender,
        found,
        [
            Combination(
                term_months=list(t), term_months_step=t_step, amount=list(a), amount_step=a_step
            )
            for t, t_step, a, a_step in found.pairs
        ],
        _filled(text["pairs"], lender.name, row, lang, "combinations", combinations),
    )


def _one_variable(lender: CompiledLender, row: Row, found: Options, lang: Language) -> Hint | None:
    """The hint from the amounts and terms each alone would take (no combinations): a
    function of the lender, the language, those answers, the requirements in the way (and
    the applied term where the language's messages name it), so its message, once written,
    is kept for the same (per lender, at most `hints.MEMO_SIZE`); where the message names
    the applied amount, its pieces around the amount are kept instead."""
    amounts, terms = found.amounts, found.terms
    keys = (
        None if amounts is None else "amount" if amounts[0] else "no_amount",
        None if terms is None else "term_months" if terms[0] else "no_term_months",
    )
    if keys == (None, None):
        return None
    needs = _NEEDS.get((lang, keys[0], keys[1]))
    if needs is None:
        text = HINTS[lang]
        needs = _NEEDS[(lang, keys[0], keys[1])] = frozenset().union(
            *(_fields(text[key]) for key in keys if key is not None)
        )
    term = row["term_months"] if "term" in needs else None
    if "amount" in needs:
        # a term hint names the applied amount ("... for 250,000"), which is nearly unique
        # per applicant: what is kept is the message in the pieces around the amount, and
        # the amount is written between them each time (a message kept whole would rarely
        # be given again, and would only be one more object for the garbage collector)
        parts = lender.analysis.told_parts
        general = _hint_key(lang, found, term)
        pieces = parts.get(general, _NOT_MADE)
        if pieces is _NOT_MADE:
            pieces = remember(parts, general, _told_pieces(lender, row, found, lang, keys))
        return _hint(
            lender,
            found,
            None,
            _told_message(lender, row, found, lang, keys)
            if pieces is None
            else _number(row["amount"], lang).join(pieces),
        )
    key = _hint_key(lang, found, term)
    memo = lender.analysis.told_hints
    message: str | None = memo.get(key)
    if message is None:
        message = remember(memo, key, _told_message(lender, row, found, lang, keys))
    return _hint(lender, found, None, message)


def _hint(
    lender: CompiledLender, found: Options, combinations: list[Combination] | None, message: str
) -> Hint:
    """A hint of the answers `found`, made for each explanation with lists of its own: the
    memos keep its message, not the record, so no two answers share a record (one answer's
    changed hint would be the next one's) and fewer objects outlive a request."""
    amounts, terms = found.amounts, found.terms
    hint: Hint = _NEW(Hint)
    # `Hint(amount=..., ...)` would gather the keywords in a dict first (`type.__call__`
    # passes a dict to `__init__`): twice the cost of calling `__init__` with them
    _HINT_INIT(
        hint,
        # the intervals copied: the search keeps its answers, and an answer is the caller's
        amount=None if amounts is None else list(amounts[0]),
        amount_step=1 if amounts is None else amounts[1],
        term_months=None if terms is None else list(terms[0]),
        term_months_step=1 if terms is None else terms[1],
        combinations=combinations,
        blocking=[r.code for r in lender.requirements if found.blocking & r.bit]
        if found.blocking
        else [],
        message=message,
    )
    return hint


_NEW: Any = object.__new__
_HINT_INIT: Any = Hint.__init__


def _told_message(
    lender: CompiledLender,
    row: Row,
    found: Options,
    lang: Language,
    keys: tuple[str | None, str | None],
    amount: str | None = None,
) -> str:
    """A one-variable hint's message: each template of `keys` filled (`_filled`)."""
    text = HINTS[lang]
    filled = []  # a loop, not a generator: a message is made for most hints of amounts
    for template, one in ((keys[0], found.amounts), (keys[1], found.terms)):
        if template is not None and one is not None:
            ranges = _ranges(one[0], one[1], lang) if one[0] else ""
            filled.append(_filled(text[template], lender.name, row, lang, "ranges", ranges, amount))
    return " ".join(filled)


_AMOUNT_MARK = "\x00"
"""Where the applied amount goes in a one-variable hint's message kept in parts."""

_NOT_MADE: Any = object()  # a miss of `Analysis.told_parts`


def _told_pieces(
    lender: CompiledLender,
    row: Row,
    found: Options,
    lang: Language,
    keys: tuple[str | None, str | None],
) -> list[str] | None:
    """A one-variable hint's message whose templates name the applied amount, in the pieces
    between which the amount is written; None where the lender's name holds the mark (the
    message is then made whole each time)."""
    marked = _told_message(lender, row, found, lang, keys, _AMOUNT_MARK)
    text = HINTS[lang]
    marks = sum(
        sum(1 for _, name, _, _ in string.Formatter().parse(text[template]) if name == "amount")
        for template, one in zip(keys, (found.amounts, found.terms), strict=True)
        if template is not None and one is not None
    )
    pieces = marked.split(_AMOUNT_MARK)
    return pieces if len(pieces) == marks + 1 else None


_NEEDS: dict[tuple[str, str | None, str | None], frozenset[str]] = {}
"""The fields of a language's one-variable hint messages, by language and template keys."""


def _hint_key(
    lang: Language, found: Options, term: int | None, amount: int | None = None
) -> tuple[object, ...]:
    """What a hint of one lender is a function of, as the key it is kept by: the language,
    the requirements in the way, the amounts and terms each alone would take, and the
    applied term and amount where the message names them (None where it does not)."""
    # the answers themselves (values, kept once each by the search: `hints.Accepted`)
    return (lang, found.blocking, found.amounts, found.terms, term, amount)


def _no_pair(lender: CompiledLender, row: Row, found: Options, lang: Language) -> Hint:
    """The hint when no (amount, term) combination would do: a function of the lender, the
    language, the amounts and terms each alone would take, the requirements in the way (and
    the applied term and amount where the language's message names them), so its message,
    once written, is kept for the same (per lender, at most `hints.MEMO_SIZE`)."""
    template = HINTS[lang]["no_pair"]
    needs = _fields(template)
    key = _hint_key(
        lang,
        found,
        row["term_months"] if "term" in needs else None,
        row["amount"] if "amount" in needs else None,
    )
    memo = lender.analysis.hints
    message: str | None = memo.get(key)
    if message is None:
        reasons = " ".join(r.reason[lang] for r in lender.requirements if found.blocking & r.bit)
        message = remember(memo, key, _filled(template, lender.name, row, lang, "reasons", reasons))
    return _hint(lender, found, [], message)


def explain_outcome(
    lender: CompiledLender, outcome: LenderOutcome, row: Row, lang: Language = DEFAULT_LANGUAGE
) -> LenderExplanation:
    """One lender's explanation from its bitmasks."""
    failed = outcome.failed
    failing = failed | outcome.unknown
    if not failing:
        return LenderExplanation(lender.lender_id, lender.name, True, [])
    requirements = lender.requirements
    if not failing & (failing - 1):  # one requirement (the usual case)
        kind = "failed" if failed else "missing"
        reasons = [reason(requirements[failing.bit_length() - 1], row, kind, lang)]
    else:
        reasons = []
        bits = failing
        while bits:  # the requirements whose bit is set, in order
            bit = bits & -bits
            kind = "failed" if failed & bit else "missing"
            reasons.append(reason(requirements[bit.bit_length() - 1], row, kind, lang))
            bits ^= bit
    return LenderExplanation(
        lender.lender_id, lender.name, False, reasons, hint_for(lender, row, failing, lang)
    )


def explain(
    features: Mapping[str, Any],
    outcomes: Iterable[LenderOutcome],
    ruleset: Ruleset,
    lang: Language = DEFAULT_LANGUAGE,
) -> list[LenderExplanation]:
    """Every lender's explanation, in the order of `outcomes`."""
    row = features if isinstance(features, dict) else dict(features)
    by_id = ruleset.by_id
    return [explain_outcome(by_id[o.lender_id], o, row, lang) for o in outcomes]


def explain_frame(
    wide: pl.DataFrame, ruleset: Ruleset, lang: Language = DEFAULT_LANGUAGE
) -> pl.DataFrame:
    """`to_long` of a `match` result, with each lender's reasons in `lang` (one of LANGUAGES)
    as a list of {code, kind, message}: the batch counterpart of `explain` (without values
    and hints). `str`, not `Language`, while callers (the CLI's `--lang`) hold a `str`."""
    ids = ["application_id"] if "application_id" in wide.columns else ["row"]
    if ids == ["row"]:
        wide = wide.with_row_index("row")
    parts: list[pl.LazyFrame] = []
    messages: dict[str, str] = {}
    for lender in ruleset.lenders:
        failed = pl.col(failed_column(lender.lender_id)).cast(pl.UInt64)
        unknown = pl.col(unknown_column(lender.lender_id)).cast(pl.UInt64)
        for requirement in lender.requirements:
            bit = pl.lit(requirement.bit, dtype=pl.UInt64)
            messages[requirement.code] = requirement.reason[lang]
            kind = pl.when((failed & bit) != 0).then(pl.lit("failed")).otherwise(pl.lit("missing"))
            # one filter per requirement: the rows where its bit is set, then grouped
            parts.append(
                wide.lazy()
                .filter(((failed | unknown) & bit) != 0)
                .select(
                    *ids,
                    pl.lit(lender.lender_id).alias("lender_id"),
                    pl.lit(requirement.code).alias("code"),
                    kind.alias("kind"),
                )
            )
    reasons = (
        pl.concat(parts)
        .with_columns(
            pl.col("code").replace_strict(messages, return_dtype=pl.String).alias("message")
        )
        .group_by(*ids, "lender_id", maintain_order=True)
        .agg(pl.struct("code", "kind", "message").alias("reasons"))
    )
    long = to_long(wide, ruleset).lazy()
    empty = pl.lit(
        [], dtype=pl.List(pl.Struct({"code": pl.String, "kind": pl.String, "message": pl.String}))
    )
    return (
        long.join(reasons, on=[*ids, "lender_id"], how="left", maintain_order="left")
        .with_columns(pl.col("reasons").fill_null(empty))
        .collect()
    )
