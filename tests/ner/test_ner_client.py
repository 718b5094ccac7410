"""The proxy's gRPC NER client against a real server that stalls (SIGSTOP) or dies (SIGKILL).

Breaker cool-downs use an injected clock, so no test waits on or asserts a duration.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from masker.detect.ner_grpc import BreakerState, CircuitBreaker, GrpcNer
from masker.detect.types import NerUnavailable
from masker.errors import ConfigError
from masker.settings import Settings
from tests.ner.ner_harness import NerServer, synthetic_texts


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 5.0, clock=clock)
    for _ in range(2):
        assert breaker.acquire() is False
        breaker.failure()
    breaker.success()  # a success resets the count
    for _ in range(3):
        assert breaker.acquire() is False
        breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is None
    clock.now += 5.0
    assert breaker.acquire() is True  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() is None  # only one probe at a time
    breaker.failure()
    assert breaker.state is BreakerState.OPEN and breaker.opens == 2
    clock.now += 5.0
    assert breaker.acquire() is True
    breaker.abandon_probe()  # cancelled probe: no verdict, the next call probes
    assert breaker.acquire() is True
    breaker.success()
    assert breaker.state is BreakerState.CLOSED and breaker.acquire() is False


def _client(env: dict[str, str]) -> GrpcNer:
    ner = Settings.from_env(env).ner
    assert ner.addr is not None
    return GrpcNer(
        ner.addr,
        timeout_ms=ner.timeout_ms,
        breaker_failures=ner.breaker_failures,
        tls_ca=ner.tls_ca,
        tls_cert=ner.tls_cert,
        tls_key=ner.tls_key,
    )


def test_settings_build_the_client() -> None:
    env = {
        "MASKER_NER_ADDR": "ner:50051",
        "MASKER_NER_TIMEOUT_MS": "120",
        "MASKER_NER_BREAKER_FAILURES": "7",
    }
    client = _client(env)
    assert (client.addr, client.timeout_s) == ("ner:50051", 0.12)
    assert _client({"MASKER_NER_ADDR": "ner:1"}).timeout_s == 0.08  # sub-100 ms default
    assert Settings.from_env({}).ner.addr is None
    with pytest.raises(ConfigError, match="MASKER_NER_TIMEOUT_MS"):
        Settings.from_env({"MASKER_NER_ADDR": "ner:1", "MASKER_NER_TIMEOUT_MS": "fast"})
    with pytest.raises(ConfigError, match="go together"):
        Settings.from_env({"MASKER_NER_ADDR": "ner:1", "MASKER_NER_TLS_CERT": "/c.pem"})
    with pytest.raises(ConfigError, match="MASKER_NER_TLS_CA is not a readable file"):
        Settings.from_env({"MASKER_NER_ADDR": "ner:1", "MASKER_NER_TLS_CA": "/nonexistent/ca.pem"})
    with pytest.raises(FileNotFoundError):  # the client itself still refuses a missing file
        GrpcNer("ner:1", tls_ca="/nonexistent/ca.pem")


async def test_deadline_on_a_stalled_server(tmp_path: Path) -> None:
    server = NerServer().start(tmp_path).wait_serving()
    client = GrpcNer(server.addr)  # the default 80 ms deadline
    texts = ["Call Robert Chen at Mercy Hospital in Tulsa."]
    try:
        await client.analyze(texts)  # connected and warm
        server.signal(signal.SIGSTOP)
        attempts = client.stats.attempts
        with pytest.raises(NerUnavailable, match="DEADLINE_EXCEEDED") as info:
            await client.analyze(texts)
        assert "Robert" not in str(info.value) and "Tulsa" not in str(info.value)
        assert client.stats.attempts == attempts + 1  # the budget is spent: no retry
        server.signal(signal.SIGCONT)
        client.timeout_s = 30.0  # the stopped process has a backlog to work through first
        assert (await client.analyze(texts))[0] != []
        assert client.breaker.state is BreakerState.CLOSED
    finally:
        await client.close()
        server.stop()


async def test_dead_server_retry_breaker_and_recovery(tmp_path: Path) -> None:
    clock = FakeClock()
    server = NerServer().start(tmp_path).wait_serving()
    client = GrpcNer(
        server.addr, timeout_ms=5_000, breaker_failures=3, breaker_cooldown_ms=10_000, clock=clock
    )
    texts = synthetic_texts(3)
    replacement: NerServer | None = None
    try:
        await client.analyze(texts)
        server.signal(signal.SIGKILL)
        server.wait_exit()

        # First failure: UNAVAILABLE is retried once, then reported.
        with pytest.raises(NerUnavailable, match="UNAVAILABLE") as info:
            await client.analyze(texts)
        assert all(t not in str(info.value) for t in texts)
        assert (client.stats.attempts, client.stats.retries) == (3, 1)

        # Two more failed calls open the breaker; then calls fail without touching the network.
        for _ in range(2):
            with pytest.raises(NerUnavailable):
                await client.analyze(texts)
        assert client.breaker.state is BreakerState.OPEN
        attempts = client.stats.attempts
        with pytest.raises(NerUnavailable, match="circuit open"):
            await client.analyze(texts)
        assert client.stats.attempts == attempts and client.stats.short_circuited == 1

        # After the cool-down one probe goes out (no retry); it fails, so the breaker re-opens.
        clock.now += 10.0
        with pytest.raises(NerUnavailable, match="UNAVAILABLE"):
            await client.analyze(texts)
        assert client.stats.attempts == attempts + 1
        assert client.breaker.state is BreakerState.OPEN and client.breaker.opens == 2

        # The service comes back on the same address: still open until the next cool-down ends.
        replacement = NerServer(port=server.port).start(tmp_path).wait_serving()
        with pytest.raises(NerUnavailable, match="circuit open"):
            await client.analyze(texts)
        assert await client.wait_ready(30)
        clock.now += 10.0
        assert len(await client.analyze(texts)) == 3  # the probe succeeds
        assert client.breaker.state is BreakerState.CLOSED
    finally:
        await client.close()
        server.stop()
        if replacement is not None:
            replacement.stop()
