"""The matcher's texts: every language of the vocabulary has every text."""

from __future__ import annotations

import string
from collections.abc import Mapping

import pytest

from lender_rules.vocabulary import LANGUAGES, Language
from matcher.texts import HINTS, WORDS, Texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("table", [WORDS, HINTS], ids=["WORDS", "HINTS"])
def test_every_language_has_every_key_with_the_same_placeholders(
    table: Mapping[Language, Texts],
) -> None:
    assert set(table) == set(LANGUAGES)
    english = table["en"]
    for language in LANGUAGES:
        texts = table[language]
        assert set(texts) == set(english), language
        for key, text in texts.items():
            assert text, (language, key)
            assert _placeholders(text) == _placeholders(english[key]), (language, key)
