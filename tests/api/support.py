"""Helpers of the HTTP API tests: databases, a running app with keys, posted applications.

PostgreSQL must be reachable at LENDMATCH_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test): when it is not, the tests that use it fail;
they never skip.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from api.app import create_app
from api.deps import Service
from api.settings import Settings
from matcher.national_id import make_fodselsnummer, make_personnummer

POSTGRES_URL = os.environ.get(
    "LENDMATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new PostgreSQL schema; yields a URL whose connections use it; dropped afterwards."""
    schema = f"t_api_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Api:
    """A running app (lifespan entered) with a test client and one key of each role."""

    app: FastAPI
    client: TestClient
    frontend_key: str
    admin_key: str

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def post_application(self, body: Any, *, key: str | None = None, **headers: str) -> Any:
        """POST /v1/applications with the frontend key (unless another is given)."""
        sent = {"X-API-Key": key or self.frontend_key, **headers}
        return self.client.post("/v1/applications", json=body, headers=sent)


@contextmanager
def running_api(database_url: str, **settings: Any) -> Iterator[Api]:
    """An app on `database_url` with its lifespan entered and two fresh keys."""
    app = create_app(Settings(database_url=database_url, **settings))
    with TestClient(app) as client:
        service: Service = app.state.service
        _, frontend_key = service.store.add_api_key(role="frontend")
        _, admin_key = service.store.add_api_key(role="admin")
        yield Api(app=app, client=client, frontend_key=frontend_key, admin_key=admin_key)


# --- applications ----------------------------------------------------------------------------


def fodselsnummer(birth: date, start: int = 500) -> str:
    """A valid fødselsnummer for `birth` (the first usable individual number from `start`)."""
    for individual in range(start, 1000):
        try:
            return make_fodselsnummer(birth, individual)
        except ValueError:
            continue
    raise LookupError(birth)


def person(market: str = "NO", **overrides: Any) -> dict[str, Any]:
    """A person as posted: employed, income 550 000, a little debt, born 1985-04-12."""
    birth = date(1985, 4, 12)
    national_id = (
        fodselsnummer(birth) if market == "NO" else make_personnummer(birth, 123, on=date.today())
    )
    return {
        "national_id": national_id,
        "name": "Kari Nordmann",
        "email": "kari@example.no",
        "phone": "+47 912 34 567",
        "citizenship": market,
        "years_in_country": 30,
        "employment": "permanent",
        "employed_months": 48,
        "income": 550_000,
        "unsecured_debt": 20_000,
        "secured_debt": 1_500_000,
        "payment_remarks": 0,
        **overrides,
    }


def application(market: str = "NO", **overrides: Any) -> dict[str, Any]:
    """A valid application as posted (JSON-like dict); top-level keys can be overridden."""
    body: dict[str, Any] = {
        "market": market,
        "applicant": person(market),
        "co_applicant": None,
        "loan": {"amount": 150_000, "term_months": 60, "purpose": "consumer"},
        "household": {"housing": "rent", "housing_cost": 9_000, "children": 1},
    }
    body.update(overrides)
    return body


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with the dotted `path` set to `value`."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed
