"""Audit log: HMAC chain across rotated files and restarts; tampering caught by the real CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from masker.observability import audit as audit_module
from masker.observability.audit import AuditLog, AuditRecord, load_hmac_key, verify_paths

AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
ROUTE = "/proxy/{agent_id}/v1/chat/completions"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def record(i: int, **overrides: object) -> AuditRecord:
    fields: dict[str, object] = {
        "request_id": f"req-{i:04d}",
        "agent": "front-desk",
        "tenant": "clinic-a",
        "endpoint": ROUTE,
        "entities_by_type": {"PHONE": 1, "PERSON": i % 3},
        "policy_id": "healthcare",
        "redaction_ms": 1.5,
        "upstream_ms": 120.25,
        "upstream_status": 200,
    }
    fields.update(overrides)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def write_log(directory: Path, key: bytes, n: int, *, days: int = 1) -> list[Path]:
    """n records spread over ``days`` UTC days (rotation), written by the real background writer."""
    clock = Clock(datetime(2025, 3, 1, 23, 0, tzinfo=UTC))
    log = AuditLog(directory, key, clock=clock)
    per_day = max(1, n // days)
    for i in range(n):
        if i and i % per_day == 0:
            log.flush()  # the writer thread picks the file at write time
            clock.now += timedelta(days=1)
        assert log.submit(record(i))
    log.close()
    return sorted(directory.glob("audit-*.jsonl"))


def run_cli(*args: str, key_b64: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MASKER_AUDIT_HMAC_KEY": key_b64}
    return subprocess.run(
        [sys.executable, "-m", "masker", "audit", "verify", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


@pytest.fixture
def key(audit_key_b64: str) -> bytes:
    return load_hmac_key(audit_key_b64)


def test_records_hold_published_fields_and_no_text(tmp_path: Path, key: bytes) -> None:
    files = write_log(tmp_path, key, 3)
    rows = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [r["seq"] for r in rows] == [0, 1, 2]
    first = rows[1]
    for name in (
        "request_id", "timestamp", "tenant", "agent", "endpoint", "entities_total", "entities_by_type",
        "policy_id", "redaction_ms", "upstream_ms", "upstream_status", "degraded", "fail_open",
        "seq", "prev", "hmac",
    ):  # fmt: skip
        assert name in first, name
    assert first["entities_total"] == 2 and first["entities_by_type"] == {"PERSON": 1, "PHONE": 1}
    assert first["prev"] == rows[0]["hmac"]
    assert rows[0]["prev"] == "0" * 64
    assert first["timestamp"].endswith("Z")


def test_rotation_and_chain_across_files_verifies(tmp_path: Path, key: bytes, audit_key_b64: str) -> None:
    files = write_log(tmp_path, key, 12, days=3)
    assert [f.name for f in files] == [
        "audit-2025-03-01.jsonl",
        "audit-2025-03-02.jsonl",
        "audit-2025-03-03.jsonl",
    ]
    assert verify_paths([tmp_path], key).ok
    result = run_cli(str(tmp_path), key_b64=audit_key_b64)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK 12 record(s) in 3 file(s)" in result.stdout
    # Explicit files in any order on the command line are put back in chain order.
    result = run_cli(*(str(f) for f in reversed(files)), key_b64=audit_key_b64)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chain_continues_across_restart(tmp_path: Path, key: bytes) -> None:
    write_log(tmp_path, key, 3)
    log = AuditLog(tmp_path, key)  # a new process: resumes from the last record on disk
    log.submit(record(99))
    log.close()
    report = verify_paths([tmp_path], key)
    assert report.ok and report.records == 4 and report.last_seq == 3


def tamper_edit(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[1])
    row = json.loads(lines[1])
    row["entities_total"] = 0  # hide that PHI was seen
    lines[1] = json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n"
    files[1].write_text("".join(lines))
    return files[1], 2


def tamper_delete(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[1])
    del lines[1]
    files[1].write_text("".join(lines))
    return files[1], 2  # the line after the deleted one is the first bad one


def tamper_reorder(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[1])
    lines[1], lines[2] = lines[2], lines[1]
    files[1].write_text("".join(lines))
    return files[1], 2


def tamper_insert_copy(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[1])
    lines.insert(2, lines[0])  # a replayed genuine record
    files[1].write_text("".join(lines))
    return files[1], 3


def tamper_insert_forged(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[1])
    forged = json.loads(lines[0])
    forged["request_id"] = "req-forged"
    lines.insert(1, json.dumps(forged) + "\n")
    files[1].write_text("".join(lines))
    return files[1], 2


def tamper_delete_file(files: list[Path]) -> tuple[Path, int]:
    files[1].unlink()
    return files[2], 1


def tamper_truncate_tail(files: list[Path]) -> tuple[Path, int]:
    lines = lines_of(files[2])
    files[2].write_text("".join(lines[:-1]))
    return files[2], len(lines)  # reported just past the last surviving line


def tamper_swap_files(files: list[Path]) -> tuple[Path, int]:
    a, b = files[0].read_bytes(), files[1].read_bytes()
    files[0].write_bytes(b)
    files[1].write_bytes(a)
    return files[0], 1


@pytest.mark.parametrize(
    "tamper",
    [
        tamper_edit,
        tamper_delete,
        tamper_reorder,
        tamper_insert_copy,
        tamper_insert_forged,
        tamper_delete_file,
        tamper_truncate_tail,
        tamper_swap_files,
    ],
)
def test_cli_detects_tampering_with_first_bad_line(
    tmp_path: Path, key: bytes, audit_key_b64: str, tamper: Callable[[list[Path]], tuple[Path, int]]
) -> None:
    files = write_log(tmp_path, key, 12, days=3)
    bad_file, bad_line = tamper(files)
    result = run_cli(str(tmp_path), key_b64=audit_key_b64)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL {bad_file}:{bad_line}:" in result.stdout, result.stdout
    # Only ids, never record contents.
    for leaked in ("front-desk", "clinic-a", "healthcare", "PHONE", '"hmac"'):
        assert leaked not in result.stdout + result.stderr


def test_cli_wrong_key_fails_and_missing_key_is_usage_error(tmp_path: Path, key: bytes) -> None:
    write_log(tmp_path, key, 2)
    other = base64.b64encode(os.urandom(32)).decode()
    assert run_cli(str(tmp_path), key_b64=other).returncode == 1
    assert run_cli(str(tmp_path), key_b64="not base64!").returncode == 2
    assert run_cli(str(tmp_path / "missing"), key_b64=other).returncode == 2


def test_partial_accepts_chain_with_old_files_removed(tmp_path: Path, key: bytes, audit_key_b64: str) -> None:
    files = write_log(tmp_path, key, 12, days=3)
    files[0].unlink()  # retention removed the oldest day
    assert run_cli(str(tmp_path), key_b64=audit_key_b64).returncode == 1
    result = run_cli("--partial", str(tmp_path), key_b64=audit_key_b64)
    assert result.returncode == 0, result.stdout


def test_crash_mid_write_is_reported_and_writer_continues(tmp_path: Path, key: bytes) -> None:
    files = write_log(tmp_path, key, 3)
    with files[0].open("ab") as fh:
        fh.write(b'{"request_id":"req-9999","seq":3')  # torn write, no newline
    log = AuditLog(tmp_path, key, clock=Clock(datetime(2025, 3, 1, 23, 30, tzinfo=UTC)))
    log.submit(record(4))
    log.close()
    report = verify_paths([tmp_path], key)
    assert report.failure is not None and report.failure.line == 4
    text = files[0].read_text().splitlines()
    assert len(text) == 5
    assert json.loads(text[-1])["seq"] == 3  # resumed after the last good record


@pytest.mark.parametrize(
    "overrides",
    [
        {"agent": AGENT_ID},
        {"endpoint": f"/proxy/{AGENT_ID}/v1/chat/completions"},
        {"request_id": "Jane Roe"},
        {"agent": "jane.roe@example.org"},
        {"entities_by_type": {"415-555-0134": 1}},
        {"policy_id": "Patient: Jane Roe"},
        {"timestamp": datetime(2025, 1, 1)},
    ],
)
def test_record_refuses_text_and_agent_ids(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError) as excinfo:
        record(1, **overrides)
    for value in overrides.values():
        assert str(value) not in str(excinfo.value)


def test_full_queue_drops_and_counts(tmp_path: Path, key: bytes) -> None:
    drops: list[int] = []
    log = AuditLog(tmp_path, key, max_queue=1, on_drop=lambda: drops.append(1))
    accepted = sum(log.submit(record(i)) for i in range(2000))
    log.close()
    assert accepted + len(drops) == 2000
    assert verify_paths([tmp_path], key).records == accepted
    assert not log.submit(record(1))  # closed


def test_load_hmac_key_validates() -> None:
    with pytest.raises(ValueError):
        load_hmac_key(base64.b64encode(b"short").decode())
    with pytest.raises(ValueError):
        load_hmac_key("%%%")


def test_on_an_event_loop_records_are_batched_without_a_thread(tmp_path: Path, key: bytes) -> None:
    # A second thread wanting the GIL slows every Hyperscan scan (it hands the GIL over for each
    # match), so the writer has none: a batch is written on the loop, ``linger`` after its first record.
    async def scenario() -> tuple[int, int, int, int]:
        threads = threading.active_count()
        log = AuditLog(tmp_path, key, linger=0.05)
        for i in range(5):
            assert log.submit(record(i))
        on_disk_at_once = sum(len(lines_of(p)) for p in tmp_path.glob("audit-*.jsonl"))
        threads_while_waiting = threading.active_count() - threads
        await asyncio.sleep(0.2)
        on_disk_later = sum(len(lines_of(p)) for p in tmp_path.glob("audit-*.jsonl"))
        await log.aclose()
        return on_disk_at_once, threads_while_waiting, on_disk_later, threading.active_count() - threads

    at_once, extra_threads, later, extra_after = asyncio.run(scenario())
    assert (at_once, extra_threads, later, extra_after) == (0, 0, 5, 0)
    report = verify_paths([tmp_path], key)
    assert report.ok and report.records == 5


def test_a_slow_volume_moves_writes_off_the_loop_and_keeps_the_chain(
    tmp_path: Path, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_module, "SLOW_WRITE_SECONDS", 0.0)  # every write counts as slow
    writers: list[str] = []

    async def scenario() -> None:
        log = AuditLog(tmp_path, key, linger=0.01)
        original = log._write

        def traced(batch: Any) -> None:
            writers.append(threading.current_thread().name)
            original(batch)

        log._write = traced  # type: ignore[method-assign]
        for burst in range(4):
            for i in range(10):
                assert log.submit(record(burst * 10 + i))
            await asyncio.sleep(0.1)
        await log.aclose()

    asyncio.run(scenario())
    main = threading.main_thread().name
    assert writers[0] == main and any(name != main for name in writers[1:])
    report = verify_paths([tmp_path], key)
    assert report.ok and report.records == 40


def test_each_writer_process_keeps_a_chain_of_its_own(tmp_path: Path, key: bytes, audit_key_b64: str) -> None:
    # MASKER_WORKERS=2: two processes write audit records at once. Resuming one chain from the same
    # last record would fork it; each live writer claims a directory of its own instead.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, base64; from masker.observability.audit import AuditLog; "
            f"log = AuditLog(sys.argv[1], base64.b64decode('{audit_key_b64}')); "
            "print(log.directory, flush=True); sys.stdin.read(); log.close()",
            str(tmp_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == str(tmp_path)  # the first writer: the directory itself
        second = AuditLog(tmp_path, key)
        third = AuditLog(tmp_path, key)
        assert (second.directory, third.directory) == (tmp_path / "writer-1", tmp_path / "writer-2")
        for i in range(6):
            assert (second if i % 2 else third).submit(record(i))
        third.close()
        second.close()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    again = AuditLog(tmp_path, key)  # a restarted worker takes the first free chain and resumes it
    assert again.directory == tmp_path
    again.submit(record(99))
    again.close()
    result = run_cli(str(tmp_path), key_b64=audit_key_b64)
    assert result.returncode == 0, result.stdout + result.stderr
    oks = [line for line in result.stdout.splitlines() if line.startswith("OK ")]
    assert len(oks) == 3 and "OK 1 record(s)" in oks[0] and all("OK 3 record(s)" in o for o in oks[1:])
    # A chain edited in a writer directory is still caught.
    victim = next((tmp_path / "writer-2").glob("audit-*.jsonl"))
    lines = lines_of(victim)
    del lines[1]
    victim.write_text("".join(lines))
    failed = run_cli(str(tmp_path), key_b64=audit_key_b64)
    assert failed.returncode == 1 and "writer-2" in failed.stdout
