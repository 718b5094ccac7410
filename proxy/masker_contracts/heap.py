"""The cyclic garbage collector in a long-running server: start-up heap frozen, pauses measured.

The spaCy model, compiled patterns and lexicons leave ~130,000 long-lived objects behind. Python's
cyclic collector walks all of them in every full collection (~50 ms on the benchmark machine: a
stall for every request in flight), although none of them will ever become garbage. Moving them to
the permanent generation once everything is loaded keeps full collections down to what requests
allocate. The caches that live past a request are flat (see ``memory``), so they add nothing there.

Every collection's pause is timed (``gc.callbacks``) into ``masker_gc_pause_seconds{generation}``:
a pause stalls every request in flight, so it is a latency figure like any other.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from typing import Any

# The first generation's threshold: at CPython's default (700 allocations) a busy proxy runs a
# young collection every few requests; each is short, but the count of survivors promoted — and so
# the frequency of the full walks — grows with it. Ten times fewer young collections, each still
# well under a millisecond.
GEN0_THRESHOLD = 7_000

PauseObserver = Callable[[int, float], None]  # (generation, seconds)


def freeze_startup_heap() -> None:
    """Call once, after start-up has loaded everything it keeps for the process's lifetime."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


class PauseWatch:
    """Times every collection and hands (generation, seconds) to ``observer``."""

    def __init__(self, observer: PauseObserver) -> None:
        self._observer = observer
        self._started = 0.0
        self._installed = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            seconds = time.perf_counter() - self._started
            self._started = 0.0
            # A metrics failure must not break the collector.
            with contextlib.suppress(Exception):
                self._observer(int(info.get("generation", 0)), seconds)

    def install(self) -> PauseWatch:
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True
        return self

    def remove(self) -> None:
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False
