"""Vault storage: encrypted token rows in SQLite (embedded default) or PostgreSQL (multi-replica).

Two tables:

* ``masker_vault`` — one row per token, keyed by ``(scope_id, token_id)``, the value sealed with the
  scope's data key. Token ids are derived deterministically from the value (HMAC), so concurrent
  writers of the same value write the same row and the upsert makes every write idempotent: no
  locks, no renumbering, safe across replicas. An *expired* row is replaced by a new write of the
  same token, so a value seen again after its retention resolves again.
* ``masker_scope_keys`` — one data key per scope (agent + conversation), wrapped with the agent's
  key. Get-or-create is a single atomic upsert, so concurrent first writes agree on one key.
  Deleting this row (``shred_scope``) makes every row of the conversation undecryptable, including
  copies of ``masker_vault`` in backups that do not also hold the key row (see docs/tokens.md).

Values are stored only as AES-GCM ciphertext; scope ids are hashes, never raw conversation ids.
Migrations run at boot (PostgreSQL: under an advisory lock, so replicas booting together are safe).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from ..errors import ConfigError

T = TypeVar("T")


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
    dek_id: str | None = None  # fingerprint of the scope data key that sealed ``ciphertext``


@dataclass(frozen=True, slots=True)
class ScopeKey:
    """A scope's data key, wrapped (AES-GCM) with the agent key whose id symbol is ``kid``."""

    scope_id: str
    kid: str
    wrapped: bytes
    created_at: float
    expires_at: float | None


class VaultStore(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def put_many(self, rows: Sequence[VaultRow]) -> None: ...
    async def get(self, scope_id: str, token_id: str) -> VaultRow | None: ...
    async def ensure_scope_key(self, candidate: ScopeKey) -> ScopeKey: ...
    async def get_scope_key(self, scope_id: str) -> ScopeKey | None: ...
    async def rewrap_scope_key(self, scope_id: str, old_wrapped: bytes, kid: str, wrapped: bytes) -> bool: ...
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
    """CREATE TABLE IF NOT EXISTS masker_scope_keys (
        scope_id TEXT PRIMARY KEY,
        kid TEXT NOT NULL,
        wrapped {blob} NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION
    )""",
    "ALTER TABLE masker_vault ADD COLUMN dek_id TEXT",
)

# Statements shared by both engines; ``?`` placeholders are rewritten to ``%s`` for psycopg.
_PUT = (
    "INSERT INTO masker_vault (scope_id, token_id, entity, ciphertext, created_at, expires_at, dek_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope_id, token_id) DO UPDATE SET"
    " entity = excluded.entity, ciphertext = excluded.ciphertext, created_at = excluded.created_at,"
    " expires_at = excluded.expires_at, dek_id = excluded.dek_id"
    # Replace a row only when it is expired or sealed with another data key (a row restored from
    # a backup after its conversation was shredded): an idempotent write otherwise.
    " WHERE (masker_vault.expires_at IS NOT NULL AND masker_vault.expires_at <= excluded.created_at)"
    " OR masker_vault.dek_id IS DISTINCT FROM excluded.dek_id"
)
_GET = (
    "SELECT scope_id, token_id, entity, ciphertext, created_at, expires_at, dek_id FROM masker_vault"
    " WHERE scope_id = ? AND token_id = ? AND (expires_at IS NULL OR expires_at > ?)"
)
# The key lives as long as the longest-lived row written under it (NULL = forever).
_ENSURE_KEY = (
    "INSERT INTO masker_scope_keys (scope_id, kid, wrapped, created_at, expires_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope_id) DO UPDATE SET expires_at = CASE"
    " WHEN masker_scope_keys.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL"
    " WHEN masker_scope_keys.expires_at > excluded.expires_at THEN masker_scope_keys.expires_at"
    " ELSE excluded.expires_at END"
    " RETURNING scope_id, kid, wrapped, created_at, expires_at"
)
_GET_KEY = "SELECT scope_id, kid, wrapped, created_at, expires_at FROM masker_scope_keys WHERE scope_id = ?"
_REWRAP = "UPDATE masker_scope_keys SET kid = ?, wrapped = ? WHERE scope_id = ? AND wrapped = ?"
_PURGE_ROWS = "DELETE FROM masker_vault WHERE expires_at <= ?"
_PURGE_KEYS = (
    "DELETE FROM masker_scope_keys WHERE expires_at <= ? AND NOT EXISTS"
    " (SELECT 1 FROM masker_vault v WHERE v.scope_id = masker_scope_keys.scope_id)"
)
_SHRED_KEY = "DELETE FROM masker_scope_keys WHERE scope_id = ?"
_SHRED_ROWS = "DELETE FROM masker_vault WHERE scope_id = ?"


def _row_params(rows: Sequence[VaultRow]) -> list[tuple[Any, ...]]:
    # One row per key, in key order: concurrent batches that overlap then take their row locks in
    # the same order and cannot deadlock (PostgreSQL detects and aborts such a cycle).
    unique = {(r.scope_id, r.token_id): r for r in rows}
    return [
        (r.scope_id, r.token_id, r.entity, r.ciphertext, r.created_at, r.expires_at, r.dek_id)
        for _, r in sorted(unique.items())
    ]


def _key(row: Sequence[Any]) -> ScopeKey:
    return ScopeKey(str(row[0]), str(row[1]), bytes(row[2]), float(row[3]), row[4])


# Inline vault writes: a turn's few new rows are written on the event loop itself. Handing them to
# the SQLite thread costs two cross-thread wake-ups, ~0.2 ms each when the turn follows a pause
# (a voice call's normal rhythm), four times the insert itself. Inline writes never wait: no busy
# timeout (a locked database goes to the thread, which may wait) and no automatic checkpoint (its
# fsync is left to the thread, every ``_CHECKPOINT_EVERY`` inline commits). A write slower than
# ``_INLINE_SLOW_SECONDS``, ``_INLINE_SLOW_STREAK`` times in a row (a slow volume), turns inline
# writes off for good.
_INLINE_MAX_ROWS = 16
_CHECKPOINT_EVERY = 256
_INLINE_SLOW_SECONDS = 0.005
_INLINE_SLOW_STREAK = 8
_OPEN_RETRY_SECONDS = 10.0


def _busy(exc: sqlite3.OperationalError) -> bool:
    return exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteStore:
    """SQLite in WAL mode, driven from one dedicated thread (sqlite3 objects are thread-bound),
    except small writes, which the event loop makes itself on a second connection (see above)."""

    def __init__(self, path: Path, *, inline_writes: bool = True) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="masker-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._inline_wanted = inline_writes
        self._inline: sqlite3.Connection | None = None
        self._inline_commits = 0
        self._slow_writes = 0
        self._checkpoint: asyncio.Future[None] | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            raise VaultUnavailable("sqlite vault error") from exc

    def _open(self) -> None:
        # Workers starting together on a new file race to switch it to WAL, and SQLite answers the
        # loser "database is locked" at once, busy timeout or not: try again for a while.
        self._path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + _OPEN_RETRY_SECONDS
        while True:
            try:
                self._conn = self._connect_and_migrate()
                break
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if self._inline_wanted:
            inline = sqlite3.connect(self._path, timeout=5.0, isolation_level=None, check_same_thread=False)
            inline.execute("PRAGMA synchronous=NORMAL")
            inline.execute("PRAGMA wal_autocheckpoint=0")
            inline.execute("PRAGMA busy_timeout=0")  # set up like the others; from now on never wait
            self._inline = inline

    def _connect_and_migrate(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("BEGIN IMMEDIATE")  # one migrator at a time across processes
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS masker_schema (version INTEGER NOT NULL)")
                row = conn.execute("SELECT MAX(version) FROM masker_schema").fetchone()
                current = row[0] or 0
                for version, statement in enumerate(_MIGRATIONS, start=1):
                    if version > current:
                        conn.execute(statement.format(blob="BLOB"))
                        conn.execute("INSERT INTO masker_schema (version) VALUES (?)", (version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._pool.shutdown(wait=True)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise VaultUnavailable("vault is not open")
        return self._conn

    def _tx(self, *statements: tuple[str, Sequence[Any]]) -> int:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            count = 0
            for sql, params in statements:
                count = db.execute(sql, params).rowcount
            db.execute("COMMIT")
            return count
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def put_many(self, rows: Sequence[VaultRow]) -> None:
        if not rows:
            return
        if len(rows) > _INLINE_MAX_ROWS:
            # A large body's tens of thousands of rows: their parameters are built on the database
            # thread too, not on the event loop.
            await self._run(self._put_rows, rows)
            return
        params = _row_params(rows)
        if self._inline is not None and self._put_inline(params):
            return
        await self._run(self._put_many, params)

    def _put_rows(self, rows: Sequence[VaultRow]) -> None:
        self._put_many(_row_params(rows))

    def _put_inline(self, params: list[tuple[Any, ...]]) -> bool:
        """True if written; False if the database is locked (the caller uses the thread)."""
        assert self._inline is not None
        started = time.perf_counter()
        try:
            self._put_many(params, self._inline)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                return False
            raise VaultUnavailable("sqlite vault error") from exc
        except sqlite3.Error as exc:
            raise VaultUnavailable("sqlite vault error") from exc
        if time.perf_counter() - started <= _INLINE_SLOW_SECONDS:
            self._slow_writes = 0
        else:  # the first writes after start-up are slow anyway (WAL file creation, cold caches)
            self._slow_writes += 1
            if self._slow_writes >= _INLINE_SLOW_STREAK:
                self._inline_wanted = False
                inline: sqlite3.Connection = self._inline
                self._inline = None
                inline.close()
        self._inline_commits += 1
        if self._inline_commits % _CHECKPOINT_EVERY == 0 and self._checkpoint is None:
            self._checkpoint = asyncio.ensure_future(self._run(self._wal_checkpoint))
            self._checkpoint.add_done_callback(self._checkpoint_done)
        return True

    def _wal_checkpoint(self) -> None:
        self._db().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpoint_done(self, future: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not future.cancelled():
            future.exception()  # a failed checkpoint is retried by the next one; nothing to report

    def _put_many(self, params: list[tuple[Any, ...]], conn: sqlite3.Connection | None = None) -> None:
        db = conn or self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_PUT, params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        # fetchall: a RETURNING statement left half-stepped would keep its write transaction open.
        rows = self._db().execute(sql, params).fetchall()
        return tuple(rows[0]) if rows else None

    async def get(self, scope_id: str, token_id: str) -> VaultRow | None:
        row = await self._run(self._fetch, _GET, (scope_id, token_id, time.time()))
        return None if row is None else VaultRow(*row)

    async def ensure_scope_key(self, candidate: ScopeKey) -> ScopeKey:
        c = candidate
        params = (c.scope_id, c.kid, c.wrapped, c.created_at, c.expires_at)
        row = await self._run(self._fetch, _ENSURE_KEY, params)
        if row is None:  # pragma: no cover - RETURNING always yields the row
            raise VaultUnavailable("scope key upsert returned nothing")
        return _key(row)

    async def get_scope_key(self, scope_id: str) -> ScopeKey | None:
        row = await self._run(self._fetch, _GET_KEY, (scope_id,))
        return None if row is None else _key(row)

    async def rewrap_scope_key(self, scope_id: str, old_wrapped: bytes, kid: str, wrapped: bytes) -> bool:
        count = await self._run(self._tx, (_REWRAP, (kid, wrapped, scope_id, old_wrapped)))
        return count == 1

    async def shred_scope(self, scope_id: str) -> int:
        return await self._run(self._tx, (_SHRED_KEY, (scope_id,)), (_SHRED_ROWS, (scope_id,)))

    async def purge_expired(self, now: float | None = None) -> int:
        at = time.time() if now is None else now

        def purge() -> int:
            rows = self._tx((_PURGE_ROWS, (at,)))
            self._tx((_PURGE_KEYS, (at,)))
            return rows

        return await self._run(purge)

    async def size_bytes(self) -> int:
        """Bytes of the database file, from SQLite's own page count: no table scan."""

        def size() -> int:
            db = self._db()
            pages = db.execute("PRAGMA page_count").fetchone()
            page_size = db.execute("PRAGMA page_size").fetchone()
            return int(pages[0]) * int(page_size[0])

        return await self._run(size)

    async def ping(self) -> None:
        await self._run(self._fetch, "SELECT 1", ())


def _pg(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresStore:
    """PostgreSQL through a psycopg async pool; short timeouts so an outage fails fast (503)."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 3.0) -> None:
        self._url = url
        self._min, self._max, self._timeout = min_size, max_size, timeout
        self._pool: Any = None

    async def open(self) -> None:
        import psycopg
        from psycopg_pool import AsyncConnectionPool

        try:
            # One direct connection first: a refused port fails here at once, where the pool
            # would keep retrying in the background until its timeout.
            async with asyncio.timeout(self._timeout * 2):
                conn = await psycopg.AsyncConnection.connect(
                    self._url, connect_timeout=max(1, int(self._timeout)), autocommit=True
                )
                async with conn:
                    await self._migrate(conn)
            self._pool = AsyncConnectionPool(
                self._url,
                min_size=self._min,
                max_size=self._max,
                timeout=self._timeout,
                open=False,
                kwargs={"connect_timeout": max(1, int(self._timeout)), "autocommit": True},
            )
            await self._pool.open(wait=True, timeout=self._timeout * 3)
        except Exception as exc:  # psycopg.Error, OSError, TimeoutError, psycopg_pool.PoolTimeout
            if self._pool is not None:
                await self._pool.close()
                self._pool = None
            raise VaultUnavailable("postgres vault unavailable") from exc

    @staticmethod
    async def _migrate(conn: Any) -> None:
        # One migrator at a time across replicas booting together.
        await conn.execute("SELECT pg_advisory_lock(74202601)")
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS masker_schema (version INTEGER NOT NULL)")
            cur = await conn.execute("SELECT MAX(version) FROM masker_schema")
            row = await cur.fetchone()
            current = (row[0] if row else 0) or 0
            for version, statement in enumerate(_MIGRATIONS, start=1):
                if version > current:
                    async with conn.transaction():
                        await conn.execute(statement.format(blob="BYTEA"))
                        await conn.execute("INSERT INTO masker_schema (version) VALUES (%s)", (version,))
        finally:
            await conn.execute("SELECT pg_advisory_unlock(74202601)")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _with_conn(self, work: Callable[[Any], Awaitable[T]]) -> T:
        if self._pool is None:
            raise VaultUnavailable("vault is not open")
        try:
            async with asyncio.timeout(self._timeout * 2):
                async with self._pool.connection(timeout=self._timeout) as conn:
                    return await work(conn)
        except VaultUnavailable:
            raise
        except Exception as exc:
            raise VaultUnavailable("postgres vault unavailable") from exc

    async def _fetch(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        async def work(conn: Any) -> tuple[Any, ...] | None:
            cur = await conn.execute(_pg(sql), params)
            row: tuple[Any, ...] | None = await cur.fetchone()
            return row

        return await self._with_conn(work)

    async def _tx(self, *statements: tuple[str, Sequence[Any]]) -> int:
        async def work(conn: Any) -> int:
            count = 0
            async with conn.transaction():
                for sql, params in statements:
                    cur = await conn.execute(_pg(sql), params)
                    count = int(cur.rowcount)
            return count

        return await self._with_conn(work)

    async def put_many(self, rows: Sequence[VaultRow]) -> None:
        if not rows:
            return

        async def work(conn: Any) -> None:
            async with conn.transaction(), conn.cursor() as cur:
                await cur.executemany(_pg(_PUT), _row_params(rows))

        await self._with_conn(work)

    async def get(self, scope_id: str, token_id: str) -> VaultRow | None:
        row = await self._fetch(_GET, (scope_id, token_id, time.time()))
        if row is None:
            return None
        return VaultRow(row[0], row[1], row[2], bytes(row[3]), row[4], row[5], row[6])

    async def ensure_scope_key(self, candidate: ScopeKey) -> ScopeKey:
        c = candidate
        row = await self._fetch(_ENSURE_KEY, (c.scope_id, c.kid, c.wrapped, c.created_at, c.expires_at))
        if row is None:  # pragma: no cover - RETURNING always yields the row
            raise VaultUnavailable("scope key upsert returned nothing")
        return _key(row)

    async def get_scope_key(self, scope_id: str) -> ScopeKey | None:
        row = await self._fetch(_GET_KEY, (scope_id,))
        return None if row is None else _key(row)

    async def rewrap_scope_key(self, scope_id: str, old_wrapped: bytes, kid: str, wrapped: bytes) -> bool:
        return await self._tx((_REWRAP, (kid, wrapped, scope_id, old_wrapped))) == 1

    async def shred_scope(self, scope_id: str) -> int:
        return await self._tx((_SHRED_KEY, (scope_id,)), (_SHRED_ROWS, (scope_id,)))

    async def purge_expired(self, now: float | None = None) -> int:
        at = time.time() if now is None else now
        rows = await self._tx((_PURGE_ROWS, (at,)))
        await self._tx((_PURGE_KEYS, (at,)))
        return rows

    async def size_bytes(self) -> int:
        # On-disk bytes of both tables with their indexes and TOAST, from the catalog: no scan.
        row = await self._fetch(
            "SELECT pg_total_relation_size('masker_vault') + pg_total_relation_size('masker_scope_keys')",
            (),
        )
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        await self._fetch("SELECT 1", ())


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
