"""Rate limits: local token bucket, shared Redis buckets (real server), fallback when Redis is down."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis_asyncio

from masker.observability.metrics import create_metrics
from masker.ratelimit import (
    Decision,
    LocalRateLimiter,
    RateLimit,
    RedisRateLimiter,
    build_rate_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_bucket_allows_burst_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limited: list[str] = []
    limiter = LocalRateLimiter(clock=clock, on_limited=limited.append)
    limit = RateLimit(rps=10, burst=20)
    results = [limiter.check("front-desk", limit) for _ in range(21)]
    assert all(d.allowed for d in results[:20])
    refused = results[20]
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.1)
    assert refused.retry_after_header == "1"
    assert limited == ["front-desk"]


def test_local_bucket_refills_at_the_sustained_rate() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock=clock)
    limit = RateLimit(rps=100, burst=200)
    for _ in range(200):
        assert limiter.check("a", limit).allowed
    assert not limiter.check("a", limit).allowed
    clock.now += 0.5  # 50 tokens back
    assert sum(limiter.check("a", limit).allowed for _ in range(60)) == 50
    clock.now += 1000  # never more than the burst
    assert sum(limiter.check("a", limit).allowed for _ in range(300)) == 200


def test_agents_have_separate_buckets() -> None:
    limiter = LocalRateLimiter(clock=FakeClock())
    limit = RateLimit(rps=1, burst=1)
    assert limiter.check("a", limit).allowed
    assert not limiter.check("a", limit).allowed
    assert limiter.check("b", limit).allowed


def test_published_defaults() -> None:
    assert RateLimit() == RateLimit(rps=100, burst=200)
    with pytest.raises(ValueError):
        RateLimit(rps=0)
    assert Decision(False, 2.01).retry_after_header == "3"


def test_build_without_url_is_local() -> None:
    assert isinstance(build_rate_limiter(None), LocalRateLimiter)


async def test_redis_limiter_shares_one_bucket_between_replicas(redis_prefix: str, redis_url: str) -> None:
    limit = RateLimit(rps=1, burst=5)  # slow refill: the test's own duration cannot matter much
    a = RedisRateLimiter(redis_url, prefix=redis_prefix, timeout=10.0)
    b = RedisRateLimiter(redis_url, prefix=redis_prefix, timeout=10.0)
    try:
        decisions = [await (a if i % 2 else b).acquire("front-desk", limit) for i in range(5)]
        assert all(d.allowed and d.backend == "redis" for d in decisions)
        refused = await a.acquire("front-desk", limit)
        assert not refused.allowed and refused.backend == "redis"
        assert 0 < refused.retry_after <= 1.0
        other = await b.acquire("billing", limit)
        assert other.allowed
        assert a.fallbacks == b.fallbacks == 0
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_keys_use_agent_name_and_expire(redis_prefix: str, redis_url: str) -> None:
    limiter = RedisRateLimiter(redis_url, prefix=redis_prefix, timeout=10.0)
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        await limiter.acquire("front-desk", RateLimit(rps=100, burst=200))
        key = f"{redis_prefix}front-desk"
        assert await client.exists(key) == 1
        ttl = await client.pttl(key)
        assert 0 < ttl <= 3000  # burst/rps seconds + 1 s
    finally:
        await limiter.aclose()
        await client.aclose()


async def test_redis_concurrent_acquires_are_atomic(redis_prefix: str, redis_url: str) -> None:
    limit = RateLimit(rps=0.001, burst=50)  # effectively no refill during the test
    # Generous timeout: this test is about atomicity, not latency, and CI machines are busy.
    limiters = [RedisRateLimiter(redis_url, prefix=redis_prefix, timeout=10.0) for _ in range(4)]
    try:
        results = await asyncio.gather(*(limiters[i % 4].acquire("agent-x", limit) for i in range(200)))
        assert sum(d.allowed for d in results) == 50
        assert all(d.backend == "redis" for d in results)
    finally:
        for limiter in limiters:
            await limiter.aclose()


async def test_redis_down_falls_back_to_local_and_counts(closed_port: int) -> None:
    metrics = create_metrics()
    clock = FakeClock()
    limiter = RedisRateLimiter(
        f"redis://127.0.0.1:{closed_port}/0",
        timeout=0.2,
        backoff=5.0,
        clock=clock,
        on_fallback=lambda reason: metrics.ratelimit_fallbacks.labels(reason=reason).inc(),
        fallback=LocalRateLimiter(clock=clock),
    )
    try:
        limit = RateLimit(rps=1, burst=3)
        results = [await limiter.acquire("front-desk", limit) for _ in range(4)]
        assert [d.allowed for d in results] == [True, True, True, False]
        assert {d.backend for d in results} == {"local-fallback"}
        assert not limiter.redis_healthy  # in back-off: the later calls did not touch Redis
        assert limiter.fallbacks == 4
        text = metrics.render().decode()
        assert 'masker_ratelimit_fallbacks_total{reason="unavailable"} 1.0' in text
        assert 'masker_ratelimit_fallbacks_total{reason="backoff"} 3.0' in text
    finally:
        await limiter.aclose()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _start_redis_forwarder(port: int) -> asyncio.Server:
    """A loopback TCP forwarder to the real Redis: "Redis comes back" = this starts listening."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 6379)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def test_redis_recovers_after_backoff(redis_prefix: str, closed_port: int) -> None:
    """Redis down -> local fallback during the back-off -> Redis used again once it is back."""
    clock = FakeClock()
    limiter = RedisRateLimiter(
        f"redis://127.0.0.1:{closed_port}/0", prefix=redis_prefix, timeout=5.0, backoff=5.0, clock=clock
    )
    forwarder = None
    try:
        assert (await limiter.acquire("a")).backend == "local-fallback"
        forwarder = await _start_redis_forwarder(closed_port)
        assert (await limiter.acquire("a")).backend == "local-fallback"  # still backing off
        clock.now += 5.1
        assert (await limiter.acquire("a")).backend == "redis"
        assert limiter.redis_healthy
    finally:
        await limiter.aclose()
        if forwarder is not None:
            forwarder.close()
