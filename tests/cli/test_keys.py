"""`lendmatch keys add|revoke`, end to end."""

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
