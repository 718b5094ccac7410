"""NER models side by side in one run: Masker's PHI model against spaCy's small English model.

For each model (``masker_ner.model.MODELS`` by default), on the same texts, taking turns text by
text so that background load on a shared machine hits them alike:

* **detection** — the whole ``DetectionEngine`` (patterns, NER gate, NER, resolution; inline NER,
  no findings cache) on the issue-20 corpora (``classes`` tuning split, ``heldout`` split; neither
  was used to train the PHI model): per-type precision / recall, typed and masked overall;
* **model alone** — the raw model on the held-out texts, entities mapped to PERSON / LOCATION /
  ORGANIZATION and scored against those gold types only (no gate, no filters: what the model itself
  finds);
* **speed** — a fresh ~4,000-character note and a fresh voice utterance that needs the model
  (``bench.scenarios``): the model on the engine's NER segments, and the whole ``detect``.

Usage: python -m bench.ner_model_compare [--scale 1.0] [--n-notes 40] [--models a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable, Sequence

from masker.detect.cache import FindingsCache
from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.ner import ner_segments, truecase
from masker.detect.types import DetectOptions, Entity
from masker_ner.model import MODELS, SpacyNer

from .corpus import (
    Sample,
    generate_class_corpus,
    generate_corpus,
    generate_dev_corpus,
    generate_heldout_corpus,
)
from .detection_bench import Counts, Pred, score
from .scenarios import Generator

_RAW = {"PERSON": Entity.PERSON, "GPE": Entity.LOCATION, "LOC": Entity.LOCATION, "FAC": Entity.LOCATION}
_RAW_ORG = {"ORG": Entity.ORGANIZATION}
_NER_TYPES = (Entity.PERSON, Entity.LOCATION, Entity.ORGANIZATION)


def _ms(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def _detect_all(
    engines: dict[str, DetectionEngine], samples: Sequence[Sample]
) -> dict[str, list[list[list[Pred]]]]:
    options = DetectOptions()
    out: dict[str, list[list[list[Pred]]]] = {name: [] for name in engines}
    names = list(engines)
    for n, s in enumerate(samples):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            result = await engines[name].detect(s.turns, options, roles=s.roles)
            out[name].append([[(f.start, f.end, f.entity) for f in fs] for fs in result.findings])
    return out


def _raw_scores(models: dict[str, SpacyNer], samples: Sequence[Sample]) -> dict[str, dict[str, Counts]]:
    """The model alone on whole texts, against the gold PERSON / LOCATION / ORGANIZATION spans."""
    texts = [t for s in samples for t in s.turns]
    golds = [[g for g in gold if g[2] in _NER_TYPES] for s in samples for gold in s.spans]
    out: dict[str, dict[str, Counts]] = {}
    for name, model in models.items():
        per: dict[str, Counts] = {e.value: Counts() for e in _NER_TYPES}
        for gold, spans in zip(golds, model.analyze(texts), strict=True):
            preds = [
                (sp.start, sp.end, ({**_RAW, **_RAW_ORG})[sp.label])
                for sp in spans
                if sp.label in _RAW or sp.label in _RAW_ORG
            ]
            for g in gold:
                c = per[g[2].value]
                c.gold += 1
                c.found += any(p[2] == g[2] and min(p[1], g[1]) > max(p[0], g[0]) for p in preds)
            for p in preds:
                c = per[p[2].value]
                c.pred += 1
                c.correct += any(p[2] == g[2] and min(p[1], g[1]) > max(p[0], g[0]) for g in gold)
        out[name] = per
    return out


def _speed(
    models: dict[str, SpacyNer], engines: dict[str, DetectionEngine], n_notes: int, n_utterances: int
) -> dict[str, dict[str, list[float]]]:
    gen = Generator(77)
    notes = [str(gen.note()["messages"][1]["content"]) for _ in range(n_notes)]  # type: ignore[index]
    utterances = [gen.utterance_needing_ner() for _ in range(n_utterances)]
    options = DetectOptions()
    loop = asyncio.new_event_loop()

    def model_on_segments(model: SpacyNer) -> Callable[[str], object]:
        def run(text: str) -> object:
            segments = [truecase(seg) for _, seg in ner_segments(text)]
            return model.analyze(segments) if segments else None

        return run

    def detect(engine: DetectionEngine) -> Callable[[str], object]:
        return lambda text: loop.run_until_complete(engine.detect([text], options))

    paths: dict[str, Callable[[str], object]] = {}
    for name in models:
        paths[f"{name} model"] = model_on_segments(models[name])
        paths[f"{name} detect"] = detect(engines[name])
    for warm in notes[:3] + utterances[:5]:
        for fn in paths.values():
            fn(warm)
    out: dict[str, dict[str, list[float]]] = {}
    for label, texts in (("4,000-char note", notes), ("utterance needing NER", utterances)):
        times: dict[str, list[float]] = {p: [] for p in paths}
        order = list(paths)
        for n, text in enumerate(texts):
            for p in order[n % len(order) :] + order[: n % len(order)]:
                t0 = time.perf_counter()
                paths[p](text)
                times[p].append(time.perf_counter() - t0)
        out[label] = times
    loop.close()
    return out


def _row(label: str, c: Counts) -> str:
    p, r, f = c.prf()
    return f"{label:18s} gold {c.gold:5d} pred {c.pred:5d}  P {p:.3f}  R {r:.3f}  F1 {f:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--n-notes", type=int, default=40)
    ap.add_argument("--n-utterances", type=int, default=200)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--corpora", default="classes,heldout", help="any of classes,heldout,main,dev")
    args = ap.parse_args(argv)
    names = [m for m in args.models.split(",") if m]
    k, seed = args.scale, args.seed
    # The seeds and sizes of bench.detection_bench, so the figures compare with its runs.
    makers: dict[str, Callable[[], list[Sample]]] = {
        "classes": lambda: generate_class_corpus(seed + 13, n_notes=int(200 * k), n_calls=int(120 * k)),
        "heldout": lambda: generate_heldout_corpus(seed + 2013, n_notes=int(200 * k), n_calls=int(120 * k)),
        "main": lambda: generate_corpus(
            seed,
            n_clinical=int(250 * k),
            n_dialogue=int(200 * k),
            n_spoken=int(250 * k),
            n_multiturn=int(40 * k),
        ),
        "dev": lambda: generate_dev_corpus(seed + 94, n_notes=int(150 * k), n_calls=int(150 * k)),
    }
    corpora = {name: makers[name]() for name in args.corpora.split(",") if name}
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    models = {name: SpacyNer(name) for name in names}
    engines: dict[str, DetectionEngine] = {}
    for name in names:
        ner = InProcessNer(name, mode="inline")
        ner.warm_up()
        engines[name] = DetectionEngine(ner=ner, cache=FindingsCache(max_entries=0))

    for corpus, samples in corpora.items():
        preds = asyncio.run(_detect_all(engines, samples))
        print(f"\n===== detection, corpus {corpus} ({len(samples)} samples) =====")
        for name in names:
            sc = score(samples, preds[name])
            print(f"-- {name}")
            for entity in Entity:
                c = sc["per"].get(entity, Counts())
                if c.gold or c.pred:
                    print("  " + _row(entity.value, c))
            print("  " + _row("OVERALL typed", sc["overall"]))
            print("  " + _row("OVERALL masked", sc["masked"]))
            for cat in sorted(sc["by_category"]):
                print("  " + _row(cat, sc["by_category"][cat]))
    raw_corpus = "heldout" if "heldout" in corpora else next(iter(corpora))
    print(f"\n===== model alone (whole texts, no gate or filters), corpus {raw_corpus} =====")
    for name, per in _raw_scores(models, corpora[raw_corpus]).items():
        print(f"-- {name}")
        for label, c in per.items():
            print("  " + _row(label, c))

    print(f"\n===== speed (taking turns per text; load average {os.getloadavg()[0]:.1f}) =====")
    for label, times in _speed(models, engines, args.n_notes, args.n_utterances).items():
        for path, xs in times.items():
            print(
                f"{label:22s} {path:34s} p50 {_ms(xs, 0.5):7.2f} ms  p90 {_ms(xs, 0.9):7.2f}"
                f"  mean {statistics.fmean(xs) * 1000:7.2f}"
            )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    for engine in engines.values():
        asyncio.run(engine.close())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
