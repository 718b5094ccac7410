"""The gRPC NER server (``masker ner serve``): health, micro-batched inference, graceful drain.

Lifecycle: the listener and the health service come up first and report NOT_SERVING while the
model loads on the worker thread (so orchestrators can probe early); SERVING once it is loaded.
On SIGTERM/SIGINT health flips to NOT_SERVING for ``shutdown_delay_s`` (load balancers stop
routing), then the server stops accepting calls and gives in-flight ones ``grace_s`` to finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from masker_contracts import ner_wire as wire
from masker_contracts.heap import freeze_startup_heap
from masker_contracts.ner import NerSpan

from .batcher import BatcherClosed, MicroBatcher
from .metrics import NerMetrics
from .model import SpacyNer
from .settings import ServeSettings, split_host_port

log = logging.getLogger("masker_ner.server")

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class _Reject(Exception):
    """Ends a call with a status; ``details`` is fixed text, never request content."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class NerServicer:
    """Handles ``Analyze``: validates limits, hands the texts to the batcher, records metrics."""

    def __init__(self, settings: ServeSettings, batcher: MicroBatcher, metrics: NerMetrics) -> None:
        self._settings = settings
        self._batcher = batcher
        self._metrics = metrics
        self.model: SpacyNer | None = None  # set once loaded; calls before that are UNAVAILABLE

    async def analyze(self, request: wire.AnalyzeRequest, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        self._metrics.inflight.inc()
        try:
            return await self._analyze(request)
        except _Reject as reject:
            code = reject.code
            await context.abort(reject.code, reject.details)
        except asyncio.CancelledError:  # the caller's deadline passed or it went away
            code = grpc.StatusCode.CANCELLED
            raise
        finally:
            self._metrics.inflight.dec()
            self._metrics.requests.labels(code=code.name).inc()
            self._metrics.request_seconds.observe(time.perf_counter() - started)

    async def _analyze(self, request: wire.AnalyzeRequest) -> wire.AnalyzeResponse:
        model = self.model
        if model is None:
            raise _Reject(grpc.StatusCode.UNAVAILABLE, "model not loaded yet")
        texts = list(request.texts)
        if len(texts) > self._settings.max_texts_per_call:
            limit = self._settings.max_texts_per_call
            raise _Reject(grpc.StatusCode.INVALID_ARGUMENT, f"at most {limit} texts per call")
        if not texts:
            results: list[list[NerSpan]] = []
            batch_texts = batch_requests = 0
        else:
            try:
                results, info = await self._batcher.submit(texts)
            except BatcherClosed:
                raise _Reject(grpc.StatusCode.UNAVAILABLE, "server shutting down") from None
            except Exception as exc:
                # The exception text may quote the input: log the type only.
                log.error("model pass failed: %s", type(exc).__name__)
                raise _Reject(grpc.StatusCode.INTERNAL, "model pass failed") from None
            batch_texts, batch_requests = info.texts, info.requests
        return wire.build_response(
            results,
            model_name=model.model_name,
            model_version=model.model_version,
            batch_texts=batch_texts,
            batch_requests=batch_requests,
        )


def _credentials(settings: ServeSettings) -> grpc.ServerCredentials | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    key = Path(settings.tls_key).read_bytes()
    cert = Path(settings.tls_cert).read_bytes()
    ca = Path(settings.tls_client_ca).read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


def _load_model(name: str) -> SpacyNer:
    model = SpacyNer(name)
    # The first pass initialises lazily built tables; do it before SERVING, not on a caller's clock.
    model.analyze(["Warm-up call for Jane Doe in Springfield."])
    return model


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def serve(settings: ServeSettings, *, stop: asyncio.Event | None = None) -> None:
    """Runs until ``stop`` is set (by default: SIGTERM/SIGINT), then drains and returns."""
    if stop is None:
        stop = asyncio.Event()
        _install_signal_handlers(stop)
    loop = asyncio.get_running_loop()
    metrics = NerMetrics.create()
    # One thread: the model is not thread-safe, and one pass at a time keeps batching effective.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ner-model")
    holder: dict[str, SpacyNer] = {}

    def analyze(texts: Sequence[str]) -> list[list[NerSpan]]:
        return holder["model"].analyze(texts)

    batcher = MicroBatcher(
        analyze,
        executor,
        window_s=settings.batch_window_ms / 1000,
        max_texts=settings.max_batch_texts,
        enabled=settings.batching,
        observer=metrics.observe_batch,
    )
    servicer = NerServicer(settings, batcher, metrics)
    health_servicer = health.aio.HealthServicer()
    for service in ("", wire.SERVICE):
        await health_servicer.set(service, _NOT_SERVING)

    limit = settings.max_message_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            # gRPC sets SO_REUSEPORT by default: a second server on the same port would start
            # "successfully" and split traffic. Fail loudly instead.
            ("grpc.so_reuseport", 0),
        ]
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                wire.SERVICE,
                {
                    "Analyze": grpc.unary_unary_rpc_method_handler(
                        servicer.analyze,
                        request_deserializer=wire.AnalyzeRequest.FromString,
                        response_serializer=wire.AnalyzeResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    credentials = _credentials(settings)
    if credentials is None:
        port = server.add_insecure_port(settings.listen)
    else:
        port = server.add_secure_port(settings.listen, credentials)
    if settings.metrics_listen is not None:
        metrics.serve(*split_host_port(settings.metrics_listen, "--metrics-listen"))
    await server.start()
    log.info("listening on port %d (%s)", port, "TLS" if credentials else "plaintext")

    loading: asyncio.Future[SpacyNer] = loop.run_in_executor(executor, _load_model, settings.model)
    stopping: asyncio.Future[bool] = loop.create_task(stop.wait())
    try:
        first: list[asyncio.Future[Any]] = [loading, stopping]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if loading.done():
            model = loading.result()  # a load failure propagates: exit non-zero
            holder["model"] = model
            servicer.model = model
            metrics.model_info.labels(model=model.model_name, version=model.model_version).set(1)
            freeze_startup_heap()
            batcher.start()
            for service in ("", wire.SERVICE):
                await health_servicer.set(service, _SERVING)
            metrics.ready.set(1)
            log.info("model %s %s loaded; SERVING", model.model_name, model.model_version)
            await stopping
    finally:
        stopping.cancel()
        log.info("draining: NOT_SERVING")
        metrics.ready.set(0)
        await health_servicer.enter_graceful_shutdown()
        if settings.shutdown_delay_s > 0:
            await asyncio.sleep(settings.shutdown_delay_s)
        await server.stop(settings.grace_s)
        await batcher.close()
        executor.shutdown(wait=True, cancel_futures=True)
        log.info("stopped")
