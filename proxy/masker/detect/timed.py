"""NER call timing for ``masker_ner_latency_seconds``: a wrapper, so neither backend knows metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .types import NerBackend, NerSpan


class TimedNer:
    """Implements ``NerBackend``: forwards to ``backend`` and reports each call's duration in
    seconds, failed calls included (a timeout is exactly the latency worth seeing)."""

    def __init__(self, backend: NerBackend, observe: Callable[[float], None]) -> None:
        self.backend = backend
        self._observe = observe

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        started = time.perf_counter()
        try:
            return await self.backend.analyze(texts)
        finally:
            self._observe(time.perf_counter() - started)

    async def close(self) -> None:
        await self.backend.close()
