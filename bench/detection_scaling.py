"""Detection time against input size, to show every path is linear (issue 20).

Four shapes at growing sizes: dense synthetic PHI prose, one whitespace-free run, ``AAAA…`` and a
run of digits. Pattern path and the NER segmentation (what would be sent to the model) are timed
separately, then the whole ``detect`` with the in-process model when ``--ner`` is given. Time per
size should roughly scale with size (ratio column ≈ size ratio).

Usage: python -m bench.detection_scaling [--ner] [--max 4194304]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions


def dense_phi(n: int, seed: int = 3) -> str:
    from bench.corpus.generate import generate_corpus

    samples = generate_corpus(seed, n_clinical=60, n_dialogue=40, n_spoken=20, n_multiturn=0)
    unit = "\n".join(turn for sample in samples for turn in sample.turns)
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:  # shuffled slices, so no two stretches of the text repeat exactly
        piece = unit[rng.randrange(len(unit) // 2) :]
        out.append(piece)
        size += len(piece) + 1
    return "\n".join(out)[:n]


def shapes(n: int) -> dict[str, str]:
    rng = random.Random(n)
    b64 = "abcdefghijklmnopqrstuvwxyzABCDEF0123456789+/"
    return {
        "dense PHI prose": dense_phi(n),
        "whitespace-free run": "".join(rng.choice(b64) for _ in range(n)),
        "AAAA": "A" * n,
        "digits": "".join(rng.choice("0123456789") for _ in range(n)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ner", action="store_true", help="also time detect() with the in-process model")
    parser.add_argument("--max", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()
    sizes = [n for n in (16_384, 65_536, 262_144, 1_048_576, 4_194_304) if n <= args.max]
    ner = None
    if args.ner:
        from masker.detect.inprocess import InProcessNer

        ner = InProcessNer(mode="inline")
        ner.warm_up()
    engine = DetectionEngine(ner=ner)
    options = DetectOptions(on_ner_failure="raise")
    texts = {n: shapes(n) for n in sizes}
    print(f"{'shape':22s}{'size':>10s}{'patterns ms':>14s}{'detect ms':>12s}{'per KB us':>12s}")
    for name in texts[sizes[0]]:
        for n in sizes:
            text = texts[n][name]
            t0 = time.perf_counter()
            engine.pattern_candidates(text)
            pat = (time.perf_counter() - t0) * 1000
            engine.cache.clear()
            t0 = time.perf_counter()
            asyncio.run(engine.detect([text], options))
            det = (time.perf_counter() - t0) * 1000
            print(f"{name:22s}{n:>10d}{pat:>14.1f}{det:>12.1f}{det * 1000 / (n / 1024):>12.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
