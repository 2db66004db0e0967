"""`CaseworkerStore`: the people who sign in to the review screen, each with a role.

A caseworker has a user name (`USER_NAME_PATTERN`), a role (`caseworker` or `supervisor`) and a
password kept only as an Argon2id hash (pwdlib's recommended hasher: the salt and parameters
are part of the hash). The password itself is never stored, returned or put in a message.
A disabled user keeps the row, with when it was disabled, but can no longer sign in.

`authenticate` spends the same hashing work whether the user exists or not, so the time of a
failed sign-in does not tell whether a name is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from pwdlib import PasswordHash
from sqlmodel import col, select

from audit._unit import UnitOfWork
from audit.errors import InvalidRecord
from audit.models import USER_LENGTH, CaseworkerRow
from lender_rules.vocabulary import CASEWORKER_ROLES, CaseworkerRole

USER_NAME_PATTERN = rf"^[a-z0-9][a-z0-9_.-]{{0,{USER_LENGTH - 1}}}$"
"""A user name: lower-case letters, digits, `_`, `.`, `-`; at most 64, not starting with
punctuation."""
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing is deliberately slow: an endless password is refused

__all__ = ["MIN_PASSWORD_LENGTH", "USER_NAME_PATTERN", "Caseworker", "CaseworkerStore"]


@dataclass(frozen=True)
class Caseworker:
    """A user of the review screen as stored (never the password or its hash)."""

    name: str
    role: CaseworkerRole
    created_at: datetime
    disabled_at: datetime | None

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def _role(role: str) -> CaseworkerRole:
    for known in CASEWORKER_ROLES:
        if role == known:
            return known
    raise InvalidRecord("role", f"must be one of {', '.join(CASEWORKER_ROLES)}")


def _check_name(name: str) -> str:
    if not re.fullmatch(USER_NAME_PATTERN, name):
        raise InvalidRecord(
            "name",
            f"must be 1-{USER_LENGTH} lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
        )
    return name


def _check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRecord(
            "password",
            f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long",
        )
    return password


def _record(row: CaseworkerRow) -> Caseworker:
    return Caseworker(
        name=row.name, role=_role(row.role), created_at=row.created_at, disabled_at=row.disabled_at
    )


class CaseworkerStore:
    """Caseworkers: add one with a password, authenticate, find, list, disable."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._hasher = PasswordHash.recommended()

    @cached_property
    def _dummy_hash(self) -> str:
        """A hash verified against when the user is unknown (same work as a known one)."""
        return self._hasher.hash("not a password of anyone")

    def add(self, name: str, role: str, password: str) -> Caseworker:
        """Add a user; `InvalidRecord` naming the field for a bad name, role or password, or
        a name already taken."""
        _check_name(name)
        checked_role = _role(role)
        password_hash = self._hasher.hash(_check_password(password))
        now = datetime.now(UTC)
        with self._uow.unit("add_caseworker", write=True) as session:
            if session.get(CaseworkerRow, name) is not None:
                raise InvalidRecord("name", f"{name!r} is already a user")
            session.add(
                CaseworkerRow(
                    name=name, password_hash=password_hash, role=checked_role, created_at=now
                )
            )
        return Caseworker(name=name, role=checked_role, created_at=now, disabled_at=None)

    def authenticate(self, name: str, password: str) -> Caseworker | None:
        """The user if `password` is theirs and they are not disabled; None otherwise."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        with self._uow.unit("find_caseworker") as session:
            row = session.get(CaseworkerRow, name)
            stored = None if row is None else (row.password_hash, _record(row))
        if stored is None:
            self._hasher.verify(password, self._dummy_hash)
            return None
        password_hash, user = stored
        if not self._hasher.verify(password, password_hash) or user.disabled_at is not None:
            return None
        return user

    def find(self, name: str) -> Caseworker | None:
        """The user `name`, if there is one and they are not disabled."""
        with self._uow.unit("find_caseworker") as session:
            row = session.get(CaseworkerRow, name)
            if row is None or row.disabled_at is not None:
                return None
            return _record(row)

    def list_users(self) -> list[Caseworker]:
        """Every user, disabled ones too, by name."""
        with self._uow.unit("list_caseworkers") as session:
            rows = session.exec(select(CaseworkerRow).order_by(col(CaseworkerRow.name)))
            return [_record(row) for row in rows]

    def disable(self, name: str) -> bool:
        """Disable a user (they can no longer sign in); False if there is no such active
        user."""
        with self._uow.unit("disable_caseworker", write=True) as session:
            row = session.get(CaseworkerRow, name)
            if row is None or row.disabled_at is not None:
                return False
            row.disabled_at = datetime.now(UTC)
            session.add(row)
            return True
