"""In-process NER: inline on the event loop vs a worker thread, under concurrent requests.

A proxy serves many conversations on one event loop. This drives C concurrent "voice turns" (a new
message each; history is cached so NER sees only the new text) through ``DetectionEngine`` with
``InProcessNer(mode=...)`` and reports request latency, throughput, and event-loop lag measured by
a 1 ms ticker (what a streaming response sharing the loop would feel).

Usage: python -m bench.detection_concurrency [--requests 400] [--concurrency 1 4 16]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.types import DetectOptions

from .corpus import generate_corpus


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def _ticker(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - t0 - 0.001)


async def run(mode: str, texts: list[str], concurrency: int) -> dict[str, float]:
    ner = InProcessNer(mode="inline" if mode == "inline" else "thread")
    await asyncio.to_thread(ner.warm_up) if mode != "inline" else ner.warm_up()
    engine = DetectionEngine(ner=ner)
    options = DetectOptions()
    queue = list(enumerate(texts))
    latencies: list[float] = []

    async def client() -> None:
        while queue:
            i, text = queue.pop()
            t0 = time.perf_counter()
            # A unique suffix defeats the cache: each request carries one unseen message.
            await engine.detect([f"{text} ({i})"], options)
            latencies.append(time.perf_counter() - t0)

    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(stop, lags))
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    stop.set()
    await ticker
    await engine.close()
    return {
        "p50_ms": _pct(latencies, 0.5),
        "p95_ms": _pct(latencies, 0.95),
        "rps": len(texts) / wall,
        "loop_lag_p95_ms": _pct(lags, 0.95),
        "loop_lag_max_ms": max(lags) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    args = ap.parse_args(argv)
    samples = generate_corpus(
        11, n_clinical=0, n_dialogue=args.requests // 2, n_spoken=args.requests // 2, n_multiturn=0
    )
    texts = [t for s in samples for t in s.turns][: args.requests]
    print(f"{len(texts)} requests, mean {sum(map(len, texts)) / len(texts):.0f} chars")
    for c in args.concurrency:
        for mode in ("inline", "thread"):
            r = asyncio.run(run(mode, texts, c))
            print(
                f"concurrency {c:3d} {mode:6s}: p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
                f"{r['rps']:6.1f} req/s  loop lag p95 {r['loop_lag_p95_ms']:5.2f} ms "
                f"max {r['loop_lag_max_ms']:6.2f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
