"""Pattern-pass benchmark: ``DetectionEngine(ner=None).pattern_candidates`` per kind of text.

Exists to make the pattern pass cheaper without changing what it finds: it prints the median µs per
text kind (voice utterances, clinical notes, the labelled corpora, hostile shapes) and can dump
every candidate finding to JSON, so a run before a change and a run after it can be diffed exactly
(``--dump before.json`` on the old code, then ``--compare before.json`` on the new).

Usage: python -m bench.pattern_bench [--repeat 5] [--scale 0.5] [--dump out.json] [--compare old.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from masker.detect.engine import DetectionEngine
from masker.detect.types import Finding

from .corpus import generate_corpus, generate_dev_corpus
from .detection_adversarial import SHAPES
from .scenarios import Generator, detection_texts, history

Texts = list[tuple[str, str]]  # (kind, text)


def build_texts(seed: int, scale: float) -> Texts:
    """Every text the comparison runs on, tagged with its kind. Deterministic per seed."""
    out: Texts = []
    gen = Generator(seed)
    out += [("voice-utterance", gen.utterance()) for _ in range(int(200 * scale) or 1)]
    out += [("voice-history", m["content"]) for m in history()]
    out += [("short", str(gen.short()["messages"][0]["content"])) for _ in range(int(100 * scale) or 1)]
    out += [("note-4k", str(gen.note()["messages"][1]["content"])) for _ in range(int(40 * scale) or 1)]
    out += [("detection-texts", t) for t in detection_texts(n_turns=int(100 * scale) or 1, n_notes=3)]
    main = generate_corpus(
        seed,
        n_clinical=int(250 * scale),
        n_dialogue=int(200 * scale),
        n_spoken=int(250 * scale),
        n_multiturn=int(40 * scale),
    )
    dev = generate_dev_corpus(seed + 94, n_notes=int(150 * scale), n_calls=int(150 * scale))
    for sample in [*main, *dev]:
        out += [(f"corpus-{sample.category}", turn) for turn in sample.turns]
        if len(sample.turns) > 1:  # what cross-turn joining feeds the numeric recognizers
            out.append((f"corpus-{sample.category}-joined", " ".join(sample.turns)))
    for name, shape in SHAPES.items():
        for size in (64, 512):
            out.append(("adversarial", f"{name}: " + (shape * (size // len(shape) + 1))[:size]))
    return [(kind, text) for kind, text in out if text]


def _row(f: Finding) -> list[object]:
    return [f.start, f.end, f.entity.value, f.score, f.recognizer]


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run(texts: Texts, repeat: int) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    engine = DetectionEngine(ner=None)
    for _, text in texts[:50]:  # warm-up: imports, regex caches
        engine.pattern_candidates(text)
    times: dict[str, list[float]] = defaultdict(list)
    dump: list[dict[str, Any]] = []
    for kind, text in texts:
        best = float("inf")
        found: list[Finding] = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            found = engine.pattern_candidates(text)
            best = min(best, time.perf_counter() - t0)
        times[kind].append(best * 1e6)
        dump.append({"kind": kind, "text": _key(text), "findings": [_row(f) for f in found]})
    return times, dump


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> int:
    """Number of texts whose findings differ (order included); prints the first few."""
    if [d["text"] for d in old] != [d["text"] for d in new]:
        print("the two runs did not see the same texts (different seed/scale?)")
        return max(len(old), len(new))
    bad = 0
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a["findings"] != b["findings"]:
            bad += 1
            if bad <= 5:
                print(f"text #{i} ({a['kind']}): before {a['findings']}\n  after {b['findings']}")
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=0.5, help="corpus size multiplier")
    ap.add_argument("--repeat", type=int, default=5, help="runs per text; the fastest counts")
    ap.add_argument("--dump", help="write every text's findings to this JSON file")
    ap.add_argument("--compare", help="diff the findings against a earlier --dump file")
    args = ap.parse_args(argv)

    texts = build_texts(args.seed, args.scale)
    times, dump = run(texts, args.repeat)
    print(f"{'kind':<26} {'texts':>6} {'chars p50':>10} {'µs p50':>10} {'µs mean':>10}")
    chars: dict[str, list[int]] = defaultdict(list)
    for kind, text in texts:
        chars[kind].append(len(text))
    for kind in sorted(times):
        ts = times[kind]
        print(
            f"{kind:<26} {len(ts):>6} {statistics.median(chars[kind]):>10.0f}"
            f" {statistics.median(ts):>10.1f} {statistics.fmean(ts):>10.1f}"
        )
    total = sum(sum(ts) for ts in times.values())
    print(f"all texts: {len(texts)}, total {total / 1e3:.1f} ms per pass")
    if args.dump:
        with open(args.dump, "w") as fh:
            json.dump(dump, fh)
    if args.compare:
        with open(args.compare) as fh:
            old = json.load(fh)
        bad = compare(old, dump)
        n_findings = sum(len(d["findings"]) for d in dump)
        print(f"compared {len(dump)} texts ({n_findings} findings): {bad} differ")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
