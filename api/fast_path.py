"""The hot route without the framework's machinery: `POST /v1/applications` answered by a pure
ASGI layer when the request is an ordinary one, and by the FastAPI route otherwise.

`POST /v1/applications` is the one route under load. FastAPI spends more CPU around it than
the decision itself costs: routing, solving six dependencies per request (key, service,
language, header validation, body), its exception and exit-stack layers. `DecisionFastPath`
sits right inside Starlette's server-error layer (an unexpected error is still the app's 500),
ahead of the other layers (FastAPI's, the screens' session, `api.middleware`'s), and answers a
request itself only when every check the route would make passes on the first look:

- a body within the limit of `api.middleware.BodySizeLimit` (declared and read);
- an `X-API-Key` the key cache already holds (`ApiKeyCache.cached`, no store lookup);
- an `Accept-Language` of at most 1000 characters, an `Idempotency-Key` matching
  `IDEMPOTENCY_KEY_PATTERN` (or none), none of the headers the route reads given twice;
- a body declared as JSON in UTF-8 that `api.body.read_ordinary` reads as an `Application`
  (the model the route reads from it: an escaped surrogate, a key given twice or an
  invalid body goes to the route).

It times what it answers into the latency metric as `RequestLatency` does (same labels).
Anything else (a body over the limit, no key, an unknown or uncached key, a bad header, a
body that is refused) is handed, with the body already read replayed, to the middleware and
the FastAPI route, which answer as they always have: the fast path never answers an error of
the request's own, so every 4xx (413 included) keeps its shape.
After the checks the fast path runs what the route runs (`decide_and_answer`: the decision,
the decision metrics, the same answer, serialisation and headers); an error the store or the
broker raises then is answered by the app's own exception handler for it (503, 409), the same
response the route's would be. The differential tests (tests/api/test_fast_path.py) check
both paths answer alike.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body import check_media_type, read_ordinary
from api.language import negotiate_language
from api.metrics import Metrics
from api.routes.applications import (
    IDEMPOTENCY_KEY_PATTERN,
    PATH,
    decide_and_answer,
    router,
)
from api.service import Service
from lender_rules.vocabulary import Language
from matcher import Application, validation_context

_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_READ = frozenset({b"x-api-key", b"content-type", b"accept-language", b"idempotency-key"})
_MAX_LANGUAGE = 1000  # the route's `Accept-Language` max_length

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


class _FallbackError(Exception):
    """The request is not an ordinary one: the FastAPI route answers it."""


class DecisionFastPath:
    """ASGI middleware answering ordinary `POST /v1/applications` requests itself (see the
    module doc); everything else goes on to `app` unchanged."""

    def __init__(self, app: ASGIApp, *, api: FastAPI, max_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.api = api
        self.max_bytes = max_bytes
        self.metrics = metrics
        self._route: BaseRoute | None = None

    def route(self) -> BaseRoute | None:
        """The FastAPI route of `POST /v1/applications` (for the latency label)."""
        if self._route is None:
            for route in router.routes:
                if getattr(route, "path", None) == PATH and "POST" in getattr(route, "methods", ()):
                    self._route = route
                    break
        return self._route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        service: Service | None = getattr(self.api.state, "service", None)
        route = self.route()
        if service is None or route is None or self._declared_too_large(scope):
            await self.app(scope, receive, send)
            return
        body, interrupted = await _read_body(receive, self.max_bytes)
        if interrupted is not None:
            await self.app(scope, _replay(body, interrupted, receive), send)
            return
        try:
            headers = _headers(scope)
            checked = _checked(service, headers, body)
        except _FallbackError:
            await self.app(scope, _replay(body, None, receive), send)
            return
        scope["route"] = route
        status = 500
        try:
            response = await self._answer(scope, receive, service, body, checked)
            status = response.status_code
            await response(scope, receive, send)
        finally:
            self.metrics.latency.labels(method="POST", route=PATH, status=str(status)).observe(
                time.perf_counter() - started
            )

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        service: Service,
        body: bytes,
        checked: tuple[str, Language, str | None, Application],
    ) -> Response:
        """The answer to a checked request: its decision, or the app's answer to the error
        that stopped it."""
        caller, language, idempotency_key, application = checked
        try:
            return await decide_and_answer(
                service,
                application,
                client=caller,
                idempotency_key=idempotency_key,
                language=language,
            )
        except Exception as error:
            handler = self._handler(error)
            if handler is None:
                raise
            answered = handler(Request(scope, _replay(body, None, receive)), error)
            return await answered if inspect.isawaitable(answered) else answered

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return not value.isdigit() or int(value) > self.max_bytes
        return False

    def _handler(self, error: Exception) -> Handler | None:
        handlers: dict[Any, Handler] = self.api.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers:
                return handlers[kind]
        return None


def _headers(scope: Scope) -> dict[bytes, str]:
    """The headers the route reads, by lower-case name; `_FallbackError` if one is repeated."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _READ:
            if name in found:
                raise _FallbackError
            found[name] = value.decode("latin-1")
    return found


def _checked(
    service: Service, headers: dict[bytes, str], body: bytes
) -> tuple[str, Language, str | None, Application]:
    """(client, language, idempotency key, application) of an ordinary request, each checked
    as the route checks it; `_FallbackError` at the first thing the route would answer otherwise."""
    secret = headers.get(b"x-api-key")
    key = service.api_keys.cached(secret) if secret else None
    if key is None:
        raise _FallbackError
    accept_language = headers.get(b"accept-language")
    if accept_language is not None and len(accept_language) > _MAX_LANGUAGE:
        raise _FallbackError
    idempotency_key = headers.get(b"idempotency-key")
    if idempotency_key is not None and _IDEMPOTENCY_KEY.fullmatch(idempotency_key) is None:
        raise _FallbackError
    try:
        check_media_type(headers.get(b"content-type"))
        context = validation_context(synthetic_ids=service.settings.synthetic_ids)
        application = read_ordinary(Application, body, context)
    except Exception:
        raise _FallbackError from None
    if application is None:
        raise _FallbackError
    return key.client, negotiate_language(accept_language), idempotency_key, application


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
    """The request's body, and the message that interrupted it before its end, if one did
    (the client went away, or the body grew past `limit`: then that last chunk)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), message
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, interrupted: Message | None, receive: Receive) -> Receive:
    """`receive` that first gives the body already read (and the message that interrupted it,
    if one did), then what `receive` gives."""
    pending: list[Message] = [
        {"type": "http.request", "body": body, "more_body": interrupted is not None}
    ]
    if interrupted is not None:
        pending.append(interrupted)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
