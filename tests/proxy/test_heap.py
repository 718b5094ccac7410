"""The start-up heap goes to the permanent generation, so full collections skip it."""

from __future__ import annotations

import gc

from masker_contracts.heap import freeze_startup_heap


def test_freeze_moves_the_startup_heap_out_of_collections() -> None:
    kept = [[i] for i in range(10_000)]  # long-lived objects, like a loaded model's
    gc.unfreeze()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_every_collection_is_timed_by_generation() -> None:
    from masker_contracts.heap import PauseWatch

    seen: list[tuple[int, float]] = []
    watch = PauseWatch(lambda generation, seconds: seen.append((generation, seconds))).install()
    try:
        gc.collect(0)
        gc.collect()
    finally:
        watch.remove()
    assert [g for g, _ in seen] == [0, 2] and all(s >= 0 for _, s in seen)
    gc.collect()
    assert len(seen) == 2  # removed: no more observations
