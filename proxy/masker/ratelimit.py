"""Per-agent rate limits: a token bucket, local or shared through Redis across replicas.

Published behaviour: 100 requests/second sustained, burst 200, per agent; refused requests get
``429 rate_limited`` with ``Retry-After``. Buckets are keyed by the agent's configured *name*
(never the agent id: Redis keys show up in ``MONITOR`` and ``SCAN``).

* :class:`LocalRateLimiter` — in-process buckets; exact for a single replica.
* :class:`RedisRateLimiter` — one bucket per agent in Redis, updated by an atomic Lua script that
  uses Redis' own clock (replica clocks may disagree). If Redis is unreachable or slow (short
  connect/command timeouts) it decides with the local limiter instead, counts the fallback, and
  does not try Redis again until a back-off has passed — a dead Redis must cost one timeout per
  back-off period, not one per request. While falling back each replica enforces the full limit
  on its own, so the effective limit is ``replicas x limit``: a deliberate fail-open for
  availability (the alternative, refusing traffic when Redis blips, takes the clinic's phone
  agent down).

    limiter = build_rate_limiter(settings.redis_url, on_fallback=..., on_limited=...)
    decision = await limiter.acquire(agent.name, RateLimit(agent.rps, agent.burst))
    if not decision.allowed: raise RateLimited(decision.retry_after)
    ...
    await limiter.aclose()
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "DEFAULT_LIMIT",
    "Decision",
    "LocalRateLimiter",
    "RateLimit",
    "RateLimiter",
    "RedisRateLimiter",
    "build_rate_limiter",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Sustained requests per second and bucket size (the burst)."""

    rps: float = 100.0
    burst: int = 200

    def __post_init__(self) -> None:
        if not (self.rps > 0 and math.isfinite(self.rps)) or self.burst < 1:
            raise ValueError("rate limit needs rps > 0 and burst >= 1")


DEFAULT_LIMIT: Final = RateLimit()


@dataclass(frozen=True, slots=True)
class Decision:
    """Outcome of one acquire. ``retry_after`` is seconds until a token is available (0 if allowed)."""

    allowed: bool
    retry_after: float = 0.0
    backend: str = "local"  # "local" | "redis" | "local-fallback"

    @property
    def retry_after_header(self) -> str:
        """The ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter(Protocol):
    async def acquire(self, agent: str, limit: RateLimit = DEFAULT_LIMIT) -> Decision: ...

    async def aclose(self) -> None: ...


class LocalRateLimiter:
    """In-process token buckets, one per agent name. ``clock`` is injectable for tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_limited: Callable[[str], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_limited = on_limited
        self._buckets: dict[str, tuple[float, float]] = {}  # agent -> (tokens, last refill time)
        self._last_prune = clock()

    def check(self, agent: str, limit: RateLimit = DEFAULT_LIMIT, cost: float = 1.0) -> Decision:
        """Take ``cost`` tokens from ``agent``'s bucket if it has them. Synchronous and O(1)."""
        now = self._clock()
        tokens, last = self._buckets.get(agent, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + max(0.0, now - last) * limit.rps)
        if tokens >= cost:
            self._buckets[agent] = (tokens - cost, now)
            decision = Decision(True, 0.0, "local")
        else:
            self._buckets[agent] = (tokens, now)
            decision = Decision(False, (cost - tokens) / limit.rps, "local")
            if self._on_limited is not None:
                self._on_limited(agent)
        self._prune(now, limit)
        return decision

    async def acquire(self, agent: str, limit: RateLimit = DEFAULT_LIMIT) -> Decision:
        return self.check(agent, limit)

    async def aclose(self) -> None:
        self._buckets.clear()

    def _prune(self, now: float, limit: RateLimit) -> None:
        # Forget buckets idle long enough to be full again: bounded memory even if agents churn.
        if now - self._last_prune < 60.0:
            return
        self._last_prune = now
        idle = max(60.0, limit.burst / limit.rps)
        for agent, (_, last) in list(self._buckets.items()):
            if now - last > idle:
                del self._buckets[agent]


# KEYS[1] = bucket key; ARGV = rps, burst, cost. Returns {allowed, retry_after_seconds_as_string}
# (Lua numbers become integers in replies, so the fraction travels as a string).
_TOKEN_BUCKET_LUA: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(retry)}
"""


class RedisRateLimiter:
    """Token buckets shared by all replicas through Redis, with a local fallback.

    ``timeout`` bounds connect, command and waiting-for-a-pooled-connection time; at most
    ``max_connections`` connections are opened. ``backoff`` is how long to stay on the local
    limiter after a failure before trying Redis again (doubling up to ``max_backoff``).
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "masker:rl:",
        timeout: float = 0.25,
        max_connections: int = 16,
        backoff: float = 2.0,
        max_backoff: float = 30.0,
        fallback: LocalRateLimiter | None = None,
        on_fallback: Callable[[str], None] | None = None,
        on_limited: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis.asyncio as redis_asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # A bounded pool that makes callers wait for a free connection: a burst of concurrent
        # requests must queue on a few warm connections, not open hundreds at once (a connect
        # storm times out and would look like "Redis down").
        pool = redis_asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # our back-off, not redis-py's retries, decides
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._redis = redis_asyncio.Redis.from_pool(pool)
        self._script = self._redis.register_script(_TOKEN_BUCKET_LUA)
        self._prefix = prefix
        self._local = fallback if fallback is not None else LocalRateLimiter(on_limited=on_limited)
        self._on_fallback = on_fallback
        self._on_limited = on_limited
        self._clock = clock
        self._base_backoff = backoff
        self._max_backoff = max_backoff
        self._backoff = backoff
        self._retry_redis_at = 0.0
        self.fallbacks = 0

    @property
    def redis_healthy(self) -> bool:
        """False while in back-off after a Redis failure."""
        return self._clock() >= self._retry_redis_at

    def key(self, agent: str) -> str:
        return f"{self._prefix}{agent}"

    async def acquire(self, agent: str, limit: RateLimit = DEFAULT_LIMIT) -> Decision:
        if self._clock() < self._retry_redis_at:
            return self._fallback(agent, limit, "backoff")
        from redis.exceptions import RedisError

        try:
            reply = await self._script(keys=[self.key(agent)], args=[limit.rps, limit.burst, 1])
        except (RedisError, OSError, TimeoutError) as exc:
            self._retry_redis_at = self._clock() + self._backoff
            self._backoff = min(self._max_backoff, self._backoff * 2)
            reason = "timeout" if "Timeout" in type(exc).__name__ else "unavailable"
            return self._fallback(agent, limit, reason)
        self._backoff = self._base_backoff
        allowed, retry = int(reply[0]), float(reply[1])
        if not allowed and self._on_limited is not None:
            self._on_limited(agent)
        return Decision(bool(allowed), 0.0 if allowed else retry, "redis")

    def _fallback(self, agent: str, limit: RateLimit, reason: str) -> Decision:
        self.fallbacks += 1
        if self._on_fallback is not None:
            self._on_fallback(reason)
        d = self._local.check(agent, limit)
        return Decision(d.allowed, d.retry_after, "local-fallback")

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._local.aclose()


def build_rate_limiter(
    redis_url: str | None,
    *,
    prefix: str = "masker:rl:",
    on_fallback: Callable[[str], None] | None = None,
    on_limited: Callable[[str], None] | None = None,
) -> RateLimiter:
    """``MASKER_REDIS_URL`` set -> :class:`RedisRateLimiter`, else :class:`LocalRateLimiter`."""
    if redis_url:
        return RedisRateLimiter(redis_url, prefix=prefix, on_fallback=on_fallback, on_limited=on_limited)
    return LocalRateLimiter(on_limited=on_limited)
