"""The chat-completions endpoints as plain ASGI, in front of the Quart app.

Why not a Quart route: Quart's request and response objects, contexts and dispatch cost ~0.4 ms of
CPU per request, a quarter of what our whole stack spends on a voice turn when nothing needs
redacting. These two endpoints are the proxy's hot path and need none of it; everything else
(``/health``, unknown paths, lifespan) goes on to Quart unchanged. Errors take the same shape as
Quart's handlers render: every exception becomes an OpenAI-style error body.

A caller that hangs up is a caller that no longer wants the answer: from the moment its body has
been read, ``http.disconnect`` cancels the request's work (the upstream call included), whether the
answer would have been JSON or a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, TypeVar

from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope

from .. import jsonfast
from ..agents import Agent
from ..errors import AgentNotFound, MaskerError, RateLimited, Unauthorized
from ..pipeline import RequestRecord
from ..ratelimit import RateLimit
from ..signatures import HEADER as SIGNATURE_HEADER
from ..signatures import verify_signature
from .body import check_headers, parse_request_body
from .responses import internal_error, status_error
from .runtime import Runtime, runtime_of

log = logging.getLogger("masker.request")

AGENT_ROUTE = "/proxy/{agent_id}/v1/chat/completions"
TENANT_ROUTE = "/v1/chat/completions"
_AGENT_PREFIX = "/proxy/"
_AGENT_SUFFIX = "/v1/chat/completions"
_PASS_HEADERS = ("openai-organization", "openai-project")
BODY_TIMEOUT_SECONDS = 60.0
CLIENT_CLOSED = 499  # the status nginx records for a caller that hung up before the answer
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]

Observer = Callable[[RequestRecord], None]
_Result = TypeVar("_Result")


class _ClientGone(Exception):
    """The caller disconnected before its request body arrived: nothing to answer."""


class ChatEndpoints:
    """ASGI middleware: the two chat routes here, everything else to ``app`` (Quart's ``asgi_app``).
    ``extensions`` is the Quart app's, where the runtime appears once start-up has finished."""

    def __init__(self, app: ASGIFramework, extensions: Mapping[str, Any]) -> None:
        self.app = app
        self.extensions = extensions

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            route = _route(scope["path"])
            if route is not None:
                await self._chat(scope, receive, send, *route)
                return
        await self.app(scope, receive, send)

    async def _chat(
        self,
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        endpoint: str,
        agent_id: str | None,
    ) -> None:
        record: RequestRecord | None = None
        observer: Observer | None = None
        try:
            if scope["method"] != "POST":
                error = status_error(405)
                error.headers["allow"] = "POST"
                raise error
            runtime = runtime_of(self.extensions)
            if runtime is None:  # lifespan start-up has not finished
                raise MaskerError("The proxy is starting.")
            headers = _headers(scope)
            agent = resolve_agent(runtime, agent_id, headers)
            observer = runtime.observer
            record = RequestRecord(agent_name=agent.name, endpoint=endpoint, tenant=agent.tenant)
            body = await _admit(runtime, agent, headers, receive)
            reply = await _until_hang_up(_handle(runtime, agent, record, headers, body), receive)
        except _ClientGone:
            if record is not None and observer is not None:  # hung up while we worked on it
                record.status = CLIENT_CLOSED
                _observe(observer, record)
            return
        except MaskerError as exc:
            try:
                await _send_json(send, exc.status, exc.body(), exc.headers)
            finally:
                if record is not None:  # refused after the agent was known: account for it
                    record.status = exc.status
                    _observe(observer, record)
            return
        except Exception as exc:
            error = internal_error(exc)
            await _send_json(send, error.status, error.body(), error.headers)
            return
        extra, answer = reply
        if isinstance(answer, dict):
            # Accounting (metrics, the audit record) runs after the answer is on its way: the
            # caller's latency is the response, not our bookkeeping.
            try:
                await _send_json(send, 200, answer, extra)
            finally:
                _observe(observer, record)
        else:
            await _send_stream(send, receive, extra, _finishing(answer, record, observer))


def _observe(observer: Observer | None, record: RequestRecord) -> None:
    if observer is not None:
        observer(record)


def _route(path: str) -> tuple[str, str | None] | None:
    if path == TENANT_ROUTE:
        return TENANT_ROUTE, None
    if path.startswith(_AGENT_PREFIX) and path.endswith(_AGENT_SUFFIX):
        agent_id = path[len(_AGENT_PREFIX) : -len(_AGENT_SUFFIX)]
        if agent_id and "/" not in agent_id:
            return AGENT_ROUTE, agent_id
    return None


def _headers(scope: HTTPScope) -> dict[str, str]:
    # ASGI names are lower-case bytes; for a repeated header the first value wins, as in Quart.
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return out


def resolve_agent(runtime: Runtime, agent_id: str | None, headers: Mapping[str, str]) -> Agent:
    """The agent of the agent route, or the tenant whose ``X-Api-Key`` the caller sent."""
    if agent_id is not None:
        agent = runtime.table.agents.get(agent_id)
        if agent is None:
            raise AgentNotFound("No active agent matches this URL.")
        return agent
    api_key = headers.get("x-api-key")
    if not api_key:
        raise Unauthorized("Missing X-Api-Key header.")
    for key, tenant_agent in runtime.table.tenants.items():
        if hmac.compare_digest(key.encode(), api_key.encode()):
            return tenant_agent
    raise Unauthorized("Invalid API key.")


async def _handle(
    runtime: Runtime,
    agent: Agent,
    record: RequestRecord,
    headers: dict[str, str],
    body: dict[str, Any],
) -> tuple[dict[str, str], dict[str, Any] | AsyncIterator[bytes]]:
    ctx = runtime.resolver.resolve(agent, headers, body, pass_headers=_PASS_HEADERS)
    record.policy_id = ctx.policy.name
    record.turn_key = ctx.turn.turn_key
    session = runtime.codec_for(agent).session(ctx.conversation)
    tracing = runtime.pipeline.tracing
    with tracing.request_span(headers, **{"http.route": record.endpoint}):
        result = await runtime.pipeline.handle(
            ctx,
            session=session,
            body=body,
            record=record,
            trace_context=None if tracing.enabled else tracing.extract(headers),
        )
    return {"x-request-id": record.request_id}, result


async def _until_hang_up(
    work: Coroutine[Any, Any, _Result], receive: ASGIReceiveCallable
) -> _Result:
    """Run ``work`` in this task; if the caller disconnects first, cancel it and raise ``_ClientGone``.

    One watcher task, which cancels this one: cheaper than running the work in a task of its own
    and waiting on both. By the time ``work`` returns a stream, the watcher is gone and
    ``_send_stream`` watches for the hang-up itself."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        task.cancel()

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if gone:
            task.uncancel()
            raise _ClientGone from None
        raise
    finally:
        watcher.cancel()


async def _admit(
    runtime: Runtime, agent: Agent, headers: Mapping[str, str], receive: ASGIReceiveCallable
) -> dict[str, Any]:
    """Everything before redaction: limits, rate limit, signature, body parsing."""
    limits = runtime.limits
    check_headers(headers.get("content-type"), headers.get("content-length"), limits)
    decision = await runtime.observability.limiter.acquire(agent.name, RateLimit(agent.rps, agent.burst))
    if not decision.allowed:
        raise RateLimited(decision.retry_after)
    raw = await _read_body(receive, limits.max_body_bytes)
    secrets = [agent.vapi_secret, runtime.settings.access.vapi_webhook_secret]
    if any(secrets) and not verify_signature(raw, headers.get(SIGNATURE_HEADER.lower()), secrets):
        raise Unauthorized("Request signature is missing or invalid.", code="bad_signature")
    return parse_request_body(raw, limits)


async def _read_body(receive: ASGIReceiveCallable, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
                size += len(chunk)
                if size > limit:  # a chunked body has no content-length to refuse up front
                    raise status_error(413)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise status_error(408) from None


async def _finishing(
    stream: AsyncIterator[bytes], record: RequestRecord, observer: Observer | None
) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            yield chunk
    finally:
        _observe(observer, record)


async def _send_json(
    send: ASGISendCallable, status: int, data: dict[str, Any], headers: Mapping[str, str]
) -> None:
    payload = jsonfast.dumps(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
            ],
            "trailers": False,
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _send_stream(
    send: ASGISendCallable,
    receive: ASGIReceiveCallable,
    headers: Mapping[str, str],
    body: AsyncIterator[bytes],
) -> None:
    """Relay SSE until the stream ends or the caller hangs up; either way the stream's own clean-up
    (closing the upstream response, accounting) runs before this returns."""

    async def pump() -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*_SSE_HEADERS, *((k.encode(), v.encode()) for k, v in headers.items())],
                    "trailers": False,
                }
            )
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if hasattr(body, "aclose"):
                await body.aclose()

    async def hang_up() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    relay = asyncio.ensure_future(pump())
    watcher = asyncio.ensure_future(hang_up())
    try:
        await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relay, watcher):
            if not task.done():
                task.cancel()
        try:
            await relay
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the caller already has a 200 and part of the stream: just log
            log.error("stream relay failed: %s", type(exc).__name__)
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
