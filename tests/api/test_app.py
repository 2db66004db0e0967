"""The app factories: `create_app`'s start hook, and `served_app` (what a server runs)."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from api.app import create_app, served_app
from broker import Settings


def test_started_is_called_once_with_the_service_running_before_the_first_request(
    sqlite_url: str,
) -> None:
    seen: list[bool] = []
    app = create_app(
        Settings(database_url=sqlite_url),
        started=lambda: seen.append(hasattr(app.state, "service")),
    )
    with TestClient(app) as client:
        assert seen == [True]
        assert client.get("/readyz").status_code == 200
    assert seen == [True]


def test_served_app_freezes_the_objects_alive_once_started(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LENDMATCH_DEMO_KEYS", "0")
    gc.unfreeze()
    try:
        with TestClient(served_app()) as client:
            frozen = gc.get_freeze_count()
            assert client.get("/readyz").status_code == 200
    finally:
        gc.unfreeze()
    assert frozen > 10_000  # modules, the compiled ruleset, the store: everything started
