"""`lendmatch keys add|list|revoke`, end to end."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

from audit import Store
from cli import options


def test_keys_add_prints_a_secret_once_and_stores_its_role(
    run: Callable[..., Result], store: Store
) -> None:
    result = run("keys", "add", "--role", "admin")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert store.api_keys.role_of(secret) == "admin"
    key_id = secret.split(".", 1)[0]
    assert f"key id: {key_id}" in result.stderr
    assert run("keys", "revoke", key_id).exit_code == 0
    assert store.api_keys.role_of(secret) is None
    assert run("keys", "revoke", key_id).exit_code == options.EXIT_PROBLEM
    assert run("keys", "add", "--role", "root").exit_code == 2


def test_keys_add_makes_a_key_of_the_named_client(run: Callable[..., Result], store: Store) -> None:
    result = run("keys", "add", "--client", "acme", "--role", "frontend")
    assert result.exit_code == 0, result.output
    key = store.api_keys.find(result.stdout.strip())
    assert key is not None and (key.client, key.role) == ("acme", "frontend")
    default = store.api_keys.find(run("keys", "add", "--role", "frontend").stdout.strip())
    assert default is not None and default.client == "default"


def test_keys_add_refuses_an_invalid_client_name(run: Callable[..., Result], store: Store) -> None:
    result = run("keys", "add", "--client", "Not A Name", "--role", "frontend")
    assert result.exit_code == options.EXIT_PROBLEM
    assert "--client" in result.stderr
    assert store.api_keys.list_keys() == []


def test_keys_list_shows_id_client_role_created_revoked_and_never_a_secret(
    run: Callable[..., Result],
) -> None:
    acme = run("keys", "add", "--client", "acme", "--role", "frontend").stdout.strip()
    admin = run("keys", "add", "--client", "ops", "--role", "admin").stdout.strip()
    acme_id = acme.split(".", 1)[0]
    run("keys", "revoke", acme_id)

    result = run("keys", "list")
    assert result.exit_code == 0, result.output
    header, *rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert header == ["key_id", "client", "role", "created", "revoked"]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (acme_id, "acme", "frontend"),
        (admin.split(".", 1)[0], "ops", "admin"),
    ]
    assert rows[0][4] != "-" and rows[1][4] == "-"
    assert all(r[3] for r in rows)
    for secret in (acme, admin):
        assert secret.split(".", 1)[1] not in result.output
