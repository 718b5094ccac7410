"""One memory budget for every cache of the process: bytes, LRU across regions, time to live."""

from __future__ import annotations

import asyncio
import base64
import gc
import time

import pytest

from masker.detect.cache import FindingsCache
from masker.detect.types import DetectOptions, Entity, Finding
from masker.memory import ENTRY_OVERHEAD, MemoryBudget
from masker.settings import Settings
from masker.tokens.codec import Codec, codec_regions
from masker.tokens.keys import Key, KeyRing
from masker_contracts.heap import YOUNG_EVERY_WRITES, freeze_startup_heap


def _ring(name: str) -> KeyRing:
    return KeyRing((Key(name, bytes(range(32))),))


def test_the_budget_evicts_the_least_recently_used_entry_of_any_region() -> None:
    budget = MemoryBudget(10 * (100 + ENTRY_OVERHEAD))
    findings = budget.region("findings", 60.0)
    history = budget.region("history", 60.0)
    for i in range(5):
        findings.put(("f", i), i, 100)
    for i in range(5):
        history.put(("h", i), i, 100)
    assert budget.used == 10 * (100 + ENTRY_OVERHEAD)
    assert findings.get(("f", 0)) == 0  # used again: now the most recent
    history.put(("h", 5), 5, 100)  # one over: the oldest entry anywhere goes
    assert budget.used <= budget.max_bytes
    assert findings.get(("f", 1)) is None
    assert findings.get(("f", 0)) == 0 and history.get(("h", 0)) == 0
    for i in range(6, 40):  # one region can take over the whole budget...
        history.put(("h", i), i, 100)
    assert len(findings) == 0 and budget.used <= budget.max_bytes  # ...and the other gives it up
    assert findings.evictions > 0 and history.evictions > 0


def test_entries_expire_by_time_without_a_lookup() -> None:
    budget = MemoryBudget(1 << 20)
    region = budget.region("bodies", ttl=30.0)
    for i in range(100):
        region.put(f"k{i}", "v", 50)
    assert budget.used == 100 * (50 + ENTRY_OVERHEAD)
    assert region.sweep(time.monotonic()) == 0  # nothing is due yet
    assert region.sweep(time.monotonic() + 31) == 100  # a sweep, not a get, frees them
    assert len(region) == 0 and budget.used == 0 and region.bytes_used == 0


async def test_the_server_sweeper_frees_idle_regions() -> None:
    budget = MemoryBudget(1 << 20)
    region = budget.region("idle", ttl=0.01)
    region.put("k", "v", 10)
    sweeper = asyncio.create_task(budget.sweep_forever(interval=0.01))
    try:
        for _ in range(500):
            if not len(region):
                break
            await asyncio.sleep(0.01)
    finally:
        sweeper.cancel()
    assert len(region) == 0 and budget.used == 0


def test_write_stamps_are_not_refreshed_by_reads() -> None:
    # The "already in the vault" marks must be forgotten after their age even when used on every
    # turn: another replica may have shredded the scope meanwhile.
    budget = MemoryBudget(1 << 20)
    written = budget.region("vault-written", ttl=30.0, refresh_on_hit=False)
    written.put("scope+token", True, 10)
    stamp = written.oldest_stamp()
    assert written.get("scope+token") is True
    assert written.oldest_stamp() == stamp
    assert written.sweep((stamp or 0) + 31) == 1


def test_codecs_of_all_agents_share_one_byte_budget() -> None:
    budget = MemoryBudget(256 * 1024)
    codecs = [Codec(f"agent-{n}", _ring("K1"), budget=budget) for n in range(4)]
    for codec in codecs:
        for conversation in range(20):
            session = codec.session(f"c{conversation}")
            for i in range(50):
                session.tokenize(Entity.PHONE, f"415-555-{i:04d}")
    bodies = budget.regions["token-bodies"]
    assert budget.used <= budget.max_bytes
    assert bodies.evictions > 0 and 0 < len(bodies) < 4 * 20 * 50
    # Tokens stay deterministic whether or not their memo entry survived.
    again = codecs[0].session("c0").tokenize(Entity.PHONE, "415-555-0000")
    assert again == Codec("agent-0", _ring("K1")).session("c0").tokenize(Entity.PHONE, "415-555-0000")


def test_findings_entries_are_flat_and_out_of_the_collectors_way() -> None:
    cache = FindingsCache(budget=MemoryBudget(1 << 20))
    found = [Finding(3, 10, Entity.PERSON, 0.85, "ner"), Finding(20, 32, Entity.PHONE, 0.9, "phone")]
    key = (b"0123456789abcdef", DetectOptions())
    cache.put(key, found)
    assert cache.get(key) == found
    # CPython stops tracking a tuple of atoms when a collection passes over it, one nesting level
    # per pass: by the time an entry reaches the oldest generation (the long walk) it is out of it.
    gc.collect(0)  # the young collections only: entries never reach the old generation tracked
    gc.collect(1)
    region = cache._region
    entries = [*region._data.values(), *region._meta.values()]
    assert entries and not any(gc.is_tracked(entry) for entry in entries)
    assert not any(gc.is_tracked(k) for k in region._data)


def test_a_full_budget_still_takes_its_entries_out_of_the_collectors_way() -> None:
    """At its budget a cache frees an entry for every one it writes, and CPython's trigger for young
    collections counts allocations minus deallocations: without collections of its own, every
    entry written once the budget is full would stay tracked until a full collection walked it."""
    cache = FindingsCache(budget=MemoryBudget(32 << 20))
    found = [Finding(3, 10, Entity.PERSON, 0.85, "ner"), Finding(20, 32, Entity.PHONE, 0.9, "phone")]
    options = DetectOptions()
    for i in range(120_000):
        cache.put((i.to_bytes(16, "little"), options), found)
    region = cache._region
    assert region.evictions > 40_000  # the budget was full for most of the writes
    # The newest writes may wait for the next young (or middle-generation) pass; none older.
    settled = len(region) - (gc.get_threshold()[1] + 1) * YOUNG_EVERY_WRITES
    assert settled > 0
    keys = list(region._data)[:settled]
    tracked = [k for k in keys if gc.is_tracked(k) or gc.is_tracked(region._data[k])]
    tracked += [k for k in keys if gc.is_tracked(region._meta[k])]
    assert not tracked


def test_codec_regions_made_at_start_up_are_frozen_with_the_heap() -> None:
    """The server makes every codec region before it freezes the start-up heap; a codec made later
    (an agent's first request) must find them all there, or its dict would be walked, entry by
    entry, by every full collection."""
    budget = MemoryBudget()
    reserved = codec_regions(budget)
    gc.unfreeze()
    try:
        freeze_startup_heap()
        names = set(budget.regions)
        codec = Codec("agent-late", _ring("K1"), budget=budget)
        assert set(budget.regions) == names
        assert (codec._written, codec._bodies, codec._deks) == reserved
        for region in reserved:
            for i in range(1000):
                region.put(f"k{i}", "v", 10)
        tracked = {id(o) for o in gc.get_objects()}
        assert not [r for r in reserved if id(r._data) in tracked or id(r._meta) in tracked]
    finally:
        gc.unfreeze()


def test_the_budget_setting() -> None:
    assert Settings.from_env({}).cache.memory_budget_mb == 64
    assert Settings.from_env({"MASKER_MEMORY_BUDGET_MB": "128"}).cache.memory_budget_mb == 128
    from masker.errors import ConfigError

    for bad in ("0", "-1", "lots"):
        with pytest.raises(ConfigError, match=r"^MASKER_MEMORY_BUDGET_MB must be"):
            Settings.from_env({"MASKER_MEMORY_BUDGET_MB": bad})


def test_the_scale_settings_are_checked_before_listening() -> None:
    from masker.errors import ConfigError

    assert Settings.from_env({}).ner.max_wait_ms == 1000
    assert Settings.from_env({"MASKER_NER_MAX_WAIT_MS": "40"}).ner.max_wait_ms == 40
    with pytest.raises(ConfigError, match=r"^MASKER_NER_MAX_WAIT_MS must be"):
        Settings.from_env({"MASKER_NER_MAX_WAIT_MS": "0"})
    key = base64.b64encode(b"k" * 32).decode()
    assert Settings.from_env({"MASKER_FINDINGS_HMAC_KEY": key}).cache.findings_hmac_key == b"k" * 32
    assert Settings.from_env({}).cache.findings_hmac_key is None
    with pytest.raises(ConfigError, match=r"^MASKER_FINDINGS_HMAC_KEY must hold at least 16 bytes$") as err:
        Settings.from_env({"MASKER_FINDINGS_HMAC_KEY": "short-secret"})
    assert "short-secret" not in str(err.value)  # the message names the variable, never the value
