"""The shared findings store (Redis): keyed by an HMAC of the text, values authenticated, no text."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from masker.detect.cache import FindingsCache, SharedFindings, flatten
from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions, Entity, Finding
from masker.memory import MemoryBudget

REDIS_URL = "redis://127.0.0.1:6379/0"
TEXT = "Hi, this is Maria Lopez, call me at (415) 555-0134."


@pytest.fixture
async def shared() -> AsyncIterator[SharedFindings]:
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    store = SharedFindings(client, b"k" * 32, generation="test", prefix=f"masker:test:{uuid.uuid4().hex}:")
    yield store
    async for key in client.scan_iter(match=store._prefix + b"*"):
        await client.delete(key)
    await store.close()


async def test_a_second_process_reads_what_the_first_found_and_redis_holds_no_text(
    shared: SharedFindings,
) -> None:
    first = DetectionEngine(cache=FindingsCache(budget=MemoryBudget(1 << 20), shared=shared))
    found = (await first.detect([TEXT], DetectOptions())).findings[0]
    assert {f.entity for f in found} >= {Entity.PHONE}
    for task in list(first.cache._writes):
        await task
    # Another process: empty local cache, same store. It recalls instead of detecting.
    second_cache = FindingsCache(budget=MemoryBudget(1 << 20), shared=shared)
    recalled = await second_cache.recall([TEXT], [("k",)], DetectOptions())
    assert recalled == {0: found}
    raw = [await shared._redis.get(k) async for k in shared._redis.scan_iter(match=shared._prefix + b"*")]
    assert raw and all(b"Maria" not in v and b"555" not in v and b"Lopez" not in v for v in raw)
    assert shared.redis_key(TEXT, DetectOptions()) != shared.redis_key(TEXT, DetectOptions(use_ner=False))


async def test_a_forged_or_swapped_entry_is_a_miss_not_an_empty_answer(shared: SharedFindings) -> None:
    options = DetectOptions()
    finding = Finding(36, 50, Entity.PHONE, 0.9, "phone")
    await shared.put_many([TEXT], [flatten([finding])], options)
    assert await shared.get_many([TEXT], options) == [flatten([finding])]
    key = shared.redis_key(TEXT, options)
    other = shared.redis_key("Nothing to see here.", options)
    await shared.put_many(["Nothing to see here."], [()], options)
    # Someone with write access to Redis copies the "no findings" entry over the phone number's.
    await shared._redis.set(key, await shared._redis.get(other))
    assert await shared.get_many([TEXT], options) == [None]
    await shared._redis.set(key, b"")  # or writes anything else
    assert await shared.get_many([TEXT], options) == [None]


async def test_redis_down_means_local_detection() -> None:
    store = SharedFindings.from_url("redis://127.0.0.1:1/0", b"k" * 32, generation="test")
    engine = DetectionEngine(cache=FindingsCache(budget=MemoryBudget(1 << 20), shared=store))
    found = (await engine.detect([TEXT], DetectOptions(use_ner=False))).findings[0]
    assert any(f.entity == Entity.PHONE for f in found)
    assert store.errors >= 1
    await engine.close()
