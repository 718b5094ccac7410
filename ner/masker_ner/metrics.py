"""Prometheus metrics of the NER service, served on their own port.

A private registry (not the process-global one) so the service exports exactly these series and
tests can build several servers in one process. Labels carry status codes and the model name,
never request content.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .batcher import BatchInfo

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass(frozen=True)
class NerMetrics:
    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    inflight: Gauge
    batch_texts: Histogram
    batch_requests: Histogram
    inference_seconds: Histogram
    ready: Gauge
    model_info: Gauge

    @classmethod
    def create(cls) -> NerMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "masker_ner_requests", "Analyze calls by gRPC status code", ["code"], registry=registry
            ),
            request_seconds=Histogram(
                "masker_ner_request_seconds",
                "Analyze call latency inside the server (queueing + model)",
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            inflight=Gauge("masker_ner_inflight_requests", "Analyze calls in progress", registry=registry),
            batch_texts=Histogram(
                "masker_ner_batch_texts", "Texts per model pass", buckets=_SIZE_BUCKETS, registry=registry
            ),
            batch_requests=Histogram(
                "masker_ner_batch_requests",
                "Calls merged into one model pass",
                buckets=_SIZE_BUCKETS,
                registry=registry,
            ),
            inference_seconds=Histogram(
                "masker_ner_inference_seconds",
                "Model time per pass (nlp.pipe on the worker thread)",
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            ready=Gauge("masker_ner_ready", "1 once the model is loaded and serving", registry=registry),
            model_info=Gauge(
                "masker_ner_model_info", "The loaded model", ["model", "version"], registry=registry
            ),
        )

    def observe_batch(self, info: BatchInfo, seconds: float) -> None:
        self.batch_texts.observe(info.texts)
        self.batch_requests.observe(info.requests)
        self.inference_seconds.observe(seconds)

    def serve(self, host: str, port: int) -> None:
        """Starts the /metrics HTTP endpoint on a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
