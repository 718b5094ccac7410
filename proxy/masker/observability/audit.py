"""Tamper-evident audit log: one JSONL record per proxied request, HMAC-chained, rotated daily.

A hospital's reviewer must be able to prove what the proxy did without the proxy keeping PHI.
So a record holds only ids, counts, timings and statuses (never text), and each record carries

    seq   position in the chain (0, 1, 2... across all files and restarts)
    prev  the previous record's hmac (64 zeros for seq 0)
    hmac  HMAC-SHA256(MASKER_AUDIT_HMAC_KEY, canonical JSON of every other field)

so editing, deleting, inserting or reordering lines breaks the chain at the first bad line, and
nobody without the key can repair it. Files are ``audit-YYYY-MM-DD.jsonl`` (UTC date at write
time, never going backwards); the chain continues from file to file. ``audit.head`` records the
last sealed (seq, hmac) under its own MAC so that cutting records off the end is detected too.

Records are sealed when they are submitted (after the answer has been sent, on the event loop)
and written in batches: the first record of a batch schedules a write ``linger`` seconds later
on the same loop. There is no writer thread on purpose. Hyperscan (``detect/multiscan``) gives up
the GIL around every scan and takes it back for each match it reports; a second thread that is
runnable at that moment (a writer thread sealing a batch) makes every one of those hand-overs
wait for it (a scan of ~10 us took 56 ms beside a busy thread, in a micro-benchmark). A batch append costs
tens of microseconds every ``linger`` seconds; a volume that turns out slow (a write over
``SLOW_WRITE_SECONDS``) gets its writes moved to a worker thread from then on. Without a running
event loop (tools, tests) a record is written at once. A record that cannot be sealed or written,
or that finds ``max_queue`` records already waiting, is dropped and counted through ``on_drop``
(wired to ``masker_audit_dropped_total``) rather than stall requests; :meth:`close` writes what
is waiting.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from ._safety import is_entity_name, is_request_id, is_safe_name, is_safe_route

__all__ = [
    "GENESIS",
    "AuditChain",
    "AuditLog",
    "AuditRecord",
    "VerifyFailure",
    "VerifyReport",
    "audit_files",
    "chain_directories",
    "load_hmac_key",
    "verify_paths",
]

SLOW_WRITE_SECONDS = 0.01  # a batch append slower than this moves writing off the event loop
_log = logging.getLogger(__name__)

GENESIS: Final = "0" * 64
HEAD_FILE: Final = "audit.head"
_FILE_RE: Final = re.compile(r"audit-(\d{4}-\d{2}-\d{2})\.jsonl")
_CHAIN_FIELDS: Final = ("seq", "prev", "hmac")
LOCK_FILE: Final = ".writer.lock"
_WRITER_DIR_RE: Final = re.compile(r"writer-(\d+)")
_MAX_WRITERS: Final = 256


def load_hmac_key(value: str) -> bytes:
    """Decode ``MASKER_AUDIT_HMAC_KEY`` (base64 of 32 random bytes). The message never shows it."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("MASKER_AUDIT_HMAC_KEY must be base64") from exc
    if len(key) != 32:
        raise ValueError("MASKER_AUDIT_HMAC_KEY must decode to exactly 32 bytes")
    return key


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(key: bytes, fields: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(fields), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, seq: int, last: str) -> str:
    return hmac.new(key, f"audit.head|{seq}|{last}".encode(), hashlib.sha256).hexdigest()


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What one request leaves behind. Every string is a configured name, route or id.

    ``endpoint`` is the route *template* (``/proxy/{agent_id}/v1/chat/completions``), never the
    concrete path: that would write the agent id (a secret) into the log. Construction refuses
    values that are not name-shaped, so text cannot slip in through a field by mistake.
    """

    request_id: str
    agent: str
    endpoint: str
    entities_by_type: Mapping[Any, int] = field(default_factory=dict)  # str or Entity keys
    policy_id: str | None = None
    redaction_ms: float = 0.0
    upstream_ms: float | None = None
    upstream_status: int | None = None
    tenant: str | None = None
    degraded: bool = False
    fail_open: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # Messages name the field, never the value.
        if not is_request_id(self.request_id):
            raise ValueError("audit: request_id is not id-shaped")
        if not is_safe_name(self.agent):
            raise ValueError("audit: agent must be the configured agent name")
        if self.tenant is not None and not is_safe_name(self.tenant):
            raise ValueError("audit: tenant must be a configured name")
        if self.policy_id is not None and not is_safe_name(self.policy_id):
            raise ValueError("audit: policy_id must be a configured name")
        if not is_safe_route(self.endpoint):
            raise ValueError("audit: endpoint must be a route template")
        for kind, count in self.entities_by_type.items():
            if not is_entity_name(str(kind)) or not isinstance(count, int) or count < 0:
                raise ValueError("audit: entities_by_type must map entity types to counts")
        if self.upstream_status is not None and not 100 <= self.upstream_status <= 599:
            raise ValueError("audit: upstream_status must be an HTTP status")
        if self.timestamp.tzinfo is None:
            raise ValueError("audit: timestamp must be timezone-aware")

    def fields(self) -> dict[str, Any]:
        """The record's JSON fields, without the chain fields."""
        by_type = {str(k): int(v) for k, v in sorted(self.entities_by_type.items()) if v}
        return {
            "request_id": self.request_id,
            "timestamp": _iso(self.timestamp),
            "tenant": self.tenant,
            "agent": self.agent,
            "endpoint": self.endpoint,
            "entities_total": sum(by_type.values()),
            "entities_by_type": by_type,
            "policy_id": self.policy_id,
            "redaction_ms": round(float(self.redaction_ms), 3),
            "upstream_ms": None if self.upstream_ms is None else round(float(self.upstream_ms), 3),
            "upstream_status": self.upstream_status,
            "degraded": bool(self.degraded),
            "fail_open": bool(self.fail_open),
        }


class AuditChain:
    """The pure chaining step: turns record fields into a sealed line. Not thread-safe."""

    def __init__(self, key: bytes, *, seq: int = 0, prev: str = GENESIS) -> None:
        if len(key) < 32:
            raise ValueError("audit HMAC key must be at least 32 bytes")
        self._key = key
        self.seq = seq  # seq of the next record
        self.prev = prev  # hmac of the last record

    def seal(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        if any(name in fields for name in _CHAIN_FIELDS):
            raise ValueError("audit: record fields may not set seq/prev/hmac")
        sealed: dict[str, Any] = {**fields, "seq": self.seq, "prev": self.prev}
        sealed["hmac"] = _mac(self._key, sealed)
        self.seq += 1
        self.prev = sealed["hmac"]
        return sealed


def audit_files(directory: Path) -> list[Path]:
    """The directory's audit files in chain order (by date in the name)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and _FILE_RE.fullmatch(p.name))


def chain_directories(directory: Path) -> list[Path]:
    """The chains under an audit directory: the directory itself and each ``writer-N`` in it."""
    extra = [p for p in directory.iterdir() if p.is_dir() and _WRITER_DIR_RE.fullmatch(p.name)]
    return [directory, *sorted(extra, key=lambda p: int(p.name.split("-")[1]))]


def _claim_chain(directory: Path) -> tuple[Path, int]:
    """(chain directory, lock fd): the first of ``directory``, ``directory/writer-1``, ... that no
    live process holds. Each worker process (``MASKER_WORKERS`` > 1) writes a chain of its own;
    two writers resuming one chain would fork it. The lock goes with the process."""
    for n in range(_MAX_WRITERS):
        chain = directory if n == 0 else directory / f"writer-{n}"
        chain.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(chain / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return chain, fd
    raise RuntimeError("audit: every writer directory is taken")


def _last_sealed(directory: Path) -> tuple[int, str] | None:
    """(seq, hmac) of the newest parseable record on disk, or None for a new chain."""
    for path in reversed(audit_files(directory)):
        for raw in reversed(path.read_bytes().splitlines()):
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("seq"), int) and isinstance(obj.get("hmac"), str):
                return obj["seq"], obj["hmac"]
    return None


class AuditLog:
    """Audit writer for an event loop: ``submit`` seals at once and never blocks on the disk.

    ``AuditLog(directory, key)`` resumes the chain from the newest file of the first chain
    directory no other live process writes (``directory`` itself, else ``directory/writer-N``).
    ``clock`` picks the file date (tests inject one to cross midnight). Call :meth:`close` (or
    ``await aclose()``) on shutdown.
    """

    def __init__(
        self,
        directory: Path | str,
        key: bytes,
        *,
        max_queue: int = 10_000,
        fsync: bool = False,
        linger: float = 0.05,
        on_drop: Callable[[], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.directory, self._lock_fd = _claim_chain(Path(directory))
        self._linger = linger
        self._key = key
        self._fsync = fsync
        self._on_drop = on_drop
        self._clock = clock or (lambda: datetime.now(UTC))
        self._max_queue = max_queue
        # Sealed lines not yet on disk, each with its (seq, hmac) for the head file.
        self._pending: list[tuple[bytes, int, str]] = []
        self._timer: asyncio.Handle | None = None
        self._in_thread: asyncio.Future[None] | None = None  # a batch being written off the loop
        self._offload = False  # set once the volume has been slow
        self._day: date | None = None
        self._fh: Any = None
        self._closed = False
        self.dropped = 0
        existing = audit_files(self.directory)
        if existing and existing[-1].stat().st_size and not existing[-1].read_bytes().endswith(b"\n"):
            # A crash mid-write left a partial line; end it so only that line fails verification
            # and our records start on a line of their own.
            with existing[-1].open("ab") as fh:
                fh.write(b"\n")
        last = _last_sealed(self.directory)
        if last is None:
            self._chain = AuditChain(key)
        else:
            seq, mac = last
            self._chain = AuditChain(key, seq=seq + 1, prev=mac)

    def submit(self, record: AuditRecord) -> bool:
        """Seal ``record`` and queue it for the next batch; False (and ``on_drop``) if it was dropped."""
        if self._closed or len(self._pending) >= self._max_queue:
            self._drop()
            return False
        try:
            sealed = self._chain.seal(record.fields())
        except Exception:
            self._drop()
            return False
        self._pending.append((_canonical(sealed) + b"\n", sealed["seq"], sealed["hmac"]))
        if self._timer is None and self._in_thread is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a tool, a test): write now
                self._write(self._take())
            else:
                self._timer = loop.call_later(self._linger, self._batch_due)
        return True

    def flush(self) -> None:
        """Write everything submitted so far (tests, shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._write(self._take())

    def close(self) -> None:
        """Write what is waiting and the head file, and refuse records from now on."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        os.close(self._lock_fd)  # releases the chain directory

    async def aclose(self) -> None:
        if self._in_thread is not None:
            await asyncio.shield(self._in_thread)
        self.close()

    def _drop(self, count: int = 1) -> None:
        self.dropped += count
        _log.error("audit record dropped")
        if self._on_drop is not None:
            for _ in range(count):
                self._on_drop()

    def _take(self) -> list[tuple[bytes, int, str]]:
        batch, self._pending = self._pending, []
        return batch

    def _batch_due(self) -> None:
        self._timer = None
        batch = self._take()
        if not self._offload:
            started = time.perf_counter()
            self._write(batch)
            self._offload = time.perf_counter() - started > SLOW_WRITE_SECONDS
            return
        self._in_thread = asyncio.ensure_future(asyncio.to_thread(self._write, batch))
        self._in_thread.add_done_callback(self._thread_done)

    def _thread_done(self, _: asyncio.Future[None]) -> None:
        self._in_thread = None
        if self._pending and not self._closed:
            self._timer = asyncio.get_running_loop().call_soon(self._batch_due)

    def _write(self, batch: Sequence[tuple[bytes, int, str]]) -> None:
        if not batch:
            return
        try:
            fh = self._file()
            fh.write(b"".join(line for line, _, _ in batch))
            fh.flush()
            if self._fsync:
                os.fsync(fh.fileno())
            _, seq, mac = batch[-1]
            self._write_head(seq, mac)
        except OSError:
            _log.error("audit write failed")
            self._drop(len(batch))

    def _file(self) -> Any:
        today = self._clock().astimezone(UTC).date()
        if self._day is not None and today < self._day:
            today = self._day  # clock went backwards: never reopen an older file
        if self._fh is None or today != self._day:
            if self._fh is not None:
                self._fh.close()
            path = self.directory / f"audit-{today.isoformat()}.jsonl"
            self._fh = open(path, "ab")  # noqa: SIM115 - kept open across batches
            os.chmod(path, 0o600)
            self._day = today
        return self._fh

    def _write_head(self, seq: int, mac: str) -> None:
        head = {"seq": seq, "hmac": mac, "mac": _head_mac(self._key, seq, mac)}
        tmp = self.directory / (HEAD_FILE + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_canonical(head) + b"\n")
        os.replace(tmp, self.directory / HEAD_FILE)


# -- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyFailure:
    """The first bad line. ``request_id`` only when the line holds an id-shaped one."""

    path: str
    line: int
    reason: str
    request_id: str | None = None


@dataclass(frozen=True)
class VerifyReport:
    records: int
    files: int
    last_seq: int | None
    failure: VerifyFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def _expand(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(files in chain order, directories given) for a mix of files and directories."""
    files: list[Path] = []
    dirs: list[Path] = []
    for p in paths:
        if p.is_dir():
            dirs.append(p)
            files.extend(audit_files(p))
        else:
            files.append(p)
    # Chain order is date order; explicit files are sorted by name like the directory listing.
    unique = sorted(set(files), key=lambda p: (p.name, str(p)))
    return unique, dirs


def verify_paths(paths: Sequence[Path], key: bytes, *, partial: bool = False) -> VerifyReport:
    """Check the chain across ``paths`` (files and/or directories) and stop at the first bad line.

    ``partial`` accepts a chain that starts after seq 0 (older files removed by retention) by
    trusting the first record's ``seq``/``prev``. A directory's ``audit.head`` is checked too:
    the log must reach the head's seq with the head's hmac (detects cut-off records at the end).
    """
    files, dirs = _expand(paths)
    heads: list[tuple[Path, int, str]] = []
    for directory in dirs:
        head_or_failure = _read_head(directory, key)
        if isinstance(head_or_failure, VerifyFailure):
            return VerifyReport(0, len(files), None, head_or_failure)
        if head_or_failure is not None:
            heads.append((directory, *head_or_failure))
    wanted = {seq for _, seq, _ in heads}
    seen_macs: dict[int, str] = {}
    expected_seq: int | None = None if partial else 0
    prev: str | None = None if partial else GENESIS
    records = 0
    last_file, last_line = "", 0
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            return VerifyReport(
                records, len(files), _last(expected_seq), VerifyFailure(str(path), 0, "unreadable")
            )
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for number, raw in enumerate(lines, start=1):
            reason, rid, seq, mac = _check_line(raw, key, expected_seq, prev)
            if reason is not None:
                failure = VerifyFailure(str(path), number, reason, rid)
                return VerifyReport(records, len(files), _last(expected_seq), failure)
            assert seq is not None and mac is not None
            if seq in wanted:
                seen_macs[seq] = mac
            expected_seq, prev = seq + 1, mac
            records += 1
        last_file, last_line = str(path), len(lines)
    last_seq = _last(expected_seq)
    for directory, seq, mac in heads:
        got = seen_macs.get(seq)
        if last_seq is None or last_seq < seq or got is None or not hmac.compare_digest(got, mac):
            where = last_file or str(directory)
            failure = VerifyFailure(
                where,
                last_line + 1,
                f"records missing at the end: audit.head says seq {seq}, log ends at {last_seq}",
            )
            return VerifyReport(records, len(files), last_seq, failure)
    return VerifyReport(records, len(files), last_seq, None)


def _check_line(
    raw: bytes, key: bytes, expected_seq: int | None, prev: str | None
) -> tuple[str | None, str | None, int | None, str | None]:
    """(failure reason or None, safe request id, seq, hmac) for one line."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return "not a JSON record (truncated or edited line)", None, None, None
    if not isinstance(obj, dict):
        return "not a JSON object", None, None, None
    rid_raw = obj.get("request_id")
    rid = rid_raw if isinstance(rid_raw, str) and is_request_id(rid_raw) else None
    mac, seq, rec_prev = obj.pop("hmac", None), obj.get("seq"), obj.get("prev")
    if not isinstance(mac, str) or not isinstance(seq, int) or not isinstance(rec_prev, str):
        return "missing chain fields (seq/prev/hmac)", rid, None, None
    if not hmac.compare_digest(_mac(key, obj), mac):
        return "hmac mismatch: record altered or forged (or wrong key)", rid, None, None
    if expected_seq is not None and seq != expected_seq:
        what = "records missing before this line" if seq > expected_seq else "record out of order or replayed"
        return f"sequence break: expected seq {expected_seq}, found {seq} ({what})", rid, None, None
    if prev is not None and not hmac.compare_digest(rec_prev, prev):
        return "chain break: prev does not match the previous record", rid, None, None
    return None, rid, seq, mac


def _last(expected_seq: int | None) -> int | None:
    return None if expected_seq is None else expected_seq - 1


def _read_head(directory: Path, key: bytes) -> tuple[int, str] | VerifyFailure | None:
    head_path = directory / HEAD_FILE
    if not head_path.exists():
        return None
    try:
        head = json.loads(head_path.read_bytes())
        seq, last = int(head["seq"]), str(head["hmac"])
        ok = hmac.compare_digest(_head_mac(key, seq, last), str(head["mac"]))
    except (ValueError, KeyError, TypeError):
        return VerifyFailure(str(head_path), 1, "audit.head unreadable")
    if not ok:
        return VerifyFailure(str(head_path), 1, "audit.head MAC mismatch (edited, or wrong key)")
    return seq, last
