"""Helpers of the HTTP API tests: databases, a running app with keys, posted applications.

PostgreSQL must be reachable at LENDMATCH_TEST_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test): when it is not, the tests that use it fail;
they never skip.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.service import Service
from broker import Settings
from matcher.national_id import make_fodselsnummer, make_personnummer
from tests.databases import postgres_schema as _postgres_schema


def postgres_schema() -> AbstractContextManager[str]:
    """A fresh PostgreSQL schema for one test (see tests/databases.py)."""
    return _postgres_schema("t_api")


@dataclass
class Api:
    """A running app (lifespan entered) with a test client and one key of each role."""

    app: FastAPI
    client: TestClient
    frontend_key: str
    admin_key: str

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def post_application(self, body: Any, *, key: str | None = None, **headers: str) -> Any:
        """POST /v1/applications with the frontend key (unless another is given)."""
        sent = {"X-API-Key": key or self.frontend_key, **headers}
        return self.client.post("/v1/applications", json=body, headers=sent)


@contextmanager
def running_api(database_url: str, *, fast_path: bool = True, **settings: Any) -> Iterator[Api]:
    """An app on `database_url` with its lifespan entered and two fresh keys (`fast_path`:
    see `api.app.create_app`)."""
    app = create_app(Settings(database_url=database_url, **settings), fast_path=fast_path)
    with TestClient(app) as client:
        service: Service = app.state.service
        _, frontend_key = service.store.api_keys.add(role="frontend")
        _, admin_key = service.store.api_keys.add(role="admin")
        yield Api(app=app, client=client, frontend_key=frontend_key, admin_key=admin_key)


# --- applications ----------------------------------------------------------------------------


def fodselsnummer(birth: date, start: int = 500) -> str:
    """A valid fødselsnummer for `birth` (the first usable individual number from `start`)."""
    for individual in range(start, 1000):
        try:
            return make_fodselsnummer(birth, individual)
        except ValueError:
            continue
    raise LookupError(birth)


def person(market: str = "NO", **overrides: Any) -> dict[str, Any]:
    """A person as posted: employed, income 550 000, a little debt, born 1985-04-12."""
    birth = date(1985, 4, 12)
    national_id = (
        fodselsnummer(birth) if market == "NO" else make_personnummer(birth, 123, on=date.today())
    )
    return {
        "national_id": national_id,
        "name": "Kari Nordmann",
        "email": "kari@example.no",
        "phone": "+47 912 34 567",
        "citizenship": market,
        "years_in_country": 30,
        "employment": "permanent",
        "employed_months": 48,
        "income": 550_000,
        "unsecured_debt": 20_000,
        "secured_debt": 1_500_000,
        "payment_remarks": 0,
        **overrides,
    }


def application(market: str = "NO", **overrides: Any) -> dict[str, Any]:
    """A valid application as posted (JSON-like dict); top-level keys can be overridden."""
    body: dict[str, Any] = {
        "market": market,
        "applicant": person(market),
        "co_applicant": None,
        "loan": {"amount": 150_000, "term_months": 60, "purpose": "consumer"},
        "household": {"housing": "rent", "housing_cost": 9_000, "children": 1},
    }
    body.update(overrides)
    return body


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with the dotted `path` set to `value`."""
    changed = copy.deepcopy(body)
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class TcpProxy:
    """A loopback TCP proxy to a database that can be stopped (the database is "down":
    connections are cut and new ones refused) and started again on the same port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._running = threading.Event()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        self._running.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._sockets:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while self._running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._running.is_set():
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            finished = threading.Barrier(2, action=functools.partial(self._close, client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target, finished), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, target: socket.socket, finished: threading.Barrier
    ) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            finished.wait()

    def _close(self, *connections: socket.socket) -> None:
        with self._lock:
            for connection in connections:
                self._sockets.discard(connection)
                connection.close()


# --- a burst of concurrent requests ----------------------------------------------------------


def burst_of_200() -> list[tuple[dict[str, Any], str | None]]:
    """200 POSTs: 160 distinct applications, and 20 idempotency keys sent twice each (the
    pairs at the end, at 160+2i and 161+2i)."""
    bodies = [application("NO" if i % 2 else "SE") for i in range(180)]
    requests: list[tuple[dict[str, Any], str | None]] = [(b, None) for b in bodies[:160]]
    for i, body in enumerate(bodies[160:]):
        requests += [(body, f"twice-{i}"), (body, f"twice-{i}")]
    return requests


def post_concurrently(
    base_url: str, key: str, requests: list[tuple[dict[str, Any], str | None]]
) -> list[httpx.Response]:
    """POST every (body, idempotency key) from 50 threads at once; answers in request order."""

    def post(request: tuple[dict[str, Any], str | None]) -> httpx.Response:
        body, idempotency_key = request
        headers = {"X-API-Key": key}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        # a connection of its own per request: httpx's pool shared by 50 threads now
        # and then hands a thread a connection another thread has just closed
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.post("/v1/applications", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(post, requests))


def free_port() -> int:
    """A TCP port on 127.0.0.1 no one listens on now (for a server started by a test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


LENDMATCH = Path(sys.executable).with_name("lendmatch")


@contextmanager
def lendmatch_serve(database_url: str, log: Path, *args: str) -> Iterator[tuple[str, int]]:
    """`lendmatch serve *args` on a free port, in a process group of its own, writing its
    stdout and stderr to `log` (the access log, from the environment's default on); yields
    the base URL and its process id once /readyz answers 200; stopped with SIGTERM (then
    SIGKILL) after."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LENDMATCH_DEMO_KEYS": "0"}
    env.pop("LENDMATCH_ACCESS_LOG", None)
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(LENDMATCH), "serve", "--port", str(port), *args],
            env=env,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise RuntimeError(f"lendmatch serve exited: {log.read_text()}")
                assert time.monotonic() < deadline, "lendmatch serve did not become ready"
                time.sleep(0.2)
            yield base_url, process.pid
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
