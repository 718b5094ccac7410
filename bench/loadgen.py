"""Load generator: one pooled aiohttp client, bodies generated before the clock starts.

Two modes, both bounded in count and in time, both loopback only:

* ``latency``  — requests one after another on one kept-alive connection; per-request wall time
  and, for SSE, time to the first content token (TTFT). Added latency = this minus the direct run.
* ``throughput`` — ``--concurrency`` workers for ``--seconds``; completed requests per second, the
  error count (non-200, transport errors, a token left un-rehydrated) and latency under load.

Prints one JSON object on stdout. Run by ``bench/run.py`` as a separate process, so the client's
CPU is not the proxy's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scenarios import CONVERSATION_ID, bodies

_CONTENT = re.compile(rb'"content":\s*"[^"]')
_LEFTOVER = re.compile(rb"MSKV1[._:]")


def _kind(status: int, raw: bytes) -> str:
    """``http_503:redaction_failed`` — the OpenAI-shaped error code, never the message."""
    try:
        code = json.loads(raw)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    return f"http_{status}:{code}" if code else f"http_{status}"


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "mean": statistics.fmean(ordered),
            "n": len(ordered)}


class Client:
    def __init__(self, url: str, scenario: str, concurrency: int) -> None:
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("loadgen: loopback targets only")
        self.url = url
        self.stream = scenario == "stream"
        self.headers = {"content-type": "application/json"}
        if scenario in ("voice", "stream", "voice_ner"):
            self.headers["x-masker-conversation-id"] = CONVERSATION_ID
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, force_close=False),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def one(self, body: bytes) -> tuple[float, float | None, str | None]:
        """(total ms, ttft ms or None, error kind or None)."""
        started = time.perf_counter()
        ttft: float | None = None
        try:
            async with self.session.post(self.url, data=body, headers=self.headers) as resp:
                if not self.stream:
                    raw = await resp.read()
                    total = (time.perf_counter() - started) * 1000
                    if resp.status != 200:
                        return total, None, _kind(resp.status, raw)
                    if _LEFTOVER.search(raw):
                        return total, None, "token_left"
                    return total, None, None
                seen = b""
                async for chunk in resp.content.iter_any():
                    if ttft is None:
                        seen += chunk
                        if _CONTENT.search(seen):
                            ttft = (time.perf_counter() - started) * 1000
                            seen = b""
                    elif _LEFTOVER.search(chunk):
                        seen = b"leftover"
                total = (time.perf_counter() - started) * 1000
                if resp.status != 200:
                    return total, ttft, _kind(resp.status, seen)
                if seen == b"leftover":
                    return total, ttft, "token_left"
                return total, ttft, None
        except (TimeoutError, aiohttp.ClientError) as exc:
            return (time.perf_counter() - started) * 1000, None, type(exc).__name__

    async def close(self) -> None:
        await self.session.close()


async def latency(ns: argparse.Namespace) -> dict[str, Any]:
    """Every ``--url`` gets the same bodies in the same order. With several URLs they take turns in
    slices of ``--batch`` requests (the first ``--settle`` of a slice not counted), the order
    rotating from slice to slice, so a slow moment on a shared box lands on every configuration
    alike instead of on whichever one happened to be running."""
    urls: list[str] = ns.url
    pool = bodies(ns.scenario, ns.warmup + ns.n, seed=ns.seed)
    clients = [Client(url, ns.scenario, 1) for url in urls]
    errors: list[dict[str, int]] = [{} for _ in urls]
    totals: list[list[float]] = [[] for _ in urls]
    ttfts: list[list[float]] = [[] for _ in urls]
    batch = max(1, ns.batch) if len(urls) > 1 else len(pool)
    settle = min(max(0, ns.settle), batch - 1) if len(urls) > 1 else 0
    try:
        for client in clients:
            for body in pool[: ns.warmup]:
                await client.one(body)
        deadline = time.monotonic() + ns.seconds
        measured = pool[ns.warmup:]
        for k, first in enumerate(range(0, len(measured), batch)):
            if time.monotonic() > deadline:
                break
            for j in (k + i for i in range(len(urls))):
                j %= len(urls)
                for position, body in enumerate(measured[first : first + batch]):
                    total, ttft, error = await clients[j].one(body)
                    if position < settle:
                        continue
                    if error:
                        errors[j][error] = errors[j].get(error, 0) + 1
                        continue
                    totals[j].append(total)
                    if ttft is not None:
                        ttfts[j].append(ttft)
    finally:
        for client in clients:
            await client.close()
    results = [
        {"mode": "latency", "scenario": ns.scenario, "url": url, "latency_ms": percentiles(totals[j]),
         "ttft_ms": percentiles(ttfts[j]) if ttfts[j] else None, "errors": errors[j],
         "samples_ms": totals[j], "ttft_samples_ms": ttfts[j]}
        for j, url in enumerate(urls)
    ]
    return results[0] if len(results) == 1 else {"mode": "latency", "per_url": results}


async def throughput(ns: argparse.Namespace) -> dict[str, Any]:
    # Enough fresh bodies for the run at a generous rate; wrap around only if the proxy outruns it.
    pool = bodies(ns.scenario, ns.pool, seed=ns.seed + 100)  # not the latency run's utterances
    client = Client(ns.url[0], ns.scenario, ns.concurrency)
    errors: dict[str, int] = {}
    totals: list[float] = []
    next_index = 0
    for body in pool[: ns.concurrency]:  # open the connections before the clock starts
        await client.one(body)
    deadline = time.monotonic() + ns.seconds

    async def worker() -> None:
        nonlocal next_index
        while time.monotonic() < deadline:
            body = pool[next_index % len(pool)]
            next_index += 1
            total, _, error = await client.one(body)
            if error:
                errors[error] = errors.get(error, 0) + 1
            else:
                totals.append(total)

    started = time.monotonic()
    try:
        await asyncio.gather(*(worker() for _ in range(ns.concurrency)))
    finally:
        elapsed = time.monotonic() - started
        await client.close()
    return {"mode": "throughput", "scenario": ns.scenario, "concurrency": ns.concurrency,
            "seconds": elapsed, "ok": len(totals), "rps": len(totals) / elapsed, "errors": errors,
            "error_count": sum(errors.values()), "latency_ms": percentiles(totals),
            "fresh_bodies": min(next_index, len(pool)), "requests": next_index}


def main() -> None:
    p = argparse.ArgumentParser(description="Masker benchmark load generator")
    p.add_argument("mode", choices=("latency", "throughput"))
    p.add_argument("--url", required=True, action="append", help="latency: repeat to interleave targets")
    p.add_argument("--scenario", required=True)
    p.add_argument("--n", type=int, default=300, help="latency: measured requests")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--batch", type=int, default=12, help="latency, several URLs: requests per turn")
    p.add_argument("--settle", type=int, default=2, help="latency, several URLs: not counted per turn")
    p.add_argument("--seconds", type=float, default=10.0, help="time bound of the measured phase")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--pool", type=int, default=20000, help="throughput: fresh bodies generated")
    p.add_argument("--seed", type=int, default=5)
    ns = p.parse_args()
    run = latency if ns.mode == "latency" else throughput
    print(json.dumps(asyncio.run(run(ns))), flush=True)


if __name__ == "__main__":
    main()
