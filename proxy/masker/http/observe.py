"""The proxy's observability wiring: metrics, traces, audit and rate limits for each request.

The components live in ``masker.observability`` and ``masker.ratelimit``; this module owns their
lifecycle and turns one finished ``RequestRecord`` into a metrics update and an audit line.
Records carry counts, names and timings only, so nothing here can see request text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from masker_contracts.heap import Pause

from ..detect.cache import FindingsCache
from ..errors import ConfigError
from ..memory import MemoryBudget
from ..observability.audit import AuditLog, AuditRecord, load_hmac_key
from ..observability.metrics import (
    Metrics,
    MetricsServer,
    agent_label,
    create_metrics,
    parse_addr,
    start_metrics_server,
)
from ..observability.tracing import Tracing, TracingConfig, setup_tracing
from ..pipeline import RequestRecord
from ..ratelimit import RateLimiter, build_rate_limiter
from ..settings import Settings
from ..tokens.keys import local_secret

log = logging.getLogger("masker.observe")
_AUDIT_KEY_FILE = "MASKER_AUDIT_HMAC_KEY"
# Set by ``masker serve`` for its workers when the parent process runs the metrics exporter.
MULTIPROC_EXPORTER_ENV = "MASKER_METRICS_EXPORTED_BY_PARENT"


def _audit_key(settings: Settings) -> bytes:
    if settings.audit.hmac_key is not None:  # decoded and checked by Settings
        return settings.audit.hmac_key
    try:
        return load_hmac_key(local_secret(settings.server.data_dir, _AUDIT_KEY_FILE))
    except ValueError as exc:
        raise ConfigError(f"{exc} (the generated key in the data dir is damaged)") from None


@dataclass
class Observability:
    metrics: Metrics
    tracing: Tracing
    limiter: RateLimiter
    audit: AuditLog | None
    metrics_server: MetricsServer | None = None

    @staticmethod
    def check(settings: Settings) -> None:
        """What ``start`` would refuse, checked without starting anything (``masker serve``)."""
        if settings.audit_dir is not None:
            _audit_key(settings)
        if settings.server.metrics_addr:
            try:
                parse_addr(settings.server.metrics_addr)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None

    @classmethod
    def start(cls, settings: Settings, *, tracing: Tracing | None = None) -> Observability:
        metrics = create_metrics()
        addr = settings.server.metrics_addr
        # A worker of a multi-process server writes its metrics to PROMETHEUS_MULTIPROC_DIR; the
        # parent process serves them (``serve.serve_workers``), so workers do not bind the port.
        exported_by_parent = settings.server.metrics_exported_by_parent
        server = start_metrics_server(addr, metrics) if addr and not exported_by_parent else None
        audit_dir: Path | None = settings.audit_dir
        audit = (
            AuditLog(audit_dir, _audit_key(settings), on_drop=metrics.audit_dropped.inc)
            if audit_dir
            else None
        )
        limiter = build_rate_limiter(
            settings.rate_limit.redis_url,
            on_fallback=lambda reason: metrics.ratelimit_fallbacks.labels(reason=reason).inc(),
            on_limited=lambda name: metrics.rate_limited.labels(agent=agent_label(name)).inc(),
        )
        config = TracingConfig(endpoint=settings.tracing.endpoint, service_name=settings.tracing.service_name)
        return cls(metrics, tracing or setup_tracing(config), limiter, audit, server)

    async def close(self) -> None:
        await self.limiter.aclose()
        if self.audit is not None:
            await self.audit.aclose()
        self.tracing.shutdown()
        if self.metrics_server is not None:
            self.metrics_server.close()

    def finish(self, record: RequestRecord) -> None:
        """Account for one request; never raises into the response path."""
        try:
            m = self.metrics
            m.observe_request(record.agent_name or None, record.status)
            for stage, ms in (
                ("detection", record.detection_ms),
                ("tokenize", record.tokenize_ms),
                ("upstream", record.upstream_ms),
                ("rehydrate", record.rehydrate_ms),
            ):
                if ms:
                    m.observe_stage(stage, ms / 1000)
            m.observe_stage("total", record.total_ms / 1000)
            m.observe_redactions(dict(record.entities_by_type), "request")
            m.observe_redactions(dict(record.response_entities), "response")
            m.observe_rehydration_failures(record.agent_name or None, record.unresolved_tokens)
            if record.degraded:
                m.degraded_events.labels(agent=agent_label(record.agent_name), reason="ner_unavailable").inc()
            if record.fail_open:
                m.fail_open.labels(agent=agent_label(record.agent_name)).inc()
            if self.audit is not None and record.agent_name and not record.repeat:
                self.audit.submit(
                    AuditRecord(
                        request_id=record.request_id,
                        agent=record.agent_name,
                        tenant=record.tenant,
                        endpoint=record.endpoint,
                        entities_by_type=dict(record.entities_by_type),
                        policy_id=record.policy_id or None,
                        redaction_ms=record.detection_ms + record.tokenize_ms,
                        upstream_ms=record.upstream_ms or None,
                        upstream_status=record.upstream_status,
                        degraded=record.degraded,
                        fail_open=record.fail_open,
                    )
                )
        except Exception as exc:  # accounting must never fail a request; log the type only
            log.error("request accounting failed: %s", type(exc).__name__)


def pause_observer(metrics: Metrics) -> Callable[[Pause], None]:
    """Garbage-collection pauses into their histograms: the probe's forced full collections apart
    from the ones allocations triggered."""
    wall = [metrics.gc_pause.labels(generation=str(g)) for g in range(3)]
    cpu = [metrics.gc_cpu.labels(generation=str(g)) for g in range(3)]
    forced_wall = metrics.gc_probe.labels(clock="wall")
    forced_cpu = metrics.gc_probe.labels(clock="cpu")

    def observe(pause: Pause) -> None:
        if pause.forced:
            forced_wall.observe(pause.wall_s)
            forced_cpu.observe(pause.cpu_s)
        else:
            wall[pause.generation].observe(pause.wall_s)
            cpu[pause.generation].observe(pause.cpu_s)

    return observe


async def publish_memory(
    metrics: Metrics, budget: MemoryBudget, detector: object, interval: float = 1.0
) -> None:
    """Copy the memory budget's books and the findings cache's hit counts into gauges, every
    ``interval`` seconds (counting them on the request path would cost every lookup)."""
    cache = getattr(detector, "cache", None)
    while True:
        for name, (_, used) in budget.stats().items():
            metrics.memory_budget_bytes.labels(region=name).set(used)
        if isinstance(cache, FindingsCache):
            lookups = metrics.findings_lookups
            lookups.labels(tier="local", result="hit").set(cache.hits)
            lookups.labels(tier="local", result="miss").set(cache.misses)
            if cache.shared is not None:
                lookups.labels(tier="shared", result="hit").set(cache.shared.hits)
                lookups.labels(tier="shared", result="miss").set(cache.shared.misses)
        await asyncio.sleep(interval)
