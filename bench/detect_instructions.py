"""Instructions per fresh ``detect()`` call, counted by callgrind: stable where wall-clock time on a
shared machine is not. Fresh ``bench.scenarios`` notes and voice utterances that may need the model,
inline NER with the default model, no findings cache.

Run under callgrind with the two marker calls below (``os.getppid`` zeroes the counters,
``os.getpgrp`` dumps them), then read each dump's ``summary:`` line:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --zero-before=getppid --dump-before=getpgrp \\
        --callgrind-out-file=/tmp/cg.%p python -m bench.detect_instructions 8 30
    grep -h '^summary' /tmp/cg.*.1 /tmp/cg.*.2   # notes, then utterances; divide by the counts

Outside callgrind it prints how many of the texts reached the model.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from masker.detect.cache import FindingsCache
from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.types import DetectOptions

from .scenarios import Generator


def main() -> int:
    n_notes, n_utterances = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (8, 30)
    gen = Generator(77)
    notes = [str(gen.note()["messages"][1]["content"]) for _ in range(n_notes + 2)]
    utterances = [gen.utterance_needing_ner() for _ in range(n_utterances + 2)]
    ner = InProcessNer(mode="inline")
    ner.warm_up()
    calls: list[int] = []
    run = ner._run

    def counted(texts: Any) -> Any:
        calls.append(len(texts))
        return run(texts)

    ner._run = counted  # type: ignore[method-assign]
    engine = DetectionEngine(ner=ner, cache=FindingsCache(max_entries=0))
    options = DetectOptions()

    async def detect_all(texts: list[str]) -> None:
        for text in texts:
            await engine.detect([text], options)

    for label, texts in (("notes", notes), ("utterances", utterances)):
        asyncio.run(detect_all(texts[:2]))  # warm-up, not counted
        calls.clear()
        os.getppid()
        asyncio.run(detect_all(texts[2:]))
        os.getpgrp()
        print(f"{label}: {len(texts) - 2} texts, {len(calls)} reached the model", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
