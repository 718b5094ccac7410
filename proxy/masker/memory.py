"""One memory budget for the whole process, shared by every cache of every agent and tenant.

The proxy keeps several caches so that resent history costs nothing: findings per message
(detection), what redaction did to a conversation's leading messages (the history memo), token
bodies and "already in the vault" marks (the codec), and scope data keys. Each was bounded on its
own, per agent, by entry count; with many tenants and long histories the sum had no bound at all.
Here they are *regions* of one ``MemoryBudget``: every entry is charged an estimate of the bytes it
holds, and when the total passes the budget the least recently used entry of the whole process goes,
whichever region it is in.

Every region also has a time to live, and expiry does not wait for a lookup: entries sit in a
region in the order they expire (last use, or write time for regions that must not be refreshed by
reading), so a sweep only pops from the front. ``put`` sweeps its own region as it goes and
``MemoryBudget.sweep`` (run periodically by the server) sweeps the rest, so an idle process gives
its memory back too.

Entries are flat on purpose: keys are bytes/str (or tuples of them), values are atoms or tuples of
atoms. CPython stops tracking such tuples in the cyclic collector, so a million cache entries add
nothing to a full collection's walk (see ``heap``). It does so only when a collection passes over
them, though, and a budget that is full frees an entry for each one written, which hides the writes
from the collector's trigger: the budget runs the young collections itself (``collect_young``).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from masker_contracts.heap import YOUNG_EVERY_WRITES, collect_young

V = TypeVar("V")

DEFAULT_BUDGET_MB = 64
# Charged per entry on top of what the caller estimates: the OrderedDict node and hash slot, the
# (stamp, size, value) triple and a float.
ENTRY_OVERHEAD = 160


class Region(Generic[V]):
    """One named cache inside a ``MemoryBudget``. Not thread-safe (one event loop per process)."""

    def __init__(self, budget: MemoryBudget, name: str, ttl: float, *, refresh_on_hit: bool) -> None:
        self.budget = budget
        self.name = name
        self.ttl = ttl
        self.refresh_on_hit = refresh_on_hit
        # key -> value, ordered by stamp, oldest first; key -> (stamp, charged bytes) beside it.
        # Apart, not as (stamp, charged, value) triples: a triple made around a value that is still
        # tracked by the cyclic collector stays tracked until a *full* collection passes over it
        # (the collector untracks one level of nesting per pass), so every entry would be walked
        # by the first full collection after it was written. A value held directly, and a pair of
        # atoms, are out of its way after the young collections.
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        # Not a plain dict: an empty one is untracked, so the start-up freeze would leave it out and
        # it would be walked once it held anything; an OrderedDict is tracked (and frozen) from birth.
        self._meta: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()
        self.bytes_used = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._data))

    def keys(self) -> Iterator[Hashable]:
        return iter(self)

    def values(self) -> list[V]:
        return list(self._data.values())

    def get(self, key: Hashable) -> V | None:
        meta = self._meta.get(key)
        if meta is None:
            self.misses += 1
            return None
        now = time.monotonic()
        if now - meta[0] > self.ttl:
            self._drop(key, meta[1])
            self.expirations += 1
            self.misses += 1
            return None
        if self.refresh_on_hit:
            self._meta[key] = (now, meta[1])
            self._data.move_to_end(key)
        self.hits += 1
        return self._data[key]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value`` under ``key``; ``size`` estimates the bytes key and value hold."""
        charged = size + ENTRY_OVERHEAD
        if charged > self.budget.max_bytes // 4:
            return  # one entry may not flush a quarter of everything else
        self.pop(key)
        now = time.monotonic()
        self._data[key] = value
        self._meta[key] = (now, charged)
        self.bytes_used += charged
        self.budget.used += charged
        self.sweep(now)
        if self.budget.used > self.budget.max_bytes:
            self.budget.evict()
        self.budget.count_write()

    def pop(self, key: Hashable) -> None:
        meta = self._meta.pop(key, None)
        if meta is not None:
            del self._data[key]
            self.bytes_used -= meta[1]
            self.budget.used -= meta[1]

    def discard_where(self, predicate: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._data if predicate(k)]:
            self.pop(key)

    def clear(self) -> None:
        self.budget.used -= self.bytes_used
        self.bytes_used = 0
        self._data.clear()
        self._meta.clear()

    def sweep(self, now: float | None = None) -> int:
        """Drop expired entries from the front; returns how many went."""
        limit = (time.monotonic() if now is None else now) - self.ttl
        data, meta = self._data, self._meta
        dropped = 0
        while data:
            key = next(iter(data))
            stamp, charged = meta[key]
            if stamp >= limit:
                break
            self._drop(key, charged)
            dropped += 1
        self.expirations += dropped
        return dropped

    def _drop(self, key: Hashable, charged: int) -> None:
        del self._data[key]
        del self._meta[key]
        self.bytes_used -= charged
        self.budget.used -= charged

    def oldest_stamp(self) -> float | None:
        for key in self._data:
            return self._meta[key][0]
        return None

    def evict_oldest(self) -> None:
        key, _ = self._data.popitem(last=False)
        charged = self._meta.pop(key)[1]
        self.bytes_used -= charged
        self.budget.used -= charged
        self.evictions += 1


class MemoryBudget:
    """Bytes every cache of the process may hold together (``MASKER_MEMORY_BUDGET_MB``)."""

    def __init__(self, max_bytes: int = DEFAULT_BUDGET_MB * 1024 * 1024) -> None:
        if max_bytes <= 0:
            raise ValueError("the memory budget must be positive")
        self.max_bytes = max_bytes
        self.used = 0
        self.regions: dict[str, Region[object]] = {}
        self._writes = 0  # since the last young collection run by the budget

    def count_write(self) -> None:
        """Every ``YOUNG_EVERY_WRITES`` entries written, a young collection (``collect_young``): the
        entries leave the collector's way while young, instead of piling up for a full collection
        to walk."""
        self._writes += 1
        if self._writes >= YOUNG_EVERY_WRITES:
            self._writes = 0
            collect_young()

    def region(self, name: str, ttl: float, *, refresh_on_hit: bool = True) -> Region[V]:
        """A new region, or the existing one of that name (regions are shared by name)."""
        region = self.regions.get(name)
        if region is None:
            region = Region[object](self, name, ttl, refresh_on_hit=refresh_on_hit)
            self.regions[name] = region
        return region  # type: ignore[return-value]

    def evict(self) -> None:
        """Drop the least recently used entries of the whole process until it fits again."""
        regions = list(self.regions.values())
        while self.used > self.max_bytes:
            oldest: Region[object] | None = None
            stamp = float("inf")
            for region in regions:
                head = region.oldest_stamp()
                if head is not None and head < stamp:
                    oldest, stamp = region, head
            if oldest is None:
                self.used = 0  # nothing left to drop: the books were off
                return
            oldest.evict_oldest()

    def sweep(self) -> int:
        now = time.monotonic()
        return sum(region.sweep(now) for region in self.regions.values())

    async def sweep_forever(self, interval: float = 5.0) -> None:
        """Expire entries of idle regions too (``put`` only sweeps the region it writes)."""
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def stats(self) -> dict[str, tuple[int, int]]:
        """Region name -> (entries, bytes)."""
        return {name: (len(r), r.bytes_used) for name, r in self.regions.items()}


__all__ = ["DEFAULT_BUDGET_MB", "ENTRY_OVERHEAD", "MemoryBudget", "Region"]
