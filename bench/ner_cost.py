"""Per-call NER cost on the texts that need the model: what one fresh voice utterance and one fresh
4,000-character note cost, model alone and whole detection, for a few model paths.

Paths compared (same texts, taking turns call by call, best-of and median printed):

* ``full``     — ``en_core_web_sm`` with every pipe (what a default ``spacy.load`` gives);
* ``ner-only`` — the pipes NER needs and nothing else (what ``SpacyNer`` loads);
* ``segments`` — ``ner-only`` on what the engine actually sends: the NER segments of the text;
* ``detect``   — the whole ``DetectionEngine.detect`` (patterns, gate, NER, resolution), fresh
  text each call (the findings cache never hits).

Usage: python -m bench.ner_cost [--n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from bench.scenarios import Generator


def _timed(fn: Callable[[str], object], texts: list[str]) -> list[float]:
    out: list[float] = []
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()

    import spacy

    from masker.detect.engine import DetectionEngine
    from masker.detect.inprocess import InProcessNer
    from masker.detect.ner import ner_segments, truecase
    from masker.detect.types import DetectOptions
    from masker_ner.model import MODEL_NAME, SpacyNer

    gen = Generator(77)
    warm_texts = [gen.utterance_needing_ner() for _ in range(5)]
    utterances = [gen.utterance_needing_ner() for _ in range(args.n)]
    notes = [str(gen.note()["messages"][1]["content"]) for _ in range(max(10, args.n // 10))]  # type: ignore[index]

    full = spacy.load(MODEL_NAME)
    lean = SpacyNer()
    ner = InProcessNer(mode="inline")
    ner.warm_up()
    engine = DetectionEngine(ner=ner)
    options = DetectOptions()

    def detect(text: str) -> None:
        asyncio.run(engine.detect([text], options))

    def segments(text: str) -> None:
        segs = [truecase(seg) for _, seg in ner_segments(text)]
        if segs:
            lean.analyze(segs)

    paths: dict[str, Callable[[str], object]] = {
        "full": lambda t: full(t),
        "ner-only": lambda t: lean.analyze([t]),
        "segments": segments,
        "detect": detect,
    }
    for warm in warm_texts:
        for fn in paths.values():
            fn(warm)
    print(f"{'texts':28s}{'path':10s}{'median ms':>11s}{'p90 ms':>9s}{'best ms':>9s}")
    for label, texts in (("fresh utterance needing NER", utterances), ("fresh 4,000-char note", notes)):
        results = {name: [] for name in paths}  # type: dict[str, list[float]]
        for text in texts:  # paths take turns per text, so background load hits them alike
            for name, fn in paths.items():
                results[name] += _timed(fn, [text])
        for name, times in results.items():
            times.sort()
            p90 = times[int(len(times) * 0.9)]
            print(f"{label:28s}{name:10s}{statistics.median(times):11.2f}{p90:9.2f}{times[0]:9.2f}")
    named = sum(
        any(f.entity.value == "PERSON" for f in asyncio.run(engine.detect([u], options)).findings[0])
        for u in utterances
    )
    print(f"utterances whose name was found: {named} of {len(utterances)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
