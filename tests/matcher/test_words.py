"""Rules in plain words: in the reader's language, feature names and vocabulary values too."""

from __future__ import annotations

import re

import pytest

from lender_rules.vocabulary import EMPLOYMENT_TYPES, HOUSING_TYPES, LANGUAGES, PURPOSES, Language
from matcher.schema import FEATURE_NAMES
from matcher.texts import FEATURE_WORDS, VALUE_WORDS
from tests.matcher.test_engine import SHIPPED

ENGLISH_NAMES = frozenset(FEATURE_NAMES) | frozenset(EMPLOYMENT_TYPES + PURPOSES + HOUSING_TYPES)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d]\w*", text))


@pytest.mark.parametrize("lang", ["nb", "sv"])
def test_no_word_of_a_shipped_rule_in_bokmal_or_swedish_is_an_english_name(
    lang: Language,
) -> None:
    english = {
        requirement.code: sorted(_words(requirement.plain(lang)) & ENGLISH_NAMES)
        for lender in SHIPPED.lenders
        for requirement in lender.requirements
    }
    assert {code: names for code, names in english.items() if names} == {}
    assert len(english) == sum(len(lender.requirements) for lender in SHIPPED.lenders)


def test_a_conditional_rule_reads_in_swedish() -> None:
    requirement = SHIPPED.lender("fjordkreditt").requirement("temporary_tenure")
    assert requirement.plain("sv") == (
        "om anställningsform är visstidsanställd så månader hos arbetsgivaren >= 12, annars sant"
    )
    assert requirement.plain("en") == (
        "if employment is temporary then employed_months >= 12, else true"
    )


def test_other_strings_are_shown_as_the_rule_writes_them() -> None:
    requirement = SHIPPED.lender("tindebank").requirement("residency_or_nordic")
    assert requirement.plain("nb") == (
        "NO,SE,DK,FI,IS inneholder statsborgerskap eller år i landet >= 5"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_feature_and_vocabulary_value_has_words_in_every_language(lang: Language) -> None:
    assert set(FEATURE_WORDS[lang]) == set(FEATURE_NAMES)
    assert set(VALUE_WORDS[lang]) == set(EMPLOYMENT_TYPES + PURPOSES + HOUSING_TYPES)
    assert all(FEATURE_WORDS[lang].values()) and all(VALUE_WORDS[lang].values())
