"""Who is calling: the API key in `X-API-Key` and its role (cached briefly, `api.service`).

Handlers declare `CallerRole` (any valid key) or `AdminRole` (an admin key) as a parameter
type; FastAPI resolves them per request.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Security
from fastapi.security import APIKeyHeader

from api.deps import ServiceDep
from api.errors import ForbiddenError, UnauthenticatedError
from lender_rules.vocabulary import Role

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key made with `lendmatch keys add --role frontend|admin`.",
)


async def caller_role(
    service: ServiceDep, api_key: Annotated[str | None, Security(api_key_header)]
) -> Role:
    """The role of the request's API key; 401 without a key or with one the store lacks."""
    if not api_key:
        raise UnauthenticatedError("An API key is required in the X-API-Key header.")
    role = service.api_keys.cached_role(api_key)
    if role is None:
        role = await anyio.to_thread.run_sync(service.api_keys.role, api_key)
    if role is None:
        raise UnauthenticatedError("The API key is not known.")
    return role


CallerRole = Annotated[Role, Depends(caller_role)]


async def admin_role(role: CallerRole) -> Role:
    """403 unless the API key is an admin key."""
    if role != "admin":
        raise ForbiddenError("This needs an admin API key.")
    return role


AdminRole = Annotated[Role, Depends(admin_role)]
