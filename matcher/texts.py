"""Every text the matcher writes for people, in every language of the vocabulary.

Two tables, each keyed by `Language` (lender_rules.vocabulary), then by a text's key:

- `WORDS`: the words of rules in plain words (`matcher.words` and the operator table's
  renderings), such as "is one of" and "if ... then ... else".
- `HINTS`: the templates of hint messages (`matcher.explain`) and how numbers are written in
  them. Placeholders in braces are filled with `str.format`.

Every language has every key of each table (a test checks it against `LANGUAGES`). To add a
language: add it to the vocabulary, its texts here, and its reason to every lender file;
nothing else in the matcher changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from lender_rules.vocabulary import Language

Texts = Mapping[str, str]

WORDS: Mapping[Language, Texts] = {
    "en": {
        "is": "is",
        "is_not": "is not",
        "one_of": "is one of",
        "contains": "contains",
        "and": "and",
        "or": "or",
        "not": "not",
        "if": "if",
        "then": "then",
        "else": "else",
        "true": "true",
        "false": "false",
        "empty": "is empty",
        "not_empty": "is not empty",
        "if_missing": "{value} if missing",
    },
    "nb": {
        "is": "er",
        "is_not": "er ikke",
        "one_of": "er en av",
        "contains": "inneholder",
        "and": "og",
        "or": "eller",
        "not": "ikke",
        "if": "hvis",
        "then": "så",
        "else": "ellers",
        "true": "sann",
        "false": "usann",
        "empty": "er tom",
        "not_empty": "er ikke tom",
        "if_missing": "{value} hvis den mangler",
    },
    "sv": {
        "is": "är",
        "is_not": "är inte",
        "one_of": "är en av",
        "contains": "innehåller",
        "and": "och",
        "or": "eller",
        "not": "inte",
        "if": "om",
        "then": "så",
        "else": "annars",
        "true": "sant",
        "false": "falskt",
        "empty": "är tom",
        "not_empty": "är inte tom",
        "if_missing": "{value} om det saknas",
    },
}
"""Words of rules in plain words; `if_missing` is a variable's default ("co_age (0 if
missing)")."""

HINTS: Mapping[Language, Texts] = {
    "en": {
        "amount": "{lender} would accept an amount of {ranges} over {term} months.",
        "term_months": "{lender} would accept a term of {ranges} months for {amount}.",
        "no_amount": "{lender} would accept no amount over {term} months.",
        "no_term_months": "{lender} would accept no term for {amount}.",
        "or": "or",
        "step": "(in steps of {step})",
        "thousands": ",",
    },
    "nb": {
        "amount": "{lender} ville godtatt et lånebeløp på {ranges} over {term} måneder.",
        "term_months": (
            "{lender} ville godtatt en nedbetalingstid på {ranges} måneder for {amount}."
        ),
        "no_amount": "{lender} ville ikke godtatt noe lånebeløp over {term} måneder.",
        "no_term_months": "{lender} ville ikke godtatt noen nedbetalingstid for {amount}.",
        "or": "eller",
        "step": "(i trinn på {step})",
        "thousands": "\u00a0",
    },
    "sv": {
        "amount": "{lender} skulle godta ett lånebelopp på {ranges} över {term} månader.",
        "term_months": (
            "{lender} skulle godta en återbetalningstid på {ranges} månader för {amount}."
        ),
        "no_amount": "{lender} skulle inte godta något lånebelopp över {term} månader.",
        "no_term_months": "{lender} skulle inte godta någon återbetalningstid för {amount}.",
        "or": "eller",
        "step": "(i steg om {step})",
        "thousands": "\u00a0",
    },
}
"""Hint messages; `thousands` separates groups of three digits in the numbers they show
(a no-break space in bokmål and Swedish)."""
