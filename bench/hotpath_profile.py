"""Profile the proxy's hot path with py-spy on the voice-turn scenario; print the top costs.

Starts the fake LLM and one proxy configuration (``--config inproc`` = ``masker serve`` with the
default policy, ``stack`` = detection off), warms it up, then samples the proxy with
``py-spy record --gil`` (only the thread holding the GIL: where Python time goes) while
``bench/loadgen.py`` drives the voice turn at ``--concurrency`` for ``--seconds``.

py-spy comes from PyPI (``pip install --target $MASKER_CACHE_DIR/tools/pyspy py-spy``, done by
``scripts/bench.sh``); pass ``--py-spy`` to point at another binary. Writes the collapsed stacks
(flamegraph input) next to ``--out`` and prints self and inclusive time per frame.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import (
    AGENT_ID,
    BENCH,
    PY,
    REPO,
    log,
    proxy_env,
    spawn,
    start_fake,
    wait_http,
)


def summarize(collapsed: Path, top: int, focus: tuple[str, ...]) -> str:
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        self_time[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    out = [f"samples with the GIL held: {total}", "", "self time (top frames):"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in self_time.most_common(top)]
    out += ["", "inclusive time, our code and the libraries on the request path:"]
    shown = 0
    for frame, hits in inclusive.most_common():
        if any(key in frame for key in focus):
            out.append(f"  {100 * hits / total:5.1f}%  {frame}")
            shown += 1
            if shown >= top * 2:
                break
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", choices=("inproc", "stack", "floor"), default="inproc")
    p.add_argument("--scenario", default="voice")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=25)
    cache = Path(os.environ.get("MASKER_CACHE_DIR", Path.home() / ".cache/masker"))
    p.add_argument("--py-spy", default=str(cache / "tools/pyspy/bin/py-spy"))
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "masker-profile.txt"))
    ns = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="masker-profile-"))
    fake_ns = argparse.Namespace(upstream_delay_ms=0.0)
    fake, upstream_port = start_fake(workdir, fake_ns)
    policy = "passthrough" if ns.config == "floor" else "default"
    env, url = proxy_env(workdir, upstream_port, policy=policy,
                         policies_dir=BENCH / "policies" if policy == "passthrough" else REPO / "policies",
                         workers=1, ner_addr=None)
    argv = [PY, str(BENCH / "stack_app.py")] if ns.config == "stack" else [PY, "-m", "masker", "serve"]
    proxy = spawn(ns.config, argv, env, workdir)
    try:
        wait_http(proxy, url + "/health")
        target = f"{url}/proxy/{AGENT_ID}/v1/chat/completions"
        load = [PY, str(BENCH / "loadgen.py"), "throughput", "--url", target, "--scenario", ns.scenario,
                "--concurrency", str(ns.concurrency), "--pool", "8000"]
        log("warm-up")
        subprocess.run([*load, "--seconds", "3"], capture_output=True, check=True, timeout=120)
        collapsed = Path(ns.out)
        spy = subprocess.Popen([ns.py_spy, "record", "--gil", "-p", str(proxy.process.pid),
                                "-r", str(ns.rate), "-d", str(int(ns.seconds)), "-f", "raw",
                                "-o", str(collapsed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        log(f"profiling {ns.config} / {ns.scenario} at c={ns.concurrency} for {ns.seconds:.0f}s")
        result = subprocess.run([*load, "--seconds", str(ns.seconds)], capture_output=True, check=True,
                                timeout=ns.seconds + 120)
        spy.wait(ns.seconds + 60)
        print("load:", result.stdout.decode().strip())
        print(summarize(collapsed, ns.top, ("masker", "quart", "hypercorn", "httpx", "aiohttp", "h11",
                                           "json", "sqlite", "werkzeug")))
        log(f"collapsed stacks: {collapsed}")
    finally:
        proxy.stop()
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    raise SystemExit(main())
