"""A call that runs out of time while the NER service answers other calls is shed, not counted
towards the circuit breaker: the service is busy, not gone. One that times out while nothing is
answered still counts (a hung service opens the breaker)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

import masker_contracts.ner_wire as wire
from masker.detect.ner_grpc import BreakerState, GrpcNer
from masker.detect.types import NerUnavailable

SLOW = "Please hold for Ana Diaz."


async def _service() -> tuple[grpc.aio.Server, str, asyncio.Event]:
    """A stand-in NER service: a text equal to ``SLOW`` is answered only once ``release`` is set,
    any other call at once (no spans)."""
    release = asyncio.Event()

    async def analyze(request: wire.AnalyzeRequest, context: grpc.aio.ServicerContext) -> Any:
        texts = list(request.texts)
        if SLOW in texts:
            await release.wait()
        return wire.build_response(
            [[] for _ in texts],
            model_name="stub",
            model_version="0",
            batch_texts=len(texts),
            batch_requests=1,
        )

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                wire.SERVICE,
                {
                    "Analyze": grpc.unary_unary_rpc_method_handler(
                        analyze,
                        request_deserializer=wire.AnalyzeRequest.FromString,
                        response_serializer=wire.AnalyzeResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}", release


async def test_a_deadline_missed_while_others_are_answered_does_not_open_the_breaker() -> None:
    server, addr, release = await _service()
    # One counted failure would open the breaker.
    client = GrpcNer(addr, timeout_ms=400, timeout_per_kchar_ms=0, breaker_failures=1)
    try:
        assert await client.wait_ready(30)
        slow = asyncio.create_task(client.analyze([SLOW]))
        await asyncio.sleep(0.05)  # the slow call is in flight first
        assert await client.analyze(["Nothing to see."]) == [[]]  # answered meanwhile
        try:
            await slow
        except NerUnavailable as exc:
            assert "DEADLINE_EXCEEDED" in str(exc) and "Ana" not in str(exc)
        else:
            raise AssertionError("the slow call should have run out of time")
        assert client.breaker.state is BreakerState.CLOSED
        assert (client.stats.shed, client.stats.failures) == (1, 1)

        # Nothing answered while this one waits: the service looks hung, and that counts.
        try:
            await client.analyze([SLOW])
        except NerUnavailable:
            pass
        else:
            raise AssertionError("the slow call should have run out of time")
        assert client.breaker.state is BreakerState.OPEN and client.stats.shed == 1
    finally:
        release.set()
        await client.close()
        await server.stop(None)
