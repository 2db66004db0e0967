"""The app factories: `create_app`'s start hook, and `served_app` (what a server runs)."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from api.app import YOUNG_OBJECTS_PER_COLLECTION, create_app, served_app
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


def test_served_app_freezes_the_objects_alive_once_started_and_collects_young_less_often(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LENDMATCH_DEMO_KEYS", "0")
    gc.unfreeze()
    before = gc.get_threshold()
    try:
        with TestClient(served_app()) as client:
            frozen = gc.get_freeze_count()
            threshold = gc.get_threshold()
            assert client.get("/readyz").status_code == 200
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert frozen > 10_000  # modules, the compiled ruleset, the store: everything started
    assert threshold == (YOUNG_OBJECTS_PER_COLLECTION, *before[1:])
    assert before[0] < YOUNG_OBJECTS_PER_COLLECTION
