"""Load test: drive a running proxy at 2x an agent's rate limit and watch statuses and memory.

Not a unit test (no timed assertions): it prints figures for the release note. What it shows:
beyond the limit only ``429 rate_limited`` (with ``Retry-After``) comes back, never another
error, and the proxy's RSS stays flat.

    python bench/ratelimit_load.py http://127.0.0.1:8080/proxy/<agent_id>/v1/chat/completions \
        --rps 200 --duration 60 --pid <proxy pid>

Requests are open-loop (sent on a fixed schedule whatever the latency, like real callers), with a
cap on requests in flight so a stalled proxy cannot make the script eat the machine. Only
loopback URLs are accepted: this is a test tool, not a traffic generator. The body is a fixed
synthetic message with no PHI. ``--pid`` is optional; without it the process listening on the
URL's port is looked up in /proc (Linux).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ipaddress
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

MAX_DURATION = 600
BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Load test: please reply with the word ok."}],
    "stream": False,
    "max_tokens": 8,
}


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _listening_pid(port: int) -> int | None:
    """The pid owning a LISTEN socket on ``port`` (reads /proc/net/tcp{,6} and /proc/*/fd)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


async def run(
    url: str, rps: float, duration: float, pid: int | None, max_in_flight: int, timeout: float
) -> int:
    statuses: collections.Counter[str] = collections.Counter()
    per_second: list[collections.Counter[str]] = []
    missing_retry_after = 0
    in_flight = asyncio.Semaphore(max_in_flight)
    skipped = 0
    tasks: set[asyncio.Task[None]] = set()
    rss_samples: list[tuple[float, int]] = []

    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:

        async def one() -> None:
            nonlocal missing_retry_after
            try:
                response = await client.post(url, json=BODY)
                key = str(response.status_code)
                if response.status_code == 429 and not response.headers.get("retry-after"):
                    missing_retry_after += 1
                if response.status_code not in (200, 429):
                    try:
                        code = response.json().get("error", {}).get("code")
                    except (ValueError, AttributeError):
                        code = None
                    key = f"{key}:{code}" if code else key
            except httpx.HTTPError as exc:
                key = f"client-error:{type(exc).__name__}"
            finally:
                in_flight.release()
            statuses[key] += 1
            per_second[-1][key] += 1  # by completion second

        start = time.perf_counter()
        interval = 1.0 / rps
        sent = 0
        second = -1
        print(f"{'t':>4} {'sent':>6}  responses completed this second{'':<14} rss_kib", flush=True)
        while (elapsed := time.perf_counter() - start) < duration:
            if int(elapsed) != second:
                if second >= 0:
                    rss = _rss_kib(pid) if pid else None
                    if rss is not None:
                        rss_samples.append((elapsed, rss))
                    summary = " ".join(f"{k}={v}" for k, v in sorted(per_second[-1].items()))
                    print(
                        f"{second:>4} {sent:>6}  {summary:<45} {rss if rss is not None else '-'}", flush=True
                    )
                second = int(elapsed)
                per_second.append(collections.Counter())
            target = int(elapsed / interval) + 1
            while sent < target:
                sent += 1
                if in_flight.locked():
                    skipped += 1  # proxy too slow: record it rather than queue without bound
                    continue
                await in_flight.acquire()
                task = asyncio.create_task(one())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(max(0.0, (sent * interval) - (time.perf_counter() - start)))
        if tasks:
            await asyncio.wait(tasks, timeout=timeout + 5)

    print("\n== summary")
    print(f"url={urlsplit(url).scheme}://{urlsplit(url).netloc}/...  rps={rps}  duration={duration}s")
    print(f"sent={sent} skipped(in-flight cap {max_in_flight})={skipped}")
    for key, count in sorted(statuses.items()):
        print(f"  {key:<40} {count}")
    print(f"429 without Retry-After: {missing_retry_after}")
    if rss_samples:
        values = [r for _, r in rss_samples]
        quarter = max(1, len(values) // 4)
        first, last = sum(values[:quarter]) / quarter, sum(values[-quarter:]) / quarter
        print(
            f"rss_kib: start={values[0]} end={values[-1]} min={min(values)} max={max(values)} "
            f"first-quarter-avg={first:.0f} last-quarter-avg={last:.0f} "
            f"growth={100 * (last - first) / first:+.1f}%"
        )
    else:
        print("rss: not sampled (no --pid and no listening process found)")
    unexpected = {k: v for k, v in statuses.items() if k not in ("200", "429")}
    print("result:", "only 200/429" if not unexpected else f"UNEXPECTED {json.dumps(unexpected)}")
    return 0 if not unexpected and missing_retry_after == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="full chat-completions URL of the proxy (loopback only)")
    parser.add_argument("--rps", type=float, default=200.0, help="requests per second (default 200 = 2x 100)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help=f"seconds (default 60, max {MAX_DURATION})"
    )
    parser.add_argument(
        "--pid", type=int, help="proxy pid for RSS sampling (default: owner of the URL's port)"
    )
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    args = parser.parse_args(argv)
    if not _is_loopback(args.url):
        print("ratelimit_load: refusing a non-loopback URL", file=sys.stderr)
        return 2
    if not 0 < args.duration <= MAX_DURATION or not 0 < args.rps <= 5000:
        print(f"ratelimit_load: need 0 < duration <= {MAX_DURATION} and 0 < rps <= 5000", file=sys.stderr)
        return 2
    parts = urlsplit(args.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    pid = args.pid or _listening_pid(port)
    print(f"proxy pid: {pid if pid else 'unknown'}", flush=True)
    return asyncio.run(run(args.url, args.rps, args.duration, pid, args.max_in_flight, args.timeout))


if __name__ == "__main__":
    raise SystemExit(main())
