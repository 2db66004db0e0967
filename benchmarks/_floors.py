"""Benchmark only: the framework floors that bench_api.py measures lendmatch against.

    uvicorn --factory --app-dir benchmarks _floors:bare_app
    uvicorn --factory --app-dir benchmarks _floors:validating_app

Both answer `POST /v1/applications` with 201, under the same uvicorn options and load client
as the lendmatch server:

- `bare_app`: FastAPI reads the body and answers a constant JSON object (no parsing);
- `validating_app`: FastAPI parses the body as the same `matcher.Application` (strict, every
  check of the real service: national id checksums, households, bounds) and answers a small
  JSON object. This is "the validating floor": what any FastAPI service that validates the
  same input pays before it decides or stores anything.

Neither touches a database. The API key header is sent and ignored.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from matcher import Application


def bare_app() -> FastAPI:
    """A FastAPI POST that reads the body and parses nothing."""
    app = FastAPI()

    @app.post("/v1/applications", status_code=201)
    async def submit(request: Request) -> dict[str, bool]:
        await request.body()
        return {"ok": True}

    @app.get("/readyz")
    async def ready() -> dict[str, bool]:
        return {"ok": True}

    return app


def validating_app() -> FastAPI:
    """A FastAPI POST whose body FastAPI parses and validates as an `Application`."""
    app = FastAPI()

    @app.post("/v1/applications", status_code=201)
    async def submit(application: Application) -> dict[str, str]:
        return {"market": application.market}

    @app.get("/readyz")
    async def ready() -> dict[str, bool]:
        return {"ok": True}

    return app
