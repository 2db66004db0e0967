"""Test doubles of the matcher's Decision, LenderOutcome and Ruleset, sample data, and a
PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import Engine

from audit.database import alembic_config
from lender_rules.canonical import canonical_json, sha256_hex
from tests.databases import postgres_schema as _postgres_schema

RULESET_HASH = "ab" * 32


@dataclass(frozen=True)
class Outcome:
    """A test double of `matcher.LenderOutcome`."""

    lender_id: str
    failed: int
    unknown: int


@dataclass(frozen=True)
class Decision:
    """A test double of `matcher.Decision`."""

    ruleset_hash: str
    decided_at: datetime
    features: dict[str, Any]
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class Ruleset:
    """A test double of `matcher.Ruleset`: documents, canonical snapshot and its hash."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def snapshot(self) -> str:
        return canonical_json({"lenders": [self.documents[k] for k in sorted(self.documents)]})

    @property
    def hash(self) -> str:
        return sha256_hex(self.snapshot())


def a_decision(number: int = 0, **features: Any) -> Decision:
    """A decision with a distinct feature row and bitmasks that need all 64 bits."""
    row: dict[str, Any] = {
        "market": "NO",
        "age": 30 + number % 40,
        "income": 500_000 + number,
        "debt_to_income": float("inf") if number % 3 == 0 else 2.5,
        "co_age": None,
    }
    row.update(features)
    return Decision(
        ruleset_hash=RULESET_HASH,
        decided_at=datetime.now(UTC),
        features=row,
        outcomes=(
            Outcome("nordbank", 0, 0),
            Outcome("fjordkreditt", 2**63 | number, 0),
            Outcome("kvartalbank", 1, 2**64 - 1),
        ),
    )


def a_person(number: int = 0) -> dict[str, Any]:
    return {
        "name": f"Åse Ødegård {number}",
        "national_id": f"010190{number:05d}",
        "email": f"ase{number}@example.no",
    }


def postgres_schema() -> AbstractContextManager[str]:
    """A fresh PostgreSQL schema for one test (see tests/databases.py)."""
    return _postgres_schema("t_audit")


def count(sql: Callable[..., list[Any]], table: str) -> int:
    """The number of rows in `table`, through the `sql` fixture."""
    return int(sql(f"SELECT count(*) FROM {table}")[0][0])


def migrate(engine: Engine, how: str, revision: str) -> None:
    """Upgrade or downgrade (`how`) the database of `engine` to `revision`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, how)(config, revision)
