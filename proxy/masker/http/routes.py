"""Routes: authenticate, pick the agent and policy, hand the body to the pipeline, respond."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from quart import Blueprint, Response, current_app, request

from .. import __version__
from ..agents import Agent
from ..errors import AgentNotFound, MaskerError, RateLimited, Unauthorized
from ..pipeline import RequestRecord, conversation_id
from ..ratelimit import RateLimit
from ..signatures import HEADER as SIGNATURE_HEADER
from ..signatures import verify_signature
from .body import check_headers, parse_request_body
from .responses import json_response
from .state import ProxyState

bp = Blueprint("masker", __name__)
log = logging.getLogger("masker.request")
_PASS_HEADERS = ("openai-organization", "openai-project")


def _state() -> ProxyState:
    state: ProxyState = current_app.extensions["masker"]
    return state


def _tenant_for(api_key: str | None, state: ProxyState) -> Agent:
    if not api_key:
        raise Unauthorized("Missing X-Api-Key header.")
    for key, agent in state.table.tenants.items():
        if hmac.compare_digest(key.encode(), api_key.encode()):
            return agent
    raise Unauthorized("Invalid API key.")


async def _chat(agent: Agent, endpoint: str) -> Response:
    state = _state()
    record = RequestRecord(agent_name=agent.name, endpoint=endpoint, tenant=agent.tenant)
    try:
        body = await _admit(agent, state)
    except MaskerError as exc:
        record.status = exc.status
        _finish(record)
        raise
    requested = body.get("policy_id")
    policy = state.policy_for(agent, requested if isinstance(requested, str) else None)
    record.policy_id = policy.name
    headers_in = dict(request.headers)
    session = state.codec_for(agent).session(conversation_id(headers_in, body))
    extra = {h: request.headers[h] for h in _PASS_HEADERS if h in request.headers}
    try:
        tracing = state.pipeline.tracing
        with tracing.request_span(headers_in, **{"http.route": endpoint}):
            result = await state.pipeline.handle(
                agent=agent,
                policy=policy,
                session=session,
                body=body,
                record=record,
                caller_auth=request.headers.get("authorization"),
                extra_headers=extra,
                trace_context=None if tracing.enabled else tracing.extract(headers_in),
            )
    except MaskerError as exc:
        record.status = exc.status
        _finish(record)
        raise
    headers = {"x-request-id": record.request_id}
    if isinstance(result, dict):
        _finish(record)
        return json_response(result, headers=headers)
    observer = current_app.extensions.get("masker_observer")
    return Response(
        _finishing(result, record, observer),
        status=200,
        headers={
            **headers,
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
        },
    )


async def _finishing(
    stream: AsyncIterator[bytes], record: RequestRecord, observer: Callable[[RequestRecord], None] | None
) -> AsyncIterator[bytes]:
    # Runs after the request context is gone, so the observer is passed in, not looked up.
    try:
        async for chunk in stream:
            yield chunk
    finally:
        if observer is not None:
            observer(record)


def _finish(record: RequestRecord) -> None:
    observer = current_app.extensions.get("masker_observer")
    if observer is not None:
        observer(record)


async def _admit(agent: Agent, state: ProxyState) -> dict[str, Any]:
    """Everything before redaction: limits, rate limit, signature, body parsing."""
    check_headers(request.headers.get("content-type"), request.headers.get("content-length"), state.limits)
    if state.observability is not None:
        decision = await state.observability.limiter.acquire(agent.name, RateLimit(agent.rps, agent.burst))
        if not decision.allowed:
            raise RateLimited(decision.retry_after)
    raw = await request.get_data(cache=False)
    assert isinstance(raw, bytes)
    secrets = [agent.vapi_secret, state.settings.vapi_webhook_secret]
    if any(secrets) and not verify_signature(raw, request.headers.get(SIGNATURE_HEADER), secrets):
        raise Unauthorized("Request signature is missing or invalid.", code="bad_signature")
    return parse_request_body(raw, state.limits)


@bp.post("/proxy/<agent_id>/v1/chat/completions")
async def agent_chat(agent_id: str) -> Response:
    agent = _state().table.agents.get(agent_id)
    if agent is None:
        raise AgentNotFound("No active agent matches this URL.")
    return await _chat(agent, "/proxy/{agent_id}/v1/chat/completions")


@bp.post("/v1/chat/completions")
async def tenant_chat() -> Response:
    agent = _tenant_for(request.headers.get("x-api-key"), _state())
    return await _chat(agent, "/v1/chat/completions")


@bp.get("/health")
async def health() -> Response:
    state = _state()
    report: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "db": "ok",
        "vault": "ok",
        "upstream": "echo" if state.settings.echo_upstream else "ok",
    }
    try:
        await state.store.ping()
    except Exception:
        report["db"] = report["vault"] = "error"
        report["status"] = "degraded"
    return json_response(report, status=200 if report["status"] == "ok" else 503)
