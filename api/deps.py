"""What a request handler depends on, declared as types: `ServiceDep`, `SettingsDep`.

FastAPI resolves them per request. Nothing here is created at import time: the `Service` is
built by the app's lifespan (`api.app`) and kept on `app.state.service`. The caller's role is
in `api.auth`, the answer's language in `api.language`.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from api.service import Service
from broker import Settings


def service_of(request: Request) -> Service:
    """The service of the app that received `request`."""
    return cast(Service, request.app.state.service)


async def get_service(request: Request) -> Service:
    """The service of the app that received `request` (as a dependency)."""
    return service_of(request)


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_app_settings(service: ServiceDep) -> Settings:
    """The settings the app was created with."""
    return service.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
