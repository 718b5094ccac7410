"""The wiring recipe of docs/observability.md, end to end, on real loopback servers.

A minimal Quart gateway (written here, following the recipe step by step; the real one lives in
masker.http) runs under Hypercorn and forwards to an aiohttp "upstream" that records what it
receives. Then every artefact the components produced — JSON log lines, audit files, a metrics
scrape, the exported spans — goes through the leak sweep for the synthetic PHI and the agent id
that were sent. This proves the components fit together, not the real gateway.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypercorn.asyncio import serve
from hypercorn.config import Config
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from quart import Quart, Response, request

from masker import input_limits as il
from masker.observability import logging as obs_logging
from masker.observability.audit import AuditLog, AuditRecord, load_hmac_key
from masker.observability.metrics import agent_label, create_metrics, start_metrics_server
from masker.observability.stages import RequestTimings
from masker.observability.tracing import Tracing, TracingConfig, setup_tracing
from masker.ratelimit import RateLimit, build_rate_limiter
from masker.signatures import sign, verify_signature
from tests import synthetic
from tests.leak_sweep import format_hits, sweep, sweep_texts

AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC0"
SIGNED_AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC1"
ROUTE = "/proxy/{agent_id}/v1/chat/completions"
PHI = ["Jane Roe", "jane.roe@example.org", "(415) 555-0134", "123-45-6789"]
synthetic.register(*PHI)  # the session-end sweep (tests/conftest.py) checks our artefacts too
VAPI_SECRET = "vapi-test-secret"


@dataclass(frozen=True)
class Agent:
    name: str
    namespace: str
    rps: float
    burst: int
    vapi_secret: str | None = None


AGENTS = {
    AGENT_ID: Agent("front-desk", "clinic-a", rps=0.01, burst=3),
    SIGNED_AGENT_ID: Agent("billing", "clinic-a", rps=100, burst=200, vapi_secret=VAPI_SECRET),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_gateway(
    upstream_url: str, audit: AuditLog, tracing: Tracing, metrics: Any, limits: il.InputLimits
) -> Quart:
    app = Quart("wiring-test")
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes
    limiter = build_rate_limiter(
        None,
        on_fallback=lambda reason: metrics.ratelimit_fallbacks.labels(reason=reason).inc(),
        on_limited=lambda name: metrics.rate_limited.labels(agent=agent_label(name)).inc(),
    )
    log = logging.getLogger("masker.http")

    def error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return Response(
            json.dumps(body), status=status, headers=headers or {}, content_type="application/json"
        )

    @app.post("/proxy/<agent_id>/v1/chat/completions")
    async def chat(agent_id: str) -> Response:
        rid = obs_logging.new_request_id()
        token = obs_logging.bind_request_id(rid)
        timings = RequestTimings()
        agent = AGENTS.get(agent_id)
        name = agent.name if agent else None
        status, upstream_status, counts = 500, None, {}
        try:
            with tracing.request_span(dict(request.headers), **{"http.route": ROUTE}) as span:
                if agent is None:
                    status = 404
                    return error(404, {"error": {"code": "agent_not_found"}})
                tracing.set_attributes(span, **{"masker.agent": agent.name})
                violation = il.check_content_type(
                    request.headers.get("Content-Type")
                ) or il.check_content_length(request.headers.get("Content-Length"), limits)
                if violation:
                    status = violation.status
                    return error(violation.status, violation.body())
                raw = await request.get_data(cache=False, as_text=False)
                assert isinstance(raw, bytes)
                if agent.vapi_secret and not verify_signature(
                    raw, request.headers.get("X-Vapi-Signature"), [agent.vapi_secret]
                ):
                    status = 401
                    return error(401, {"error": {"code": "bad_signature"}})
                decision = await limiter.acquire(agent.name, RateLimit(agent.rps, agent.burst))
                if not decision.allowed:
                    status = 429
                    return error(
                        429, {"error": {"code": "rate_limited"}}, {"Retry-After": decision.retry_after_header}
                    )
                body = il.parse_body(raw, limits)
                if isinstance(body, il.LimitViolation):
                    status = body.status
                    return error(body.status, body.body())
                with tracing.stage("detection"), timings.measure("detection"):
                    # Stand-in detector: everything in user content is "a PERSON".
                    counts = {"PERSON": len(body.get("messages", []))}
                with tracing.stage("tokenize"), timings.measure("tokenize"):
                    body["messages"] = [{"role": "user", "content": "MSKV1.NAME.7XK2M9QDRT"}]
                metrics.observe_redactions(counts, "request")
                # A careless log line with PHI in it: the scrubber must catch the phone and e-mail.
                log.info("forwarding for %s / %s", PHI[1], PHI[2])
                headers: dict[str, str] = {}
                with (
                    tracing.stage("upstream", **{"server.address": "127.0.0.1"}) as up,
                    timings.measure("upstream"),
                ):
                    tracing.inject(headers)
                    async with httpx.AsyncClient() as client:
                        response = await client.post(upstream_url, json=body, headers=headers)
                    upstream_status = response.status_code
                    tracing.set_attributes(up, **{"http.response.status_code": upstream_status})
                with tracing.stage("rehydrate"), timings.measure("rehydrate"):
                    out = response.content
                status = 200
                return Response(out, status=200, content_type="application/json")
        finally:
            metrics.observe_request(name, status)
            timings.finish(metrics)
            if agent is not None:
                audit.submit(
                    AuditRecord(
                        request_id=rid,
                        agent=agent.name,
                        tenant=agent.namespace,
                        endpoint=ROUTE,
                        entities_by_type=counts,
                        policy_id="default",
                        redaction_ms=timings.ms("detection", "tokenize"),
                        upstream_ms=timings.ms("upstream") or None,
                        upstream_status=upstream_status,
                    )
                )
            obs_logging.reset_request_id(token)

    return app


@dataclass
class Stack:
    base: str
    metrics_url: str
    upstream_seen: list[dict[str, Any]]
    exporter: InMemorySpanExporter
    log_stream: io.StringIO
    audit: AuditLog
    audit_dir: Path


@pytest.fixture
async def stack(tmp_path: Path, audit_key_b64: str) -> AsyncIterator[Stack]:
    seen: list[dict[str, Any]] = []

    async def upstream_handler(req: web.Request) -> web.Response:
        seen.append({"headers": dict(req.headers), "body": await req.json()})
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": "ok"}}]})

    up_app = web.Application()
    up_app.router.add_post("/v1/chat/completions", upstream_handler)
    runner = web.AppRunner(up_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    up_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    log_stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    obs_logging.configure_logging("INFO", stream=log_stream)
    metrics = create_metrics()
    metrics_server = start_metrics_server("127.0.0.1:0", metrics)
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(TracingConfig(), exporter=exporter)
    audit_dir = tmp_path / "audit"
    audit = AuditLog(audit_dir, load_hmac_key(audit_key_b64), on_drop=metrics.audit_dropped.inc)
    limits = il.InputLimits(max_body_bytes=64 * 1024, max_messages=10, max_json_depth=16)
    app = build_gateway(f"http://127.0.0.1:{up_port}/v1/chat/completions", audit, tracing, metrics, limits)

    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                await client.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    try:
        yield Stack(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{metrics_server.port}/metrics",
            seen,
            exporter,
            log_stream,
            audit,
            audit_dir,
        )
    finally:
        stop.set()
        await server
        await audit.aclose()
        tracing.shutdown()
        metrics_server.close()
        await runner.cleanup()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def chat_body(content: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}


async def test_recipe_end_to_end_without_leaks(stack: Stack, tmp_path: Path, audit_key_b64: str) -> None:
    phi_text = f"Hi, this is {PHI[0]}, {PHI[1]}, call {PHI[2]}, SSN {PHI[3]}."
    url = f"{stack.base}/proxy/{AGENT_ID}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=10) as client:
        ok = [await client.post(url, json=chat_body(phi_text)) for _ in range(3)]
        limited = await client.post(url, json=chat_body(phi_text))
        wrong_type = await client.post(url, content=phi_text, headers={"Content-Type": "text/plain"})
        unsigned = await client.post(f"{stack.base}/proxy/{SIGNED_AGENT_ID}/v1/chat/completions", json={})
        signed_url = f"{stack.base}/proxy/{SIGNED_AGENT_ID}/v1/chat/completions"
        raw = json.dumps({"messages": [[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]}).encode()
        too_deep = await client.post(
            signed_url,
            content=raw,
            headers={"Content-Type": "application/json", "X-Vapi-Signature": sign(raw, VAPI_SECRET)},
        )
        unknown = await client.post(
            f"{stack.base}/proxy/agt_01JD8X3Q4R5S6T7V8W9XAYBZZZ/v1/chat/completions", json=chat_body(phi_text)
        )
        metrics_text = (await client.get(stack.metrics_url)).text

    assert [r.status_code for r in ok] == [200, 200, 200]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert wrong_type.status_code == 415
    assert unsigned.status_code == 401  # unsigned request to an agent with a Vapi secret
    assert too_deep.status_code == 400 and too_deep.json()["error"]["code"] == "json_too_deep"
    assert unknown.status_code == 404

    # Upstream saw tokens, not PHI, and a traceparent from the upstream span of the same trace.
    assert len(stack.upstream_seen) == 3
    spans = stack.exporter.get_finished_spans()
    upstream_spans = [s for s in spans if s.name == "masker.upstream"]
    for seen, span in zip(stack.upstream_seen, upstream_spans, strict=True):
        _, trace_id, span_id, _ = seen["headers"]["traceparent"].split("-")
        assert int(trace_id, 16) == span.context.trace_id and int(span_id, 16) == span.context.span_id
        assert PHI[0] not in json.dumps(seen["body"])

    assert 'masker_requests_total{agent="front-desk",status="200"} 3.0' in metrics_text
    assert 'masker_requests_total{agent="front-desk",status="429"} 1.0' in metrics_text
    assert 'masker_requests_total{agent="_unknown",status="404"} 1.0' in metrics_text
    assert 'masker_rate_limited_total{agent="front-desk"} 1.0' in metrics_text
    assert 'masker_redactions_total{kind="PERSON",pass="request"} 3.0' in metrics_text

    # Audit: one record per request that reached an agent, chain intact through the real CLI.
    stack.audit.flush()
    result = subprocess.run(
        [sys.executable, "-m", "masker", "audit", "verify", str(stack.audit_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "MASKER_AUDIT_HMAC_KEY": audit_key_b64},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK 7 record(s)" in result.stdout

    # Every log line is JSON with a request id; the careless line was scrubbed.
    lines = [json.loads(line) for line in stack.log_stream.getvalue().splitlines()]
    forwarding = [line for line in lines if str(line["msg"]).startswith("forwarding")]
    assert len(forwarding) == 3 and all(line.get("request_id") for line in forwarding)

    # The sweep: nothing sent by the caller — PHI or the agent id — in any artefact.
    spans_json = "[" + ",".join(s.to_json() for s in spans) + "]"
    (tmp_path / "spans.json").write_text(spans_json)
    (tmp_path / "proxy.log").write_text(stack.log_stream.getvalue())
    needles = [*PHI, AGENT_ID, SIGNED_AGENT_ID]
    hits = sweep(needles, [tmp_path / "proxy.log", stack.audit_dir, tmp_path / "spans.json"])
    hits += sweep_texts(needles, {"metrics": metrics_text})
    assert not hits, format_hits(hits)
