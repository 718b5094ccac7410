"""``InProcessNer``: the spaCy model in the proxy process, behind the ``NerBackend`` seam.

spaCy inference is CPU-bound and holds the GIL for most of its ~4 ms per short message. Run inline,
it would stall the event loop (and every other request's streaming) for that long; so by default the
model lives on one dedicated worker thread (``SpacyNer`` is not thread-safe, one thread owns it) and
concurrent requests that arrive while it is busy are coalesced into one ``nlp.pipe`` batch, which is
where throughput on 2 cores comes from. ``mode="inline"`` exists for benchmarks and single-user tools.
See docs/detection.md for the measurements behind this choice.

A call never waits in the queue longer than ``max_wait_ms``: one whose estimated wait (texts ahead
of it times the measured cost per text) is longer is refused at once, and one that has waited that
long is dropped before its pass, both with ``NerUnavailable`` — so the policy's NER-failure outcome
(degrade to patterns, or fail closed) applies instead of a caller stuck behind a backlog. One model
thread per process is deliberate: a second copy of the model costs its memory again and shares the
GIL; more inference capacity comes from the gRPC NER service (its own processes and replicas).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Sequence
from typing import Any, Literal

from .types import NerSpan, NerUnavailable

_Item = tuple[list[str], "asyncio.Future[list[list[NerSpan]]]", float]  # texts, result, queued at


def _fail(batch: list[_Item], exc: BaseException) -> None:
    err = NerUnavailable(f"in-process NER failed: {type(exc).__name__}")
    err.__cause__ = exc
    for _, fut, _ in batch:
        if not fut.done():
            fut.set_exception(err)


class InProcessNer:
    def __init__(
        self,
        model_name: str | None = None,
        *,
        mode: Literal["thread", "inline"] = "thread",
        max_batch_texts: int = 256,
        max_wait_ms: float | None = None,
    ) -> None:
        self._model_name = model_name
        self._mode = mode
        self._max_batch = max_batch_texts
        self._model: Any = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._queue: list[_Item] = []
        self._running = False
        self._closed = False
        self._drainer: asyncio.Task[None] | None = None
        self._max_wait = None if max_wait_ms is None else max_wait_ms / 1000
        self._per_text = 0.0  # moving average of model seconds per text, 0 until measured
        self._queued_texts = 0
        self.shed = 0  # calls refused or dropped for their deadline

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
        # Everything queued runs before this call (at least one more pass): too long, shed now.
        if (
            self._running
            and self._max_wait is not None
            and self._per_text * (self._queued_texts + len(texts)) > self._max_wait
        ):
            self.shed += 1
            raise NerUnavailable("in-process NER queue is longer than the call's deadline")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[list[NerSpan]]] = loop.create_future()
        self._queue.append((list(texts), fut, time.monotonic()))
        self._queued_texts += len(texts)
        if not self._running:
            # Idle worker: hand this batch over *now* (not on the next loop iteration), so the caller
            # can do its own CPU work while the model runs.
            self._running = True
            first = self._next_batch(now=True)
            try:
                job = loop.run_in_executor(
                    self._pool(), self._timed_run, [t for ts, _, _ in first for t in ts]
                )
            except RuntimeError as exc:
                self._running = False
                raise NerUnavailable("in-process NER is shut down") from exc
            self._drainer = loop.create_task(self._drain(first, job))
        return await fut

    def _timed_run(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        # Loading the model (seconds, on the warm-up pass) is not inference: timed in, it would
        # make the estimate refuse every call until a dozen passes had worn it down.
        self._load()
        started = time.perf_counter()
        result = self._run(texts)
        per_text = (time.perf_counter() - started) / max(1, len(texts))
        self._per_text = per_text if not self._per_text else 0.8 * self._per_text + 0.2 * per_text
        return result

    def _next_batch(self, *, now: bool = False) -> list[_Item]:
        """The next pass from the queue; calls that waited past their deadline are failed instead.
        ``now``: the pass starts as the call arrives (it has not waited)."""
        batch: list[_Item] = []
        late: list[_Item] = []
        count = 0
        oldest = time.monotonic() - self._max_wait if self._max_wait is not None and not now else None
        while self._queue and (not batch or count + len(self._queue[0][0]) <= self._max_batch):
            item = self._queue.pop(0)
            self._queued_texts -= len(item[0])
            if item[1].done():
                continue  # the caller went away
            if oldest is not None and item[2] < oldest:
                late.append(item)
                continue
            batch.append(item)
            count += len(item[0])
        if late:
            self.shed += len(late)
            for _, fut, _ in late:
                fut.set_exception(NerUnavailable("in-process NER call waited past its deadline"))
        return batch

    async def _drain(
        self,
        batch: list[_Item],
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
                    for texts, fut, _ in batch:
                        if not fut.done():
                            fut.set_result(spans[pos : pos + len(texts)])
                        pos += len(texts)
                batch = self._next_batch()
                if batch:
                    try:
                        job = loop.run_in_executor(
                            self._pool(), self._timed_run, [t for ts, _, _ in batch for t in ts]
                        )
                    except RuntimeError as exc:  # executor shut down by close()
                        _fail(batch, exc)
                        batch = []
        finally:
            self._running = False
            _fail(self._next_batch_all(), RuntimeError("closed"))

    def _next_batch_all(self) -> list[_Item]:
        rest, self._queue = self._queue, []
        self._queued_texts = 0
        return rest

    async def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
