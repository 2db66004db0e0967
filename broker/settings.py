"""lendmatch's settings: one pydantic-settings class, built by `get_settings()`.

Every setting is read from the environment with the prefix `LENDMATCH_` (for example
`LENDMATCH_PORT=8080`), except the database URL, which is the conventional `DATABASE_URL`.
The HTTP service and every CLI command read the same class. Nothing here is created at import
time: `create_app(settings)` receives an instance, and each CLI command calls `get_settings()`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lender_rules import SHIPPED_LENDERS_DIR


class Settings(BaseSettings):
    """Settings of lendmatch (the HTTP service and the CLI), from the environment."""

    model_config = SettingsConfigDict(env_prefix="LENDMATCH_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///./lendmatch.sqlite",
        validation_alias=AliasChoices("DATABASE_URL", "LENDMATCH_DATABASE_URL"),
        description="SQLAlchemy URL of the decision store; SQLite file by default.",
    )
    host: str = Field(default="127.0.0.1", description="Interface `lendmatch serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `lendmatch serve` binds to.")
    rules_dir: Path = Field(
        default=SHIPPED_LENDERS_DIR,
        description="Lender rule files activated at start when no ruleset is active yet.",
    )
    demo_keys: bool = Field(
        default=False,
        description=(
            "Demo only: at start create one frontend and one admin API key and print them. "
            "In production create keys with `lendmatch keys add --role frontend|admin`."
        ),
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1, description="Largest request body accepted; larger gets 413."
    )
    max_ruleset_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description=(
            "Largest body of `POST /v1/rulesets` (a whole ruleset); larger gets 413. Every "
            "other request has `max_body_bytes`."
        ),
    )
    synthetic_ids: bool = Field(
        default=False,
        description=(
            "Demo and tests only: accept synthetic test national ids (fødselsnummer with month "
            "+ 80), as in the example applications. Off, such an id is refused with 422."
        ),
    )
    ruleset_refresh_seconds: float = Field(
        default=2.0,
        ge=0.0,
        description=(
            "How long a worker trusts its cached active ruleset before asking the store again, "
            "so a ruleset activated elsewhere (CLI, another worker) takes over within this time."
        ),
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0.0,
        description=(
            "How long a worker remembers the role of an API key it has checked, so a request "
            "costs no key lookup in the database; a revoked key stops working within this time."
        ),
    )


def get_settings() -> Settings:
    """Read the settings from the environment (called once per process by the app factory)."""
    return Settings()
