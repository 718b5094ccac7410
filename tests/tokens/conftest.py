"""Fixtures for token tests: key rings, and real vault stores (SQLite file, PostgreSQL database).

PostgreSQL is the one on the machine (127.0.0.1:5432, trust auth). Each test gets a fresh database
that is dropped afterwards, so tests never see each other's rows (``purge_expired`` and
``size_bytes`` are table-wide).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from masker.tokens.keys import Key, KeyRing
from masker.tokens.store import PostgresStore, SqliteStore, VaultStore

PG_ADMIN_URL = os.environ.get("MASKER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def make_ring(*names: str) -> KeyRing:
    """Keys derived from their names, so two processes can build the same ring."""
    import hashlib

    return KeyRing(tuple(Key(n, hashlib.sha256(b"test-key/" + n.encode()).digest()) for n in names))


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = "masker_tok_" + uuid.uuid4().hex[:12]
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:  # the issue requires PostgreSQL on dev and CI machines
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for vault tests: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "sqlite-thread", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VaultStore]:
    vault: VaultStore
    if request.param.startswith("sqlite"):  # small writes inline on the loop (default), or all threaded
        vault = SqliteStore(tmp_path / "vault.db", inline_writes=request.param == "sqlite")
    else:
        vault = PostgresStore(request.getfixturevalue("pg_url"))
    await vault.open()
    try:
        yield vault
    finally:
        await vault.close()
