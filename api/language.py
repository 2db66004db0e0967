"""The language of an answer, negotiated from the `Accept-Language` header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from lender_rules.vocabulary import DEFAULT_LANGUAGE, LANGUAGES, Language

# Tags answered in a language of the vocabulary though they are not its code.
_ALIASES: dict[str, Language] = {"no": "nb", "nn": "nb"}


def negotiate_language(accept_language: str | None) -> Language:
    """The best language of the vocabulary for an `Accept-Language` header (q-values honoured);
    the default (en) if none fits.

    `no` and `nn` (Norwegian, Nynorsk) are answered in nb; regional variants (`sv-SE`) count as
    their language; `*` matches the default. Unparseable parts are ignored, never an error.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if not 0.0 < quality <= 1.0:
            continue
        language = _language_of(tag.strip().lower())
        if language is None:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return DEFAULT_LANGUAGE if best is None else best[2]


def _language_of(tag: str) -> Language | None:
    primary = tag.split("-", 1)[0]
    if primary == "*":
        return DEFAULT_LANGUAGE
    if primary in _ALIASES:
        return _ALIASES[primary]
    for language in LANGUAGES:
        if primary == language:
            return language
    return None


async def request_language(
    accept_language: Annotated[
        str | None,
        Header(
            description=(
                f"{', '.join(LANGUAGES)}, with q-values (`nb-NO, sv;q=0.8`); "
                f"{DEFAULT_LANGUAGE} by default."
            ),
            max_length=1000,
        ),
    ] = None,
) -> Language:
    """The language of the answer, chosen from the `Accept-Language` header."""
    return negotiate_language(accept_language)


LanguageDep = Annotated[Language, Depends(request_language)]
