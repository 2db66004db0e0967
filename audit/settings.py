"""Settings of the decision store, read from the environment by `get_store_settings()`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the decision store lives."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        default="sqlite:///./lendmatch.sqlite",
        description=(
            "SQLAlchemy URL of the decision store (env DATABASE_URL), e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/lendmatch"
        ),
    )


def get_store_settings() -> StoreSettings:
    """Store settings from the environment (DATABASE_URL), built on each call."""
    return StoreSettings()
