"""The HTTP service: `create_app(settings)` builds one FastAPI app; nothing runs at import.

The app's lifespan opens the decision store (creating the SQLite file if needed), migrates
its schema, activates the shipped demo lenders when no ruleset is active yet, and keeps the
compiled active ruleset in memory. `lendmatch serve` runs it under uvicorn
(`uvicorn --factory api.app:served_app` does the same: `served_app` is `create_app` with the
start's objects frozen out of the garbage collector's view).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp

import matcher
from api import log_redaction
from api.docs import install_docs
from api.errors import install_error_handlers
from api.fast_path import DecisionFastPath
from api.metrics import Metrics
from api.middleware import BodySizeLimit, RequestLatency
from api.routes import ROUTERS, reviews, rulesets
from api.screens import install_screens
from api.service import start_service
from broker import Settings, get_settings

DESCRIPTION = """\
Decides for every partner lender whether a loan application meets its base requirements,
stores every decision in a tamper-evident log before answering, and explains each "no".

**Keys.** Send an API key in `X-API-Key` (`lendmatch keys add --client NAME --role
frontend|admin`): a frontend or admin key for applications and decisions, an admin key for
rulesets. Every key belongs to a client: a decision belongs to the client whose key asked for
it, and a frontend key reads only its own client's decisions (another client's application
is 404); an admin key reads all. Without a valid key the answer is 401, whatever the body.
The lender pages (the logic an applicant is owed), `/healthz`, `/readyz` and `/metrics` are
public.

**Idempotency.** `Idempotency-Key` is optional and recommended on `POST /v1/applications`;
keys are per client (another client's use of the same key is another request). The same key
with the same body (compared as data) makes no second decision and answers 201
with the first decision again (header `Idempotent-Replayed: true`; the reasons in the language
asked for now); the same key with another body is 409.

**Durability.** A decision is committed to the store before it is answered; when the store
fails the answer is 503 and no decision is reported.

**Errors** are JSON `{error, message, problems, rule_problems}`; `problems[].field` names the
input at fault (`body.applicant.national_id`, `header.idempotency-key`).
"""


BODY_MODELS: tuple[type[BaseModel], ...] = (
    matcher.Application,
    rulesets.RulesetUpload,
    reviews.ReviewRequestBody,
)
"""The request bodies read by `api.body` rather than by FastAPI: their schemas are added."""


class LendmatchAPI(FastAPI):
    """FastAPI with the schemas of the bodies read by hand (`BODY_MODELS`) in OpenAPI, and
    the decision fast path (`api.fast_path`) ahead of every middleware layer but the
    server-error one, when `fast_path` holds its options."""

    fast_path: dict[str, Any] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.fast_path is not None and isinstance(stack, ServerErrorMiddleware):
            stack.app = DecisionFastPath(stack.app, api=self, **self.fast_path)
        return stack

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
            )
            _, definitions = models_json_schema(
                [(model, "validation") for model in BODY_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(definitions.get("$defs", {}))
            self.openapi_schema = schema
        return self.openapi_schema


def create_app(
    settings: Settings | None = None,
    *,
    fast_path: bool = True,
    started: Callable[[], None] | None = None,
) -> FastAPI:
    """A new app instance with its own settings, store, ruleset cache and metrics registry.

    `fast_path=False` leaves out `api.fast_path` (every request goes through FastAPI's
    routing): the reference the fast path is tested against. `started` is called once the
    service has started, before the first request (`served_app` freezes the start's objects
    out of the garbage collector's view there)."""
    settings = settings if settings is not None else get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(start_service, settings, metrics)
        app.state.service = service
        if started is not None:
            started()
        try:
            yield
        finally:
            service.store.dispose()

    app = LendmatchAPI(
        title="lendmatch",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # `api.docs` serves the page with its assets from the package
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    log_redaction.install()
    if fast_path:
        app.fast_path = {"max_bytes": settings.max_body_bytes, "metrics": metrics}
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        path_limits={rulesets.router.prefix: settings.max_ruleset_body_bytes},
    )
    app.add_middleware(RequestLatency, metrics=metrics)
    for router in ROUTERS:
        app.include_router(router)
    install_screens(app, settings)
    return app


def freeze_started_objects() -> None:
    """Move every object alive once a worker has started (modules, the compiled ruleset and
    its derived data, the store's engine) into the garbage collector's permanent generation.

    A full collection otherwise walks all of them again (about 190,000: 0.1 s of a blocked
    event loop each time) although they live as long as the worker; after the freeze it walks
    only what came later. Called once, after the start's own garbage is collected; objects
    made later (another ruleset activated) are collected as usual."""
    gc.collect()
    gc.freeze()


YOUNG_OBJECTS_PER_COLLECTION = 20_000
"""A server process's garbage collector looks at its youngest objects once this many more
containers were made than freed (Python's default: 700)."""


def collect_young_less_often() -> None:
    """Set `YOUNG_OBJECTS_PER_COLLECTION` (the older generations' thresholds kept).

    With the default, the single-path benchmark's 5,000 measured decisions (validated,
    decided, explained) met 16 young collections (~70 us each in a scratch timing), each in
    one decision's time, and those decisions were among the slowest 1 %; with this setting
    none (about two containers outlive a decision). The benchmark's p99 moved within its
    noise; a scratch run in its order gave 3-7 % lower (2026-12-03, RESULTS.md). A
    collection then looks at up to 20,000 objects: ~160 us for 20,000 small dicts that
    survive it, paid by one request in thousands. Process-wide, so
    only for a server process (`served_app`) and the benchmark that stands for one; a batch
    job or a library caller keeps its own."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, older, oldest)


def _started_server() -> None:
    freeze_started_objects()
    collect_young_less_often()


def served_app() -> FastAPI:
    """The app each worker of a server runs (`lendmatch serve`, uvicorn's factory):
    `create_app` from the environment's settings, with the start's objects frozen
    (`freeze_started_objects`) and young objects collected less often
    (`collect_young_less_often`). Only for a server process: both are process-wide."""
    return create_app(started=_started_server)
