"""Scale benchmark: memory over a soak, GC pauses, latency vs callers, warm turns across workers and
replicas, latency vs vault size. Drives real ``masker serve`` processes (fake upstream LLM).

    python bench/scale.py              # the full run (30-minute soak, vaults up to 1M rows)
    python bench/scale.py --quick      # a few minutes: short soak, fewer levels, vaults to 100k
    python bench/scale.py --only soak --soak-seconds 1800

Sections (``--only`` picks some):

* ``soak``    RSS of one proxy (in-process NER) every few seconds while callers run ever-new
              conversations; vault rows (tokens) at the end; garbage-collection pauses (below).
* ``callers`` latency p50/p99 at 1..64 concurrent callers, in-process NER vs the gRPC NER service,
              two caller models, printed apart:
              - closed loop: each caller sends its next request as soon as the previous one is
                answered (no think time): a saturation test, not what a voice deployment sees;
                ~15 % of requests carry a message never seen before that names someone only the
                NER model can find (the model runs), the rest are resent messages (cache);
              - voice: each caller holds a conversation, sends a turn (one new utterance on top of
                its history; one utterance in four needs the model), then waits a human turn gap
                (``--voice-gap``, default 1-3 s) before the next: "N concurrent calls" as a voice
                deployment sees them.
* ``warm``    first-turn cost by history length, cold (history never seen) vs warm (the next turn,
              on a new connection): one worker; two workers without and with the shared findings
              store (Redis); two proxies behind one port (a round-robin relay) with Redis. The hit
              ratio counts history messages not detected again on the warm turn.
* ``vault``   latency and RSS on vaults prefilled through the store API, SQLite and PostgreSQL.

Garbage-collection pauses (soak and callers): every collection is timed by the proxy itself
(``masker_gc_pause_seconds`` wall clock, ``masker_gc_cpu_seconds`` the collector's own CPU time, by
generation; percentiles are histogram bucket upper bounds). A flat heap may trigger no natural full
collection at all under load, so the proxies run here also set ``MASKER_GC_PROBE_SECONDS``: every
10 s (``--gc-probe-seconds``) the server itself runs a full collection of its live heap, under the
load, and times it (``masker_gc_probe_seconds``) — the pause a natural full collection would cost
then (a shorter interval leaves less to walk in each). The proxy's log
holds a census of what the collector tracks (objects by type) every tenth probe; the first and last
are printed.

Every figure is from this run; compare within a run (ratios), not across machines. The 1-minute load
average is printed with each figure: on a shared machine latency is mostly waiting for a CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import run as harness  # noqa: E402  (the shared process helpers of bench/run.py)

PY = sys.executable
AGENT = harness.AGENT_ID
REDIS_URL = os.environ.get("MASKER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN = os.environ.get("MASKER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

FIRST = [
    "Maria",
    "James",
    "Aisha",
    "Wei",
    "Olga",
    "Kofi",
    "Lucia",
    "Ravi",
    "Hannah",
    "Tomas",
    "Ines",
    "Yusuf",
]
LAST = ["Lopez", "Okafor", "Nguyen", "Schmidt", "Haddad", "Kowalski", "Silva", "Patel", "Moreau", "Berg"]
CITIES = ["Springfield", "Riverton", "Fairview", "Lakewood", "Ashford", "Milton"]


def say(msg: str) -> None:
    print(msg, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Texts:
    """Synthetic PHI, never repeated unless asked (a counter makes every text new)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        r = self.rng
        kind = self.n % 3
        name = f"{r.choice(FIRST)} {r.choice(LAST)}"
        phone = f"({r.randint(201, 989)}) 555-{r.randint(100, 9999):04d}"
        if kind == 0:
            return f"Hi, this is {name}, call me back at {phone} about visit {self.n}."
        if kind == 1:
            born = f"{r.randint(1, 12)}/{r.randint(1, 28)}/19{r.randint(40, 99)}"
            return f"My date of birth is {born}, ref {self.n}."
        return f"I moved to {r.choice(CITIES)}, my email is p{self.n}@example.org."

    def named(self) -> str:
        """A message whose name no pattern can claim: the detector sends it to the NER model."""
        self.n += 1
        r = self.rng
        first, last, city = r.choice(FIRST), r.choice(LAST), r.choice(CITIES)
        kind = self.n % 3
        if kind == 0:
            return f"{first} {last} will drive me to visit {self.n} on Tuesday, she lives near {city}."
        if kind == 1:
            return f"Could you ask {first} at the front desk to call my daughter about item {self.n}?"
        return f"I saw {first} {last} at the {city} clinic last week about my knee (ref {self.n})."

    def utterance(self) -> str:
        """A voice turn: one in four names someone only the model can find."""
        return self.named() if self.n % 4 == 3 else self.fresh()

    def history(self, length: int) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": "You are the front desk of a clinic."}]
        while len(messages) < length:
            messages.append({"role": "user", "content": self.fresh()})
            messages.append({"role": "assistant", "content": f"Thank you, noted (item {self.n})."})
        return messages[:length]


# -- processes -------------------------------------------------------------------------------------
class Proxy:
    def __init__(self, proc: harness.Proc, url: str, metrics: str | None) -> None:
        self.proc, self.url, self.metrics = proc, url, metrics

    @property
    def chat(self) -> str:
        return f"{self.url}/proxy/{AGENT}/v1/chat/completions"

    def rss(self) -> float:
        return harness.rss_mb(self.proc.process.pid)["rss_mb"]

    def scrape(self) -> str:
        if not self.metrics:
            return ""
        with urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=5) as resp:
            return str(resp.read().decode())


def start_proxy(
    work: Path,
    upstream: int,
    *,
    workers: int = 1,
    ner: str | None = None,
    extra: dict[str, str] | None = None,
    data: Path | None = None,
) -> Proxy:
    cdir = Path(tempfile.mkdtemp(dir=work, prefix=f"proxy-w{workers}-"))
    env, url = harness.proxy_env(
        cdir,
        upstream,
        policy="default",
        policies_dir=harness.REPO / "policies",
        workers=workers,
        ner_addr=ner,
    )
    env["MASKER_METRICS_ADDR"] = f"127.0.0.1:{harness.free_port()}"
    if data is not None:
        env["MASKER_DATA_DIR"] = str(data)
    env.update(extra or {})
    proc = harness.spawn(f"proxy-{cdir.name}", [PY, "-m", "masker", "serve"], env, cdir)
    harness.wait_http(proc, url + "/health")
    return Proxy(proc, url, env["MASKER_METRICS_ADDR"])


@contextlib.contextmanager
def proxies(*started: Proxy) -> Iterator[None]:
    try:
        yield
    finally:
        for p in started:
            p.proc.stop()


def metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head != name and not head.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def gc_pauses(
    text: str, label: str = 'generation="2"', metric: str = "masker_gc_pause_seconds"
) -> tuple[float, float, float]:
    """(count, p50 bound, p99 bound) in ms of one labelled series of a GC pause histogram."""
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(f"{metric}_bucket{{") and label in line:
            le = re.search(r'le="([^"]+)"', line)
            if le:
                buckets.append((float(le.group(1)), float(line.rsplit(" ", 1)[1])))
    buckets.sort()
    if not buckets or not buckets[-1][1]:
        return 0.0, float("nan"), float("nan")
    total = buckets[-1][1]

    def bound(q: float) -> float:
        return next(le for le, n in buckets if n >= q * total) * 1000

    return total, bound(0.5), bound(0.99)


def gc_report(proxy: Proxy, metrics: str) -> list[str]:
    """The GC lines of a section: natural collections by generation (wall and CPU), the probe's
    forced full collections (wall and CPU), and the census of tracked objects from the log."""

    def fmt(series: tuple[float, float, float]) -> str:
        count, p50, p99 = series
        return f"{count:.0f}, p50 <= {p50:.1f} ms, p99 <= {p99:.1f} ms" if count else "0"

    lines = []
    for generation in ("2", "1", "0"):
        label = f'generation="{generation}"'
        lines.append(
            f"natural gen-{generation} collections: wall {fmt(gc_pauses(metrics, label))}; "
            f"collector CPU {fmt(gc_pauses(metrics, label, 'masker_gc_cpu_seconds'))}"
        )
    wall = gc_pauses(metrics, 'clock="wall"', "masker_gc_probe_seconds")
    cpu = gc_pauses(metrics, 'clock="cpu"', "masker_gc_probe_seconds")
    mean = metric_sum(metrics, "masker_gc_probe_seconds_sum", clock="wall") / max(1.0, wall[0]) * 1000
    lines.append(
        f"FULL-GC PAUSE under load (forced gen-2 collections of the live heap): wall {fmt(wall)}, "
        f"mean {mean:.1f} ms; collector CPU {fmt(cpu)}"
    )
    census = [
        line[line.index("gc probe:") :]
        for line in proxy.proc.log_path.read_text(errors="replace").splitlines()
        if "gc probe:" in line
    ]
    if census:
        lines.append(f"first census: {census[0]}")
        lines.append(f"last census:  {census[-1]}")
    return lines


# -- a round-robin TCP relay: two proxies behind one port ---------------------------------------------
@contextlib.asynccontextmanager
async def relay(targets: list[str]) -> AsyncIterator[str]:
    ports = itertools.cycle([int(t.rsplit(":", 1)[1]) for t in targets])

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", next(ports))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


# -- the client ------------------------------------------------------------------------------------------
async def post(
    session: aiohttp.ClientSession, url: str, messages: list[dict[str, str]], conversation: str
) -> tuple[float, int]:
    body = {"model": "gpt-4o-mini", "messages": messages}
    started = time.perf_counter()
    async with session.post(url, json=body, headers={"x-masker-conversation-id": conversation}) as resp:
        await resp.read()
        return (time.perf_counter() - started) * 1000, resp.status


def connector(limit: int, *, fresh: bool = False) -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=limit, force_close=fresh)


# -- sections ----------------------------------------------------------------------------------------------
async def soak(ns: argparse.Namespace, work: Path, upstream: int) -> dict[str, Any]:
    say(
        f"\n## Soak: one worker, in-process NER, {ns.soak_callers} callers, ever-new conversations, "
        f"{ns.soak_seconds:.0f} s"
        + (f", memory budget {ns.memory_budget_mb:g} MiB" if ns.memory_budget_mb else "")
    )
    extra = gc_probe_env(ns)
    if ns.memory_budget_mb:
        extra["MASKER_MEMORY_BUDGET_MB"] = str(ns.memory_budget_mb)
    proxy = start_proxy(work, upstream, extra=extra)
    texts = Texts(1)
    curve: list[tuple[float, float]] = []
    latencies: list[float] = []
    errors = 0
    requests = 0
    with proxies(proxy):
        start_rss = proxy.rss()
        stop = time.monotonic() + ns.soak_seconds

        async def caller(session: aiohttp.ClientSession) -> None:
            nonlocal errors, requests
            while time.monotonic() < stop:
                conversation = uuid.uuid4().hex
                messages = texts.history(3)
                for _ in range(ns.soak_turns):
                    messages = [*messages, {"role": "user", "content": texts.fresh()}]
                    ms, status = await post(session, proxy.chat, messages, conversation)
                    requests += 1
                    latencies.append(ms)
                    errors += status != 200
                    messages.append({"role": "assistant", "content": f"Noted {texts.n}."})
                    if time.monotonic() >= stop:
                        return

        async def sampler() -> None:
            began = time.monotonic()
            while time.monotonic() < stop:
                curve.append((time.monotonic() - began, proxy.rss()))
                await asyncio.sleep(ns.sample_seconds)

        async with aiohttp.ClientSession(connector=connector(ns.soak_callers)) as session:
            await asyncio.gather(sampler(), *(caller(session) for _ in range(ns.soak_callers)))
        await asyncio.sleep(6)  # an idle spell: the sweeper runs, nothing new arrives
        idle_rss = proxy.rss()
        metrics = proxy.scrape()
        rows = await vault_rows(proxy.proc.log_path.parent / "data" / "masker.db")
    count, p50, p99 = gc_pauses(metrics)
    probe = gc_pauses(metrics, 'clock="wall"', "masker_gc_probe_seconds")
    probe_cpu = gc_pauses(metrics, 'clock="cpu"', "masker_gc_probe_seconds")
    say(f"RSS MiB at start {start_rss:.0f}; over time (s: MiB):")
    step = max(1, len(curve) // 20)
    say("  " + ", ".join(f"{t:.0f}: {m:.0f}" for t, m in curve[::step]))
    say(
        f"RSS at end {curve[-1][1]:.0f} MiB, after 6 s idle {idle_rss:.0f} MiB, "
        f"peak {max(m for _, m in curve):.0f}"
    )
    say(
        f"requests {requests}, errors {errors}, vault rows (tokens) {rows}, budget held "
        f"{metric_sum(metrics, 'masker_memory_budget_bytes') / 2**20:.1f} MiB"
    )
    say(
        f"latency p50 {pct(latencies, 0.5):.1f} ms, p99 {pct(latencies, 0.99):.1f} ms "
        f"(load average {harness.loadavg():.2f})"
    )
    for line in gc_report(proxy, metrics):
        say(line)
    return {
        "curve": curve,
        "idle_rss": idle_rss,
        "rows": rows,
        "gc2": (count, p50, p99),
        "gc2_forced_wall": probe,
        "gc2_forced_cpu": probe_cpu,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "errors": errors,
    }


def gc_probe_env(ns: argparse.Namespace) -> dict[str, str]:
    return {"MASKER_GC_PROBE_SECONDS": str(ns.gc_probe_seconds)} if ns.gc_probe_seconds > 0 else {}


async def vault_rows(path: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM masker_vault").fetchone()[0])


async def drive(
    url: str, callers: int, seconds: float, pool: list[list[dict[str, str]]], texts: Texts, fresh_share: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    rng = random.Random(callers)

    async def caller(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            base = rng.choice(pool)
            if rng.random() < fresh_share:
                base = [*base[:-1], {"role": "user", "content": texts.named()}]
            ms, status = await post(session, url, base, "load")
            if status == 200:
                latencies.append(ms)
            errors += status != 200

    async with aiohttp.ClientSession(connector=connector(callers)) as session:
        await asyncio.gather(*(caller(session) for _ in range(callers)))
    return latencies, errors


async def voice(
    url: str, callers: int, seconds: float, texts: Texts, gap: tuple[float, float], turns: int
) -> tuple[list[float], int]:
    """Callers on voice calls: each sends a turn (its history plus one new utterance), then waits a
    human turn gap before the next; a call ends after ``turns`` turns and a new one starts."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    rng = random.Random(callers * 7919)

    async def caller(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        # Callers do not all start on the same millisecond.
        await asyncio.sleep(rng.uniform(0, gap[1]))
        while time.monotonic() < stop:
            conversation = uuid.uuid4().hex
            messages = [{"role": "system", "content": "You are the front desk of a clinic."}]
            for _ in range(turns):
                messages = [*messages, {"role": "user", "content": texts.utterance()}]
                ms, status = await post(session, url, messages, conversation)
                if status == 200:
                    latencies.append(ms)
                errors += status != 200
                messages.append({"role": "assistant", "content": f"Thank you, noted (item {texts.n})."})
                if time.monotonic() + gap[0] >= stop:
                    return
                await asyncio.sleep(rng.uniform(*gap))

    async with aiohttp.ClientSession(connector=connector(callers)) as session:
        await asyncio.gather(*(caller(session) for _ in range(callers)))
    return latencies, errors


async def callers_section(ns: argparse.Namespace, work: Path, upstream: int) -> dict[str, Any]:
    levels = [1, 4, 16, 32, 64] if ns.quick else [1, 2, 4, 8, 16, 32, 64]
    voice_levels = [8, 32, 64] if ns.quick else [1, 8, 16, 32, 64]
    gap = (ns.voice_gap[0], ns.voice_gap[1])
    texts = Texts(2)
    pool = [texts.history(4) for _ in range(100)]
    out: dict[str, Any] = {}
    labels = ("inprocess", "grpc", "grpc-x2")
    closed: dict[int, list[str]] = {n: [] for n in levels}
    voiced: dict[int, list[str]] = {n: [] for n in voice_levels}
    gc_lines: list[str] = []
    with harness.ner_service(work) as (first, _), harness.ner_service(work) as (second, _):
        both = f"ipv4:{first},{second}" if first and second else None
        for label, ner in zip(labels, (None, first, both), strict=True):
            if label != "inprocess" and ner is None:
                for row in (*closed.values(), *voiced.values()):
                    row.append("n/a")
                continue
            extra = gc_probe_env(ns)
            if ner is not None and ns.ner_timeout_ms:
                extra["MASKER_NER_TIMEOUT_MS"] = str(ns.ner_timeout_ms)
            proxy = start_proxy(work, upstream, ner=ner, extra=extra)
            with proxies(proxy):
                await drive(proxy.chat, 8, 3, pool, texts, 0.0)  # warm the pool into the cache
                if "closed" in ns.caller_model:
                    for n in levels:
                        lat, errors = await drive(proxy.chat, n, ns.level_seconds, pool, texts, 0.15)
                        closed[n].append(cell(out, f"closed:{label}:{n}", lat, errors, ns.level_seconds))
                if "voice" in ns.caller_model:
                    for n in voice_levels:
                        lat, errors = await voice(proxy.chat, n, ns.voice_seconds, texts, gap, ns.voice_turns)
                        voiced[n].append(cell(out, f"voice:{label}:{n}", lat, errors, ns.voice_seconds))
                metrics = proxy.scrape()
                gc_lines.append(f"{label} proxy, over all its levels:")
                gc_lines += [f"  {line}" for line in gc_report(proxy, metrics)]
                out[f"gc:{label}"] = gc_pauses(metrics, 'clock="wall"', "masker_gc_probe_seconds")
    head = (
        "| callers | in-process NER p50 / p99 ms (req/s; load) | gRPC NER p50 / p99 (req/s; load) "
        "| gRPC NER x2 replicas p50 / p99 (req/s; load) |"
    )
    if "closed" in ns.caller_model:
        say(
            f"\n## Latency vs concurrent callers, CLOSED LOOP (one proxy worker; {ns.level_seconds:.0f} s "
            "per level; each caller sends again as soon as it is answered, no think time; ~15 % of "
            "requests carry a new message)"
        )
        say(head)
        say("|---:|---:|---:|---:|")
        for n in levels:
            say(f"| {n} | " + " | ".join(closed[n]) + " |")
    if "voice" in ns.caller_model:
        say(
            f"\n## Latency vs concurrent callers, VOICE CALLS (one proxy worker; {ns.voice_seconds:.0f} s "
            f"per level; each caller sends a turn with one new utterance, then waits "
            f"{gap[0]:g}-{gap[1]:g} s; {ns.voice_turns} turns per call)"
        )
        say(head)
        say("|---:|---:|---:|---:|")
        for n in voice_levels:
            say(f"| {n} | " + " | ".join(voiced[n]) + " |")
    say(
        "(p50 / p99 of answered requests; req/s answered; err = requests refused, e.g. 503 when a "
        "NER call failed and the policy fails closed; load = 1-minute load average)"
    )
    say("\nGC pauses of the callers' proxies:")
    for line in gc_lines:
        say(line)
    return out


def cell(out: dict[str, Any], key: str, lat: list[float], errors: int, seconds: float) -> str:
    rate = len(lat) / seconds
    load = harness.loadavg()
    out[key] = (pct(lat, 0.5), pct(lat, 0.99), rate, errors, len(lat), load)
    err = f", {errors} err" if errors else ""
    return f"{pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} ({rate:.0f}{err}; {load:.1f})"


async def warm_section(ns: argparse.Namespace, work: Path, upstream: int) -> dict[str, Any]:
    say(
        "\n## Cold vs warm first turn by history length (median ms; hit % = history messages not "
        "detected again on the warm turn)"
    )
    lengths = [10, 50, 200]
    reps = ns.warm_reps or (4 if ns.quick else 12)
    redis_env = {
        "MASKER_REDIS_URL": REDIS_URL,
        "MASKER_FINDINGS_HMAC_KEY": "c2NhbGUtYmVuY2gtZmluZGluZ3Mta2V5LTMyYnl0ZXM=",
    }
    configs: list[tuple[str, int, dict[str, str], int]] = [
        ("1 worker", 1, {}, 1),
        ("2 workers, no shared store", 2, {}, 1),
        ("2 workers + Redis findings", 2, redis_env, 1),
        ("2 proxies behind one port + Redis", 1, redis_env, 2),
    ]
    out: dict[str, Any] = {}
    say("| setup | " + " | ".join(f"H={h} cold / warm (hit %)" for h in lengths) + " |")
    say("|---|" + "---:|" * len(lengths))
    for label, workers, env, replicas in configs:
        started = [start_proxy(work, upstream, workers=workers, extra=env) for _ in range(replicas)]
        cells = []
        with proxies(*started):
            async with contextlib.AsyncExitStack() as stack:
                if replicas > 1:
                    base = await stack.enter_async_context(relay([p.url for p in started]))
                else:
                    base = started[0].url
                url = f"{base}/proxy/{AGENT}/v1/chat/completions"
                texts = Texts(hash(label) & 0xFFFF)
                # Warm-up: the model and connections, not measured.
                async with aiohttp.ClientSession(connector=connector(1, fresh=True)) as session:
                    for _ in range(4):
                        await post(session, url, texts.history(6), uuid.uuid4().hex)
                for length in lengths:
                    cold: list[float] = []
                    warm: list[float] = []
                    redetected = 0
                    for _ in range(reps):
                        conversation = uuid.uuid4().hex
                        history = texts.history(length)
                        async with aiohttp.ClientSession(connector=connector(1, fresh=True)) as session:
                            ms, _ = await post(session, url, history, conversation)
                            cold.append(ms)
                            # The shared store is written in the background, the gauges are
                            # published once a second.
                            await asyncio.sleep(1.2)
                            before = final_misses(started)
                            turn = [
                                *history,
                                {"role": "assistant", "content": "Anything else?"},
                                {"role": "user", "content": texts.fresh()},
                            ]
                            ms, _ = await post(session, url, turn, conversation)
                            warm.append(ms)
                            await asyncio.sleep(1.2)  # the gauges are published once a second
                            redetected += max(0, final_misses(started) - before - 2)  # 2 new messages
                    hit = 100 * (1 - redetected / (reps * length))
                    out[f"{label}:{length}"] = (statistics.median(cold), statistics.median(warm), hit)
                    cells.append(
                        f"{statistics.median(cold):.1f} / {statistics.median(warm):.1f} ({hit:.0f} %)"
                    )
        say(f"| {label} | " + " | ".join(cells) + " |")
    return out


def final_misses(started: list[Proxy]) -> float:
    """Messages run through detection: shared-tier misses where there is one, else local misses."""
    total = 0.0
    for proxy in started:
        text = proxy.scrape()
        shared = metric_sum(text, "masker_findings_lookups", tier="shared", result="miss")
        shared_hits = metric_sum(text, "masker_findings_lookups", tier="shared", result="hit")
        total += (
            shared
            if (shared or shared_hits)
            else metric_sum(text, "masker_findings_lookups", tier="local", result="miss")
        )
    return total


async def prefill(url: str, rows: int) -> None:
    from masker.tokens.store import VaultRow, store_from_url

    store = store_from_url(url)
    await store.open()
    try:
        now = time.time()
        batch = 5000
        for start in range(0, rows, batch):
            await store.put_many(
                [
                    VaultRow(
                        f"prefill{(start + i) // 50:08d}",
                        f"K{start + i:09d}",
                        "PHONE",
                        os.urandom(40),
                        now,
                        None,
                        "prefill",
                    )
                    for i in range(min(batch, rows - start))
                ]
            )
    finally:
        await store.close()


async def vault_section(ns: argparse.Namespace, work: Path, upstream: int) -> dict[str, Any]:
    sizes = ns.vault_sizes or ([10_000, 100_000] if ns.quick else [10_000, 100_000, 1_000_000])
    say(
        "\n## Latency vs vault size (one worker, in-process NER; fresh single-turn conversations, sequential)"
    )
    say("| backend | rows | p50 ms | p99 ms | RSS MiB | vault on disk MiB |")
    say("|---|---:|---:|---:|---:|---:|")
    out: dict[str, Any] = {}
    import psycopg

    for backend in ("sqlite", "postgres"):
        for rows in sizes:
            data = Path(tempfile.mkdtemp(dir=work, prefix=f"vault-{backend}-"))
            pg_name = None
            if backend == "sqlite":
                url = f"sqlite:///{data / 'masker.db'}"
            else:
                pg_name = "masker_scale_" + uuid.uuid4().hex[:10]
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{pg_name}"')
                url = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name
            try:
                t0 = time.monotonic()
                await prefill(url, rows)
                fill_s = time.monotonic() - t0
                proxy = start_proxy(work, upstream, data=data, extra={"MASKER_DATABASE_URL": url})
                texts = Texts(rows)
                with proxies(proxy):
                    latencies: list[float] = []
                    async with aiohttp.ClientSession(connector=connector(1)) as session:
                        for i in range(ns.vault_requests + 20):
                            messages = [{"role": "user", "content": texts.fresh()}]
                            ms, _ = await post(session, proxy.chat, messages, uuid.uuid4().hex)
                            if i >= 20:
                                latencies.append(ms)
                    await asyncio.sleep(1)
                    rss = proxy.rss()
                    size = metric_sum(proxy.scrape(), "masker_vault_size_bytes") / 2**20
                out[f"{backend}:{rows}"] = (pct(latencies, 0.5), pct(latencies, 0.99), rss, size)
                say(
                    f"| {backend} | {rows:,} | {pct(latencies, 0.5):.1f} | {pct(latencies, 0.99):.1f} "
                    f"| {rss:.0f} | "
                    f"{size:.1f} (prefill {fill_s:.0f} s) |"
                )
            finally:
                if pg_name:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                        admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return out


async def main_async(ns: argparse.Namespace) -> None:
    sections = ns.only or ["soak", "callers", "warm", "vault"]
    say(f"# Masker scale benchmark ({'quick' if ns.quick else 'full'}) {time.strftime('%Y-%m-%d %H:%M:%S')}")
    say(f"machine: {harness.machine()}, load average {harness.loadavg():.2f}")
    work = Path(tempfile.mkdtemp(prefix="masker-scale-"))
    fake, upstream = harness.start_fake(work, argparse.Namespace(upstream_delay_ms=ns.upstream_delay_ms))
    results: dict[str, Any] = {}
    try:
        for section in sections:
            fn = {"soak": soak, "callers": callers_section, "warm": warm_section, "vault": vault_section}[
                section
            ]
            results[section] = await fn(ns, work, upstream)
    finally:
        fake.stop()
    say(f"\nload average at the end {harness.loadavg():.2f}")
    if ns.json:
        Path(ns.json).write_text(json.dumps(results, default=str, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few minutes instead of the full run")
    parser.add_argument("--only", action="append", choices=["soak", "callers", "warm", "vault"])
    parser.add_argument("--soak-seconds", type=float, help="soak duration (default 1800, quick 60)")
    parser.add_argument("--soak-callers", type=int, default=16)
    parser.add_argument("--soak-turns", type=int, default=6, help="turns per conversation in the soak")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument(
        "--memory-budget-mb",
        type=float,
        help="MASKER_MEMORY_BUDGET_MB of the soak proxy (default: the proxy's own); a small one is "
        "full within seconds, so a short soak runs mostly in the evicting regime",
    )
    parser.add_argument("--level-seconds", type=float, help="seconds per caller level (default 15, quick 5)")
    parser.add_argument(
        "--caller-model",
        action="append",
        choices=["closed", "voice"],
        help="callers section: closed loop, voice calls, or both (default both)",
    )
    parser.add_argument("--voice-seconds", type=float, help="seconds per voice level (default 60, quick 20)")
    parser.add_argument(
        "--voice-gap", type=float, nargs=2, default=[1.0, 3.0], help="voice turn gap range in seconds"
    )
    parser.add_argument("--voice-turns", type=int, default=10, help="turns per voice call")
    parser.add_argument(
        "--gc-probe-seconds",
        type=float,
        default=10.0,
        help="MASKER_GC_PROBE_SECONDS of the soak and callers proxies (0 = no forced collections); "
        "shorter intervals leave less to walk in each",
    )
    parser.add_argument(
        "--ner-timeout-ms",
        type=float,
        help="MASKER_NER_TIMEOUT_MS of the gRPC proxies (default: the proxy's own default)",
    )
    parser.add_argument("--vault-requests", type=int, default=200)
    parser.add_argument("--vault-sizes", type=int, nargs="+", help="rows to prefill (default 10k 100k 1M)")
    parser.add_argument(
        "--warm-reps", type=int, help="conversations per history length (default 12, quick 4)"
    )
    parser.add_argument("--upstream-delay-ms", type=float, default=0.0)
    parser.add_argument("--json", help="also write the figures to this file")
    ns = parser.parse_args()
    ns.soak_seconds = ns.soak_seconds or (60.0 if ns.quick else 1800.0)
    ns.level_seconds = ns.level_seconds or (5.0 if ns.quick else 15.0)
    ns.voice_seconds = ns.voice_seconds or (20.0 if ns.quick else 60.0)
    ns.caller_model = ns.caller_model or ["closed", "voice"]
    if ns.quick:
        ns.vault_requests = min(ns.vault_requests, 100)
    asyncio.run(main_async(ns))


if __name__ == "__main__":
    main()
