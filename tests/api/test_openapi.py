"""A schemathesis run over the app's OpenAPI spec (the app in-process, bounded examples):
no request makes a 500, every response conforms to the spec (status, content type, headers,
body schema), and the spec's examples and formats lead schemathesis to decisions (201).

The app runs as in the demo (`make serve`): synthetic test national ids accepted, as the
spec's Norwegian examples carry them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance
from starlette.types import Receive, Scope, Send

from api.app import create_app
from broker import Settings
from tests.api.support import Api, running_api

pytestmark = pytest.mark.slow


class CurrentApp:
    """An ASGI app that passes each request to the app of the running test (each test has
    its own app and database); its lifespan is empty, the test has started the app's."""

    def __init__(self) -> None:
        self.target: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.target is None:
            raise LookupError("no test is running an app")
        await self.target(scope, receive, send)


CURRENT_APP = CurrentApp()
# The spec does not depend on the database: an app that is never started serves it.
# Invalid input may also be refused as too large (413) before it is parsed: a list beyond
# its maxItems is a long body. Every other status of the default list stands.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ]
            }
        }
    }
)
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite://")).openapi(), config=CONFIG
)
schema.app = CURRENT_APP


@pytest.fixture
def served_api(sqlite_url: str) -> Iterator[Api]:
    with running_api(sqlite_url, synthetic_ids=True) as api:
        CURRENT_APP.target = api.app
        try:
            yield api
        finally:
            CURRENT_APP.target = None


@schema.parametrize()
@settings(
    max_examples=100,  # each example is an HTTP request into a real store: keep the run bounded
    # one app and one database per API operation, shared by its examples, on purpose
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_no_500_and_every_response_conforms_to_the_spec(case: Case[Any], served_api: Api) -> None:
    case.call_and_validate(
        headers={"X-API-Key": served_api.admin_key},
        # Every check but one: a schema cannot carry a national id's check digits or the
        # meaning of a lender rule, so schema-valid input may rightly be refused with 422.
        excluded_checks=[positive_data_acceptance],
    )


def test_schemathesis_reaches_the_decision_path(served_api: Api) -> None:
    """Cases of `POST /v1/applications` from the spec's examples and from its schema: some are
    decided and stored (201), none is a 500, every answer conforms to the spec."""
    operation = schema["/v1/applications"]["POST"]
    cases = st.one_of(*schema.get_strategies_from_examples(operation), operation.as_strategy())
    statuses: Counter[int] = Counter()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def call(case: Case[Any]) -> None:
        response = case.call(headers={"X-API-Key": served_api.frontend_key})
        statuses[response.status_code] += 1
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    call()
    assert statuses[201] > 0, statuses
    assert not any(status >= 500 for status in statuses), statuses
    stored = list(served_api.service.store.decisions.stream())
    assert 0 < len(stored) <= statuses[201]
