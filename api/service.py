"""What a running app instance holds (`Service`), and how it starts.

`start_service` is called by the app's lifespan (`api.app`): it opens and migrates the store,
activates the shipped demo lenders when no ruleset is active yet, and prints demo keys when
asked to. The service is kept on `app.state.service`; handlers reach it through `ServiceDep`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.metrics import Metrics
from audit import ApiKeyStore, Store, open_store
from broker import RulesInForce, Settings
from lender_rules.vocabulary import ROLES, Role
from matcher import load_ruleset

log = logging.getLogger("uvicorn.error")


class ApiKeyCache:
    """The roles of API keys checked recently (at most `capacity`), each for `ttl_seconds`.

    Only keys the store knows are remembered; an unknown key is asked of the store each time.
    """

    def __init__(
        self,
        keys: ApiKeyStore,
        *,
        ttl_seconds: float,
        capacity: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
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
        stored = self._keys.role_of(secret)
        known = next((role for role in ROLES if role == stored), None)
        if known is None:
            return None
        if self._ttl > 0:
            with self._lock:
                if len(self._roles) >= self._capacity:
                    self._roles.clear()
                self._roles[secret] = (known, self._clock() + self._ttl)
        return known


@dataclass(frozen=True)
class Service:
    """Everything a running app instance holds: settings, store, rules in force, key roles,
    metrics."""

    settings: Settings
    store: Store
    rules: RulesInForce
    api_keys: ApiKeyCache
    metrics: Metrics


def start_service(settings: Settings, metrics: Metrics) -> Service:
    """Open and migrate the store, make sure a ruleset is active, print how to get a key."""
    store = open_store(settings.database_url)
    rules = RulesInForce(store, refresh_seconds=settings.ruleset_refresh_seconds)
    if rules.active_hash() is None:
        ruleset = load_ruleset(settings.rules_dir)
        rules.activate(ruleset)
        log.info("Activated the lenders in %s (ruleset %s).", settings.rules_dir, ruleset.hash)
    if settings.demo_keys:
        for role in ROLES:
            _key_id, secret = store.api_keys.add(role=role)
            log.warning("Demo %s API key (shown once): X-API-Key: %s", role, secret)
    else:
        log.info(
            "API keys: create one with `lendmatch keys add --role frontend` (or admin); "
            "for a demo, start with LENDMATCH_DEMO_KEYS=1 to have keys printed here."
        )
    return Service(
        settings=settings,
        store=store,
        rules=rules,
        api_keys=ApiKeyCache(store.api_keys, ttl_seconds=settings.api_key_cache_seconds),
        metrics=metrics,
    )
