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


def test_forced_collections_go_to_the_probe_histogram_and_natural_ones_by_generation() -> None:
    from masker.http.observe import pause_observer
    from masker.observability.metrics import create_metrics

    metrics = create_metrics()
    watch = PauseWatch(pause_observer(metrics)).install()

    async def probe_twice() -> None:
        task = asyncio.create_task(probe_full_collections(watch, 0.01))
        while metrics.registry.get_sample_value("masker_gc_probe_seconds_count", {"clock": "cpu"}) != 2:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        gc.collect(0)
        asyncio.run(probe_twice())
    finally:
        watch.remove()

    def count(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(f"{name}_count", labels)

    assert count("masker_gc_probe_seconds", clock="wall") == 2
    assert (count("masker_gc_pause_seconds", generation="0") or 0) >= 1
    assert count("masker_gc_cpu_seconds", generation="0") == count("masker_gc_pause_seconds", generation="0")
    # The probe's collections are not natural full collections.
    assert not count("masker_gc_pause_seconds", generation="2")


def test_the_probe_setting() -> None:
    from masker.settings import Settings

    assert Settings.from_env({}).server.gc_probe_seconds == 0
    assert Settings.from_env({"MASKER_GC_PROBE_SECONDS": "2.5"}).server.gc_probe_seconds == 2.5
