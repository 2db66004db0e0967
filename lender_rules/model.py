"""The shape of a lender rule file (the contract in README.md, "A short tour"), as a pydantic model.

`rule` is kept as raw JSON here; the matcher's compiler checks it against the feature schema.
`lender_rules/schema.json` is this model's JSON Schema, for editors and other tools.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_REQUIREMENTS = 64
IDENTIFIER = r"^[a-z][a-z0-9_]*$"

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class Reason(BaseModel):
    """Why a requirement exists, told to the applicant in English, bokmål and Swedish."""

    model_config = ConfigDict(extra="forbid", strict=True)

    en: Text
    nb: Text
    sv: Text


class Requirement(BaseModel):
    """One base requirement of a lender: an id, a JsonLogic rule and its reason."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: Identifier
    rule: Any
    reason: Reason


class LenderFile(BaseModel):
    """A lender's rule file: `lender_rules/lenders/<lender_id>.json`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lender_id: Identifier
    name: Text
    markets: Annotated[list[str], Field(min_length=1, max_length=2)]
    effective_from: Annotated[dt.date | None, Field(strict=False)] = None
    requirements: Annotated[list[Requirement], Field(min_length=1, max_length=MAX_REQUIREMENTS)]
