"""Who is calling: the API key in `X-API-Key`, its client and its role (cached briefly,
`api.service`).

Handlers declare `Caller` (any valid key: its client and role), `CallerRole` (its role) or
`AdminRole` (an admin key) as a parameter type; FastAPI resolves them per request, once.
A router whose routes all need a key lists `authenticated` in its `dependencies`: FastAPI
resolves a router's dependencies before the route's own parameters, so a request without a
valid key is answered 401 before its body is read or validated.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from api.deps import ServiceDep
from api.errors import ForbiddenError, UnauthenticatedError
from audit import ApiKey
from lender_rules.vocabulary import Role

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description=(
        "An API key made with `lendmatch keys add --client NAME --role frontend|admin`. A "
        "frontend key reads its own client's applications only; an admin key reads all."
    ),
)


async def caller(
    service: ServiceDep, api_key: Annotated[str | None, Security(api_key_header)]
) -> ApiKey:
    """The request's API key (client and role); 401 without a key or with one the store
    lacks."""
    if not api_key:
        raise UnauthenticatedError("An API key is required in the X-API-Key header.")
    key = service.api_keys.cached(api_key)
    if key is None:
        key = await anyio.to_thread.run_sync(service.api_keys.find, api_key)
    if key is None:
        raise UnauthenticatedError("The API key is not known.")
    return key


Caller = Annotated[ApiKey, Depends(caller)]

authenticated = Depends(caller)
"""For a router's `dependencies`: every route needs a valid key, checked before anything
else of the request."""


async def caller_role(key: Caller) -> Role:
    """The role of the request's API key."""
    return key.role


CallerRole = Annotated[Role, Depends(caller_role)]


async def admin_role(role: CallerRole) -> Role:
    """403 unless the API key is an admin key."""
    if role != "admin":
        raise ForbiddenError("This needs an admin API key.")
    return role


AdminRole = Annotated[Role, Depends(admin_role)]
