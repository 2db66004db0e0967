"""What a running app instance holds (`Service`), and how it starts.

`start_service` is called by the app's lifespan (`api.app`): it opens and migrates the store
(PostgreSQL sessions bounded by the statement and lock timeouts of the settings), activates
the shipped demo lenders when no ruleset is active yet, and creates the demo keys once per
database when asked to (printing their secrets only when it creates them). The service is
kept on `app.state.service`; handlers reach it through `ServiceDep`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.metrics import Metrics
from audit import DEMO_CLIENT, ApiKey, ApiKeyStore, Store, Timeouts, open_store
from broker import RulesInForce, Settings, personal_keys
from matcher import load_ruleset

log = logging.getLogger("uvicorn.error")


class ApiKeyCache:
    """API keys (client and role) checked recently (at most `capacity`), each for
    `ttl_seconds`.

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
        self._keys_by_secret: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()

    def cached(self, secret: str) -> ApiKey | None:
        """The remembered key of `secret`, if it was checked less than `ttl_seconds` ago."""
        found = self._keys_by_secret.get(secret)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def find(self, secret: str) -> ApiKey | None:
        """The key of `secret`, asking the store unless it is remembered; None if the store
        knows no unrevoked key with this secret."""
        cached = self.cached(secret)
        if cached is not None:
            return cached
        key = self._keys.find(secret)
        if key is None:
            return None
        if self._ttl > 0:
            with self._lock:
                if len(self._keys_by_secret) >= self._capacity:
                    self._keys_by_secret.clear()
                self._keys_by_secret[secret] = (key, self._clock() + self._ttl)
        return key


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
    timeouts = Timeouts(
        statement_ms=settings.db_statement_timeout_ms, lock_ms=settings.db_lock_timeout_ms
    )
    keys = personal_keys(settings)  # refuses the development keys in production mode
    store = open_store(settings.database_url, timeouts, keys)
    rules = RulesInForce(store, refresh_seconds=settings.ruleset_refresh_seconds)
    if rules.active_hash() is None:
        ruleset = load_ruleset(settings.rules_dir)
        rules.activate(ruleset)
        log.info("Activated the lenders in %s (ruleset %s).", settings.rules_dir, ruleset.hash)
    if settings.demo_keys:
        created = store.api_keys.ensure_demo_keys()
        for key, secret in created:
            log.warning(
                "Demo %s API key of client %r (shown once): X-API-Key: %s",
                key.role,
                key.client,
                secret,
            )
        if not created:
            log.warning(
                "Demo keys lmk_demo_frontend and lmk_demo_admin (client %r) exist in this "
                "database; their secrets were printed when they were created and are not "
                "stored. New key: `lendmatch keys add --client %s --role frontend`.",
                DEMO_CLIENT,
                DEMO_CLIENT,
            )
    else:
        log.info(
            "API keys: create one with `lendmatch keys add --client NAME --role frontend` "
            "(or admin); for a demo, start with LENDMATCH_DEMO_KEYS=1 to have keys printed."
        )
    return Service(
        settings=settings,
        store=store,
        rules=rules,
        api_keys=ApiKeyCache(store.api_keys, ttl_seconds=settings.api_key_cache_seconds),
        metrics=metrics,
    )
