"""What a request handler depends on: the running service, the caller's role, the language.

Handlers declare these as types (`ServiceDep`, `CallerRole`, `AdminRole`, `LanguageDep`);
FastAPI resolves them per request. Nothing here is created at import time: the `Service` is
built by the app's lifespan (`api.app`) and kept on `app.state.service`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, cast

import anyio.to_thread
from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine

from api.errors import ForbiddenError, NotFoundError, NotReadyError, UnauthenticatedError
from api.metrics import Metrics
from api.settings import Settings
from audit import DecisionStore
from matcher import Ruleset, in_force, ruleset_from_snapshot

Role = Literal["frontend", "admin"]
Language = Literal["en", "nb", "sv"]
LANGUAGES: tuple[Language, ...] = ("en", "nb", "sv")


class RulesetCache:
    """The ruleset in force, and compiled rulesets by hash (to explain old decisions).

    The active ruleset is asked of the store again once it is older than `refresh_seconds`, so
    a ruleset activated elsewhere (the CLI, another worker) takes over without a restart.
    Decisions are made under the rules in force today: for each lender of the active ruleset,
    the newest activated version whose `effective_from` has come (`matcher.in_force`); when
    that differs from the active ruleset, its snapshot is saved so it can be explained later.
    Compiled rulesets are kept by hash (at most `capacity`, least recently used out first).
    """

    def __init__(
        self,
        store: DecisionStore,
        *,
        refresh_seconds: float,
        capacity: int = 32,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
    ) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._capacity = capacity
        self._today = today
        self._lock = threading.Lock()
        self._by_hash: OrderedDict[str, Ruleset] = OrderedDict()
        self._active_hash: str | None = None
        self._checked_at = float("-inf")
        self._in_force: tuple[str, dt.date, Ruleset] | None = None

    def active(self) -> Ruleset:
        """The ruleset decisions are made with now; `NotReadyError` when none is active."""
        if time.monotonic() - self._checked_at >= self._refresh_seconds:
            self._refresh()
        active_hash = self._active_hash
        if active_hash is None:
            raise NotReadyError("No ruleset is active.")
        today = self._today()
        cached = self._in_force
        if cached is not None and cached[:2] == (active_hash, today):
            return cached[2]
        ruleset = self._compose(active_hash, today)
        self._in_force = (active_hash, today, ruleset)
        return ruleset

    def _compose(self, active_hash: str, today: dt.date) -> Ruleset:
        active = self.by_hash(active_hash)
        if all(
            lender.effective_from is None or lender.effective_from <= today
            for lender in active.lenders
        ):
            return active
        history = self._store.activation_history()
        # each ruleset once, at its latest activation, oldest first
        order = list(dict.fromkeys(reversed(history)))[::-1]
        ruleset = in_force([self.by_hash(h) for h in order], today)
        if ruleset.hash != active.hash:
            self._store.save_ruleset(ruleset)
            self._remember(ruleset)
        return ruleset

    def active_hash(self) -> str | None:
        """The hash of the active ruleset as the store has it now (asks the store)."""
        self._refresh()
        return self._active_hash

    def by_hash(self, ruleset_hash: str) -> Ruleset:
        """The compiled ruleset with this hash, from the store's snapshot when not cached."""
        with self._lock:
            ruleset = self._by_hash.get(ruleset_hash)
            if ruleset is not None:
                self._by_hash.move_to_end(ruleset_hash)
                return ruleset
        snapshot = self._store.ruleset_snapshot(ruleset_hash)
        if snapshot is None:
            raise NotFoundError(f"The store holds no snapshot of ruleset {ruleset_hash}.")
        ruleset = ruleset_from_snapshot(snapshot)
        self._remember(ruleset)
        return ruleset

    def activate(self, ruleset: Ruleset) -> None:
        """Snapshot and activate `ruleset` in the store, then use it at once here."""
        self._store.activate_ruleset(ruleset)
        self._remember(ruleset)
        with self._lock:
            self._active_hash = ruleset.hash
            self._checked_at = time.monotonic()

    def _remember(self, ruleset: Ruleset) -> None:
        with self._lock:
            self._by_hash[ruleset.hash] = ruleset
            self._by_hash.move_to_end(ruleset.hash)
            while len(self._by_hash) > self._capacity:
                self._by_hash.popitem(last=False)

    def _refresh(self) -> None:
        version = self._store.active_ruleset_version()
        with self._lock:
            self._active_hash = None if version is None else version.hash
            self._checked_at = time.monotonic()


class ApiKeyCache:
    """The roles of API keys checked recently (at most `capacity`), each for `ttl_seconds`.

    Only keys the store knows are remembered; an unknown key is asked of the store each time.
    """

    def __init__(
        self,
        store: DecisionStore,
        *,
        ttl_seconds: float,
        capacity: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._roles: dict[str, tuple[Role, float]] = {}
        self._lock = threading.Lock()

    def cached_role(self, secret: str) -> Role | None:
        """The remembered role of `secret`, if it was checked less than `ttl_seconds` ago."""
        found = self._roles.get(secret)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def role(self, secret: str) -> Role | None:
        """The role of `secret`, asking the store unless it is remembered."""
        cached = self.cached_role(secret)
        if cached is not None:
            return cached
        role = self._store.role_of_api_key(secret)
        if role not in ("frontend", "admin"):
            return None
        known = cast(Role, role)
        if self._ttl > 0:
            with self._lock:
                if len(self._roles) >= self._capacity:
                    self._roles.clear()
                self._roles[secret] = (known, self._clock() + self._ttl)
        return known


@dataclass(frozen=True)
class Service:
    """Everything a running app instance holds: settings, engine, store, rulesets, metrics."""

    settings: Settings
    engine: Engine
    store: DecisionStore
    rulesets: RulesetCache
    api_keys: ApiKeyCache
    metrics: Metrics


async def get_service(request: Request) -> Service:
    """The service of the app that received `request`."""
    return cast(Service, request.app.state.service)


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_app_settings(service: ServiceDep) -> Settings:
    """The settings the app was created with."""
    return service.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]

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


def negotiate_language(accept_language: str | None) -> Language:
    """The best of en, nb, sv for an `Accept-Language` header (q-values honoured); en if none.

    `no` and `nn` (Norwegian, Nynorsk) are answered in nb; regional variants (`sv-SE`) count as
    their language; `*` matches the default. Unparseable parts are ignored, never an error.
    """
    if not accept_language:
        return "en"
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if not 0.0 < quality <= 1.0:
            continue
        language = _language_of(tag.strip().lower())
        if language is None:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return "en" if best is None else best[2]


def _language_of(tag: str) -> Language | None:
    primary = tag.split("-", 1)[0]
    if primary == "*":
        return "en"
    if primary in ("no", "nn"):
        return "nb"
    if primary in LANGUAGES:
        return primary
    return None


async def request_language(
    accept_language: Annotated[
        str | None,
        Header(
            description="en, nb or sv, with q-values (`nb-NO, sv;q=0.8`); en by default.",
            max_length=1000,
        ),
    ] = None,
) -> Language:
    """The language of the answer, chosen from the `Accept-Language` header."""
    return negotiate_language(accept_language)


LanguageDep = Annotated[Language, Depends(request_language)]
