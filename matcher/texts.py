"""Every text the matcher writes for people, in every language of the vocabulary.

Four tables, each keyed by `Language` (lender_rules.vocabulary), then by a text's key:

- `WORDS`: the words of rules in plain words (`matcher.words` and the operator table's
  renderings), such as "is one of" and "if ... then ... else".
- `FEATURE_WORDS`: each feature of the feature contract (`matcher.schema`) as a reader says
  it ("alder" for `age` in bokmål); English keeps the feature names of the contract, which
  are also the keys of a reason's values.
- `VALUE_WORDS`: each value of the vocabulary's closed lists that rules compare with
  (employment types, purposes, housing types), as a reader says it.
- `HINTS`: the templates of hint messages (`matcher.explain`) and how numbers are written in
  them. Placeholders in braces are filled with `str.format`.

Every language has every key of each table (a test checks it against `LANGUAGES`, the
feature schema and the vocabulary). To add a
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

FEATURE_WORDS: Mapping[Language, Texts] = {
    "en": {
        "market": "market",
        "age": "age",
        "has_co_applicant": "has_co_applicant",
        "co_age": "co_age",
        "income": "income",
        "co_income": "co_income",
        "total_income": "total_income",
        "employment": "employment",
        "employed_months": "employed_months",
        "co_employment": "co_employment",
        "amount": "amount",
        "term_months": "term_months",
        "purpose": "purpose",
        "existing_debt": "existing_debt",
        "debt_to_income": "debt_to_income",
        "payment_remarks": "payment_remarks",
        "housing": "housing",
        "housing_cost": "housing_cost",
        "children": "children",
        "years_in_country": "years_in_country",
        "citizenship": "citizenship",
    },
    "nb": {
        "market": "marked",
        "age": "alder",
        "has_co_applicant": "har medsøker",
        "co_age": "medsøkers alder",
        "income": "inntekt",
        "co_income": "medsøkers inntekt",
        "total_income": "husholdningens inntekt",
        "employment": "ansettelsesform",
        "employed_months": "måneder hos arbeidsgiver",
        "co_employment": "medsøkers ansettelsesform",
        "amount": "lånebeløp",
        "term_months": "nedbetalingstid i måneder",
        "purpose": "formål",
        "existing_debt": "eksisterende gjeld",
        "debt_to_income": "gjeldsgrad",
        "payment_remarks": "betalingsanmerkninger",
        "housing": "boform",
        "housing_cost": "boutgifter per måned",
        "children": "barn under 18",
        "years_in_country": "år i landet",
        "citizenship": "statsborgerskap",
    },
    "sv": {
        "market": "marknad",
        "age": "ålder",
        "has_co_applicant": "har medsökande",
        "co_age": "medsökandes ålder",
        "income": "inkomst",
        "co_income": "medsökandes inkomst",
        "total_income": "hushållets inkomst",
        "employment": "anställningsform",
        "employed_months": "månader hos arbetsgivaren",
        "co_employment": "medsökandes anställningsform",
        "amount": "lånebelopp",
        "term_months": "återbetalningstid i månader",
        "purpose": "ändamål",
        "existing_debt": "befintliga skulder",
        "debt_to_income": "skuldkvot",
        "payment_remarks": "betalningsanmärkningar",
        "housing": "boendeform",
        "housing_cost": "boendekostnad per månad",
        "children": "barn under 18",
        "years_in_country": "år i landet",
        "citizenship": "medborgarskap",
    },
}
"""Feature names in plain words, by feature name (every feature of `matcher.schema`)."""

VALUE_WORDS: Mapping[Language, Texts] = {
    "en": {
        "permanent": "permanent",
        "temporary": "temporary",
        "self_employed": "self_employed",
        "retired": "retired",
        "student": "student",
        "unemployed": "unemployed",
        "other": "other",
        "refinance": "refinance",
        "consumer": "consumer",
        "car": "car",
        "renovation": "renovation",
        "own": "own",
        "rent": "rent",
        "parents": "parents",
    },
    "nb": {
        "permanent": "fast ansatt",
        "temporary": "midlertidig ansatt",
        "self_employed": "selvstendig næringsdrivende",
        "retired": "pensjonist",
        "student": "studerende",
        "unemployed": "arbeidsledig",
        "other": "annet",
        "refinance": "refinansiering",
        "consumer": "forbruk",
        "car": "bil",
        "renovation": "oppussing",
        "own": "eier boligen",
        "rent": "leier",
        "parents": "bor hos foreldre",
    },
    "sv": {
        "permanent": "fast anställd",
        "temporary": "visstidsanställd",
        "self_employed": "egenföretagare",
        "retired": "pensionär",
        "student": "studerande",
        "unemployed": "arbetslös",
        "other": "annat",
        "refinance": "samlingslån",
        "consumer": "konsumtion",
        "car": "bil",
        "renovation": "renovering",
        "own": "äger bostaden",
        "rent": "hyr",
        "parents": "bor hos föräldrar",
    },
}
"""Values of the vocabulary's closed lists (employment types, purposes, housing types) in
plain words, by value."""

HINTS: Mapping[Language, Texts] = {
    "en": {
        "amount": "{lender} would accept an amount of {ranges} over {term} months.",
        "term_months": "{lender} would accept a term of {ranges} months for {amount}.",
        "no_amount": "{lender} would accept no amount over {term} months.",
        "no_term_months": "{lender} would accept no term for {amount}.",
        "pairs": "{lender} would accept an amount of {combinations}.",
        "pair": "{amounts} over {terms} months",
        "no_pair": "{lender} would accept no amount with any term. In the way: {reasons}",
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
        "pairs": "{lender} ville godtatt et lånebeløp på {combinations}.",
        "pair": "{amounts} over {terms} måneder",
        "no_pair": (
            "{lender} ville ikke godtatt noe lånebeløp med noen nedbetalingstid."
            " Dette står i veien: {reasons}"
        ),
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
        "pairs": "{lender} skulle godta ett lånebelopp på {combinations}.",
        "pair": "{amounts} över {terms} månader",
        "no_pair": (
            "{lender} skulle inte godta något lånebelopp med någon återbetalningstid."
            " Detta står i vägen: {reasons}"
        ),
        "or": "eller",
        "step": "(i steg om {step})",
        "thousands": "\u00a0",
    },
}
"""Hint messages; `thousands` separates groups of three digits in the numbers they show
(a no-break space in bokmål and Swedish)."""
