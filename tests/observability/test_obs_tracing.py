"""Tracing: a span per stage, W3C context to the upstream, allow-listed attributes only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from masker.observability.tracing import Tracing, TracingConfig, safe_attributes, setup_tracing
from masker.settings import Settings

PHI_NAME = "Jane Roe"
PHI_PHONE = "415-555-0134"
AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def traced() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(TracingConfig(), exporter=exporter)
    yield tracing, exporter
    tracing.shutdown()


def test_request_and_stage_spans(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    with tracing.request_span({}, **{"masker.agent": "front-desk", "http.route": "/proxy/{agent_id}/v1"}):
        for stage in ("detection", "tokenize", "upstream", "rehydrate"):
            with tracing.stage(stage, **{"masker.entities_total": 2}):
                pass
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert names == [
        "masker.detection",
        "masker.tokenize",
        "masker.upstream",
        "masker.rehydrate",
        "masker.request",
    ]
    root = spans[-1]
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in spans[:-1])
    assert all(s.context.trace_id == root.context.trace_id for s in spans)
    assert root.attributes is not None and root.attributes["masker.agent"] == "front-desk"


def test_incoming_traceparent_is_continued_and_injected_upstream(
    traced: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = traced
    with tracing.request_span({"Traceparent": TRACEPARENT}), tracing.stage("upstream"):
        headers = tracing.inject({"authorization": "Bearer x"})
    upstream = exporter.get_finished_spans()[0]
    assert upstream.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
    _version, trace_id, span_id, _flags = headers["traceparent"].split("-")
    assert trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert int(span_id, 16) == upstream.context.span_id  # the upstream call's own span
    assert headers["authorization"] == "Bearer x"


def test_phi_and_unknown_attributes_are_dropped(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    with tracing.request_span(
        {},
        **{
            "masker.agent": AGENT_ID,  # an agent id is refused even under an allowed key
            "masker.policy_id": f"{PHI_NAME} {PHI_PHONE}",  # not name-shaped
            "user.content": PHI_NAME,  # not allow-listed
            "http.response.status_code": "200",  # wrong type
            "masker.entities_total": 3,
        },
    ) as span:
        Tracing.set_attributes(span, **{"gen_ai.prompt": PHI_PHONE, "masker.degraded": True})
    (root,) = exporter.get_finished_spans()
    assert dict(root.attributes or {}) == {"masker.entities_total": 3, "masker.degraded": True}


def test_exception_records_type_only(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, exporter = traced
    with pytest.raises(ValueError), tracing.request_span({}), tracing.stage("detection"):
        raise ValueError(f"could not parse {PHI_NAME} {PHI_PHONE}")
    for span in exporter.get_finished_spans():
        assert span.status.status_code is StatusCode.ERROR
        assert not span.status.description
        assert dict(span.attributes or {}) == {"error.type": "ValueError"}
        assert not span.events  # no exception event with the message
        assert PHI_NAME not in repr(span.to_json())


def test_unknown_span_name_refused(traced: tuple[Tracing, InMemorySpanExporter]) -> None:
    tracing, _ = traced
    with pytest.raises(ValueError), tracing.stage(PHI_NAME):
        pass


def test_disabled_tracing_is_noop_but_forwards_callers_context() -> None:
    tracing = setup_tracing(TracingConfig(endpoint=None))
    assert not tracing.enabled
    with tracing.request_span({"traceparent": TRACEPARENT}) as span:
        assert not span.is_recording()
        headers = tracing.inject({})
    assert headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    with tracing.request_span({}):
        assert tracing.inject({}) == {}  # nothing invented without a caller's context


def test_config_from_settings() -> None:
    assert Settings.from_env({}).tracing.endpoint is None
    assert (
        Settings.from_env({"MASKER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}).tracing.endpoint
        == "http://127.0.0.1:4318"
    )
    cfg = Settings.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "MASKER_OTLP_ENDPOINT": "http://b"}
    ).tracing
    assert cfg.endpoint == "http://a:4318"


def test_otlp_exporter_configured_when_endpoint_set() -> None:
    # No span is ended here, so nothing is sent to the (closed) endpoint on shutdown.
    tracing = setup_tracing(TracingConfig(endpoint="http://127.0.0.1:9"))
    try:
        assert tracing.enabled and tracing.provider is not None
    finally:
        tracing.shutdown()


def test_safe_attributes_keeps_routes_and_names() -> None:
    kept = safe_attributes(
        {
            "http.route": "/proxy/{agent_id}/v1/chat/completions",
            "server.address": "api.openai.com",
            "server.port": 443,
        }
    )
    assert kept == {
        "http.route": "/proxy/{agent_id}/v1/chat/completions",
        "server.address": "api.openai.com",
        "server.port": 443,
    }
    assert safe_attributes({"http.route": f"/proxy/{AGENT_ID}/v1/chat/completions"}) == {}
