"""`/healthz` (the process answers), `/readyz` (it can decide), `/metrics` (Prometheus).

All three are public: they carry no personal data, and probes and scrapers hold no API key.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ServiceDep
from audit import StoreUnavailable

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The process is up."""

    status: str = "ok"


class Readiness(BaseModel):
    """Whether the service can decide: the database answers, could take a decision now (no
    lock blocks an append), and a ruleset is active."""

    status: str
    database: bool
    writable: bool
    ruleset_hash: str | None


@router.get("/healthz", summary="Liveness")
async def healthz() -> Health:
    """200 while the process serves requests."""
    return Health()


@router.get(
    "/readyz",
    summary="Readiness",
    responses={
        200: {"model": Readiness, "description": "Ready"},
        503: {"model": Readiness, "description": "Not ready"},
    },
)
def readyz(service: ServiceDep) -> JSONResponse:
    """200 when the database answers, can take a write now and a ruleset is active, else
    503."""
    ruleset_hash = None
    writable = False
    try:
        database = bool(service.store.ping())
        if database:
            writable = service.store.writable()
            ruleset_hash = service.rules.active_hash()
    except StoreUnavailable:
        database = False
    ready = database and writable and ruleset_hash is not None
    body = Readiness(
        status="ready" if ready else "not_ready",
        database=database,
        writable=writable,
        ruleset_hash=ruleset_hash,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(service: ServiceDep) -> Response:
    """Decisions by lender and outcome, store failures, request latency."""
    return Response(service.metrics.render(), media_type=service.metrics.content_type)
