"""ApiKeyStore: keys are stored hashed, give their role, and can be revoked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit import InvalidRecord, Store

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
