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
