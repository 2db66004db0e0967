"""Throwaway databases for the benchmarks: a SQLite file, or a PostgreSQL schema dropped after."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

POSTGRES_URL = os.environ.get(
    "LENDMATCH_BENCH_POSTGRES_URL",
    os.environ.get(
        "LENDMATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
)


@contextlib.contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A URL on a new PostgreSQL schema named `<prefix>_<random>`, dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def database(kind: str, workdir: Path, prefix: str) -> Iterator[str]:
    """A fresh database URL of `kind`: a SQLite file in `workdir`, or a PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{prefix}-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    with postgres_schema(prefix) as url:
        yield url
