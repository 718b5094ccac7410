"""The vault against real databases: SQLite files and the machine's PostgreSQL.

Idempotent writes, many concurrent requests on one conversation, two OS processes sharing one
PostgreSQL vault, a dead PostgreSQL failing fast, retention, crypto-shredding, size, rotation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faker import Faker

from masker.detect.types import Entity
from masker.tokens.codec import Codec, _open_vault
from masker.tokens.grammar import find_tokens
from masker.tokens.store import PostgresStore, ScopeKey, SqliteStore, VaultRow, VaultStore, VaultUnavailable

from .conftest import make_ring

ROOT = Path(__file__).resolve().parents[2]


def _values(n: int, seed: int = 7) -> list[tuple[Entity, str]]:
    fake = Faker()
    Faker.seed(seed)
    out: list[tuple[Entity, str]] = []
    for i in range(n):
        out.append((Entity.PHONE, fake.phone_number()) if i % 2 else (Entity.PERSON, fake.name()))
    return out


async def _resolve_cold(
    store: VaultStore, agent: str, names: tuple[str, ...], conv: str, token: str
) -> str | None:
    """Resolve with a brand-new codec: only the vault can answer."""
    (match,) = find_tokens(token)
    assert match.body is not None
    return await Codec(agent, make_ring(*names), store=store).session(conv).resolve(match.body)


async def test_writes_are_idempotent(store: VaultStore) -> None:
    codec = Codec("agent-idem", make_ring("K1"), store=store)
    session = codec.session("c1")
    token = session.tokenize(Entity.EMAIL, "jane.roe@example.org")
    await session.flush()
    # Same value again, from a new codec (cold written-cache) and by re-putting the same rows.
    again = Codec("agent-idem", make_ring("K1"), store=store).session("c1")
    assert again.tokenize(Entity.EMAIL, "jane.roe@example.org") == token
    await again.flush()
    row = await store.get(session.scope_id, find_tokens(token)[0].body[:-1])  # type: ignore[index]
    assert row is not None
    await store.put_many([row, row])
    assert await store.get(session.scope_id, row.token_id) == row
    assert await _resolve_cold(store, "agent-idem", ("K1",), "c1", token) == "jane.roe@example.org"


async def test_many_concurrent_requests_on_one_conversation(store: VaultStore) -> None:
    values = _values(40)
    codec = Codec("agent-conc", make_ring("K1"), store=store)
    rng = random.Random(3)

    async def request(i: int) -> list[tuple[str, str]]:
        # Half the requests use the shared codec (shared written-cache), half a codec of their own,
        # like requests landing on different replicas.
        c = codec if i % 2 else Codec("agent-conc", make_ring("K1"), store=store)
        session = c.session("call-1")
        picked = rng.sample(values, 15)
        tokens = [(session.tokenize(e, v), v) for e, v in picked]
        await asyncio.sleep(0)
        await session.flush()
        return tokens

    results = await asyncio.gather(*(request(i) for i in range(60)))
    by_value: dict[str, set[str]] = {}
    for tokens in results:
        for token, value in tokens:
            by_value.setdefault(value, set()).add(token)
    assert all(len(tokens) == 1 for tokens in by_value.values()), "a value got two tokens"
    bodies = {find_tokens(t)[0].body for ts in by_value.values() for t in ts}
    assert len(bodies) == len(by_value), "two values share a token"
    for value, (token,) in by_value.items():
        assert await _resolve_cold(store, "agent-conc", ("K1",), "call-1", token) == value
    # Exactly one scope key won the race.
    scope_id = codec.scope_id("call-1")
    key = await store.get_scope_key(scope_id)
    assert key is not None


async def test_tokens_are_scoped_to_agent_and_conversation(store: VaultStore) -> None:
    a = Codec("agent-a", make_ring("K1"), store=store)
    s1, s2 = a.session("c1"), a.session("c2")
    t1, t2 = s1.tokenize(Entity.PHONE, "555-010-2233"), s2.tokenize(Entity.PHONE, "555-010-2233")
    assert t1 != t2
    await s1.flush()
    await s2.flush()
    assert await _resolve_cold(store, "agent-a", ("K1",), "c2", t1) is None
    assert await _resolve_cold(store, "agent-b", ("K1",), "c1", t1) is None
    assert await _resolve_cold(store, "agent-a", ("K1",), "c1", t1) == "555-010-2233"


def _run_peer(action: str, url: str, payload: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.tokens.vault_peer", action, url, "agent-shared", "call-9"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    return proc


def _result(proc: subprocess.Popen[str]) -> object:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    return json.loads(out)


def test_two_processes_share_one_postgres_vault(pg_url: str) -> None:
    values = [(e.value, v) for e, v in _values(30, seed=11)]
    # Two writer processes at once, overlapping values: same tokens, one row each.
    a = _run_peer("write", pg_url, values[:20])
    b = _run_peer("write", pg_url, values[10:])
    tokens_a, tokens_b = _result(a), _result(b)
    assert isinstance(tokens_a, list) and isinstance(tokens_b, list)
    assert tokens_a[10:] == tokens_b[:10]
    # A third process that wrote nothing resolves everything from the vault.
    every = tokens_a + tokens_b[10:]
    resolved = _result(_run_peer("resolve", pg_url, every))
    assert resolved == [v for _, v in values]


def test_two_processes_share_one_sqlite_vault_turn_by_turn(tmp_path: Path) -> None:
    """``MASKER_WORKERS=2`` with the embedded vault: two processes write a row per turn into one
    SQLite file at once, while a third holds the write lock for a while (as a long purge would).
    Inline writes that find the database locked go to the SQLite thread, which waits; nothing
    fails, nothing is lost."""
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    values = [(e.value, v) for e, v in _values(1600, seed=13)]
    start_at = time.time() + 4  # both processes up and importing done: their turns overlap
    a = _run_peer("turns", url, {"start_at": start_at, "items": values[:800]})
    b = _run_peer("turns", url, {"start_at": start_at, "items": values[800:]})
    time.sleep(max(0.0, start_at - time.time() - 0.05))
    holder = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # held from just before the peers start until after
        time.sleep(max(0.0, start_at - time.time()) + 0.3)
        holder.execute("COMMIT")
    finally:
        holder.close()
    tokens = _result(a), _result(b)
    assert all(isinstance(t, list) and len(t) == 800 for t in tokens)
    every = [*tokens[0], *tokens[1]]  # type: ignore[misc]
    assert _result(_run_peer("resolve", url, every)) == [v for _, v in values]


async def test_postgres_down_fails_fast_with_vault_unavailable() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{port}/test", timeout=1.0)
    with pytest.raises(VaultUnavailable):
        # wait_for bounds the test: a hang fails it instead of stalling the suite.
        await asyncio.wait_for(store.open(), 10)
    with pytest.raises(VaultUnavailable):
        await store.get("scope", "token")


async def test_sqlite_unwritable_path_is_vault_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = SqliteStore(blocker / "vault.db")  # parent is a file
    with pytest.raises((VaultUnavailable, OSError)):
        await store.open()


async def test_ttl_expired_rows_are_not_resolved_then_purged_then_rewritten(store: VaultStore) -> None:
    codec = Codec("agent-ttl", make_ring("K1"), store=store, ttl_seconds=1.0)
    session = codec.session("c")
    token = session.tokenize(Entity.SSN, "123-45-6789")
    await session.flush()
    assert await _resolve_cold(store, "agent-ttl", ("K1",), "c", token) == "123-45-6789"
    await asyncio.sleep(1.2)
    assert await _resolve_cold(store, "agent-ttl", ("K1",), "c", token) is None
    # Seen again after expiry (before any purge): the expired row is replaced, the token resolves.
    again = codec.session("c")
    assert again.tokenize(Entity.SSN, "123-45-6789") == token
    await again.flush()
    assert await _resolve_cold(store, "agent-ttl", ("K1",), "c", token) == "123-45-6789"
    assert await codec.purge_expired(now=time.time() + 5) == 1
    assert await store.get_scope_key(codec.scope_id("c")) is None  # no row needs the key any more


async def test_shred_makes_rows_undecryptable_even_when_restored_from_backup(store: VaultStore) -> None:
    codec = Codec("agent-shred", make_ring("K1"), store=store)
    doomed, kept = codec.session("doomed"), codec.session("kept")
    t_doomed = doomed.tokenize(Entity.PERSON, "Maria Lopez")
    t_kept = kept.tokenize(Entity.PERSON, "Maria Lopez")
    await doomed.flush()
    await kept.flush()
    body = find_tokens(t_doomed)[0].body
    assert body is not None
    backup = await store.get(doomed.scope_id, body[:-1])  # a backup of the vault table
    assert backup is not None
    assert await codec.shred("doomed") == 1
    assert await _resolve_cold(store, "agent-shred", ("K1",), "doomed", t_doomed) is None
    await store.put_many([backup])  # restore the row from the backup: the key is gone
    assert await _resolve_cold(store, "agent-shred", ("K1",), "doomed", t_doomed) is None
    assert await _resolve_cold(store, "agent-shred", ("K1",), "kept", t_kept) == "Maria Lopez"
    # The conversation can go on afterwards, with a new data key.
    fresh = codec.session("doomed")
    t_new = fresh.tokenize(Entity.PERSON, "Maria Lopez")
    await fresh.flush()
    assert await _resolve_cold(store, "agent-shred", ("K1",), "doomed", t_new) == "Maria Lopez"


async def test_size_bytes_is_the_databases_own_on_disk_figure(store: VaultStore) -> None:
    # Read from the database's statistics (page count, relation sizes), not summed over rows: the
    # gauge must stay cheap at a million rows, and report what the disk holds.
    codec = Codec("agent-size", make_ring("K1"), store=store)
    empty = await codec.size_bytes()
    session = codec.session("c")
    for i in range(3000):
        session.tokenize(Entity.EMAIL, f"user{i}@example.org")
    await session.flush()
    grown = await codec.size_bytes()
    assert grown > empty and grown >= 3000 * 60  # at least the ciphertexts
    if isinstance(store, SqliteStore):
        import sqlite3

        with sqlite3.connect(store._path) as other:  # fold the WAL into the file, then compare
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert grown == store._path.stat().st_size
    else:
        assert isinstance(store, PostgresStore)
        row = await store._fetch(
            "SELECT pg_total_relation_size('masker_vault') + pg_total_relation_size('masker_scope_keys'),"
            " (SELECT COUNT(*) FROM masker_vault)",
            (),
        )
        assert row is not None and int(row[0]) == grown and int(row[1]) == 3000


async def test_rotation_vault_new_key_for_new_tokens_old_tokens_resolve(store: VaultStore) -> None:
    old = Codec("agent-rot", make_ring("K1"), store=store)
    s_old = old.session("c")
    t_old = s_old.tokenize(Entity.PHONE, "555-333-4444")
    await s_old.flush()
    key = await store.get_scope_key(old.scope_id("c"))
    assert key is not None and key.kid == make_ring("K1").current.kid

    rotated = Codec("agent-rot", make_ring("K2", "K1"), store=store)
    s_new = rotated.session("c")
    t_new = s_new.tokenize(Entity.PHONE, "555-333-4444")
    assert t_new != t_old
    assert find_tokens(t_new)[0].body[0] == make_ring("K2").current.kid  # type: ignore[index]
    await s_new.flush()
    assert await _resolve_cold(store, "agent-rot", ("K2", "K1"), "c", t_old) == "555-333-4444"
    assert await _resolve_cold(store, "agent-rot", ("K2", "K1"), "c", t_new) == "555-333-4444"
    # The scope's data key was re-wrapped with K2 on that write, so K1 can now be retired.
    key = await store.get_scope_key(old.scope_id("c"))
    assert key is not None and key.kid == make_ring("K2").current.kid
    assert await _resolve_cold(store, "agent-rot", ("K2",), "c", t_old) == "555-333-4444"
    assert await _resolve_cold(store, "agent-rot", ("K1",), "c", t_old) is None


async def test_scope_key_upsert_keeps_the_first_key_and_longest_expiry(store: VaultStore) -> None:
    first = await store.ensure_scope_key(ScopeKey("s", "A", b"first", 1.0, 100.0))
    second = await store.ensure_scope_key(ScopeKey("s", "B", b"second", 2.0, 50.0))
    assert (first.wrapped, second.wrapped) == (b"first", b"first")
    assert second.expires_at == 100.0
    forever = await store.ensure_scope_key(ScopeKey("s", "B", b"third", 3.0, None))
    assert forever.expires_at is None and forever.wrapped == b"first"


async def test_migrations_run_once_and_reopen_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    store = SqliteStore(path)
    await store.open()
    await store.put_many([VaultRow("s", "t", "PHONE", b"x" * 28, time.time(), None)])
    await store.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert await store.get("s", "t") is not None
    finally:
        await store.close()


async def test_memoised_tokens_are_stable_hold_no_values_and_rewrite_after_shred(store: VaultStore) -> None:
    codec = Codec("agent-memo", make_ring("K1"), store=store)
    value = "555-010-7788"
    first = codec.session("c")
    token = first.tokenize(Entity.PHONE, value)
    assert first.tokenize(Entity.PHONE, value) == token
    assert codec.session("c").tokenize(Entity.ID_NUMBER, value) != token  # the entity is part of the id
    await first.flush()
    assert all(value not in repr(key) for key in codec._bodies)
    await codec.shred("c")
    again = codec.session("c")
    assert again.tokenize(Entity.PHONE, value) == token  # served from the memo...
    await again.flush()  # ...and still written again, so it resolves after the shred
    assert await _resolve_cold(store, "agent-memo", ("K1",), "c", token) == value


async def test_sqlite_write_while_another_process_holds_the_lock_waits_for_it(tmp_path: Path) -> None:
    """An inline write never waits on the event loop: a locked database sends it to the SQLite
    thread, which waits (busy timeout) and then writes."""
    path = tmp_path / "v.db"
    store = SqliteStore(path)
    await store.open()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        write = asyncio.ensure_future(
            store.put_many([VaultRow("s", "t", "PHONE", b"x" * 28, time.time(), None)])
        )
        await asyncio.sleep(0.3)
        assert not write.done()
        blocker.execute("COMMIT")
        await asyncio.wait_for(write, 10)
        assert await store.get("s", "t") is not None
    finally:
        blocker.close()
        await store.close()


async def test_sqlite_inline_writes_are_checkpointed_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    store = SqliteStore(path)
    await store.open()
    try:
        empty = path.stat().st_size
        for i in range(300):  # more than one checkpoint interval, one row per write as in a call
            await store.put_many([VaultRow("s", f"t{i}", "PHONE", os.urandom(64), time.time(), None)])
        deadline = time.monotonic() + 10
        while path.stat().st_size == empty and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert path.stat().st_size > empty
        assert await store.get("s", "t299") is not None
    finally:
        await store.close()


async def test_sqlite_slow_inline_writes_move_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A volume where every write is slow (threshold 0 here) must not keep stalling the event loop:
    after a streak of slow writes, writes go to the SQLite thread, and keep working."""
    import masker.tokens.store as store_module

    monkeypatch.setattr(store_module, "_INLINE_SLOW_SECONDS", 0.0)
    store = SqliteStore(tmp_path / "v.db")
    await store.open()
    try:
        for i in range(store_module._INLINE_SLOW_STREAK - 1):
            await store.put_many([VaultRow("s", f"t{i}", "PHONE", b"x" * 28, time.time(), None)])
        assert store._inline is not None
        for i in range(10, 13):
            await store.put_many([VaultRow("s", f"t{i}", "PHONE", b"x" * 28, time.time(), None)])
        assert store._inline is None
        assert await store.get("s", "t0") is not None and await store.get("s", "t12") is not None
    finally:
        await store.close()


_OPEN_AT = """
import asyncio, sys, time
from pathlib import Path
from masker.tokens.store import SqliteStore

async def main() -> None:
    while time.time() < float(sys.argv[2]):  # the last moments spun, so the pair starts together
        time.sleep(max(0.0, float(sys.argv[2]) - time.time() - 0.01))
    store = SqliteStore(Path(sys.argv[1]))
    await store.open()
    await store.close()

asyncio.run(main())
"""


def test_workers_opening_a_new_sqlite_vault_at_once_all_start(tmp_path: Path) -> None:
    """``MASKER_WORKERS=2`` on a first start: both processes create and migrate the same new file at
    the same instant. SQLite tells the loser of the switch to WAL "database is locked" without
    waiting; it must retry, not fail its start-up. Eight pairs, one after the other."""
    failures = []
    for i in range(8):
        start_at = time.time() + 1.0
        pair = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_AT, str(tmp_path / f"pair{i}" / "vault.db"), str(start_at)],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        failures += [p.stderr.read()[-300:] for p in pair if p.wait(timeout=60) != 0]  # type: ignore[union-attr]
    assert failures == []


async def test_rows_are_sealed_and_fingerprinted_with_the_scope_key_in_force(store: VaultStore) -> None:
    """The cipher and fingerprint cached with a data key are replaced with it: after another replica
    shreds the scope and the cached key expires, rows are sealed under the new key only."""
    codec = Codec("agent-dek", make_ring("K1"), store=store)

    async def write(conversation: str, value: str) -> tuple[VaultRow, bytes]:
        session = codec.session(conversation)
        body = session.token_body(Entity.PHONE, value)
        await session.flush()
        row = await store.get(session.scope_id, body[:-1])
        scope_key = await store.get_scope_key(session.scope_id)
        assert row is not None and scope_key is not None
        dek = codec._unwrap(scope_key)
        assert dek is not None
        return row, dek

    def fingerprint(dek: bytes) -> str:
        return hmac.new(dek, b"masker/dek-id", hashlib.sha256).hexdigest()[:16]

    first, dek = await write("c", "555-010-0001")
    assert first.dek_id == fingerprint(dek) and _open_vault(dek, first) == "555-010-0001"
    other, other_dek = await write("d", "555-010-0001")
    assert other_dek != dek and other.dek_id == fingerprint(other_dek) != first.dek_id

    await store.shred_scope(codec.scope_id("c"))  # another replica shreds the conversation...
    codec._deks.pop(codec.scope_id("c"))  # ...and our copy expires
    second, new_dek = await write("c", "555-010-0002")
    assert new_dek != dek
    assert second.dek_id == fingerprint(new_dek) and _open_vault(new_dek, second) == "555-010-0002"
    assert _open_vault(dek, second) is None


def test_vault_token_ids_are_stable_across_versions() -> None:
    # Known answers: a vault token id is derived (HMAC of scope, entity and value under the agent's
    # key), and tokens already in conversations and vaults must keep resolving after an upgrade.
    from masker.tokens.keys import Key, KeyRing

    ring = KeyRing((Key("KAT1", bytes(range(32))),))
    session = Codec("agent-kat", ring, mode="vault").session("call-1")
    assert [
        session.tokenize(Entity.PHONE, "(415) 555-0100"),
        session.tokenize(Entity.PERSON, "Jane Roe"),
        session.tokenize(Entity.DATE, "3/4/1990"),
    ] == ["MSKV1.PHONE.5XWF9CKDV9", "MSKV1.NAME.5TKBQH4YXW", "MSKV1.DATE.5PFARJM14F"]
