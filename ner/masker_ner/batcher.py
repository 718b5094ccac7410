"""Micro-batching: concurrent callers' texts merged into one model pass on one worker thread.

spaCy's ``nlp.pipe`` is much cheaper per text in batches than one call per request, and the model
is not thread-safe, so every pass runs on a single dedicated thread while the event loop keeps
accepting calls. A pass is formed from the first waiting call plus every call queued behind it
(those that arrived while the previous pass ran) and, if a collection window is set, whatever
arrives within that window, stopping once ``max_texts`` is reached. Calls whose caller already
gave up (deadline, cancellation) are dropped before the pass instead of wasting model time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from masker_contracts.ner import NerSpan

AnalyzeFn = Callable[[Sequence[str]], list[list[NerSpan]]]


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """Size of the model pass that served a call."""

    texts: int
    requests: int


# Called after each pass with its size and model time in seconds (metrics hook).
BatchObserver = Callable[[BatchInfo, float], None]


@dataclass(slots=True)
class _Pending:
    texts: Sequence[str]
    future: asyncio.Future[tuple[list[list[NerSpan]], BatchInfo]]


class BatcherClosed(RuntimeError):
    """The batcher is shutting down and accepts no more work."""


class MicroBatcher:
    """Queues ``submit`` calls and runs them through ``analyze`` on ``executor`` in merged passes.

    ``enabled=False`` runs each call as its own pass (same thread, same queue): the baseline the
    benchmark compares against.
    """

    def __init__(
        self,
        analyze: AnalyzeFn,
        executor: Executor,
        *,
        window_s: float = 0.0,
        max_texts: int = 64,
        enabled: bool = True,
        observer: BatchObserver | None = None,
    ) -> None:
        self._analyze = analyze
        self._executor = executor
        self._window_s = window_s
        self._max_texts = max(1, max_texts)
        self._enabled = enabled
        self._observer = observer
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._stop_after_pass = False
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ner-batcher")

    async def submit(self, texts: Sequence[str]) -> tuple[list[list[NerSpan]], BatchInfo]:
        if self._closed:
            raise BatcherClosed("NER batcher is closed")
        self.start()
        future: asyncio.Future[tuple[list[list[NerSpan]], BatchInfo]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.put_nowait(_Pending(texts, future))
        # Cancelling the caller cancels the future, which marks the call as abandoned.
        return await future

    async def close(self) -> None:
        """Stops taking work; everything already queued is still analysed before this returns."""
        if self._closed:
            return
        self._closed = True
        if self._task is None:
            return
        self._queue.put_nowait(None)  # processed after everything queued before it
        await self._task
        self._task = None

    async def _collect(self) -> list[_Pending] | None:
        """The next pass, or None once the stop marker is reached and nothing precedes it."""
        if self._stop_after_pass:
            return None
        first = await self._queue.get()
        if first is None:
            return None
        batch = [first]
        if not self._enabled:
            return batch
        loop = asyncio.get_running_loop()
        count = len(first.texts)
        deadline = loop.time() + self._window_s
        while count < self._max_texts:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                self._stop_after_pass = True
                break
            batch.append(item)
            count += len(item.texts)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while (collected := await self._collect()) is not None:
            batch = [p for p in collected if not p.future.done()]
            if not batch:
                continue
            texts = [text for pending in batch for text in pending.texts]
            info = BatchInfo(texts=len(texts), requests=len(batch))
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._analyze, texts)
            except Exception as exc:  # the model failed: every caller in the pass gets the error
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            if self._observer is not None:
                self._observer(info, time.perf_counter() - started)
            offset = 0
            for pending in batch:
                n = len(pending.texts)
                if not pending.future.done():
                    pending.future.set_result((results[offset : offset + n], info))
                offset += n
