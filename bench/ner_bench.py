"""NER benchmark: in-process vs gRPC latency, and service throughput with/without micro-batching.

Run: ``$BIN/python bench/ner_bench.py [--requests 300] [--seconds 12] [--rounds 4] [--callers 16]``

1. Latency of one detection call (a chat request of ``--texts`` short texts), sequentially, same
   texts, same run, the paths taking turns call by call: ``SpacyNer`` directly, the in-process
   backend (``InProcessNer``: worker thread + batching, what the proxy uses without
   ``MASKER_NER_ADDR``) and ``GrpcNer`` against ``masker ner serve`` on loopback.
2. Throughput of the service under ``--callers`` concurrent callers for ``--seconds`` per server,
   with micro-batching (two collection windows) and without (``--no-batching``); the three servers
   take turns in ``--rounds`` short rounds so background load hits them alike.

Servers run as child processes on the same machine, so client and server share the CPU: the
figures are for comparing configurations, not capacity planning. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a script, bench/ is sys.path[0], and sibling scripts there (profile.py) would shadow stdlib
# modules that spaCy imports (cProfile -> profile). Drop it before importing anything heavy.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from faker import Faker

from masker.detect.inprocess import InProcessNer
from masker.detect.ner_grpc import GrpcNer
from masker_ner.model import SpacyNer

REPO = Path(__file__).resolve().parents[1]


def texts_for(n: int, seed: int = 7) -> list[str]:
    fake = Faker("en_US")
    Faker.seed(seed)
    templates = (
        "Hi, this is {name}, calling from {city} about my appointment on {date}.",
        "My doctor is {name} at {company}; can you check if my claim went through?",
        "Please mail the letter to {street}, {city}. Thanks!",
        "Yeah that's fine, whatever works for you.",
    )
    return [
        templates[i % len(templates)].format(
            name=fake.name(),
            city=fake.city(),
            date=fake.date(),
            company=fake.company(),
            street=fake.street_address(),
        )
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    args: Sequence[str]
    port: int = 0
    metrics_port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.port, self.metrics_port = free_port(), free_port()
        cmd = [sys.executable, "-m", "masker", "ner", "serve", "--listen", f"127.0.0.1:{self.port}"]
        cmd += ["--metrics-listen", f"127.0.0.1:{self.metrics_port}", *self.args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while self.metric("masker_ner_ready") != 1.0:
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("NER server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def metric(self, name: str) -> float | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
        except OSError:
            return None
        return None


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


async def latency(args: argparse.Namespace) -> list[tuple[str, list[float]]]:
    """The three paths take turns call by call, so load from elsewhere hits them equally."""
    request = texts_for(args.texts)
    model = SpacyNer()
    local = InProcessNer()

    async def direct() -> object:
        return model.analyze(request)

    with Server([]) as server:
        client = GrpcNer(server.addr, timeout_ms=5_000)
        paths: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("in-process, SpacyNer.analyze (blocks the event loop)", direct),
            ("in-process, InProcessNer (worker thread; the proxy's default)", lambda: local.analyze(request)),
            ("gRPC, GrpcNer -> masker ner serve (loopback)", lambda: client.analyze(request)),
        ]
        samples: dict[str, list[float]] = {label: [] for label, _ in paths}
        try:
            for i in range(args.requests + 10):  # the first 10 rounds are warm-up
                for label, call in paths:
                    started = time.perf_counter()
                    await call()
                    if i >= 10:
                        samples[label].append(time.perf_counter() - started)
        finally:
            await client.close()
            await local.close()
    return list(samples.items())


@dataclass
class LoadResult:
    label: str
    calls: int
    seconds: float
    latencies: list[float]
    mean_batch_requests: float
    mean_batch_texts: float
    model_busy: float  # share of wall time the model thread spent in nlp.pipe


async def load_round(server: Server, seconds: float, callers: int, latencies: list[float]) -> float:
    """``callers`` concurrent callers for ``seconds``; returns the elapsed time."""
    pool = texts_for(200, seed=11)
    client = GrpcNer(server.addr, timeout_ms=10_000, breaker_failures=1_000_000)
    await client.analyze(pool[:2])
    stop_at = time.perf_counter() + seconds

    async def caller(i: int) -> None:
        j = i
        while time.perf_counter() < stop_at:
            request = [pool[j % len(pool)], pool[(j + 1) % len(pool)]]
            j += callers
            started = time.perf_counter()
            await client.analyze(request)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def throughput(args: argparse.Namespace, configs: list[tuple[str, list[str]]]) -> list[LoadResult]:
    """All servers up at once (idle ones cost nothing); short rounds in turn, ``--rounds`` times."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Server(server_args)) for _, server_args in configs]
        latencies: list[list[float]] = [[] for _ in configs]
        elapsed = [0.0 for _ in configs]
        for _ in range(args.rounds):
            for k, server in enumerate(servers):
                elapsed[k] += await load_round(server, args.seconds / args.rounds, args.callers, latencies[k])
        results = []
        for (label, _), server, lat, secs in zip(configs, servers, latencies, elapsed, strict=True):
            passes = server.metric("masker_ner_batch_requests_count") or 1.0
            calls = server.metric("masker_ner_batch_requests_sum") or 0.0
            texts = server.metric("masker_ner_batch_texts_sum") or 0.0
            busy = (server.metric("masker_ner_inference_seconds_sum") or 0.0) / secs
            results.append(LoadResult(label, len(lat), secs, lat, calls / passes, texts / passes, busy))
    return results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}; "
        f"load average at start {load} (other work on the machine skews the figures)"
    )


async def main_async(args: argparse.Namespace) -> None:
    print(f"Machine: {machine()}\n")
    print(f"### Latency: one call of {args.texts} texts, sequential, {args.requests} calls\n")
    print("| path | p50 ms | p95 ms |\n|---|---:|---:|")
    for label, values in await latency(args):
        print(f"| {label} | {ms(pct(values, 50))} | {ms(pct(values, 95))} |")
    print(
        f"\n### Throughput: {args.callers} concurrent callers, 2 texts per call, {args.seconds:g} s per "
        f"server in {args.rounds} alternating rounds\n"
    )
    print("| server | calls/s | texts/s | p50 ms | p95 ms | calls per pass | texts per pass | model busy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    configs = [
        ("micro-batching, window 0 (default)", ["--batch-window-ms", "0"]),
        ("micro-batching, window 2 ms", ["--batch-window-ms", "2"]),
        ("no batching (one pass per call)", ["--no-batching"]),
    ]
    for r in await throughput(args, configs):
        print(
            f"| {r.label} | {r.calls / r.seconds:.0f} | {2 * r.calls / r.seconds:.0f} | "
            f"{ms(pct(r.latencies, 50))} | {ms(pct(r.latencies, 95))} | "
            f"{r.mean_batch_requests:.1f} | {r.mean_batch_texts:.1f} | {r.model_busy:.0%} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--requests", type=int, default=300, help="sequential calls per latency row")
    p.add_argument("--texts", type=int, default=3, help="texts per call in the latency rows")
    p.add_argument("--callers", type=int, default=16)
    p.add_argument("--seconds", type=float, default=12.0, help="load time per server configuration")
    p.add_argument("--rounds", type=int, default=4, help="configurations take turns this many times")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
