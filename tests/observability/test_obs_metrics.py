"""Metrics: published names on a private registry, served on a real port, no agent ids in labels."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from masker.observability.metrics import (
    UNKNOWN_AGENT,
    agent_label,
    create_metrics,
    kind_label,
    parse_addr,
    start_metrics_server,
)
from masker.observability.stages import RequestTimings

AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"


def test_published_names_are_exposed_on_a_real_port() -> None:
    metrics = create_metrics()
    metrics.observe_request("front-desk", 200)
    metrics.observe_request("front-desk", 429)
    for stage in ("detection", "tokenize", "upstream", "rehydrate", "total"):
        metrics.observe_stage(stage, 0.01)
    metrics.observe_redactions({"PHONE": 2, "PERSON": 1}, "request")
    metrics.observe_redactions({"PHONE": 1}, "response")
    metrics.vault_size_bytes.set(4096)
    metrics.ner_latency.observe(0.02)
    metrics.degraded_events.labels(agent="front-desk", reason="ner_unavailable").inc()
    metrics.fail_open.labels(agent="front-desk").inc()
    metrics.observe_rehydration_failures("front-desk", 2)
    metrics.rate_limited.labels(agent=agent_label("front-desk")).inc()
    metrics.audit_dropped.inc()

    server = start_metrics_server("127.0.0.1:0", metrics)
    try:
        assert server.port > 0
        response = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
    finally:
        server.close()
    assert response.status_code == 200
    text = response.text
    expected = [
        'masker_requests_total{agent="front-desk",status="200"} 1.0',
        'masker_requests_total{agent="front-desk",status="429"} 1.0',
        'masker_request_duration_seconds_count{stage="detection"} 1.0',
        'masker_request_duration_seconds_count{stage="rehydrate"} 1.0',
        'masker_request_duration_seconds_count{stage="total"} 1.0',
        'masker_redactions_total{kind="PHONE",pass="request"} 2.0',
        'masker_redactions_total{kind="PERSON",pass="request"} 1.0',
        'masker_redactions_total{kind="PHONE",pass="response"} 1.0',
        "masker_vault_size_bytes 4096.0",
        "masker_ner_latency_seconds_count 1.0",
        'masker_degraded_events_total{agent="front-desk",reason="ner_unavailable"} 1.0',
        'masker_fail_open_total{agent="front-desk"} 1.0',
        'masker_rehydration_failures_total{agent="front-desk",pass="response"} 2.0',
        'masker_rate_limited_total{agent="front-desk"} 1.0',
        "masker_audit_dropped_total 1.0",
    ]
    for line in expected:
        assert line in text, line
    # Only our metrics: the private registry carries no process/platform collectors.
    assert "python_gc_objects_collected_total" not in text


def test_private_registry_is_not_the_global_one() -> None:
    a, b = create_metrics(), create_metrics()  # no "Duplicated timeseries" error
    assert a.registry is not REGISTRY and a.registry is not b.registry


def test_server_stops_on_close() -> None:
    server = start_metrics_server("127.0.0.1:0", create_metrics())
    port = server.port
    server.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("front-desk", "front-desk"),
        ("clinic-a.intake", "clinic-a.intake"),
        (None, UNKNOWN_AGENT),
        (AGENT_ID, "_invalid"),
        (AGENT_ID.lower(), "_invalid"),
        (f"x{AGENT_ID}", "_invalid"),
        ("jane.roe@example.org", "_invalid"),
        ("Jane Roe", "_invalid"),
        ("", "_invalid"),
        ("a" * 100, "_invalid"),
    ],
)
def test_agent_label_never_carries_ids_or_text(value: str | None, label: str) -> None:
    assert agent_label(value) == label


def test_agent_id_never_reaches_exposition() -> None:
    metrics = create_metrics()
    metrics.observe_request(AGENT_ID, 200)
    metrics.observe_rehydration_failures(AGENT_ID, 1)
    metrics.observe_redactions({"415-555-0134": 1}, "request")
    text = metrics.render().decode()
    assert AGENT_ID not in text and AGENT_ID.lower() not in text
    assert "415-555-0134" not in text
    assert kind_label("CREDIT_CARD") == "CREDIT_CARD"


def test_unknown_stage_and_pass_rejected() -> None:
    metrics = create_metrics()
    with pytest.raises(ValueError):
        metrics.observe_stage("parse", 0.1)
    with pytest.raises(ValueError):
        metrics.observe_redactions({"PHONE": 1}, "both")


@pytest.mark.parametrize(
    ("addr", "parsed"),
    [("0.0.0.0:9090", ("0.0.0.0", 9090)), ("[::1]:9090", ("::1", 9090)), (":9090", ("0.0.0.0", 9090)),
     ("9090", ("0.0.0.0", 9090))],
)  # fmt: skip
def test_parse_addr(addr: str, parsed: tuple[str, int]) -> None:
    assert parse_addr(addr) == parsed


@pytest.mark.parametrize("addr", ["localhost", "host:port", "1.2.3.4:70000"])
def test_parse_addr_rejects(addr: str) -> None:
    with pytest.raises(ValueError):
        parse_addr(addr)


def test_request_timings_feed_histogram_once_and_audit_ms() -> None:
    metrics = create_metrics()
    timings = RequestTimings()
    timings.add("detection", 0.004)
    timings.add("tokenize", 0.001)
    for _ in range(3):  # a streamed response: rehydrate measured per SSE event, observed once
        with timings.measure("rehydrate"):
            pass
    timings.add("upstream", 0.5)
    assert timings.ms("detection", "tokenize") == pytest.approx(5.0)
    assert timings.ms("upstream") == pytest.approx(500.0)
    timings.finish(metrics)
    timings.finish(metrics)  # idempotent
    text = metrics.render().decode()
    assert 'masker_request_duration_seconds_count{stage="rehydrate"} 1.0' in text
    assert 'masker_request_duration_seconds_count{stage="total"} 1.0' in text
    assert 'masker_request_duration_seconds_sum{stage="upstream"} 0.5' in text
    with pytest.raises(ValueError), timings.measure("total"):
        pass
