"""`lendmatch users add|list|disable`, end to end: the password asked twice or read from
stdin, never an option, never printed or logged, only its hash stored."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from audit import Store
from cli import options
from cli.main import app

PASSWORD = "a long enough secret phrase"


@pytest.fixture
def users(database_url: str) -> Callable[..., Result]:
    """`lendmatch users ARGS...` in process on the test's database, with `stdin` as input."""
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, ["users", *args], input=stdin, env={"DATABASE_URL": database_url})

    return invoke


def test_users_add_from_stdin_stores_a_user_who_can_sign_in(
    users: Callable[..., Result], store: Store
) -> None:
    result = users("add", "kari", "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    user = store.caseworkers.authenticate("kari", PASSWORD)
    assert user is not None and user.role == "supervisor"


def test_users_add_asks_the_password_twice_and_refuses_a_mismatch(
    users: Callable[..., Result], store: Store
) -> None:
    typed_twice = users("add", "ola", "--role", "caseworker", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert typed_twice.exit_code == 0, typed_twice.output
    assert store.caseworkers.authenticate("ola", PASSWORD) is not None
    mismatch = f"{PASSWORD}\n{PASSWORD}x\n" * 3
    refused = users("add", "per", "--role", "caseworker", stdin=mismatch)
    assert refused.exit_code != 0
    assert [u.name for u in store.caseworkers.list_users()] == ["ola"]


def test_the_password_is_never_printed_logged_or_stored_in_clear(
    users: Callable[..., Result],
    sql: Callable[..., list[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        added = users("add", "kari", "--role", "caseworker", "--password-stdin", stdin=PASSWORD)
        listed = users("list")
    assert added.exit_code == 0 and listed.exit_code == 0
    for text in (added.stdout, added.stderr, listed.stdout, caplog.text):
        assert PASSWORD not in text
    for row in sql("SELECT * FROM caseworker"):
        assert all(PASSWORD not in str(value) for value in row)


def test_users_add_refuses_a_short_password_and_a_bad_role(
    users: Callable[..., Result], store: Store
) -> None:
    short = users("add", "kari", "--role", "caseworker", "--password-stdin", stdin="short\n")
    assert short.exit_code == options.EXIT_PROBLEM
    assert short.stderr.startswith("password:")
    assert (
        users("add", "kari", "--role", "admin", "--password-stdin", stdin=PASSWORD).exit_code == 2
    )
    assert store.caseworkers.list_users() == []


def test_users_list_and_disable(users: Callable[..., Result]) -> None:
    users("add", "kari", "--role", "caseworker", "--password-stdin", stdin=PASSWORD)
    assert users("disable", "kari").exit_code == 0
    assert users("disable", "kari").exit_code == options.EXIT_PROBLEM
    lines = users("list").stdout.splitlines()
    assert lines[0].split("\t") == ["name", "role", "added", "disabled"]
    (row,) = (line.split("\t") for line in lines[1:])
    assert row[:2] == ["kari", "caseworker"] and row[3] != "-"
