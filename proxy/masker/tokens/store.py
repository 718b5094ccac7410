"""Vault storage: encrypted token rows in SQLite (embedded default) or PostgreSQL (multi-replica).

Rows are keyed by ``(scope_id, token_id)``. Token ids are derived deterministically from the value
(HMAC), so concurrent writers of the same value write the same row and ``ON CONFLICT DO NOTHING``
makes every write idempotent: no locks, no renumbering, safe across replicas. Values are stored
only as AES-GCM ciphertext; scope ids are HMACs, never raw conversation ids. Migrations run at
boot.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import ConfigError


class VaultUnavailable(Exception):
    """The vault database could not be reached or answered with an error."""


@dataclass(frozen=True, slots=True)
class VaultRow:
    scope_id: str
    token_id: str
    entity: str
    ciphertext: bytes
    created_at: float
    expires_at: float | None


class VaultStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def put_many(self, rows: Sequence[VaultRow]) -> None: ...
    async def get(self, scope_id: str, token_id: str) -> VaultRow | None: ...
    async def shred_scope(self, scope_id: str) -> int: ...
    async def purge_expired(self, now: float | None = None) -> int: ...
    async def size_bytes(self) -> int: ...
    async def ping(self) -> None: ...


_MIGRATIONS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS masker_vault (
        scope_id TEXT NOT NULL,
        token_id TEXT NOT NULL,
        entity TEXT NOT NULL,
        ciphertext {blob} NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION,
        PRIMARY KEY (scope_id, token_id)
    )""",
    "CREATE INDEX IF NOT EXISTS masker_vault_expires ON masker_vault (expires_at)",
)


class SqliteStore:
    """SQLite in WAL mode, driven from one dedicated thread (sqlite3 objects are thread-bound)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="masker-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            raise VaultUnavailable("sqlite vault error") from exc

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, timeout=5.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("CREATE TABLE IF NOT EXISTS masker_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM masker_schema").fetchone()
        current = row[0] or 0
        for version, statement in enumerate(_MIGRATIONS, start=1):
            if version > current:
                conn.execute(statement.format(blob="BLOB"))
                conn.execute("INSERT INTO masker_schema (version) VALUES (?)", (version,))
        self._conn = conn

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._pool.shutdown(wait=True)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise VaultUnavailable("vault is not open")
        return self._conn

    async def put_many(self, rows: Sequence[VaultRow]) -> None:
        if rows:
            await self._run(self._put_many, list(rows))

    def _put_many(self, rows: list[VaultRow]) -> None:
        db = self._db()
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO masker_vault (scope_id, token_id, entity, ciphertext, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope_id, token_id) DO NOTHING",
                [(r.scope_id, r.token_id, r.entity, r.ciphertext, r.created_at, r.expires_at) for r in rows],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def get(self, scope_id: str, token_id: str) -> VaultRow | None:
        row = await self._run(self._get, scope_id, token_id)
        return None if row is None else VaultRow(*row)

    def _get(self, scope_id: str, token_id: str) -> tuple[Any, ...] | None:
        cur = self._db().execute(
            "SELECT scope_id, token_id, entity, ciphertext, created_at, expires_at FROM masker_vault"
            " WHERE scope_id = ? AND token_id = ? AND (expires_at IS NULL OR expires_at > ?)",
            (scope_id, token_id, time.time()),
        )
        result: tuple[Any, ...] | None = cur.fetchone()
        return result

    async def shred_scope(self, scope_id: str) -> int:
        count: int = await self._run(
            lambda: self._db().execute("DELETE FROM masker_vault WHERE scope_id = ?", (scope_id,)).rowcount
        )
        return count

    async def purge_expired(self, now: float | None = None) -> int:
        at = time.time() if now is None else now
        count: int = await self._run(
            lambda: self._db().execute("DELETE FROM masker_vault WHERE expires_at <= ?", (at,)).rowcount
        )
        return count

    async def size_bytes(self) -> int:
        def size() -> int:
            row = (
                self._db()
                .execute(
                    "SELECT COALESCE(SUM(LENGTH(ciphertext) + LENGTH(scope_id) + LENGTH(token_id)), 0)"
                    " FROM masker_vault"
                )
                .fetchone()
            )
            return int(row[0])

        result: int = await self._run(size)
        return result

    async def ping(self) -> None:
        await self._run(lambda: self._db().execute("SELECT 1").fetchone())


class PostgresStore:
    """PostgreSQL through a psycopg async pool; short timeouts so an outage fails fast (503)."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 3.0) -> None:
        self._url = url
        self._min, self._max, self._timeout = min_size, max_size, timeout
        self._pool: Any = None

    async def open(self) -> None:
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(
            self._url,
            min_size=self._min,
            max_size=self._max,
            timeout=self._timeout,
            open=False,
            kwargs={"connect_timeout": max(1, int(self._timeout)), "autocommit": True},
        )
        try:
            await self._pool.open(wait=True, timeout=self._timeout * 3)
            async with self._pool.connection() as conn:
                # One migrator at a time across replicas booting together.
                await conn.execute("SELECT pg_advisory_lock(74202601)")
                try:
                    await conn.execute("CREATE TABLE IF NOT EXISTS masker_schema (version INTEGER NOT NULL)")
                    cur = await conn.execute("SELECT MAX(version) FROM masker_schema")
                    row = await cur.fetchone()
                    current = (row[0] if row else 0) or 0
                    for version, statement in enumerate(_MIGRATIONS, start=1):
                        if version > current:
                            await conn.execute(statement.format(blob="BYTEA"))
                            await conn.execute("INSERT INTO masker_schema (version) VALUES (%s)", (version,))
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(74202601)")
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise VaultUnavailable("postgres vault unavailable") from exc
        except Exception as exc:  # psycopg_pool.PoolTimeout and friends
            raise VaultUnavailable("postgres vault unavailable") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _execute(
        self, query: str, params: Any = None, *, many: bool = False, fetch: bool = False
    ) -> Any:
        if self._pool is None:
            raise VaultUnavailable("vault is not open")
        try:
            async with asyncio.timeout(self._timeout * 2):
                async with self._pool.connection(timeout=self._timeout) as conn:
                    if many:
                        async with conn.cursor() as cur:
                            await cur.executemany(query, params)
                            return None
                    cur = await conn.execute(query, params)
                    if fetch:
                        return await cur.fetchone()
                    return cur.rowcount
        except VaultUnavailable:
            raise
        except Exception as exc:
            raise VaultUnavailable("postgres vault unavailable") from exc

    async def put_many(self, rows: Sequence[VaultRow]) -> None:
        if rows:
            await self._execute(
                "INSERT INTO masker_vault (scope_id, token_id, entity, ciphertext, created_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (scope_id, token_id) DO NOTHING",
                [(r.scope_id, r.token_id, r.entity, r.ciphertext, r.created_at, r.expires_at) for r in rows],
                many=True,
            )

    async def get(self, scope_id: str, token_id: str) -> VaultRow | None:
        row = await self._execute(
            "SELECT scope_id, token_id, entity, ciphertext, created_at, expires_at FROM masker_vault"
            " WHERE scope_id = %s AND token_id = %s AND (expires_at IS NULL OR expires_at > %s)",
            (scope_id, token_id, time.time()),
            fetch=True,
        )
        if row is None:
            return None
        return VaultRow(row[0], row[1], row[2], bytes(row[3]), row[4], row[5])

    async def shred_scope(self, scope_id: str) -> int:
        count: int = await self._execute("DELETE FROM masker_vault WHERE scope_id = %s", (scope_id,))
        return count

    async def purge_expired(self, now: float | None = None) -> int:
        count: int = await self._execute(
            "DELETE FROM masker_vault WHERE expires_at <= %s", (time.time() if now is None else now,)
        )
        return count

    async def size_bytes(self) -> int:
        row = await self._execute(
            "SELECT COALESCE(SUM(octet_length(ciphertext) + octet_length(scope_id)"
            " + octet_length(token_id)), 0)"
            " FROM masker_vault",
            fetch=True,
        )
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        await self._execute("SELECT 1", fetch=True)


def store_from_url(url: str) -> VaultStore:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise ConfigError("MASKER_DATABASE_URL: sqlite URL needs a file path")
        return SqliteStore(Path(path))
    if parts.scheme in {"postgres", "postgresql"}:
        return PostgresStore(url)
    raise ConfigError("MASKER_DATABASE_URL must start with sqlite:/// or postgresql://")
