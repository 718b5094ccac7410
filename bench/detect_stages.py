"""Where one fresh text's detection goes, stage by stage: normalise, patterns (recognizers, spoken
view, unwrapped lines), NER windows, the model (spaCy's tokenizer, tok2vec, the NER head, our
span extraction), NER span filtering, resolution and propagation.

Same steps as ``DetectionEngine.detect`` on one text without a budget (the note and the utterance
are below the offload size), each timed on its own with ``perf_counter``; the medians are printed per
stage, and the whole ``detect`` of the same texts beside them (fresh text each call: no findings
cache). The model's inner split reads the NER pipe directly (``SpacyNer.stages``), so it holds for
whichever model ``--ner-model`` loads.

Usage: python -m bench.detect_stages [--n-notes 60] [--n-utterances 400] [--ner-model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from masker.detect.cache import FindingsCache
from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.ner import ner_findings, ner_windows, shift, truecase
from masker.detect.normalize import normalize
from masker.detect.propagate import collect
from masker.detect.recognizer import Doc
from masker.detect.resolve import resolve
from masker.detect.types import DetectOptions, Finding
from masker_ner.model import MODEL_NAME, SpacyNer

from .scenarios import Generator

_T = TypeVar("_T")


def _stages(engine: DetectionEngine, model: SpacyNer, text: str, options: DetectOptions) -> dict[str, float]:
    ms: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], _T]) -> _T:
        t0 = time.perf_counter()
        out = fn()
        ms[name] = ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000
        return out

    norm = timed("normalise", lambda: normalize(text))
    t = norm.text
    registry = engine._registry

    def recognizers() -> list[Finding]:
        doc = Doc(t)
        return [f for r in registry.recognizers if r.applies(doc) for f in r.analyze(doc)]

    candidates = timed("patterns: recognizers", recognizers)
    candidates += timed("patterns: spoken view", lambda: engine._spoken_candidates(t))
    if "\n" in t:
        candidates += timed("patterns: unwrapped lines", lambda: engine._unwrapped_candidates(t))
    windows = timed(
        "ner: windows + truecase",
        lambda: [(s, truecase(t[s:e])) for s, e, _ in ner_windows(t, engine._claimed(candidates, options))],
    )
    if windows:
        spans, inner = model.stages([seg for _, seg in windows])
        for name, value in inner.items():
            ms[f"ner model: {name}"] = value * 1000
        for (offset, _), seg_spans in zip(windows, spans, strict=True):
            candidates += timed("ner: span filters", lambda: ner_findings(t, shift(seg_spans, offset)))  # noqa: B023
    final = timed("resolve", lambda: engine.finalize(t, candidates, options))
    values = timed("propagate: collect", lambda: collect([text], [final], ()))
    if values:
        extra = timed("propagate: find", lambda: values.find(text))
        spans_seen = {(f.start, f.end) for f in final}
        extra = [f for f in extra if (f.start, f.end) not in spans_seen]
        if extra:
            timed("propagate: resolve", lambda: resolve([*final, *extra], text))
    return ms


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n-notes", type=int, default=60)
    ap.add_argument("--n-utterances", type=int, default=400)
    ap.add_argument("--ner-model", default=MODEL_NAME)
    args = ap.parse_args()

    gen = Generator(77)
    notes = [str(gen.note()["messages"][1]["content"]) for _ in range(args.n_notes + 5)]
    utterances = [gen.utterance_needing_ner() for _ in range(args.n_utterances + 5)]
    ner = InProcessNer(args.ner_model, mode="inline")
    ner.warm_up()
    model: SpacyNer = ner._load()
    engine = DetectionEngine(ner=ner, cache=FindingsCache(max_entries=0))
    options = DetectOptions()
    for label, texts in (("fresh 4,000-char note", notes), ("fresh utterance needing NER", utterances)):
        per: dict[str, list[float]] = defaultdict(list)
        whole: list[float] = []
        for n, text in enumerate(texts):
            stages = _stages(engine, model, text, options)
            t0 = time.perf_counter()
            asyncio.run(engine.detect([text], options))
            if n < 5:
                continue  # warm-up
            whole.append((time.perf_counter() - t0) * 1000)
            for name in stages:
                per[name].append(stages[name])
        print(f"\n{label} ({len(whole)} texts, {args.ner_model}): median ms per stage")
        total = 0.0
        for name, xs in per.items():
            xs += [0.0] * (len(whole) - len(xs))  # a stage some texts skip counts 0 for them
            med = statistics.median(xs)
            total += med
            print(f"  {name:34s}{med:8.3f}")
        print(f"  {'sum of stage medians':34s}{total:8.3f}")
        print(f"  {'detect() median':34s}{statistics.median(whole):8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
