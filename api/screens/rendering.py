"""The review screen's pages rendered from Jinja2 templates (`api/templates/review/`).

Every page gets the texts of the screen's language (`t`), the features' names in it
(`feature_words`, the words of the rules in plain words), the language itself, the languages
to pick from, and the session's CSRF token for its forms. Autoescaping is on: whatever an
applicant or a caseworker typed is shown as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.screens.session import csrf_token, screen_language
from api.screens.texts import texts
from lender_rules.vocabulary import LANGUAGES
from matcher import FEATURE_WORDS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_templates = Jinja2Templates(directory=TEMPLATES_DIR)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The page `review/<name>` with `context` and what every page needs."""
    language = screen_language(request)
    return _templates.TemplateResponse(
        request,
        f"review/{name}",
        {
            **context,
            "t": texts(language),
            "feature_words": FEATURE_WORDS[language],
            "lang": language,
            "languages": LANGUAGES,
            "csrf_token": csrf_token(request),
        },
        status_code=status_code,
        headers=headers,
    )
