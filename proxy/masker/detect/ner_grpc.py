"""The NER backend over gRPC: the proxy's client for ``masker ner serve`` (``masker.ner.v1``).

The proxy must stay fast and safe when the NER service is slow or gone, so every call is bounded:

- one channel per client, reused by all calls (HTTP/2 multiplexing; reconnects on its own);
- one deadline per ``analyze`` call covering every attempt: ``timeout_ms`` (default 80 ms) plus
  ``timeout_per_kchar_ms`` (default 20 ms) per 1,000 characters sent, because model time grows
  with the text — a fixed 80 ms made a cold conversation's first request (its whole history) fail
  every time, so nothing was ever cached and the conversation locked itself out;
- at most one retry, only for UNAVAILABLE (the call never reached a model) and only if time is
  left in that budget;
- a circuit breaker: after ``breaker_failures`` consecutive failed calls it opens and calls fail
  at once for ``breaker_cooldown_ms``; then a single probe call is let through (half-open) and
  its outcome closes or re-opens the breaker. A call that ran out of time while the service
  answered other calls is shed, not counted: the service is busy, not
  gone. Counted, a burst of concurrent calls caught in one slow spell would read as "consecutive"
  failures and open the breaker, turning a spike of a few hundred milliseconds into a whole
  cool-down of failed calls (503s where the policy fails closed);

Every failure surfaces as ``NerUnavailable`` with a message naming the cause (status code,
"circuit open"), never the request text; the policy then fails closed or degrades.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import grpc

import masker_contracts.ner_wire as wire

from .types import NerSpan, NerUnavailable

__all__ = ["BreakerState", "CircuitBreaker", "GrpcNer", "NerClientStats"]

log = logging.getLogger("masker.detect.ner_grpc")

DEFAULT_TIMEOUT_MS = 80
DEFAULT_TIMEOUT_PER_KCHAR_MS = 20.0
DEFAULT_BREAKER_FAILURES = 5
DEFAULT_BREAKER_COOLDOWN_MS = 5000
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# A retry with less time than this left cannot succeed; give up instead.
_MIN_RETRY_BUDGET_S = 0.005
# INVALID_ARGUMENT means this call was refused (too many texts), not that the service is unwell.
_NOT_A_SERVICE_FAILURE = frozenset({grpc.StatusCode.INVALID_ARGUMENT})
# A deadline passed: an outage only if the service answered nothing meanwhile.
_BUSY_IF_ANSWERING = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED})
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _wire_safe(text: str) -> str:
    """Protobuf strings must be valid UTF-8, but JSON bodies can carry lone surrogates ("\\ud800").
    Replacing each with U+FFFD keeps every code-point offset, so spans still line up."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)
    return text


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe. ``clock`` is injectable for tests."""

    def __init__(
        self, failures: int, cooldown_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = max(1, failures)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probing = False
        self.opens = 0
        self.successes = 0  # calls answered: a failed call compares it with its value at its start

    @property
    def state(self) -> BreakerState:
        return self._state

    def acquire(self) -> bool | None:
        """None: reject the call. Otherwise go ahead; True means this call is the half-open probe."""
        if self._state is BreakerState.CLOSED:
            return False
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            self._state = BreakerState.HALF_OPEN
            self._probing = True
            return True
        return None  # open and cooling down, or a probe is already out

    def success(self) -> None:
        self.successes += 1
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._probing = False

    def failure(self) -> None:
        self._consecutive += 1
        if self._state is BreakerState.HALF_OPEN or self._consecutive >= self._threshold:
            if self._state is not BreakerState.OPEN:
                self.opens += 1
            self._state = BreakerState.OPEN
            self._opened_at = self._clock()
            self._probing = False

    def abandon_probe(self) -> None:
        """The probe was cancelled by its caller: no verdict, let the next call probe."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - self.cooldown_s
            self._probing = False


@dataclass(slots=True)
class NerClientStats:
    """Counters for the proxy's metrics (no labels, no content)."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    failures: int = 0  # calls that raised NerUnavailable, including short-circuited ones
    short_circuited: int = 0  # rejected by the open breaker without touching the network
    shed: int = 0  # ran out of time while the service answered others (not counted as an outage)


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


class GrpcNer:
    """A ``NerBackend`` that calls the NER service. Create once per process; ``close()`` on shutdown."""

    def __init__(
        self,
        addr: str,
        *,
        timeout_ms: float = DEFAULT_TIMEOUT_MS,
        timeout_per_kchar_ms: float = DEFAULT_TIMEOUT_PER_KCHAR_MS,
        retry: bool = True,
        breaker_failures: int = DEFAULT_BREAKER_FAILURES,
        breaker_cooldown_ms: float = DEFAULT_BREAKER_COOLDOWN_MS,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_server_name: str | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not addr:
            raise ValueError("NER service address is empty")
        if timeout_ms <= 0:
            raise ValueError("NER timeout must be positive")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("MASKER_NER_TLS_CERT and MASKER_NER_TLS_KEY go together")
        if tls_cert is not None and tls_ca is None:
            raise ValueError("a client certificate (mTLS) needs MASKER_NER_TLS_CA")
        self.addr = addr
        self.timeout_s = timeout_ms / 1000
        self.per_char_s = timeout_per_kchar_ms / 1_000_000
        self._retry = retry
        self.breaker = CircuitBreaker(breaker_failures, breaker_cooldown_ms / 1000, clock=clock)
        self.stats = NerClientStats()
        # Certificates are read now so a bad path fails at start-up, not on the first request.
        self._credentials = (
            grpc.ssl_channel_credentials(_read(tls_ca), _read(tls_key), _read(tls_cert))
            if tls_ca is not None
            else None
        )
        self._options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # Retries are ours (at most one, inside the deadline), not the channel's.
            ("grpc.enable_retries", 0),
            # With a headless Service (dns:///ner-headless:50051) spread calls over all pods.
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.keepalive_time_ms", 30_000),
            # Reconnect soon after the service comes back (gRPC's default backoff grows to 120 s,
            # which would keep the breaker's half-open probe failing long after recovery).
            ("grpc.initial_reconnect_backoff_ms", 250),
            ("grpc.max_reconnect_backoff_ms", 2_000),
        ]
        if tls_server_name:
            self._options.append(("grpc.ssl_target_name_override", tls_server_name))
        self._channel: Any = None
        self._call: Any = None
        self.model_name: str | None = None  # as last reported by the service
        self.model_version: str | None = None

    def _stub(self) -> Any:
        # Created lazily: a grpc.aio channel belongs to the event loop it is first used on.
        if self._call is None:
            if self._credentials is None:
                self._channel = grpc.aio.insecure_channel(self.addr, options=self._options)
            else:
                self._channel = grpc.aio.secure_channel(self.addr, self._credentials, options=self._options)
            self._call = self._channel.unary_unary(
                wire.ANALYZE_METHOD,
                request_serializer=wire.AnalyzeRequest.SerializeToString,
                response_deserializer=wire.AnalyzeResponse.FromString,
            )
        return self._call

    async def wait_ready(self, timeout_s: float) -> bool:
        """Connects ahead of the first call (start-up warm-up); False if not connected in time."""
        self._stub()
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        if not texts:
            return []
        self.stats.calls += 1
        probe = self.breaker.acquire()
        if probe is None:
            self.stats.short_circuited += 1
            self.stats.failures += 1
            raise NerUnavailable("NER circuit open")
        texts = list(texts)
        answered = self.breaker.successes
        try:
            response = await self._attempts(texts, retry=self._retry and not probe)
            results: list[list[NerSpan]] = wire.spans_from_response(texts, response)
        except asyncio.CancelledError:
            if probe:
                self.breaker.abandon_probe()
            raise
        except _CallFailed as exc:
            self.stats.failures += 1
            busy = exc.code in _BUSY_IF_ANSWERING and self.breaker.successes > answered
            if busy:
                self.stats.shed += 1
            if exc.code in _NOT_A_SERVICE_FAILURE or busy:
                if probe:
                    self.breaker.abandon_probe()
            else:
                self._failed()
            log.warning("NER call failed: %s (breaker %s)", exc.code.name, self.breaker.state)
            raise NerUnavailable(f"NER service call failed: {exc.code.name}") from exc.__cause__
        except wire.MalformedResponse as exc:
            self.stats.failures += 1
            self._failed()
            log.warning("NER call failed: malformed response (breaker %s)", self.breaker.state)
            raise NerUnavailable("NER service returned a malformed response") from exc
        if self.breaker.state is not BreakerState.CLOSED:
            log.warning("NER circuit closed: the service answered again")
        self.breaker.success()
        self.model_name, self.model_version = response.model_name, response.model_version
        return results

    def _failed(self) -> None:
        opens = self.breaker.opens
        self.breaker.failure()
        if self.breaker.opens != opens:
            log.warning("NER circuit open for %.1f s", self.breaker.cooldown_s)

    def budget_s(self, texts: Sequence[str]) -> float:
        """The deadline for one call: the base timeout plus time for the characters sent."""
        return self.timeout_s + self.per_char_s * sum(len(t) for t in texts)

    async def _attempts(self, texts: list[str], *, retry: bool) -> Any:
        call = self._stub()
        request = wire.AnalyzeRequest(texts=[_wire_safe(t) for t in texts])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget_s(texts)
        first = True
        while True:
            self.stats.attempts += 1
            try:
                return await call(request, timeout=max(deadline - loop.time(), 0.001))
            except grpc.aio.AioRpcError as exc:
                code: grpc.StatusCode = exc.code()
                if (
                    first
                    and retry
                    and code == grpc.StatusCode.UNAVAILABLE
                    and deadline - loop.time() > _MIN_RETRY_BUDGET_S
                ):
                    first = False
                    self.stats.retries += 1
                    continue
                raise _CallFailed(code) from exc
            except grpc.RpcError as exc:  # e.g. the channel was closed under us
                raise _CallFailed(grpc.StatusCode.UNKNOWN) from exc

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._call = None


class _CallFailed(Exception):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self.code = code
