"""The cyclic garbage collector in a long-running server: start-up heap frozen, pauses measured.

The spaCy model, compiled patterns and lexicons leave ~130,000 long-lived objects behind. Python's
cyclic collector walks all of them in every full collection (~50 ms on the benchmark machine: a
stall for every request in flight), although none of them will ever become garbage. Moving them to
the permanent generation once everything is loaded keeps full collections down to what requests
allocate. The caches that live past a request are flat (see ``memory``), so they add nothing there.

Every collection's pause is timed (``gc.callbacks``) into ``masker_gc_pause_seconds{generation}``:
a pause stalls every request in flight, so it is a latency figure like any other. Wall time alone
says little on a busy machine (the collecting thread may be descheduled mid-walk), so the collector's
own CPU time (the thread's CPU clock) is reported alongside it.

With the heap kept flat, a natural full collection may never happen under load; so that its cost
can still be shown, :func:`probe_full_collections` (off unless ``MASKER_GC_PROBE_SECONDS`` is set;
for benchmarks) runs a full collection of the live heap at intervals and times it the same way.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("masker.heap")

# The first generation's threshold: at CPython's default (700 allocations) a busy proxy runs a
# young collection every few requests; each is short, but the count of survivors promoted — and so
# the frequency of the full walks — grows with it. Ten times fewer young collections, each still
# well under a millisecond.
GEN0_THRESHOLD = 7_000
# Cache writes between two young collections run by ``collect_young`` (see there): a few thousand
# young objects, the size of the young collections the first threshold asks for.
YOUNG_EVERY_WRITES = 1_000


def collect_young() -> None:
    """A young collection, then the middle generation's when it is due: the collections CPython
    would have run for the objects a full cache writes.

    CPython starts a young collection when allocations *minus deallocations* of tracked objects
    pass the first threshold. A cache at its memory budget frees an entry for every entry it
    writes, so under steady churn that count stands still and no young collection comes, however
    much is written: every entry written since the last collection stays tracked (a tuple of atoms
    is untracked only when a collection passes over it) and the next full collection walks them
    all. The budget therefore calls this every ``YOUNG_EVERY_WRITES`` writes.

    The collector untracks one level of nested tuples per pass (a tuple reached only through
    another is visited after it), and whatever is still tracked after a pass is promoted. So the
    young pass comes first, every time, and the middle generation's after it: an entry made of a
    tuple of flat tuples is out of the collector's way before it could reach the old generation.
    """
    if not gc.isenabled():
        return
    gc.collect(0)
    if gc.get_count()[1] >= gc.get_threshold()[1]:
        gc.collect(1)


@dataclass(frozen=True, slots=True)
class Pause:
    generation: int  # 2 is a full collection
    wall_s: float
    cpu_s: float  # the collecting thread's CPU time: the collector's own work
    forced: bool  # run by the probe, not triggered by allocations


PauseObserver = Callable[[Pause], None]


def freeze_startup_heap() -> None:
    """Call once, after start-up has loaded everything it keeps for the process's lifetime."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


class PauseWatch:
    """Times every collection (wall and collector CPU) and hands a ``Pause`` to ``observer``."""

    def __init__(self, observer: PauseObserver) -> None:
        self._observer = observer
        self._started = 0.0
        self._cpu_started = 0.0
        self._installed = False
        self.forcing = False  # set by the probe around its own collections

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._cpu_started = time.thread_time()
            self._started = time.perf_counter()
        elif self._started:
            wall = time.perf_counter() - self._started
            cpu = time.thread_time() - self._cpu_started
            self._started = 0.0
            # A metrics failure must not break the collector.
            with contextlib.suppress(Exception):
                self._observer(Pause(int(info.get("generation", 0)), wall, max(0.0, cpu), self.forcing))

    def install(self) -> PauseWatch:
        if not self._installed:
            gc.callbacks.append(self._callback)
            self._installed = True
        return self

    def remove(self) -> None:
        if self._installed:
            gc.callbacks.remove(self._callback)
            self._installed = False


def tracked_census(top: int = 12) -> str:
    """What the cyclic collector walks: tracked objects per generation, frozen ones, and the most
    common types (type names only: nothing of their content)."""
    counts: collections.Counter[str] = collections.Counter()
    shapes: collections.Counter[str] = collections.Counter()  # tracked tuples by element types
    sizes = []
    for generation in range(3):
        objects = gc.get_objects(generation)
        sizes.append(len(objects))
        for o in objects:
            counts[type(o).__name__] += 1
            if type(o) is tuple:
                shapes["(" + ",".join(type(x).__name__ for x in o[:4]) + (",..)" if len(o) > 4 else ")")] += 1
        del objects
    types = ", ".join(f"{name} {n}" for name, n in counts.most_common(top))
    tuples = ", ".join(f"{shape} {n}" for shape, n in shapes.most_common(6))
    return (
        f"tracked objects {sum(sizes)} (gen0 {sizes[0]}, gen1 {sizes[1]}, gen2 {sizes[2]}; "
        f"frozen {gc.get_freeze_count()}); most common: {types}; tuples: {tuples}"
    )


async def probe_full_collections(watch: PauseWatch, interval_s: float, census_every: int = 10) -> None:
    """Every ``interval_s``, a full collection of the live heap, timed by ``watch`` as forced.

    For benchmarks: it is the pause a natural full collection would cost at that moment (the same
    walk over every tracked object outside the frozen generation), which a flat heap may never
    trigger on its own. Every ``census_every`` probes, the tracked objects are counted by type
    into the log (outside the timed collection)."""
    probes = 0
    while True:
        await asyncio.sleep(interval_s)
        if probes % census_every == 0:
            log.info("gc probe: %s", tracked_census())
        probes += 1
        watch.forcing = True
        try:
            gc.collect(2)
        finally:
            watch.forcing = False
