"""The service's keys of personal data: refused in production mode while they are the public
development keys (saying which), and no national id stored in clear."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.examples import APPLICATIONS
from broker import DevelopmentKeysError, Settings
from tests.api.support import running_api

OWN_DATA_KEYS = "k1:" + base64.b64encode(bytes(range(32))).decode()
OWN_SUBJECT_KEY = "an own subject key of more than 32 characters"


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({}, ["LENDMATCH_SUBJECT_KEY", "LENDMATCH_DATA_KEYS"]),
        ({"subject_key": OWN_SUBJECT_KEY}, ["LENDMATCH_DATA_KEYS"]),
        ({"data_keys": OWN_DATA_KEYS}, ["LENDMATCH_SUBJECT_KEY"]),
    ],
)
def test_production_mode_refuses_the_development_keys_and_says_which(
    sqlite_url: str, keys: dict[str, str], named: list[str]
) -> None:
    app = create_app(Settings(database_url=sqlite_url, mode="production", **keys))  # type: ignore[arg-type]
    with pytest.raises(DevelopmentKeysError) as raised, TestClient(app):
        pass
    assert raised.value.settings == named
    assert "public development keys" in str(raised.value)


def test_production_mode_starts_with_own_keys(sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        mode="production",
        subject_key=OWN_SUBJECT_KEY,  # type: ignore[arg-type]
        data_keys=OWN_DATA_KEYS,  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200


def test_the_national_ids_are_stored_only_as_keyed_hashes(database_url: str) -> None:
    with running_api(database_url, synthetic_ids=True) as api:
        answer = api.post_application(APPLICATIONS["no-with-co-applicant"])
        assert answer.status_code == 201, answer.text
        application_id = answer.json()["application_id"]
        keys = api.service.store.keys
    engine = create_engine(database_url)
    with engine.connect() as connection:
        links = connection.execute(
            text("SELECT role, subject_hash FROM subject_link WHERE application_id = :a"),
            {"a": application_id},
        ).all()
    engine.dispose()
    people = {"applicant": "03898923311", "co_applicant": "21858641206"}
    assert sorted(links) == sorted((role, keys.subject_hash(n)) for role, n in people.items())
