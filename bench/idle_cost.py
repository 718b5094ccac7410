"""What a pause costs: the same work, timed after an idle gap of 0 to 20 ms.

Inside the server every figure is two to four times what a back-to-back micro-benchmark shows. This
isolates why: one process, nothing else running, the same calls on fresh texts, with the process
asleep (``time.sleep``) for a while before each timed call. On this virtual machine the caches and
predictors the call relies on are largely gone after a few milliseconds of idleness, whatever the
code: the effect is the same for a plain-Python reference (a JSON round trip of a voice-turn body)
as for detection. A proxy is idle between a caller's turns, so the cold figure is the one a voice
agent meets; the less code and data a turn touches, the less it pays.

Usage: python -m bench.idle_cost [--n 150] [--gaps 0,0.2,1,5,20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions

from .scenarios import Generator


def _timed(run: Callable[[int], object], n: int, gap_ms: float) -> float:
    """Median µs of ``run(i)`` for ``n`` calls, each after ``gap_ms`` of sleep."""
    samples = []
    for i in range(n):
        if gap_ms:
            time.sleep(gap_ms / 1000)
        started = time.perf_counter()
        run(i)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=150, help="timed calls per gap and workload")
    p.add_argument("--gaps", default="0,0.2,1,5,20", help="idle gaps in ms")
    ns = p.parse_args()
    gaps = [float(g) for g in ns.gaps.split(",")]
    gen = Generator(29)
    utterances = [gen.utterance() for _ in range(ns.n * (len(gaps) + 1))]
    bodies = [json.dumps(gen.voice()) for _ in range(ns.n * (len(gaps) + 1))]
    engine = DetectionEngine(ner=None)
    options = DetectOptions()
    loop = asyncio.new_event_loop()
    offset = 0

    def detect(i: int) -> object:
        return loop.run_until_complete(engine.detect([utterances[offset + i]], options, roles=["user"]))

    def reference(i: int) -> object:
        return json.dumps(json.loads(bodies[offset + i]))

    for i in range(ns.n):  # warm-up: first calls build caches that later ones reuse
        detect(i)
        reference(i)
    print(f"{'idle gap':>9}  {'detection µs':>12}  {'x':>5}  {'JSON round trip µs':>18}  {'x':>5}")
    base: tuple[float, float] | None = None
    for gap in gaps:
        offset += ns.n
        d, r = _timed(detect, ns.n, gap), _timed(reference, ns.n, gap)
        base = base or (d, r)
        print(f"{gap:>7.1f}ms  {d:>12.0f}  {d / base[0]:>5.2f}  {r:>18.0f}  {r / base[1]:>5.2f}")
    loop.close()


if __name__ == "__main__":
    main()
