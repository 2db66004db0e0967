"""`ApiKeyStore`: the service's API keys, each with a role; only the secret's sha256 is kept.

A key has an id, `lmk_<16 hex digits>`, and a secret, `<key id>.<random>`, handed out once
when the key is created. A revoked key keeps its row, with the time it was revoked, but no
longer gives a role.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlmodel import select

from audit._unit import UnitOfWork
from audit.errors import InvalidRecord
from audit.models import ApiKeyRow
from lender_rules.canonical import sha256_hex
from lender_rules.vocabulary import ROLES


class ApiKeyStore:
    """API keys: add one for a role, find the role of a secret, revoke by key id."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def add(self, role: str) -> tuple[str, str]:
        """Create a key; return (key id, secret). `InvalidRecord` for a role not in ROLES."""
        if role not in ROLES:
            raise InvalidRecord("role", f"must be one of {', '.join(ROLES)}")
        key_id = f"lmk_{secrets.token_hex(8)}"
        secret = f"{key_id}.{secrets.token_urlsafe(32)}"
        with self._uow.unit("add_api_key", write=True) as session:
            session.add(
                ApiKeyRow(
                    key_id=key_id,
                    secret_hash=sha256_hex(secret),
                    role=role,
                    created_at=datetime.now(UTC),
                )
            )
        return key_id, secret

    def role_of(self, secret: str) -> str | None:
        """The role of a valid, unrevoked key; None for anything else."""
        with self._uow.unit("role_of_api_key") as session:
            row = session.exec(
                select(ApiKeyRow).where(ApiKeyRow.secret_hash == sha256_hex(secret))
            ).first()
            if row is None or row.revoked_at is not None:
                return None
            return row.role

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by its id; False if there is no such unrevoked key."""
        with self._uow.unit("revoke_api_key", write=True) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            return True
