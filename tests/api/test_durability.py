"""Under load and when the database fails: every answered decision is stored once, the chain
stays valid, a store failure is a 503 (never a 201 that was not stored), and the service
recovers when the database returns. Real HTTP: uvicorn on a loopback port."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, text

from api.app import create_app
from api.routes import applications
from api.service import Service
from broker import Settings
from tests.api.support import (
    TcpProxy,
    application,
    burst_of_200,
    post_concurrently,
    postgres_schema,
    running_api,
    serving,
)

pytestmark = pytest.mark.slow


@contextmanager
def served(database_url: str) -> Iterator[tuple[str, Service, str]]:
    """The app under uvicorn; yields (base URL, its service, a frontend key)."""
    app = create_app(Settings(database_url=database_url))
    with serving(app) as base_url:
        service: Service = app.state.service
        _, key = service.store.api_keys.add(role="frontend")
        yield base_url, service, key


def client_ready(base_url: str) -> bool:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return client.get("/readyz").status_code == 200


def stored_count(service: Service) -> int:
    with service.store.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM decision")).scalar_one())


def test_200_concurrent_posts_are_all_answered_and_each_stored_once(database_url: str) -> None:
    with served(database_url) as (base_url, service, key):
        requests = burst_of_200()
        assert len(requests) == 200
        responses = post_concurrently(base_url, key, requests)

        assert [r.status_code for r in responses] == [201] * 200
        answers = [r.json() for r in responses]
        for first, second in zip(answers[160::2], answers[161::2], strict=True):
            assert first == second
        decision_ids = {a["decision_id"] for a in answers}
        assert len(decision_ids) == 180
        assert stored_count(service) == 180
        stored_ids = {d.decision_id for d in service.store.decisions.stream()}
        assert stored_ids == decision_ids
        report = service.store.decisions.verify()
        assert report.ok, report.reason
        assert report.checked == 180


class Outage:
    """Makes the decision store fail and come back."""

    def __init__(
        self, break_: Callable[[], None], restore: Callable[[], None], *, server_down: bool
    ) -> None:
        self.break_ = break_
        self.restore = restore
        self.server_down = server_down  # the database server does not answer at all


@contextmanager
def sqlite_with_outage(tmp_path: Path) -> Iterator[tuple[str, Outage]]:
    """SQLite; the outage renames the decision table away (writes fail), then back."""
    path = tmp_path / "lendmatch.sqlite"

    def rename(old: str, new: str) -> Callable[[], None]:
        def run() -> None:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None)
            try:
                connection.execute(f"ALTER TABLE {old} RENAME TO {new}")
            finally:
                connection.close()

        return run

    yield (
        f"sqlite:///{path}",
        Outage(
            rename("decision", "decision_away"),
            rename("decision_away", "decision"),
            server_down=False,
        ),
    )


@contextmanager
def postgres_with_outage() -> Iterator[tuple[str, Outage]]:
    """PostgreSQL behind a TCP proxy; the outage stops the proxy: connections are cut and
    new ones refused, as when the database server goes down."""
    with postgres_schema() as direct:
        url = make_url(direct)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        proxy.start()
        try:
            proxied = url.set(host="127.0.0.1", port=proxy.port)
            yield (
                proxied.render_as_string(hide_password=False),
                Outage(proxy.stop, proxy.start, server_down=True),
            )
        finally:
            proxy.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_with_outage(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Outage]]:
    if request.param == "sqlite":
        with sqlite_with_outage(tmp_path) as pair:
            yield pair
    else:
        with postgres_with_outage() as pair:
            yield pair


def test_a_store_failure_mid_run_is_503_never_an_unstored_201_and_it_recovers(
    database_with_outage: tuple[str, Outage],
) -> None:
    database_url, outage = database_with_outage
    with served(database_url) as (base_url, service, key):
        results: list[tuple[float, httpx.Response]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def stream(client: httpx.Client) -> None:
            while not stop.is_set():
                response = client.post(
                    "/v1/applications", json=application(), headers={"X-API-Key": key}
                )
                with lock:
                    results.append((time.monotonic(), response))

        def count(status: int, since: float = 0.0) -> int:
            with lock:
                return sum(1 for at, r in results if r.status_code == status and at >= since)

        def wait_for(condition: Callable[[], bool]) -> None:
            deadline = time.monotonic() + 60
            while not condition():
                assert time.monotonic() < deadline, "timed out"
                time.sleep(0.01)

        with httpx.Client(base_url=base_url, timeout=60) as client:
            workers = [threading.Thread(target=stream, args=(client,)) for _ in range(8)]
            for worker in workers:
                worker.start()
            try:
                wait_for(lambda: count(201) >= 20)
                outage.break_()
                broken_at = time.monotonic()
                wait_for(lambda: count(503, broken_at) >= 20)
                during = client.post(
                    "/v1/applications", json=application(), headers={"X-API-Key": key}
                )
                readiness_during = client.get("/readyz")
                outage.restore()
                restored_at = time.monotonic()
                wait_for(lambda: count(201, restored_at) >= 20)
            finally:
                stop.set()
                for worker in workers:
                    worker.join()

        assert during.status_code == 503
        if outage.server_down:
            assert readiness_during.status_code == 503
            assert readiness_during.json()["database"] is False
        assert client_ready(base_url)
        assert during.json()["error"] == "store_unavailable"
        assert "decision_id" not in during.json()
        assert {r.status_code for _, r in results} <= {201, 503}
        answered = {r.json()["decision_id"] for _, r in results if r.status_code == 201}
        stored = {d.decision_id for d in service.store.decisions.stream()}
        assert answered <= stored, "a 201 was answered for a decision that is not stored"
        for _, response in results:
            if response.status_code == 503:
                assert set(response.json()) == {"error", "message", "problems", "rule_problems"}
        report = service.store.decisions.verify()
        assert report.ok, report.reason
        assert report.checked == len(stored)


def test_a_failure_after_the_commit_before_the_answer_is_retried_to_the_stored_decision(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit comes first: when the process fails to answer after it (here: building the
    answer raises once, as a crash between write and answer would leave it), the decision is
    stored, and the client's retry with its idempotency key gets that decision, not a second
    one."""
    real_answer = applications.answer
    failures: list[str] = []

    def answer_once_failing(*args: object, **kwargs: object) -> object:
        if not failures:
            failures.append("failed")
            raise RuntimeError("crashed after the commit")
        return real_answer(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(applications, "answer", answer_once_failing)
    with running_api(database_url) as api:
        api.client.headers["Idempotency-Key"] = "retry-after-crash"
        with pytest.raises(RuntimeError, match="crashed after the commit"):
            api.post_application(application())
        assert stored_count(api.service) == 1
        retried = api.post_application(application())
        assert retried.status_code == 201
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert stored_count(api.service) == 1
        stored = api.service.store.decisions.latest(retried.json()["application_id"])
        assert stored is not None
        assert stored.decision_id == retried.json()["decision_id"]
        assert api.service.store.verify().ok
