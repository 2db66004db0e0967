"""The JSON routes, one module per resource; `ROUTERS` is what `create_app` includes.

A new route goes into the module of its resource (or a new module listed here); the
caseworker's screens will sit beside these as their own routers.
"""

from fastapi import APIRouter

from api.routes import applications, health, lenders, reviews, rulesets, subjects

ROUTERS: tuple[APIRouter, ...] = (
    applications.router,
    reviews.router,
    lenders.router,
    rulesets.router,
    subjects.router,
    subjects.schemas,
    health.router,
)

__all__ = ["ROUTERS"]
