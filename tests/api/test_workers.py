"""`lendmatch serve --workers 4` on PostgreSQL keeps every guarantee across processes: 200
concurrent POSTs (20 idempotency keys sent twice at once) are each answered 201, each
decision stored once, and the chain verifies. A real `lendmatch serve` subprocess on a free
port; the test sees through PostgreSQL which worker processes took requests."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from audit import Store, open_store
from tests.api.support import burst_of_200, lendmatch_serve, post_concurrently, postgres_schema
from tests.databases import POSTGRES_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKERS = 4
LENDMATCH = Path(sys.executable).with_name("lendmatch")


def workers_of(pid: int) -> set[int]:
    """The process ids of the uvicorn workers of the server `pid` (from /proc): its children
    started by multiprocessing's spawn (not its resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:
            found.add(int(stat.parent.name))
    return found


def sessions_active_since(since: datetime, pids: set[int]) -> set[str]:
    """Which of the processes `pids` ran something on PostgreSQL after `since`, by the
    application name each gives its sessions (`lendmatch[<pid>]`)."""
    names = [f"lendmatch[{pid}]" for pid in pids]
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT DISTINCT application_name FROM pg_stat_activity "
                    "WHERE application_name = ANY(:names) AND state_change > :since"
                ),
                {"names": names, "since": since},
            ).all()
    finally:
        engine.dispose()
    return {str(row[0]) for row in rows}


def wait_until_all_started(pids: set[int]) -> None:
    """Waits until every worker in `pids` has opened its store (its lifespan migrates, so it
    holds a PostgreSQL session): /readyz answers once the first worker serves, and a burst
    sent then may otherwise all land on that one while the others are still importing."""
    deadline = time.monotonic() + 120
    epoch = datetime.fromtimestamp(0, UTC)
    while (started := sessions_active_since(epoch, pids)) != {f"lendmatch[{p}]" for p in pids}:
        assert time.monotonic() < deadline, f"only {sorted(started)} of {sorted(pids)} started"
        time.sleep(0.2)
    time.sleep(0.5)  # from the end of the lifespan to uvicorn's accept loop


def test_200_concurrent_posts_over_4_worker_processes_are_each_stored_once(tmp_path: Path) -> None:
    with postgres_schema() as url:
        with open_store(url) as store:
            _, key = store.api_keys.add(role="frontend", client="acme")
        with lendmatch_serve(url, tmp_path / "serve.log", "--workers", str(WORKERS)) as (
            base_url,
            server_pid,
        ):
            workers = workers_of(server_pid)
            assert len(workers) == WORKERS
            wait_until_all_started(workers)
            requests = burst_of_200()
            assert len(requests) == 200
            started = datetime.now(UTC)
            responses = post_concurrently(base_url, key, requests)
            active = sessions_active_since(started, workers)

        assert [r.status_code for r in responses] == [201] * 200
        answers = [r.json() for r in responses]
        for first, second in zip(answers[160::2], answers[161::2], strict=True):
            assert first == second
        decision_ids = {a["decision_id"] for a in answers}
        assert len(decision_ids) == 180
        with open_store(url) as store:
            check(store, decision_ids)
        assert len(active) >= 2, f"requests reached only {sorted(active)}"


def check(store: Store, decision_ids: set[str]) -> None:
    stored = list(store.decisions.stream())
    assert len(stored) == 180
    assert {d.decision_id for d in stored} == decision_ids
    assert {d.client for d in stored} == {"acme"}
    report = store.decisions.verify()
    assert report.ok, report.reason
    assert report.checked == 180
