"""PostgreSQL statement and lock timeouts: a POST meeting a locked table answers 503 within
the lock timeout (it does not hang), nothing of it is stored, /readyz reports the store as
not writable meanwhile, and everything works again once the lock is gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from tests.api.support import Api, application, postgres_schema, running_api

pytestmark = pytest.mark.postgres

LOCK_TIMEOUT_MS = 1_000
STATEMENT_TIMEOUT_MS = 4_000
GIVE_UP_SECONDS = 20  # far past both timeouts: without them the POST would wait forever


@pytest.fixture
def pg_api() -> Iterator[Api]:
    with (
        postgres_schema() as url,
        running_api(
            url, db_lock_timeout_ms=LOCK_TIMEOUT_MS, db_statement_timeout_ms=STATEMENT_TIMEOUT_MS
        ) as api,
    ):
        yield api


def counts(api: Api) -> tuple[int, int, int]:
    with api.service.store.engine.connect() as connection:
        decisions = connection.execute(text("SELECT count(*) FROM decision")).scalar_one()
        personal = connection.execute(text("SELECT count(*) FROM personal_data")).scalar_one()
        head = connection.execute(text("SELECT seq FROM chain_head")).scalar_one()
    return int(decisions), int(personal), int(head)


def test_the_service_sessions_carry_the_configured_timeouts(pg_api: Api) -> None:
    with pg_api.service.store.engine.connect() as connection:
        assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "1s"
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "4s"


@pytest.mark.parametrize("table", ["decision", "personal_data", "chain_head"])
def test_a_post_during_a_held_table_lock_is_503_within_the_lock_timeout_and_stores_nothing(
    pg_api: Api, table: str
) -> None:
    pg_api.post_application(application())  # warm: ruleset and key cached, one decision
    before = counts(pg_api)
    locker = create_engine(pg_api.service.store.engine.url)
    try:
        with locker.connect() as connection:
            holding = connection.begin()
            connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=1) as pool:
                posting = pool.submit(
                    pg_api.post_application, application(), **{"Idempotency-Key": "k-1"}
                )
                try:
                    during = posting.result(timeout=GIVE_UP_SECONDS)
                except TimeoutError:
                    holding.rollback()  # let the hung request finish, then fail
                    pytest.fail(f"the POST still waited after {GIVE_UP_SECONDS} s")
            elapsed = time.monotonic() - started
            readiness = pg_api.client.get("/readyz")
            still_held = connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND pid = pg_backend_pid()"
                )
            ).scalar_one()
            holding.rollback()
    finally:
        locker.dispose()

    assert still_held >= 1  # the answer came while the lock was still held: it did not hang
    assert during.status_code == 503
    assert during.json()["error"] == "store_unavailable"
    # it waited for the lock up to the lock timeout, and no longer than the timeouts allow
    assert LOCK_TIMEOUT_MS / 1000 <= elapsed < STATEMENT_TIMEOUT_MS / 1000
    assert readiness.status_code == 503
    assert readiness.json()["writable"] is False and readiness.json()["database"] is True
    assert counts(pg_api) == before  # nothing half-stored
    assert pg_api.service.store.decisions.verify().ok

    again = pg_api.post_application(application(), **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "false"
    assert pg_api.client.get("/readyz").status_code == 200
    assert counts(pg_api)[0] == before[0] + 1
