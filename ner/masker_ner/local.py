"""The in-process NER backend: the embedded default when no ``MASKER_NER_ADDR`` is configured.

Same model, same micro-batching as the gRPC service, but in the proxy's own process: the model
loads on a dedicated worker thread (first use, or ``load()`` at start-up) and concurrent requests
share model passes, so the event loop never blocks on spaCy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from masker.detect.types import NerSpan, NerUnavailable

from .batcher import MicroBatcher
from .model import MODEL_NAME, SpacyNer


class LocalNer:
    """A ``NerBackend`` running ``SpacyNer`` on one worker thread of this process."""

    def __init__(self, model_name: str = MODEL_NAME, *, window_ms: float = 2.0, max_batch_texts: int = 64):
        self._model_name = model_name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ner-model")
        self._model: SpacyNer | None = None
        self._lock = asyncio.Lock()
        self._batcher = MicroBatcher(
            self._run, self._executor, window_s=window_ms / 1000, max_texts=max_batch_texts
        )

    def _run(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        assert self._model is not None  # only called after load()
        return self._model.analyze(texts)

    async def load(self) -> SpacyNer:
        async with self._lock:
            if self._model is None:
                loop = asyncio.get_running_loop()
                self._model = await loop.run_in_executor(self._executor, SpacyNer, self._model_name)
            return self._model

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        if not texts:
            return []
        await self.load()
        try:
            results, _ = await self._batcher.submit(list(texts))
        except Exception as exc:  # the model's message may quote input text: keep only the type
            raise NerUnavailable(f"in-process NER failed ({type(exc).__name__})") from None
        return results

    async def close(self) -> None:
        await self._batcher.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
