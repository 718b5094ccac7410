"""OpenTelemetry tracing: one span per request and per pipeline stage, W3C context to the upstream.

Why a wrapper rather than the raw API: spans are exported to third-party backends, so nothing a
caller writes may carry PHI. This module therefore

* names spans from a fixed set (``masker.request``, ``masker.detection``...),
* accepts only allow-listed attribute keys with scalar values (strings must look like names),
* never records exception messages (they can quote request text): a failed stage gets
  ``error.type = <exception class>`` and an ERROR status without description.

Export: an OTLP/HTTP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``MASKER_OTLP_ENDPOINT``)
is set; otherwise the tracer is OpenTelemetry's no-op tracer, so a disabled deployment pays
nothing per span. Streaming responses get one ``rehydrate`` span around the whole stream, never a
span per SSE event. Tests pass ``exporter=InMemorySpanExporter()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._safety import is_safe_name, is_safe_route

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "SPAN_NAMES",
    "Tracing",
    "TracingConfig",
    "safe_attributes",
    "setup_tracing",
]

_log = logging.getLogger(__name__)

SPAN_NAMES: Final = frozenset(
    {"request", "detection", "tokenize", "upstream", "rehydrate", "ner", "vault", "ratelimit", "audit"}
)

# key -> allowed Python types. Strings are further checked to look like names or route templates.
ALLOWED_ATTRIBUTES: Final[Mapping[str, tuple[type, ...]]] = {
    "masker.agent": (str,),  # configured agent name, never the id
    "masker.tenant": (str,),
    "masker.policy_id": (str,),
    "masker.stage": (str,),
    "masker.pass": (str,),
    "masker.entities_total": (int,),
    "masker.tokens_total": (int,),
    "masker.rehydration_failures": (int,),
    "masker.degraded": (bool,),
    "masker.fail_open": (bool,),
    "masker.stream": (bool,),
    "masker.messages": (int,),
    "masker.request_bytes": (int,),
    "http.route": (str,),  # the route template; the concrete path carries the agent id
    "http.request.method": (str,),
    "http.response.status_code": (int,),
    "server.address": (str,),  # upstream host name
    "server.port": (int,),
    "gen_ai.system": (str,),
    "gen_ai.request.model": (str,),
    "error.type": (str,),  # exception class name only
}

_PROPAGATOR: Final = TraceContextTextMapPropagator()


def safe_attributes(attributes: Mapping[str, object]) -> dict[str, str | int | float | bool]:
    """Keep allow-listed keys whose value has the allowed type and, for strings, a name's shape."""
    kept: dict[str, str | int | float | bool] = {}
    for key, value in attributes.items():
        allowed = ALLOWED_ATTRIBUTES.get(key)
        if allowed is None or type(value) not in allowed:
            # Log the key only: the value is what might be PHI.
            _log.debug("span attribute dropped", extra={"attribute": key if key.isascii() else "?"})
            continue
        if isinstance(value, str) and not (is_safe_name(value) or is_safe_route(value)):
            _log.debug("span attribute value refused", extra={"attribute": key})
            continue
        if isinstance(value, str | int | float | bool):
            kept[key] = value
    return kept


@dataclass(frozen=True)
class TracingConfig:
    """Where spans go. ``endpoint=None`` disables export (and span creation)."""

    endpoint: str | None = None
    service_name: str = "masker-proxy"
    headers: Mapping[str, str] = field(default_factory=dict)


def _traces_url(endpoint: str) -> str:
    # OTEL_EXPORTER_OTLP_ENDPOINT is the base URL; the HTTP exporter wants the signal path.
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


class Tracing:
    """The proxy's tracer. Build with :func:`setup_tracing`; call :meth:`shutdown` on exit."""

    def __init__(self, tracer: trace.Tracer, provider: TracerProvider | None) -> None:
        self._tracer = tracer
        self.provider = provider

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    @staticmethod
    def extract(headers: Mapping[str, str]) -> Context:
        """Context from an incoming request's ``traceparent``/``tracestate`` (case-insensitive)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        return _PROPAGATOR.extract(lowered)

    @contextmanager
    def request_span(
        self, incoming_headers: Mapping[str, str] | None = None, **attributes: object
    ) -> Iterator[Span]:
        """The server span for one proxy request, continuing the caller's trace if it sent one."""
        parent = self.extract(incoming_headers) if incoming_headers else None
        with self._span("request", SpanKind.SERVER, parent, attributes) as span:
            yield span

    @contextmanager
    def stage(self, name: str, **attributes: object) -> Iterator[Span]:
        """A child span for one stage (``detection``, ``tokenize``, ``upstream``, ``rehydrate``...)."""
        kind = SpanKind.CLIENT if name in {"upstream", "ner"} else SpanKind.INTERNAL
        with self._span(name, kind, None, attributes) as span:
            yield span

    @staticmethod
    def set_attributes(span: Span, **attributes: object) -> None:
        """Set attributes on a span through the allow-list (use instead of ``span.set_attribute``)."""
        if span.is_recording():
            span.set_attributes(safe_attributes(attributes))

    @staticmethod
    def inject(headers: MutableMapping[str, str], context: Context | None = None) -> MutableMapping[str, str]:
        """Add W3C ``traceparent`` for the current span to outgoing headers.

        With tracing disabled the incoming context, if the caller passes it, is forwarded. Never
        ``tracestate``: it is free-form vendor data the caller wrote (a span inherits its parent's),
        headers are not scanned, and the upstream LLM has no use for it — a platform's call data
        there would reach the upstream raw.
        """
        _PROPAGATOR.inject(headers, context=context)
        headers.pop("tracestate", None)
        return headers

    def shutdown(self) -> None:
        """Flush pending spans and stop the exporter (call from the app's shutdown hook)."""
        if self.provider is not None:
            self.provider.shutdown()

    @contextmanager
    def _span(
        self, name: str, kind: SpanKind, parent: Context | None, attributes: Mapping[str, object]
    ) -> Iterator[Span]:
        if name not in SPAN_NAMES:
            raise ValueError(f"unknown span name {name!r}")
        if self.provider is None:
            # Tracing off: no span objects. A caller's context is still made current, so an
            # upstream call inside forwards its traceparent unchanged.
            if parent is None:
                yield INVALID_SPAN
                return
            token = otel_context.attach(parent)
            try:
                yield trace.get_current_span(parent)
            finally:
                otel_context.detach(token)
            return
        with self._tracer.start_as_current_span(
            f"masker.{name}",
            context=parent,
            kind=kind,
            attributes=safe_attributes(attributes) if attributes else None,
            record_exception=False,  # exception messages may quote request text
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                if span.is_recording():
                    span.set_attribute("error.type", type(exc).__name__)
                    span.set_status(Status(StatusCode.ERROR))
                raise


def setup_tracing(
    config: TracingConfig | None = None,
    *,
    exporter: SpanExporter | None = None,
    set_global: bool = False,
) -> Tracing:
    """Build the tracer.

    ``exporter`` (tests: ``InMemorySpanExporter``) wins and is flushed synchronously; otherwise an
    OTLP/HTTP exporter is used when ``config.endpoint`` is set; otherwise tracing is a no-op.
    ``set_global`` also installs the provider as OpenTelemetry's global one (once per process).
    """
    cfg = config if config is not None else TracingConfig()
    if exporter is None and not cfg.endpoint:
        return Tracing(trace.NoOpTracer(), None)
    provider = TracerProvider(resource=Resource.create({"service.name": cfg.service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert cfg.endpoint is not None
        otlp = OTLPSpanExporter(endpoint=_traces_url(cfg.endpoint), headers=dict(cfg.headers) or None)
        provider.add_span_processor(BatchSpanProcessor(otlp))
    if set_global:
        trace.set_tracer_provider(provider)
    return Tracing(provider.get_tracer("masker"), provider)
