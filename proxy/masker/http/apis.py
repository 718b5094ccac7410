"""``POST /v1/responses`` (OpenAI Responses) and ``POST /v1/messages`` (Anthropic Messages), on the
agent route (``/proxy/{agent_id}/v1/...``) and the tenant route (``/v1/...`` with ``X-Api-Key``).

One request: admit (limits, rate limit, signature) → the platform profile (strip, known values,
conversation) → redact through the API's shape → vault write → upstream → rehydrate the answer,
whole or as a named-event stream, through the same shape (``answers``).

The Responses API keeps earlier turns upstream: a request naming ``previous_response_id`` does not
resend them, so the tokens in them must still resolve in its answer. ``ResponseChains`` remembers,
per agent or tenant and response id, the conversation scope and the token bodies the chain may
resolve; a later request is given exactly those (``AnswerTokens.admit``), and only when it comes
through the same agent or tenant — a response id learned elsewhere opens nothing.

Anthropic upstreams are the agent's ``upstream.base_url`` (or the process default); the upstream
key goes out as ``x-api-key``, with the caller's ``anthropic-version`` (default 2023-06-01).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from quart import Blueprint, Response, current_app, request, websocket

from .. import jsonfast
from ..agents import Agent
from ..answers import DONE, EventStreamRehydration
from ..errors import BadRequest, MaskerError, RateLimited, RedactionFailed, Unauthorized, Unprocessable
from ..pipeline import RequestRecord
from ..policy import Policy
from ..ratelimit import RateLimit
from ..redaction import redact_request
from ..shapes import Shape, Texts
from ..shapes.messages import MESSAGES
from ..shapes.responses import RESPONSES
from ..signatures import HEADER as SIGNATURE_HEADER
from ..signatures import verify_signature
from ..streaming import rehydrate_answer
from ..tokens.codec import Codec
from ..tokens.rehydrate import AnswerTokens
from ..tokens.response_scan import StreamScanner, scan_completion, scan_prose
from ..upstream.client import UpstreamResponse
from .body import check_headers, parse_request_body
from .chat_asgi import resolve_agent
from .responses import json_response
from .runtime import Runtime, runtime_of

bp = Blueprint("masker_apis", __name__)
ANTHROPIC_VERSION = "2023-06-01"
_PASS_HEADERS = ("openai-organization", "openai-project", "anthropic-beta")

# Top-level fields each upstream API accepts; a platform that strips unknown fields keeps these.
RESPONSES_FIELDS = frozenset(
    {
        "model", "input", "background", "conversation", "include", "instructions", "max_output_tokens",
        "max_tool_calls", "metadata", "parallel_tool_calls", "previous_response_id", "prompt",
        "prompt_cache_key", "reasoning", "safety_identifier", "service_tier", "store", "stream",
        "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p",
        "truncation", "user",
    }
)  # fmt: skip
MESSAGES_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "container", "mcp_servers", "metadata", "service_tier",
        "stop_sequences", "stream", "system", "temperature", "thinking", "tool_choice", "tools", "top_k",
        "top_p",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Api:
    shape: Shape
    path: str
    fields: frozenset[str]
    protocol: frozenset[str]  # fields whose keys are the API's vocabulary
    anthropic: bool = False


RESPONSES_API = Api(
    RESPONSES,
    "/responses",
    RESPONSES_FIELDS,
    frozenset(
        {"model", "input", "tools", "tool_choice", "text", "reasoning", "include", "stream_options", "prompt"}
    ),
)
MESSAGES_API = Api(
    MESSAGES,
    "/messages",
    MESSAGES_FIELDS,
    frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"}),
    anthropic=True,
)


def _runtime() -> Runtime:
    runtime = runtime_of(current_app.extensions)
    if runtime is None:  # lifespan start-up has not finished
        raise MaskerError("The proxy is starting.")
    return runtime


async def _admit(runtime: Runtime, agent: Agent, headers: dict[str, str]) -> dict[str, Any]:
    limits = runtime.limits
    check_headers(headers.get("content-type"), headers.get("content-length"), limits)
    decision = await runtime.observability.limiter.acquire(agent.name, RateLimit(agent.rps, agent.burst))
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
    raw = await request.get_data(cache=False)
    assert isinstance(raw, bytes)
    secrets = [agent.vapi_secret, runtime.settings.access.vapi_webhook_secret]
    if any(secrets) and not verify_signature(raw, headers.get(SIGNATURE_HEADER.lower()), secrets):
        raise Unauthorized("Request signature is missing or invalid.", code="bad_signature")
    return parse_request_body(raw, limits)


def _upstream_headers(api: Api, headers: dict[str, str], caller: dict[str, str]) -> dict[str, str]:
    """The context's upstream headers (credentials, passed-through caller headers), in the
    upstream API's own spelling."""
    if api.anthropic:
        auth = headers.pop("authorization", "")
        if auth.lower().startswith("bearer "):
            headers["x-api-key"] = auth[7:]
        headers["anthropic-version"] = caller.get("anthropic-version") or ANTHROPIC_VERSION
    return headers


def _anthropic_error(exc: MaskerError) -> dict[str, Any]:
    kind = {
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    name = kind.get(exc.status, "invalid_request_error" if exc.status < 500 else "api_error")
    return {"type": "error", "error": {"type": name, "message": exc.message}}


def _openai_error_event(exc: MaskerError) -> dict[str, Any]:
    return {"type": "error", "code": exc.code, "message": exc.message, "param": None, "sequence_number": 0}


async def _handle(api: Api, agent_id: str | None, route: str) -> Response:
    runtime = _runtime()
    headers = {k.lower(): v for k, v in request.headers.items()}
    agent = resolve_agent(runtime, agent_id, headers)
    observer = runtime.observer
    record = RequestRecord(agent_name=agent.name, endpoint=route, tenant=agent.tenant)
    try:
        response = await _call(runtime, api, agent, headers, record, observer)
    except MaskerError as exc:
        record.status = exc.status
        observer(record)
        if api.anthropic:
            return json_response(_anthropic_error(exc), exc.status, exc.headers)
        raise
    return response


@dataclass
class _Forwarded:
    """A redacted request on its way: the upstream's response and what its answer may resolve."""

    upstream: UpstreamResponse
    timeout: float
    tokens: AnswerTokens
    remember: Callable[[Any], None]  # a response id the chain continues from
    started: float
    stream: bool
    policy: Policy
    codec: Codec


async def _forward(
    runtime: Runtime,
    api: Api,
    agent: Agent,
    headers: dict[str, str],
    body: dict[str, Any],
    record: RequestRecord,
    *,
    connection: str | None = None,
) -> _Forwarded:
    """The request's context (policy, platform profile, fail mode, scope, upstream and
    credentials: the same resolution as chat completions), redaction and vault write, then the
    upstream call. ``connection``: the conversation scope of a WebSocket connection, when the
    caller names none."""
    ctx = runtime.resolver.resolve(
        agent,
        headers,
        body,
        pass_headers=_PASS_HEADERS,
        api_fields=api.fields,
        protocol_fields=api.protocol,
        connection=connection,
    )
    policy = ctx.policy
    record.policy_id = policy.name
    record.turn_key = ctx.turn.turn_key
    chains = runtime.chains
    previous = body.get("previous_response_id") if api is RESPONSES_API else None
    link = chains.get(agent.id, previous) if isinstance(previous, str) else None
    # A chained turn stays in its chain's scope, so the earlier turns' tokens resolve.
    conversation = link.conversation if link is not None else ctx.conversation
    session = runtime.codec_for(agent).session(conversation)
    try:
        outcome = await redact_request(
            body,
            detector=runtime.detector,
            policy=policy,
            session=session,
            fail_mode=ctx.fail_mode,
            max_messages=runtime.limits.max_messages,
            memo=runtime.pipeline.history,  # resent history redacted once, as on chat completions
            shape=api.shape,
            known=ctx.turn.known,
        )
        if outcome.settle is not None:
            outcome.settle()
        if session.has_pending:
            await session.flush()
    except MaskerError:
        raise
    except Exception as exc:  # NER or vault down, or a detector bug: fail closed
        raise RedactionFailed(
            "Redaction could not be completed; the request was not forwarded.", code="redaction_failed"
        ) from exc
    record.entities_by_type = outcome.entities_by_type
    record.degraded, record.fail_open = outcome.degraded, outcome.fail_open
    record.detection_ms, record.tokenize_ms = outcome.detection_ms, outcome.tokenize_ms
    tokens = AnswerTokens(session)
    if link is not None:
        tokens.admit(link.tokens)

    def remember(response_id: Any) -> None:
        if api is RESPONSES_API and isinstance(response_id, str):
            chain = frozenset(session.issued) | (link.tokens if link is not None else frozenset())
            chains.remember(agent.id, response_id, conversation, chain)

    client, base_url = ctx.upstream.client, ctx.upstream.base_url
    if client is runtime.upstreams.echo:
        raise Unprocessable(
            "The built-in echo upstream answers chat completions only.", code="unsupported_api"
        )
    started = time.perf_counter()
    upstream = await client.send(
        "POST",
        base_url,
        api.path,
        jsonfast.dumps(outcome.body),
        _upstream_headers(api, ctx.upstream.headers, headers),
    )
    record.upstream_status = upstream.status
    return _Forwarded(upstream, client.timeout, tokens, remember, started, ctx.stream, policy, session.codec)


def _rehydration(
    runtime: Runtime, api: Api, forwarded: _Forwarded, record: RequestRecord
) -> EventStreamRehydration:
    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") in ("response.created", "response.completed"):
            inner = event.get("response")
            forwarded.remember(inner.get("id") if isinstance(inner, dict) else None)

    policy, codec, detector = forwarded.policy, forwarded.codec, runtime.detector
    scanner: Callable[[], StreamScanner] | None = None
    scan_whole: Callable[[Texts], Awaitable[Counter[str]]] | None = None
    if policy.scan_response:  # as for a whole answer: PHI the model invents is redacted

        def scanner() -> StreamScanner:
            return StreamScanner(detector=detector, policy=policy, codec=codec)

        def scan_whole(texts: Texts) -> Awaitable[Counter[str]]:
            return scan_prose(texts, detector=detector, policy=policy, codec=codec)

    return EventStreamRehydration(
        api.shape,
        forwarded.tokens,
        on_unresolved=_counter(record),
        on_event=on_event,
        error_event=_anthropic_error if api.anthropic else _openai_error_event,
        scanner=scanner,
        scan_whole=scan_whole,
    )


async def _call(
    runtime: Runtime,
    api: Api,
    agent: Agent,
    headers: dict[str, str],
    record: RequestRecord,
    observer: Callable[[RequestRecord], None],
) -> Response:
    body = await _admit(runtime, agent, headers)
    forwarded = await _forward(runtime, api, agent, headers, body, record)
    upstream = forwarded.upstream
    streamed = forwarded.stream and "text/event-stream" in upstream.headers.get("content-type", "")
    if not streamed:
        data = await upstream.json(forwarded.timeout)
        record.upstream_ms = (time.perf_counter() - forwarded.started) * 1000
        if forwarded.policy.scan_response and upstream.status < 400:
            record.response_entities.update(
                await scan_completion(
                    data,
                    detector=runtime.detector,
                    policy=forwarded.policy,
                    codec=forwarded.codec,
                    shape=api.shape,
                )
            )
        await rehydrate_answer(data, forwarded.tokens, shape=api.shape, on_unresolved=_counter(record))
        if upstream.status < 400:
            forwarded.remember(data.get("id"))
        record.status = upstream.status if upstream.status >= 400 else 200
        observer(record)
        return json_response(data, upstream.status, {"x-request-id": record.request_id})
    rehydration = _rehydration(runtime, api, forwarded, record)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in rehydration.run(upstream.lines(forwarded.timeout)):
                yield chunk
        finally:
            record.upstream_ms = (time.perf_counter() - forwarded.started) * 1000
            record.response_entities.update(rehydration.response_redactions)
            observer(record)

    return Response(
        relay(),
        status=200,
        content_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", "x-request-id": record.request_id},
    )


def _counter(record: RequestRecord) -> Callable[[str], None]:
    def count(label: str) -> None:
        record.unresolved_tokens += 1

    return count


@bp.post("/v1/responses")
async def tenant_responses() -> Response:
    return await _handle(RESPONSES_API, None, "/v1/responses")


@bp.post("/proxy/<agent_id>/v1/responses")
async def agent_responses(agent_id: str) -> Response:
    return await _handle(RESPONSES_API, agent_id, "/proxy/{agent_id}/v1/responses")


async def _websocket(agent_id: str | None, route: str) -> None:
    """The Responses API's WebSocket mode: ``response.create`` messages in (the HTTP create body
    with ``type`` added and no ``stream``), the streaming events out, one JSON text message each.
    The connection is the conversation scope unless the caller names one, so a value keeps its
    token for the whole connection; chains work as over HTTP."""
    runtime = _runtime()
    headers = {k.lower(): v for k, v in websocket.headers.items()}
    agent = resolve_agent(runtime, agent_id, headers)
    if agent.vapi_secret or runtime.settings.access.vapi_webhook_secret:
        raise Unauthorized("This agent requires signed requests; WebSocket messages cannot be signed.")
    observer = runtime.observer
    connection = f"ws:{uuid.uuid4().hex}"
    await websocket.accept()
    while True:
        message = await websocket.receive()
        record = RequestRecord(agent_name=agent.name, endpoint=route, tenant=agent.tenant)
        try:
            raw = message.encode() if isinstance(message, str) else message
            limit = RateLimit(agent.rps, agent.burst)
            decision = await runtime.observability.limiter.acquire(agent.name, limit)
            if not decision.allowed:
                raise RateLimited(decision.retry_after)
            body = parse_request_body(raw, runtime.limits)
            if body.pop("type", None) != "response.create":
                raise BadRequest("Expected a 'response.create' message.", param="type", code="unknown_event")
            body.pop("background", None)
            body["stream"] = True
            forwarded = await _forward(
                runtime, RESPONSES_API, agent, headers, body, record, connection=connection
            )
            if forwarded.upstream.status >= 400 or "text/event-stream" not in forwarded.upstream.headers.get(
                "content-type", ""
            ):
                data = await forwarded.upstream.json(forwarded.timeout)
                await rehydrate_answer(
                    data, forwarded.tokens, shape=RESPONSES, on_unresolved=_counter(record)
                )
                record.status = forwarded.upstream.status
                error = data.get("error") if isinstance(data.get("error"), dict) else data
                await websocket.send(
                    jsonfast.dumps(
                        {"type": "error", "status": forwarded.upstream.status, "error": error}
                    ).decode()
                )
            else:
                # Closed at once when the caller goes away mid-answer: the upstream stops generating.
                lines = forwarded.upstream.lines(forwarded.timeout)
                rehydration = _rehydration(runtime, RESPONSES_API, forwarded, record)
                events = rehydration.events(lines)
                try:
                    async for event in events:
                        if event is not DONE:
                            await websocket.send(jsonfast.dumps(event).decode())
                finally:
                    record.response_entities.update(rehydration.response_redactions)
                    for iterator in (events, lines):
                        close = getattr(iterator, "aclose", None)
                        if close is not None:
                            await close()
            record.upstream_ms = (time.perf_counter() - forwarded.started) * 1000
        except MaskerError as exc:
            record.status = exc.status
            await websocket.send(
                jsonfast.dumps({"type": "error", "status": exc.status, **exc.body()}).decode()
            )
        finally:
            observer(record)


@bp.websocket("/v1/responses")
async def tenant_responses_websocket() -> None:
    await _websocket(None, "/v1/responses")


@bp.websocket("/proxy/<agent_id>/v1/responses")
async def agent_responses_websocket(agent_id: str) -> None:
    await _websocket(agent_id, "/proxy/{agent_id}/v1/responses")


@bp.post("/v1/messages")
async def tenant_messages() -> Response:
    return await _handle(MESSAGES_API, None, "/v1/messages")


@bp.post("/proxy/<agent_id>/v1/messages")
async def agent_messages(agent_id: str) -> Response:
    return await _handle(MESSAGES_API, agent_id, "/proxy/{agent_id}/v1/messages")
