"""lendmatch's settings: one pydantic-settings class, built by `get_settings()`.

Every setting is read from the environment with the prefix `LENDMATCH_` (for example
`LENDMATCH_PORT=8080`), except the database URL, which is the conventional `DATABASE_URL`.
The HTTP service and every CLI command read the same class. Nothing here is created at import
time: `create_app(settings)` receives an instance, and each CLI command calls `get_settings()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit import DEVELOPMENT_DATA_KEYS, DEVELOPMENT_SUBJECT_KEY, PersonalKeys
from broker.errors import DevelopmentKeysError
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
    workers: int = Field(
        default=1,
        ge=1,
        description="Worker processes of `lendmatch serve` (each a copy of the app).",
    )
    access_log: bool = Field(
        default=True,
        description=(
            "`lendmatch serve` writes a line per request to stdout (uvicorn's access log, "
            "subject ids redacted); off, it writes none (a line costs the event loop about 18 us, "
            "2-3 % of a decision request; the benchmarks' servers run without it)."
        ),
    )
    rules_dir: Path = Field(
        default=SHIPPED_LENDERS_DIR,
        description="Lender rule files activated at start when no ruleset is active yet.",
    )
    demo_keys: bool = Field(
        default=False,
        description=(
            "Demo only: create a frontend and an admin API key of the client `demo` once per "
            "database and print their secrets when they are created (later starts reuse "
            "them and print only their ids). In production create keys with "
            "`lendmatch keys add --client NAME --role frontend|admin`."
        ),
    )
    db_statement_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description=(
            "PostgreSQL: the service cancels a statement running longer than this (0: no "
            "limit); the request answers 503. Commands (batch, verify) are not limited."
        ),
    )
    db_lock_timeout_ms: int = Field(
        default=2_000,
        ge=0,
        description=(
            "PostgreSQL: the service gives up waiting for a lock after this (0: no limit), "
            "so a request meeting a locked table answers 503 instead of hanging."
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
    checkpoint_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of signed checkpoints of the log's heads, outside the database (another "
            "disk or machine): `lendmatch audit checkpoint` writes one there, "
            "`lendmatch audit verify` checks the log against the newest."
        ),
    )
    checkpoint_key: SecretStr | None = Field(
        default=None,
        description=(
            "Private Ed25519 key (base64, from `lendmatch audit keygen`) that signs checkpoints; "
            "only on the machine that writes them."
        ),
    )
    mode: Literal["development", "production"] = Field(
        default="development",
        description=(
            "production: the service refuses to start with the public development keys of "
            "personal data (`LENDMATCH_SUBJECT_KEY`, `LENDMATCH_DATA_KEYS`) and says which."
        ),
    )
    subject_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SUBJECT_KEY),
        description=(
            "Key (at least 32 characters) of the keyed hash (HMAC-SHA256) by which a person's "
            "applications are found; no national id is stored in clear. Changing it loses "
            "every link: keep it."
        ),
    )
    data_keys: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_DATA_KEYS),
        description=(
            "AES-256 keys of the personal payloads, `id:base64key,id2:base64key`: the first "
            "seals, every one opens; `lendmatch keys rotate-data-key` re-seals under the first."
        ),
    )
    retention_not_accepted_days: int = Field(
        default=730,
        ge=1,
        description="Days the data of an application no lender accepted is kept (2 years).",
    )
    retention_customer_days: int = Field(
        default=1827,
        ge=1,
        description=(
            "Days the data of an application some lender accepted is kept after its last "
            "decision (5 years, leap days included; the broker is not told when the "
            "customer's obligations end, so it counts from the decision)."
        ),
    )
    retention_aml_days: int = Field(
        default=1827,
        ge=1,
        description=(
            "Days the identity check of an application (anti-money-laundering law, at least "
            "5 years) is kept; it survives an erasure request until then."
        ),
    )
    checkpoint_public_key: str | None = Field(
        default=None,
        description=(
            "Public key (base64, from `lendmatch audit keygen`) that `lendmatch audit verify` "
            "trusts for checkpoints; keep it where the database's users cannot change it."
        ),
    )
    review_session_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret that signs the review screen's session cookie (at least 32 characters). "
            "Unset: a random secret per start, so sessions end when the service restarts; set "
            "it when running several workers."
        ),
        min_length=32,
    )
    review_idle_seconds: int = Field(
        default=1800,
        ge=1,
        description=(
            "A review screen session ends after this long without a request; the caseworker "
            "signs in again."
        ),
    )
    review_sign_in_attempts: int = Field(
        default=5,
        ge=1,
        description=(
            "Wrong passwords a review screen user name may give within "
            "`review_sign_in_lockout_seconds` before its sign-ins are refused (429) until "
            "that long after the last failure. Counted per worker process."
        ),
    )
    review_sign_in_lockout_seconds: int = Field(
        default=900,
        ge=1,
        description="How long a user name stays locked out after too many wrong passwords.",
    )
    review_secure_cookie: bool = Field(
        default=False,
        description=(
            "Send the review screen's session cookie only over HTTPS (the cookie's Secure "
            "flag). Turn it on whenever the service is served over HTTPS."
        ),
    )


def personal_keys(settings: Settings) -> PersonalKeys:
    """The keys of personal data the settings name; `audit.DataKeyError` if one is malformed,
    `DevelopmentKeysError` in production mode with a public development key."""
    keys = PersonalKeys.from_text(
        settings.subject_key.get_secret_value(), settings.data_keys.get_secret_value()
    )
    if settings.mode == "production":
        found = keys.development_keys_in_use()
        if found:
            raise DevelopmentKeysError(found)
    return keys


def get_settings() -> Settings:
    """Read the settings from the environment (called once per process by the app factory)."""
    return Settings()
