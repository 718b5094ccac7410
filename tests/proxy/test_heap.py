"""The start-up heap goes to the permanent generation, so full collections skip it; every collection
is timed (wall and collector CPU), and the benchmark probe's forced ones are told apart."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from masker_contracts.heap import (
    Pause,
    PauseWatch,
    freeze_startup_heap,
    probe_full_collections,
    tracked_census,
)


def test_freeze_moves_the_startup_heap_out_of_collections() -> None:
    kept = [[i] for i in range(10_000)]  # long-lived objects, like a loaded model's
    gc.unfreeze()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_every_collection_is_timed_by_generation() -> None:
    seen: list[Pause] = []
    watch = PauseWatch(seen.append).install()
    try:
        gc.collect(0)
        gc.collect()
    finally:
        watch.remove()
    assert [p.generation for p in seen] == [0, 2]
    assert all(p.wall_s >= 0 and p.cpu_s >= 0 and not p.forced for p in seen)
    gc.collect()
    assert len(seen) == 2  # removed: no more observations


def test_collector_cpu_time_grows_with_what_it_walks() -> None:
    seen: list[Pause] = []
    watch = PauseWatch(seen.append).install()
    cycles: list[object] = []
    try:
        for _ in range(200_000):
            node: list[object] = []
            node.append(node)  # a cycle: only the cyclic collector can free it
            cycles.append(node)
        gc.collect()
        loaded = seen[-1].cpu_s
        del cycles
        gc.collect()  # frees the cycles: walks them once more
        gc.collect()
        empty = seen[-1].cpu_s
    finally:
        watch.remove()
    assert loaded > empty


def test_the_probe_forces_full_collections_and_logs_a_census(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Pause] = []
    watch = PauseWatch(seen.append).install()

    async def run() -> None:
        task = asyncio.create_task(probe_full_collections(watch, 0.01, census_every=2))
        while sum(p.forced for p in seen) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        with caplog.at_level(logging.INFO, logger="masker.heap"):
            asyncio.run(run())
    finally:
        watch.remove()
    forced = [p for p in seen if p.forced]
    assert forced and all(p.generation == 2 for p in forced)
    assert not watch.forcing  # collections after the probe count as natural again
    census = [r.getMessage() for r in caplog.records if "gc probe" in r.getMessage()]
    assert len(census) >= 2 and "tracked objects" in census[0] and "list" in tracked_census()
