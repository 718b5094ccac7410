"""``scripts/bench.sh``: every configuration in one run, one table, ``docs/benchmarks.md``.

Configurations (each a separate process on 127.0.0.1, driven by ``bench/loadgen.py``, itself a
separate process, against ``bench/fake_llm.py``, a third one):

* ``direct``  — the loadgen talks to the fake LLM itself: the baseline every delta is taken from;
* ``framework`` — Hypercorn and the upstream client joined by a raw relay (``bench/framework_app.py``):
  the fixed parts alone, what one more HTTP hop costs before any code of ours;
* ``stack``   — our app with a detector that finds nothing (``bench/stack_app.py``);
* ``floor``   — ``masker serve`` with a keep-everything policy (no "redaction off" switch exists, so
  this is the pass-through floor the brief asks for: detection runs, nothing is tokenized);
* ``inproc``  — ``masker serve`` with the default policy and in-process NER;
* ``grpc``    — ``masker serve`` with ``MASKER_NER_ADDR`` pointing at ``masker ner serve``.

Then the upstream-transport micro-benchmark (``bench/transport_bench.py``) and detection vs
Presidio (``bench/presidio_compare.py``). Figures are medians of one run on a shared 2-core box:
client, proxy and fake LLM compete for the same CPU, which is the point (the box a clinic runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
SCENARIOS = ("voice", "short", "note", "stream", "voice_ner")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


def _tree(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids += _tree(int(child))
    return pids


def rss_mb(pid: int) -> dict[str, float]:
    """Current and peak RSS of a process and its children (Hypercorn workers), in MiB."""
    rss = hwm = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
    return {"rss_mb": rss / 1024, "peak_mb": hwm / 1024}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes (all their threads), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        for q in _tree(p):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{q}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path) -> Proc:
    log_path = workdir / f"{name}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Proc(name, process, log_path)


def wait_http(proc: Proc, url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status in (200, 503):
                    return
        except OSError:
            time.sleep(0.2)
    proc.stop()
    raise RuntimeError(f"{proc.name} did not become ready:\n{proc.tail()}")


def start_fake(workdir: Path, ns: argparse.Namespace) -> tuple[Proc, int]:
    port = free_port()
    proc = spawn("fake-llm", [PY, str(BENCH / "fake_llm.py"), "--port", str(port),
                              "--delay-ms", str(ns.upstream_delay_ms), "--chunk-words", "1"],
                 dict(os.environ), workdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "LISTENING" in proc.log_path.read_text():
            return proc, port
        time.sleep(0.05)
    raise RuntimeError("fake LLM did not start:\n" + proc.tail())


def write_agents(path: Path, upstream_port: int, policy: str) -> None:
    agent = {
        "id": AGENT_ID,
        "name": "bench",
        "upstream": {"base_url": f"http://127.0.0.1:{upstream_port}/v1"},
        "policy": policy,
        "tokenization": "vault",
        "fail_mode": "closed",
        "redaction_metadata": False,
        # The default (100 rps, burst 200) would turn the throughput run into 429s; a deployment
        # sizes this per agent, the benchmark measures the proxy, not the limiter's refusals.
        "rate_limit": {"rps": 1_000_000, "burst": 1_000_000},
    }
    path.write_text(json.dumps({"version": 1, "agents": [agent]}))


def proxy_env(workdir: Path, upstream_port: int, *, policy: str, policies_dir: Path, workers: int,
              ner_addr: str | None) -> tuple[dict[str, str], str]:
    port = free_port()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    agents = workdir / "agents.json"
    write_agents(agents, upstream_port, policy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    env.update({
        "MASKER_LISTEN_ADDR": f"127.0.0.1:{port}",
        "MASKER_DATA_DIR": str(data),
        "MASKER_AGENTS_FILE": str(agents),
        "MASKER_POLICIES_DIR": str(policies_dir),
        "MASKER_OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "MASKER_OPENAI_API_KEY": "sk-bench-not-a-key",
        "MASKER_WORKERS": str(workers),
        "PYTHONPATH": str(BENCH) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    if ner_addr:
        env["MASKER_NER_ADDR"] = ner_addr
    if workers == 1:  # per-stage timings from the proxy's own histograms (one process to scrape)
        env["MASKER_METRICS_ADDR"] = f"127.0.0.1:{free_port()}"
    return env, f"http://127.0.0.1:{port}"


def scrape_stages(metrics_addr: str | None) -> dict[str, tuple[float, float]]:
    """``masker_request_duration_seconds`` per stage: (sum, count); empty if unavailable."""
    if not metrics_addr:
        return {}
    try:
        with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        for suffix, slot in (("_sum{", 0), ("_count{", 1)):
            prefix = "masker_request_duration_seconds" + suffix
            if line.startswith(prefix) and 'stage="' in line:
                stage = line.split('stage="', 1)[1].split('"', 1)[0]
                out.setdefault(stage, [0.0, 0.0])[slot] += float(line.rsplit(" ", 1)[1])
    return {k: (v[0], v[1]) for k, v in out.items()}


@dataclass
class Config:
    name: str
    label: str
    kind: str  # direct | framework | stack | masker
    policy: str = "default"
    ner: bool = False
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


def loadgen(url: str, mode: str, scenario: str, ns: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    argv = [PY, str(BENCH / "loadgen.py"), mode, "--url", url, "--scenario", scenario]
    if mode == "latency":
        paced = scenario == "stream"  # ~0.2 s per request: fewer of them
        n, warmup = (min(ns.n, ns.stream_n), min(ns.warmup, 10)) if paced else (ns.n, ns.warmup)
        n, warmup = extra.pop("n", n), extra.pop("warmup", warmup)
        argv += ["--n", str(n), "--warmup", str(warmup), "--seconds", str(ns.latency_seconds)]
    else:
        argv += ["--seconds", str(ns.seconds), "--concurrency", str(ns.concurrency),
                 "--pool", str(ns.pool)]
    for key, value in extra.items():
        argv += [f"--{key}", str(value)]
    out = subprocess.run(argv, capture_output=True, timeout=ns.latency_seconds + ns.seconds + 180,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def ner_service(workdir: Path) -> Iterator[tuple[str | None, int | None]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    proc = spawn("ner", [PY, "-m", "masker", "ner", "serve", "--listen", f"127.0.0.1:{port}",
                         "--metrics-listen", ""], env, workdir)
    addr = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    ready = False
    while time.monotonic() < deadline and proc.process.poll() is None:
        check = subprocess.run([PY, "-m", "masker", "ner", "check", "--addr", addr], capture_output=True,
                               check=False, timeout=30)
        if check.returncode == 0:
            ready = True
            break
        time.sleep(0.5)
    try:
        if not ready:
            log("NER service unavailable, skipping the gRPC configuration:\n" + proc.tail())
            yield None, None
        else:
            yield addr, proc.process.pid
    finally:
        proc.stop()


@dataclass
class Running:
    """One configuration's processes, alive for the whole latency phase."""

    cfg: Config
    url: str
    proc: Proc | None
    metrics_addr: str | None
    samples: dict[str, list[float]] = field(default_factory=dict)
    ttfts: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, dict[str, int]] = field(default_factory=dict)
    stages: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def start_config(cfg: Config, workdir: Path, upstream_port: int, ner_addr: str | None) -> Running:
    base = f"http://127.0.0.1:{upstream_port}"
    if cfg.kind == "direct":
        return Running(cfg, base + "/v1/chat/completions", None, None)
    cdir = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{cfg.name}-w{cfg.workers}-"))
    policies = BENCH / "policies" if cfg.policy == "passthrough" else REPO / "policies"
    env, proxy_url = proxy_env(cdir, upstream_port, policy=cfg.policy, policies_dir=policies,
                               workers=cfg.workers, ner_addr=ner_addr if cfg.ner else None)
    env.update(cfg.env)
    scripts = {"stack": "stack_app.py", "framework": "framework_app.py"}
    argv = ([PY, str(BENCH / scripts[cfg.kind])] if cfg.kind in scripts
            else [PY, "-m", "masker", "serve"])
    proc = spawn(f"{cfg.name}-{len(cfg.env)}", argv, env, cdir)
    wait_http(proc, proxy_url + "/health")
    return Running(cfg, f"{proxy_url}/proxy/{AGENT_ID}/v1/chat/completions", proc,
                   env.get("MASKER_METRICS_ADDR"))


def latency_interleaved(runs: list[Running], scenario: str, ns: argparse.Namespace, *,
                        cold: bool = False) -> None:
    """One loadgen process drives every configuration on the same fresh bodies, taking turns in
    slices of ``--batch`` requests (rotating order, the first ``--settle`` of a slice not counted).
    Slices last a few tens of milliseconds, so a slow spell on this shared box lands on all
    configurations alike; identical servers then agree to ~0.1 ms p50 instead of ~0.5 ms.

    ``cold``: one request per turn, every one counted, so each follows the other configurations'
    requests, as a voice agent's turn follows seconds of other work; stored as ``<scenario>_cold``."""
    paced = scenario == "stream"  # ~0.25 s per request: fewer of them
    n, warmup = (min(ns.n, ns.stream_n), min(ns.warmup, 10)) if paced else (ns.n, ns.warmup)
    batch, settle = (4, 0) if paced else (1, 0) if cold else (ns.batch, ns.settle)
    argv = [PY, str(BENCH / "loadgen.py"), "latency", "--scenario", scenario, "--n", str(n),
            "--warmup", str(warmup), "--seconds", str(ns.latency_seconds * len(runs)),
            "--batch", str(batch), "--settle", str(settle), "--seed", "2000" if cold else "1000"]
    key = f"{scenario}_cold" if cold else scenario
    for run in runs:
        argv += ["--url", run.url]
    before = [scrape_stages(run.metrics_addr) for run in runs]
    out = subprocess.run(argv, capture_output=True, timeout=ns.latency_seconds * len(runs) + 300,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr.decode(errors='replace')[-2000:]}")
    data: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    per_url: list[dict[str, Any]] = data["per_url"] if len(runs) > 1 else [data]
    for run, res, b in zip(runs, per_url, before, strict=True):
        after = scrape_stages(run.metrics_addr)
        run.samples.setdefault(key, []).extend(res.get("samples_ms") or [])
        run.ttfts.setdefault(key, []).extend(res.get("ttft_samples_ms") or [])
        errors = run.errors.setdefault(key, {})
        for kind, count in (res.get("errors") or {}).items():
            errors[kind] = errors.get(kind, 0) + count
        sums = run.stages.setdefault(key, {})
        for k in after:
            prev = b.get(k, (0.0, 0.0))
            acc = sums.setdefault(k, [0.0, 0.0])
            acc[0] += after[k][0] - prev[0]
            acc[1] += after[k][1] - prev[1]


def finish_latency(run: Running) -> None:
    from loadgen import percentiles

    for scenario, samples in run.samples.items():
        entry: dict[str, Any] = {
            "mode": "latency", "scenario": scenario, "latency_ms": percentiles(samples),
            "ttft_ms": percentiles(run.ttfts[scenario]) if run.ttfts.get(scenario) else None,
            "errors": run.errors.get(scenario, {}),
        }
        stages = {k: 1000 * v[0] / v[1] for k, v in run.stages.get(scenario, {}).items() if v[1] > 0}
        if stages:
            entry["stages_ms"] = stages
        run.cfg.results[scenario] = entry


def throughput_run(run: Running, ns: argparse.Namespace, ner_pid: int | None) -> None:
    cfg = run.cfg
    log(f"{cfg.label}: throughput voice c={ns.concurrency} {ns.seconds:.0f}s")
    cfg.results["loadavg"] = loadavg()
    # CPU per request of the proxy (and its NER service): unlike wall-clock figures, this
    # barely moves when the client and the fake LLM compete for the same two cores.
    cpu_pids = [run.proc.process.pid] if run.proc is not None else []
    if cfg.ner and ner_pid:
        cpu_pids.append(ner_pid)
    cpu_before = cpu_seconds(cpu_pids)
    cfg.results["throughput"] = loadgen(run.url, "throughput", "voice", ns)
    done = cfg.results["throughput"].get("requests") or 0
    if cpu_pids and done:
        cfg.results["throughput"]["cpu_ms_per_request"] = (
            1000 * (cpu_seconds(cpu_pids) - cpu_before) / done)
    if run.proc is not None:
        cfg.results["memory"] = rss_mb(run.proc.process.pid)


def loadavg() -> float:
    """1-minute load average: other work on the box (it is shared) shows up in every figure."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return float("nan")


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    from importlib.metadata import version

    libs = []
    for pkg in ("quart", "hypercorn", "httpx", "httpx-aiohttp", "aiohttp", "spacy", "presidio-analyzer"):
        with contextlib.suppress(Exception):
            libs.append(f"{pkg} {version(pkg)}")
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem,
            "python": platform.python_version(), "kernel": platform.release(), "libs": ", ".join(libs)}


def sub_json(argv: list[str], timeout: float) -> dict[str, Any] | None:
    out = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if out.returncode != 0:
        log(f"{Path(argv[1]).name} failed:\n{out.stderr.decode(errors='replace')[-3000:]}")
        return None
    data: dict[str, Any] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return data


def main() -> int:
    p = argparse.ArgumentParser(description="Masker benchmarks: one run, one table, docs/benchmarks.md")
    p.add_argument("--n", type=int, default=360, help="requests per configuration and latency scenario")
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--batch", type=int, default=12,
                   help="latency: requests a configuration gets per turn before the next one's turn")
    p.add_argument("--settle", type=int, default=2, help="latency: requests of each turn not counted")
    p.add_argument("--stream-n", type=int, default=100, help="measured requests of the (paced) stream run")
    p.add_argument("--latency-seconds", type=float, default=30.0)
    p.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--pool", type=int, default=12000)
    p.add_argument("--upstream-delay-ms", type=float, default=0.0)
    p.add_argument("--only", default="", help="comma-separated configuration names (debugging)")
    p.add_argument("--skip-transport", action="store_true")
    p.add_argument("--skip-detection", action="store_true")
    p.add_argument("--write", default=str(REPO / "docs" / "benchmarks.md"), help="'' = do not write")
    p.add_argument("--json", default="", help="also dump raw results here")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs) for debugging")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness for the whole benchmark (negative = ahead of other work on a shared box)")
    ns = p.parse_args()

    from report import render_markdown, render_table

    if ns.nice:
        os.nice(ns.nice)  # inherited by every process the benchmark starts

    started = time.time()
    tmp = tempfile.mkdtemp(prefix="masker-bench-")
    try:
        workdir = Path(tmp)
        fake, upstream_port = start_fake(workdir, ns)
        configs = [
            Config("direct", "direct (fake LLM)", "direct"),
            Config("framework", "framework: Hypercorn + upstream client, raw relay", "framework"),
            Config("stack", "stack, detection off", "stack"),
            Config("floor", "floor: keep-all policy", "masker", policy="passthrough"),
            Config("inproc", "Masker, in-process NER", "masker"),
            Config("grpc", "Masker, gRPC NER", "masker", ner=True),
            # The client's default deadline (80 ms) is tight for a cold cache or a 4,000-char note
            # on this box; this row shows what the service costs when it is allowed to answer.
            Config("grpc", "Masker, gRPC NER, 1 s deadline", "masker", ner=True,
                   env={"MASKER_NER_TIMEOUT_MS": "1000"}),
        ]
        extra = [
            Config("stack", "stack, detection off, 2 workers", "stack", workers=2),
            Config("inproc", "Masker, in-process NER, 2 workers", "masker", workers=2),
        ]
        only = set(filter(None, ns.only.split(",")))
        try:
            with ner_service(workdir) as (ner_addr, ner_pid):
                running: list[Running] = []
                try:
                    for cfg in configs:
                        if only and cfg.name not in only:
                            continue
                        if cfg.ner and ner_addr is None:
                            cfg.results["skipped"] = "NER service did not start"
                            continue
                        try:
                            running.append(start_config(cfg, workdir, upstream_port, ner_addr))
                        except Exception as exc:  # one broken configuration must not hide the others
                            log(f"{cfg.label}: FAILED: {exc}")
                            cfg.results["skipped"] = f"failed: {str(exc).splitlines()[0][:200]}"
                    # Latency: all configurations are up at once and take turns in short slices on
                    # the same fresh bodies, so a noisy moment on this shared box lands on all of
                    # them instead of deciding one configuration's figures.
                    for scenario in SCENARIOS:
                        log(f"latency {scenario}: {len(running)} configurations interleaved")
                        latency_interleaved(running, scenario, ns)
                    log(f"latency voice, cold turns: {len(running)} configurations, one request each")
                    latency_interleaved(running, "voice", ns, cold=True)
                    for run in running:
                        finish_latency(run)
                        throughput_run(run, ns, ner_pid)
                finally:
                    for run in running:
                        if run.proc is not None:
                            run.proc.stop()
                for cfg in extra:
                    if only and cfg.name not in only:
                        continue
                    try:
                        run = start_config(cfg, workdir, upstream_port, ner_addr)
                        try:
                            throughput_run(run, ns, ner_pid)
                        finally:
                            if run.proc is not None:
                                run.proc.stop()
                    except Exception as exc:
                        log(f"{cfg.label}: FAILED: {exc}")
                        cfg.results["skipped"] = f"failed: {str(exc).splitlines()[0][:200]}"
        finally:
            fake.stop()
        transport = None
        if not ns.skip_transport:
            log("transport micro-benchmark")
            transport = sub_json([PY, str(BENCH / "transport_bench.py"), "--seconds", "8"], 300)
        detection = None
        if not ns.skip_detection:
            log("detection vs Presidio")
            detection = sub_json([PY, str(BENCH / "presidio_compare.py")], 900)
    finally:
        if ns.keep:
            log(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results = {
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "duration_s": round(time.time() - started),
        "settings": {"nice": ns.nice, "n": ns.n, "stream_n": ns.stream_n, "warmup": ns.warmup,
                     "batch": ns.batch, "settle": ns.settle,
                     "seconds": ns.seconds,
                     "concurrency": ns.concurrency, "upstream_delay_ms": ns.upstream_delay_ms},
        "configs": [{"name": c.name, "label": c.label, "workers": c.workers, "results": c.results}
                    for c in [*configs, *extra] if c.results],
        "transport": transport,
        "detection": detection,
    }
    if ns.json:
        Path(ns.json).write_text(json.dumps(results, indent=1))
    print(render_table(results))
    if ns.write:
        Path(ns.write).write_text(render_markdown(results))
        log(f"wrote {ns.write}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    raise SystemExit(main())
