"""`ApiKeyStore`: the service's API keys, each of one client and with a role; only the
secret's sha256 is kept.

A key has an id, `lmk_<16 hex digits>`, and a secret, `<key id>.<random>`, handed out once
when the key is created. A revoked key keeps its row, with the time it was revoked, but no
longer lets anyone in. A client is a name (`CLIENT_PATTERN`); keys from before clients existed
belong to `DEFAULT_CLIENT`.

Demo keys (`ensure_demo_keys`) have fixed ids, `lmk_demo_<role>`, of the client `demo`: they
are created once per database (the insert does nothing when the id exists, so several
service processes starting at once create each key once), and their secrets are shown only
by the call that created them. The secrets are random and stored only hashed, like every
other key's: a lost demo secret is not recoverable; make a new key with `lendmatch keys add`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from audit._unit import UnitOfWork
from audit.errors import InvalidRecord
from audit.models import CLIENT_LENGTH, DEFAULT_CLIENT, ApiKeyRow
from lender_rules.canonical import sha256_hex
from lender_rules.vocabulary import ROLES, Role

CLIENT_PATTERN = rf"^[a-z0-9][a-z0-9_.-]{{0,{CLIENT_LENGTH - 1}}}$"
"""A client's name: lower-case letters, digits, `_`, `.`, `-`; at most 64, not starting with
punctuation."""
DEMO_CLIENT = "demo"

__all__ = ["CLIENT_PATTERN", "DEFAULT_CLIENT", "DEMO_CLIENT", "ApiKey", "ApiKeyStore"]


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored (never its secret)."""

    key_id: str
    client: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @property
    def readable_client(self) -> str | None:
        """Whose applications this key may read: its client's, or everyone's (None) for an
        admin key."""
        return None if self.role == "admin" else self.client


def check_client(client: str) -> str:
    """`client` if it is a valid client name; `InvalidRecord("client")` otherwise."""
    if not isinstance(client, str) or not re.fullmatch(CLIENT_PATTERN, client):
        raise InvalidRecord(
            "client",
            f"must be 1-{CLIENT_LENGTH} lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
        )
    return client


def _role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidRecord("role", f"must be one of {', '.join(ROLES)}")


def _record(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        client=row.client,
        role=_role(row.role),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class ApiKeyStore:
    """API keys: add one for a client and role, find the key of a secret, list, revoke."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def add(self, role: str, client: str = DEFAULT_CLIENT) -> tuple[str, str]:
        """Create a key; return (key id, secret). `InvalidRecord` for a role not in ROLES or
        a client name that is not valid."""
        _role(role)
        check_client(client)
        key_id = f"lmk_{secrets.token_hex(8)}"
        secret = f"{key_id}.{secrets.token_urlsafe(32)}"
        with self._uow.unit("add_api_key", write=True) as session:
            session.add(
                ApiKeyRow(
                    key_id=key_id,
                    secret_hash=sha256_hex(secret),
                    client=client,
                    role=role,
                    created_at=datetime.now(UTC),
                )
            )
        return key_id, secret

    def ensure_demo_keys(self) -> list[tuple[ApiKey, str]]:
        """Create the demo keys (one per role, client `demo`) that do not exist yet; return
        the ones created now with their secrets (empty once they exist)."""
        insert = sqlite_insert if self._uow.sqlite else pg_insert
        now = datetime.now(UTC)
        created: list[tuple[ApiKey, str]] = []
        with self._uow.unit("ensure_demo_keys", write=True) as session:
            for role in ROLES:
                key_id = f"lmk_demo_{role}"
                secret = f"{key_id}.{secrets.token_urlsafe(32)}"
                statement = (
                    insert(ApiKeyRow)
                    .values(
                        key_id=key_id,
                        secret_hash=sha256_hex(secret),
                        client=DEMO_CLIENT,
                        role=role,
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["key_id"])
                    .returning(col(ApiKeyRow.key_id))
                )
                if session.connection().execute(statement).first() is not None:
                    created.append((ApiKey(key_id, DEMO_CLIENT, role, now, None), secret))
        return created

    def find(self, secret: str) -> ApiKey | None:
        """The key of `secret` if it is valid and not revoked; None for anything else."""
        with self._uow.unit("find_api_key") as session:
            row = session.exec(
                select(ApiKeyRow).where(ApiKeyRow.secret_hash == sha256_hex(secret))
            ).first()
            if row is None or row.revoked_at is not None:
                return None
            return _record(row)

    def role_of(self, secret: str) -> str | None:
        """The role of a valid, unrevoked key; None for anything else."""
        key = self.find(secret)
        return None if key is None else key.role

    def list_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first (never a secret: none is stored)."""
        with self._uow.unit("list_api_keys") as session:
            rows = session.exec(
                select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.key_id))
            )
            return [_record(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id; False if there is no such unrevoked key."""
        with self._uow.unit("revoke_api_key", write=True) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            return True
