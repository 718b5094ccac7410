"""Prometheus metrics with the published names, on a private registry served on its own port.

A private ``CollectorRegistry`` (not prometheus-client's global one) keeps tests and several apps
in one process independent, and keeps library metrics we did not choose off the scrape.

Published names (docs: "Observability"):

    masker_requests_total{agent,status}          every finished request, status = HTTP status
    masker_request_duration_seconds{stage}       detection | tokenize | upstream | rehydrate | total
    masker_redactions_total{kind,pass}           kind = entity type, pass = request | response
    masker_vault_size_bytes                      gauge the vault sets

Ours, for the failure modes a security review asks about:

    masker_ner_latency_seconds                   one observation per NER call
    masker_degraded_events_total{agent,reason}   NER unavailable and the agent ran degraded
    masker_fail_open_total{agent}                request forwarded unredacted (fail_mode: open)
    masker_rehydration_failures_total{agent,pass}  tokens that could not be resolved
    masker_rate_limited_total{agent}             requests answered 429 rate_limited
    masker_ratelimit_fallbacks_total{reason}     Redis limiter unusable, local limiter used
    masker_audit_dropped_total                   audit records dropped (queue full / write error)
    masker_gc_pause_seconds{generation}          each garbage collection's pause (0, 1, 2 = full)
    masker_gc_cpu_seconds{generation}            the collector's CPU time in each of those pauses
    masker_gc_probe_seconds{clock}               full collections run by MASKER_GC_PROBE_SECONDS
                                                 (benchmarks), clock = wall | cpu
    masker_memory_budget_bytes{region}           bytes each cache region holds (the budget's books)
    masker_findings_lookups{tier,result}         findings cache lookups since start: tier = local |
                                                 shared, result = hit | miss (a shared miss is a
                                                 message detected from scratch)

**Several worker processes** (``MASKER_WORKERS`` > 1) share one scrape: ``masker serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start, so each worker's
metrics go to files there, and serves them summed from the parent process
(:func:`start_multiprocess_metrics_server`): one port, one exporter, whatever the worker count.

**No PHI in labels.** ``agent`` is the agent's configured *name* (or tenant), never its id: the id
is the secret in the proxy URL and anyone who can scrape would learn it. Label values go through
:func:`agent_label` / :func:`kind_label`, which replace anything not shaped like a configured name
with ``"_invalid"``; unknown agents (404s) use :data:`UNKNOWN_AGENT`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST, start_http_server

from ._safety import is_entity_name, is_safe_name

__all__ = [
    "CONTENT_TYPE_LATEST",
    "PASSES",
    "STAGES",
    "UNKNOWN_AGENT",
    "Metrics",
    "MetricsServer",
    "agent_label",
    "create_metrics",
    "kind_label",
    "parse_addr",
    "start_metrics_server",
    "start_multiprocess_metrics_server",
]

_K = TypeVar("_K", bound=str)  # str or an Entity (StrEnum) key

STAGES: Final = ("detection", "tokenize", "upstream", "rehydrate", "total")
PASSES: Final = ("request", "response")
UNKNOWN_AGENT: Final = "_unknown"
INVALID_LABEL: Final = "_invalid"

# Seconds. Detection/tokenize sit in the low milliseconds, upstream calls in seconds.
# Fine around the 20 ms a full collection may take before it shows in request latency.
_GC_BUCKETS: Final = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0
)  # fmt: skip
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@functools.lru_cache(maxsize=4096)  # names are few; the regexes behind this run on every request
def agent_label(name: str | None) -> str:
    """The ``agent`` label value for an agent's configured name; never echoes an agent id."""
    if name is None:
        return UNKNOWN_AGENT
    return name if is_safe_name(name) else INVALID_LABEL


@functools.lru_cache(maxsize=1024)
def kind_label(entity: str) -> str:
    """The ``kind`` label value for an entity type (``PHONE``, ``CREDIT_CARD``...)."""
    return entity if is_entity_name(entity) else INVALID_LABEL


@dataclass(eq=False)
class Metrics:
    """All Masker metrics, registered on ``registry``. Build with :func:`create_metrics`."""

    registry: CollectorRegistry
    requests: Counter
    request_duration: Histogram
    redactions: Counter
    vault_size_bytes: Gauge
    ner_latency: Histogram
    degraded_events: Counter
    fail_open: Counter
    rehydration_failures: Counter
    rate_limited: Counter
    ratelimit_fallbacks: Counter
    audit_dropped: Counter
    gc_pause: Histogram
    gc_cpu: Histogram
    gc_probe: Histogram
    memory_budget_bytes: Gauge
    findings_lookups: Gauge

    # Labelled children by (metric, label values): ``labels()`` costs microseconds per call and a
    # request makes a dozen of them with the same few values.
    _children: dict[tuple[object, tuple[str, ...]], Any] = field(default_factory=dict, repr=False)

    def _child(self, metric: Counter | Histogram, *values: str) -> Any:
        key = (metric, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    # -- small helpers so call sites cannot get label names or safety wrong ------------------
    def observe_request(self, agent: str | None, status: int) -> None:
        self._child(self.requests, agent_label(agent), str(int(status))).inc()

    def observe_stage(self, stage: str, seconds: float) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
        self._child(self.request_duration, stage).observe(max(0.0, seconds))

    def observe_redactions(self, counts: Mapping[_K, int], pass_: str) -> None:
        """Add per-entity-type counts for one pass (``request`` or ``response``)."""
        if pass_ not in PASSES:
            raise ValueError(f"unknown pass {pass_!r}; expected one of {PASSES}")
        for kind, n in counts.items():
            if n > 0:
                self._child(self.redactions, kind_label(str(kind)), pass_).inc(n)

    def observe_rehydration_failures(self, agent: str | None, n: int, pass_: str = "response") -> None:
        if n > 0:
            self.rehydration_failures.labels(agent=agent_label(agent), **{"pass": pass_}).inc(n)

    def render(self) -> bytes:
        """The exposition text, for an in-app ``/metrics`` route if one is ever wanted."""
        return generate_latest(self.registry)


def create_metrics(registry: CollectorRegistry | None = None) -> Metrics:
    """Register every Masker metric on ``registry`` (a fresh private one by default)."""
    reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=reg,
        requests=Counter(
            "masker_requests_total",
            "Finished proxy requests by agent name and HTTP status.",
            ["agent", "status"],
            registry=reg,
        ),
        request_duration=Histogram(
            "masker_request_duration_seconds",
            "Time per pipeline stage (detection, tokenize, upstream, rehydrate) and in total.",
            ["stage"],
            buckets=_BUCKETS,
            registry=reg,
        ),
        redactions=Counter(
            "masker_redactions_total",
            "Entities redacted, by entity type and pass (request or response).",
            ["kind", "pass"],
            registry=reg,
        ),
        vault_size_bytes=Gauge(
            "masker_vault_size_bytes",
            "On-disk size of the token vault in bytes, from the database's own statistics.",
            registry=reg,
            multiprocess_mode="max",  # every worker reports the same vault
        ),
        ner_latency=Histogram(
            "masker_ner_latency_seconds",
            "Latency of calls to the NER service.",
            buckets=_BUCKETS,
            registry=reg,
        ),
        degraded_events=Counter(
            "masker_degraded_events_total",
            "Requests served in degraded mode (NER unavailable), by agent and reason.",
            ["agent", "reason"],
            registry=reg,
        ),
        fail_open=Counter(
            "masker_fail_open_total",
            "Requests forwarded without redaction because the agent's fail_mode is open.",
            ["agent"],
            registry=reg,
        ),
        rehydration_failures=Counter(
            "masker_rehydration_failures_total",
            "Tokens in upstream output that could not be resolved.",
            ["agent", "pass"],
            registry=reg,
        ),
        rate_limited=Counter(
            "masker_rate_limited_total",
            "Requests refused with 429 rate_limited.",
            ["agent"],
            registry=reg,
        ),
        ratelimit_fallbacks=Counter(
            "masker_ratelimit_fallbacks_total",
            "Rate-limit decisions taken by the local limiter because Redis was unusable.",
            ["reason"],
            registry=reg,
        ),
        audit_dropped=Counter(
            "masker_audit_dropped_total",
            "Audit records that could not be written (queue full or I/O error).",
            registry=reg,
        ),
        gc_pause=Histogram(
            "masker_gc_pause_seconds",
            "Pause of each cyclic garbage collection, by generation (2 is a full collection).",
            ["generation"],
            buckets=_GC_BUCKETS,
            registry=reg,
        ),
        gc_cpu=Histogram(
            "masker_gc_cpu_seconds",
            "The collector's CPU time in each cyclic garbage collection, by generation.",
            ["generation"],
            buckets=_GC_BUCKETS,
            registry=reg,
        ),
        gc_probe=Histogram(
            "masker_gc_probe_seconds",
            "Full collections of the live heap run by MASKER_GC_PROBE_SECONDS (benchmarks), by clock.",
            ["clock"],
            buckets=_GC_BUCKETS,
            registry=reg,
        ),
        memory_budget_bytes=Gauge(
            "masker_memory_budget_bytes",
            "Bytes each cache region holds, as charged to the process memory budget.",
            ["region"],
            registry=reg,
            multiprocess_mode="livesum",
        ),
        findings_lookups=Gauge(
            "masker_findings_lookups",
            "Findings cache lookups since start, by tier (local, shared) and result (hit, miss).",
            ["tier", "result"],
            registry=reg,
            multiprocess_mode="livesum",
        ),
    )


def parse_addr(addr: str) -> tuple[str, int]:
    """``"0.0.0.0:9090"`` / ``"[::1]:9090"`` / ``":9090"`` / ``"9090"`` -> (host, port)."""
    raw = addr.strip()
    if raw.isdigit():
        return "0.0.0.0", int(raw)
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("MASKER_METRICS_ADDR must look like host:port")
    host = host.strip("[]") or "0.0.0.0"
    number = int(port)
    if not 0 <= number <= 65535:
        raise ValueError("MASKER_METRICS_ADDR port out of range")
    return host, number


@dataclass(eq=False)
class MetricsServer:
    """A running metrics HTTP server (a daemon thread). ``port`` is the bound port."""

    host: str
    port: int
    _server: WSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(addr: str, metrics: Metrics) -> MetricsServer:
    """Serve ``metrics.registry`` on ``addr`` (``MASKER_METRICS_ADDR``) in a background thread.

    A separate listener keeps ``/metrics`` off the public proxy port; port ``0`` picks a free one.
    """
    host, port = parse_addr(addr)
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return MetricsServer(host=host, port=int(server.server_port), _server=server, _thread=thread)


def start_multiprocess_metrics_server(addr: str, directory: str) -> MetricsServer:
    """Serve the metrics every worker process writes under ``directory`` (``PROMETHEUS_MULTIPROC_DIR``),
    summed, on ``addr``: the exporter of a multi-worker server, run by its parent process."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    host, port = parse_addr(addr)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(host=host, port=int(server.server_port), _server=server, _thread=thread)
