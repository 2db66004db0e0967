"""Caseworkers (`audit.caseworkers`): added with a role and a password kept only as a hash;
authenticated, listed, disabled. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit import InvalidRecord, Store

PASSWORD = "correct horse battery staple"


def test_a_user_signs_in_with_their_password_and_not_with_another(store: Store) -> None:
    added = store.caseworkers.add("kari", "caseworker", PASSWORD)
    assert (added.name, added.role, added.disabled_at) == ("kari", "caseworker", None)
    signed_in = store.caseworkers.authenticate("kari", PASSWORD)
    assert signed_in is not None
    assert (signed_in.name, signed_in.role) == ("kari", "caseworker")
    assert store.caseworkers.authenticate("kari", PASSWORD + "!") is None
    assert store.caseworkers.authenticate("ola", PASSWORD) is None


def test_the_password_is_stored_only_as_an_argon2_hash(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    store.caseworkers.add("kari", "supervisor", PASSWORD)
    rows = sql("SELECT * FROM caseworker")
    assert len(rows) == 1
    stored = [str(value) for value in rows[0]]
    assert not any(PASSWORD in value for value in stored)
    (password_hash,) = sql("SELECT password_hash FROM caseworker WHERE name = 'kari'")[0]
    assert password_hash.startswith("$argon2id$")


def test_a_disabled_user_cannot_sign_in_and_is_listed_as_disabled(store: Store) -> None:
    store.caseworkers.add("kari", "caseworker", PASSWORD)
    store.caseworkers.add("bo", "supervisor", PASSWORD)
    assert store.caseworkers.disable("kari") is True
    assert store.caseworkers.disable("kari") is False
    assert store.caseworkers.disable("nobody") is False
    assert store.caseworkers.authenticate("kari", PASSWORD) is None
    assert store.caseworkers.find("kari") is None
    users = store.caseworkers.list_users()
    assert [(u.name, u.role, u.disabled_at is not None) for u in users] == [
        ("bo", "supervisor", False),
        ("kari", "caseworker", True),
    ]


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("Kari Nordmann", "caseworker", PASSWORD, "name"),
        ("kari", "admin", PASSWORD, "role"),
        ("kari", "caseworker", "short", "password"),
    ],
)
def test_a_bad_name_role_or_password_is_refused_naming_the_field(
    store: Store, name: str, role: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidRecord) as refused:
        store.caseworkers.add(name, role, password)
    assert refused.value.field == field
    assert password not in str(refused.value)
    assert store.caseworkers.list_users() == []


def test_a_name_is_taken_once(store: Store) -> None:
    store.caseworkers.add("kari", "caseworker", PASSWORD)
    with pytest.raises(InvalidRecord) as refused:
        store.caseworkers.add("kari", "supervisor", PASSWORD)
    assert refused.value.field == "name"
    assert [u.role for u in store.caseworkers.list_users()] == ["caseworker"]
