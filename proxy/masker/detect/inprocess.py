"""``InProcessNer``: the spaCy model in the proxy process, behind the ``NerBackend`` seam.

spaCy inference is CPU-bound and holds the GIL for most of its ~4 ms per short message. Run inline,
it would stall the event loop (and every other request's streaming) for that long; so by default the
model lives on one dedicated worker thread (``SpacyNer`` is not thread-safe, one thread owns it) and
concurrent requests that arrive while it is busy are coalesced into one ``nlp.pipe`` batch, which is
where throughput on 2 cores comes from. ``mode="inline"`` exists for benchmarks and single-user tools.
See docs/detection.md for the measurements behind this choice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Sequence
from typing import Any, Literal

from .types import NerSpan, NerUnavailable


def _fail(batch: list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]], exc: BaseException) -> None:
    err = NerUnavailable(f"in-process NER failed: {type(exc).__name__}")
    err.__cause__ = exc
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(err)


class InProcessNer:
    def __init__(
        self,
        model_name: str | None = None,
        *,
        mode: Literal["thread", "inline"] = "thread",
        max_batch_texts: int = 256,
    ) -> None:
        self._model_name = model_name
        self._mode = mode
        self._max_batch = max_batch_texts
        self._model: Any = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._queue: list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]] = []
        self._running = False
        self._closed = False
        self._drainer: asyncio.Task[None] | None = None

    def _load(self) -> Any:
        if self._model is None:
            from masker_ner.model import MODEL_NAME, SpacyNer  # deferred: spaCy import costs ~1 s

            self._model = SpacyNer(self._model_name or MODEL_NAME)
        return self._model

    def warm_up(self) -> None:
        """Load the model now (blocking) instead of on the first request."""
        if self._mode == "thread":
            self._pool().submit(self._run, ["warm up"]).result()
        else:
            self._run(["warm up"])

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="masker-ner"
            )
        return self._executor

    def _run(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        result: list[list[NerSpan]] = self._load().analyze(texts)
        return result

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        if self._closed:
            raise NerUnavailable("NER backend is closed")
        if not texts:
            return []
        if self._mode == "inline":
            try:
                return self._run(texts)
            except Exception as exc:
                raise NerUnavailable(f"in-process NER failed: {type(exc).__name__}") from exc
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[list[NerSpan]]] = loop.create_future()
        self._queue.append((list(texts), fut))
        if not self._running:
            # Idle worker: hand this batch over *now* (not on the next loop iteration), so the caller
            # can do its own CPU work while the model runs.
            self._running = True
            first = self._next_batch()
            try:
                job = loop.run_in_executor(self._pool(), self._run, [t for ts, _ in first for t in ts])
            except RuntimeError as exc:
                self._running = False
                raise NerUnavailable("in-process NER is shut down") from exc
            self._drainer = loop.create_task(self._drain(first, job))
        return await fut

    def _next_batch(self) -> list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]]:
        batch: list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]] = []
        count = 0
        while self._queue and (not batch or count + len(self._queue[0][0]) <= self._max_batch):
            item = self._queue.pop(0)
            batch.append(item)
            count += len(item[0])
        return batch

    async def _drain(
        self,
        batch: list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]],
        job: asyncio.Future[list[list[NerSpan]]],
    ) -> None:
        """Finish the running batch; then send everything queued meanwhile as one batch, and repeat."""
        loop = asyncio.get_running_loop()
        try:
            while batch:
                try:
                    spans = await job
                except Exception as exc:
                    _fail(batch, exc)
                else:
                    pos = 0
                    for texts, fut in batch:
                        if not fut.done():
                            fut.set_result(spans[pos : pos + len(texts)])
                        pos += len(texts)
                batch = self._next_batch()
                if batch:
                    try:
                        job = loop.run_in_executor(
                            self._pool(), self._run, [t for ts, _ in batch for t in ts]
                        )
                    except RuntimeError as exc:  # executor shut down by close()
                        _fail(batch, exc)
                        batch = []
        finally:
            self._running = False
            _fail(self._next_batch_all(), RuntimeError("closed"))

    def _next_batch_all(self) -> list[tuple[list[str], asyncio.Future[list[list[NerSpan]]]]]:
        rest, self._queue = self._queue, []
        return rest

    async def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
