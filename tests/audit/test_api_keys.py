"""ApiKeyStore: keys belong to a client, are stored hashed, give their client and role, are
listed without secrets, and can be revoked; demo keys are made once per database; keys and
decisions from before clients existed belong to the default client."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, text

from audit import DEFAULT_CLIENT, InvalidRecord, Store, _chain, _rows, make_engine, open_store
from audit.database import alembic_config
from audit.models import GENESIS_HASH
from lender_rules.canonical import canonical_json, sha256_hex
from tests.audit.audit_testkit import a_decision, a_person

Sql = Callable[..., list[Any]]


def test_api_keys_are_stored_hashed_and_give_their_role(store: Store, sql: Sql) -> None:
    key_id, secret = store.api_keys.add("frontend")
    admin_id, admin_secret = store.api_keys.add("admin")
    assert store.api_keys.role_of(secret) == "frontend"
    assert store.api_keys.role_of(admin_secret) == "admin"
    assert store.api_keys.role_of(secret + "x") is None
    assert store.api_keys.role_of("") is None
    table = repr(sql("SELECT * FROM api_key"))
    assert secret not in table
    assert secret.split(".", 1)[1] not in table
    assert key_id in table
    assert store.api_keys.revoke(key_id) is True
    assert store.api_keys.role_of(secret) is None
    assert store.api_keys.revoke(key_id) is False
    assert store.api_keys.role_of(admin_secret) == "admin"
    assert admin_id != key_id


def test_an_unknown_role_is_refused(store: Store) -> None:
    with pytest.raises(InvalidRecord) as raised:
        store.api_keys.add("root")
    assert raised.value.field == "role"


def test_a_key_belongs_to_its_client(store: Store) -> None:
    key_id, secret = store.api_keys.add("frontend", client="acme")
    _, default_secret = store.api_keys.add("admin")
    key = store.api_keys.find(secret)
    assert key is not None
    assert (key.key_id, key.client, key.role, key.revoked_at) == (key_id, "acme", "frontend", None)
    assert key.readable_client == "acme"
    admin = store.api_keys.find(default_secret)
    assert admin is not None and admin.client == DEFAULT_CLIENT
    assert admin.readable_client is None  # an admin reads every client's applications


@pytest.mark.parametrize("client", ["", "ACME", "a/b", "_x", "x" * 65])
def test_an_invalid_client_name_is_refused(store: Store, sql: Sql, client: str) -> None:
    with pytest.raises(InvalidRecord) as raised:
        store.api_keys.add("frontend", client=client)
    assert raised.value.field == "client"
    assert sql("SELECT count(*) FROM api_key") == [(0,)]


def test_keys_are_listed_with_client_role_and_dates_and_never_a_secret(store: Store) -> None:
    first_id, first_secret = store.api_keys.add("frontend", client="acme")
    second_id, second_secret = store.api_keys.add("admin", client="zenith")
    store.api_keys.revoke(first_id)
    listed = store.api_keys.list_keys()
    assert [(k.key_id, k.client, k.role) for k in listed] == [
        (first_id, "acme", "frontend"),
        (second_id, "zenith", "admin"),
    ]
    assert listed[0].revoked_at is not None and listed[1].revoked_at is None
    assert all(k.created_at is not None for k in listed)
    text_of_listing = repr(listed)
    for secret in (first_secret, second_secret):
        assert secret.split(".", 1)[1] not in text_of_listing


def test_demo_keys_are_made_once_per_database_even_by_concurrent_starts(
    database_url: str,
) -> None:
    stores = [open_store(database_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            made = list(pool.map(lambda s: s.api_keys.ensure_demo_keys(), stores))
        created = [pair for batch in made for pair in batch]
        assert sorted(key.key_id for key, _ in created) == ["lmk_demo_admin", "lmk_demo_frontend"]
        for key, secret in created:
            found = stores[0].api_keys.find(secret)
            assert found is not None and (found.client, found.role) == ("demo", key.role)
        assert stores[0].api_keys.ensure_demo_keys() == []
        assert len(stores[0].api_keys.list_keys()) == 2
    finally:
        for store in stores:
            store.dispose()


def test_keys_and_decisions_from_before_clients_belong_to_the_default_client(
    database_url: str,
) -> None:
    """A database at the first revision holding a key and an idempotent decision, migrated:
    both are the default client's, and the chain still verifies."""
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    secret = "lmk_old.secret"
    fields: dict[str, Any] = {
        "decision_id": str(uuid.uuid4()),
        "application_id": "app-old",
        "channel": "api",
        "decided_at": datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        "ruleset_hash": "ab" * 32,
        "features_json": canonical_json({"age": 40}),
        "outcomes_json": canonical_json([["nordbank", 0, 0]]),
        "personal_digest": None,
        "idempotency_key": "old-key",
        "request_digest": "d" * 64,
    }
    digest = _chain.payload_digest(**fields, version=1)  # as written before clients
    own = _chain.record_hash(1, GENESIS_HASH, digest)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_key (key_id, secret_hash, role, created_at) "
                "VALUES ('lmk_old', :hash, 'frontend', :now)"
            ),
            {"hash": sha256_hex(secret), "now": datetime.now(UTC)},
        )
        connection.execute(
            insert(_rows.decision_table()).values(
                **fields, seq=1, payload_digest=digest, prev_hash=GENESIS_HASH, record_hash=own
            )
        )
        connection.execute(text("UPDATE chain_head SET seq = 1, hash = :own"), {"own": own})
    engine.dispose()

    with open_store(database_url) as store:
        key = store.api_keys.find(secret)
        assert key is not None and key.client == DEFAULT_CLIENT
        old = store.decisions.latest("app-old", client=DEFAULT_CLIENT)
        assert old is not None and old.client == DEFAULT_CLIENT
        assert store.decisions.verify().ok

        def retry(client: str) -> str:
            return store.decisions.record(
                application_id=f"app-new-{client}",
                channel="api",
                decision=a_decision(1),
                personal=a_person(1),
                idempotency_key="old-key",
                request_digest="d" * 64,
                client=client,
            ).decision_id

        assert retry(DEFAULT_CLIENT) == old.decision_id  # a retry across the upgrade replays
        assert retry("acme") != old.decision_id
        assert store.decisions.verify().ok
