"""One chat-completions request, stage by stage: detect -> tokenize -> upstream -> rehydrate.

Framework-agnostic: the HTTP layer parses and authenticates, ``masker.context`` decides what
applies (policy, fail mode, upstream and credentials), then this module gets that context and the
body; it gets back either a JSON dict or an async iterator of SSE bytes. Timings and counts go
into a ``RequestRecord`` that metrics, audit and ``_redaction`` all read from.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context

from . import jsonfast
from .agents import Agent
from .context import ECHO_BASE_URL, RequestContext
from .detect.types import Detector
from .errors import REFUSALS, MaskerError, RedactionFailed, UpstreamError, UpstreamRefused
from .observability.tracing import Tracing
from .policy import Policy
from .redaction import RedactionOutcome, redact_request
from .redaction_memo import PrefixMemo
from .shapes import Shape
from .shapes.chat import CHAT
from .streaming import DONE, StreamRehydration, encode_event, rehydrate_answer
from .tokens.codec import TokenSession
from .tokens.rehydrate import AnswerTokens
from .tokens.response_scan import StreamScanner, scan_completion
from .upstream.echo import ECHO_FIELD


@dataclass
class RequestRecord:
    """Everything observability needs about one request — counts and timings, never text."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    agent_name: str = ""
    endpoint: str = ""
    policy_id: str = ""
    entities_by_type: Counter[str] = field(default_factory=Counter)
    degraded: bool = False
    fail_open: bool = False
    detection_ms: float = 0.0
    tokenize_ms: float = 0.0
    upstream_ms: float = 0.0
    rehydrate_ms: float = 0.0
    upstream_status: int | None = None
    status: int = 200
    unresolved_tokens: int = 0
    # PHI the upstream invented, redacted by scan_response, by entity type
    response_entities: Counter[str] = field(default_factory=Counter)
    tenant: str | None = None
    turn_key: str | None = None  # the logical turn (platforms.TurnLedger); never shown
    repeat: bool = False  # a retry or re-post of a turn already audited

    @property
    def total_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def redaction_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "request_id": self.request_id,
            "entities_total": sum(self.entities_by_type.values()),
            "entities_by_type": dict(self.entities_by_type),
            "policy_id": self.policy_id,
            "redaction_ms": round(self.detection_ms + self.tokenize_ms, 3),
            "total_ms": round(self.total_ms, 3),
        }
        if self.degraded:
            meta["degraded"] = True
        if self.fail_open:
            meta["fail_open"] = True
        if self.response_entities:
            meta["response_entities_total"] = sum(self.response_entities.values())
        return meta


class ChatPipeline:
    def __init__(
        self,
        *,
        detector: Detector,
        max_messages: int,
        on_unresolved: Callable[[str], None] | None = None,
        on_fail_open: Callable[[], None] | None = None,
        tracing: Tracing | None = None,
        history: PrefixMemo | None = None,
    ) -> None:
        self.tracing = tracing or Tracing(trace.NoOpTracer(), None)
        self.detector = detector
        self.max_messages = max_messages
        self.on_unresolved = on_unresolved
        self.on_fail_open = on_fail_open
        # Resent conversation history is redacted once.
        self.history = history if history is not None else PrefixMemo()

    async def handle(
        self,
        ctx: RequestContext,
        *,
        session: TokenSession,
        body: dict[str, Any],
        record: RequestRecord,
        trace_context: Context | None = None,
    ) -> dict[str, Any] | AsyncIterator[bytes]:
        agent, policy = ctx.agent, ctx.policy
        try:
            with self.tracing.stage("detection"):
                outcome: RedactionOutcome = await redact_request(
                    body,
                    detector=self.detector,
                    policy=policy,
                    session=session,
                    fail_mode=ctx.fail_mode,
                    max_messages=self.max_messages,
                    on_fail_open=self.on_fail_open,
                    memo=self.history,
                    known=ctx.turn.known,
                )
            # After a failed vault write nothing is forwarded until a write succeeds again.
            write_first = not session.codec.vault_answering
            if write_first:
                await self._write_vault(session, outcome.settle)
        except MaskerError:
            raise
        except Exception as exc:  # NER or vault down, or a detector bug: fail closed
            raise RedactionFailed(
                "Redaction could not be completed; the request was not forwarded.", code="redaction_failed"
            ) from exc
        record.entities_by_type = outcome.entities_by_type
        record.degraded = outcome.degraded
        record.fail_open = outcome.fail_open
        record.detection_ms = outcome.detection_ms
        record.tokenize_ms = outcome.tokenize_ms

        client, base_url, headers = ctx.upstream.client, ctx.upstream.base_url, ctx.upstream.headers
        payload = jsonfast.dumps(outcome.body)
        started = time.perf_counter()
        vault_write = None if write_first else self._start_vault_write(session, outcome.settle)
        try:
            with self.tracing.stage("upstream"):
                # Tracing on: the upstream span is the parent. Off: pass the caller's context through.
                self.tracing.inject(headers, None if self.tracing.enabled else trace_context)
                response = await client.post_chat(base_url, payload, headers)
        except asyncio.CancelledError:
            if vault_write is not None:  # the caller left: the write still finishes, on its own
                vault_write.add_done_callback(_consume)
            raise
        except Exception:
            if vault_write is not None:
                await _vault_written(vault_write)  # a failed write outranks the upstream's error
            raise
        if vault_write is not None:
            try:
                await _vault_written(vault_write)
            except RedactionFailed:
                await response.response.aclose()
                raise
        record.upstream_status = response.status
        # What the answer may turn back into values: only what this request's redaction issued.
        tokens = AnswerTokens(session)
        if response.status >= 400:
            record.upstream_ms = (time.perf_counter() - started) * 1000
            await _raise_upstream_error(response, client.timeout, tokens, self._unresolved_counter(record))
        if ctx.stream and "text/event-stream" in response.headers.get("content-type", ""):
            return self._stream(response.lines(client.timeout), tokens, record, agent, policy, started)
        data = await response.json(client.timeout)
        record.upstream_ms = (time.perf_counter() - started) * 1000
        # The built-in echo upstream (ours, never a real LLM) shows the caller exactly what an
        # upstream would have received: that diagnostic stays tokenized.
        echoed = data.pop(ECHO_FIELD, None) if base_url == ECHO_BASE_URL else None
        started = time.perf_counter()
        with self.tracing.stage("rehydrate"):
            if policy.scan_response:
                record.response_entities.update(
                    await scan_completion(data, detector=self.detector, policy=policy, codec=session.codec)
                )
            await rehydrate_completion(data, tokens, self._unresolved_counter(record))
        record.rehydrate_ms = (time.perf_counter() - started) * 1000
        if echoed is not None:
            data[ECHO_FIELD] = echoed
        if agent.redaction_metadata:
            data["_redaction"] = record.redaction_metadata()
        if ctx.stream:  # the upstream ignored stream=true; answer in SSE as the caller asked
            return _single_event_stream(data)
        return data

    def _start_vault_write(
        self, session: TokenSession, settle: Callable[[], None] | None
    ) -> asyncio.Task[None] | None:
        """The turn's new vault rows, written while the upstream call is in flight, after the
        redaction's ``settle`` work (issuing the memo's history tokens, which may add rows).

        Before the call, the write (~0.1 ms warm, ~0.3 ms on a cold turn for the local SQLite
        vault; a round trip for PostgreSQL) was latency every caller paid. Now it hides behind the
        model's answer, and still decides the outcome: nothing of the answer is released before the
        write has succeeded, and if it fails the answer is dropped (503) and later turns write
        first again (``Codec.vault_answering``). The upstream only ever sees the tokenized request."""
        if settle is None and not session.has_pending:
            return None

        async def write() -> None:
            # On Python 3.11 aiohttp sends the request body from a task it creates when the call
            # first waits; yielding once puts this write behind it, while the upstream thinks. If
            # it ran first, the turn would only lose the overlap, never the ordering of the answer.
            await asyncio.sleep(0)
            await self._write_vault(session, settle)

        return asyncio.ensure_future(write())

    async def _write_vault(self, session: TokenSession, settle: Callable[[], None] | None) -> None:
        if settle is not None:
            settle()
        if session.has_pending:
            with self.tracing.stage("vault"):
                await session.flush()

    def _unresolved_counter(self, record: RequestRecord) -> Callable[[str], None]:
        def count(label: str) -> None:
            record.unresolved_tokens += 1
            if self.on_unresolved is not None:
                self.on_unresolved(label)

        return count

    async def _stream(
        self,
        lines: AsyncIterator[bytes],
        tokens: AnswerTokens,
        record: RequestRecord,
        agent: Agent,
        policy: Policy,
        started: float,
    ) -> AsyncIterator[bytes]:
        trailer = (lambda: {"_redaction": record.redaction_metadata()}) if agent.redaction_metadata else None

        def scanner() -> StreamScanner:
            return StreamScanner(detector=self.detector, policy=policy, codec=tokens.session.codec)

        rehydration = StreamRehydration(
            tokens,
            on_unresolved=self._unresolved_counter(record),
            trailer=trailer,
            scanner=scanner if policy.scan_response else None,
        )
        try:
            async for chunk in rehydration.run(lines):
                yield chunk
        finally:
            record.upstream_ms = (time.perf_counter() - started) * 1000
            record.response_entities.update(rehydration.response_redactions)


async def _vault_written(write: asyncio.Task[None]) -> None:
    try:
        await write
    except MaskerError:
        raise
    except Exception as exc:
        raise RedactionFailed(
            "The vault could not store this request's tokens; the answer was withheld.",
            code="redaction_failed",
        ) from exc


def _consume(write: asyncio.Task[None]) -> None:
    if not write.cancelled():
        write.exception()  # retrieved: a failure is already counted by the next turn writing first


async def _raise_upstream_error(
    response: Any, timeout: float, tokens: AnswerTokens, on_unresolved: Callable[[str], None] | None
) -> None:
    try:
        data = await response.json(timeout)
    except MaskerError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):  # the caller receives it: rehydrated like any answer
        await rehydrate_answer(error, tokens, on_unresolved=on_unresolved)
    if response.status in REFUSALS:
        raise UpstreamRefused(response.status, error if isinstance(error, dict) else None)
    raise UpstreamError(
        f"The upstream LLM returned HTTP {response.status}.",
        upstream_status=response.status,
        upstream_body=error if isinstance(error, dict) else None,
    )


async def rehydrate_completion(
    data: dict[str, Any],
    tokens: AnswerTokens | TokenSession,
    on_unresolved: Callable[[str], None] | None,
    *,
    shape: Shape = CHAT,
) -> None:
    """Every string and key of a whole completion, rehydrated in place."""
    await rehydrate_answer(data, tokens, shape=shape, on_unresolved=on_unresolved)


async def _single_event_stream(data: dict[str, Any]) -> AsyncIterator[bytes]:
    chunk = {k: v for k, v in data.items() if k != "choices"}
    chunk["object"] = "chat.completion.chunk"
    chunk["choices"] = [
        {"index": c.get("index", 0), "delta": c.get("message", {}), "finish_reason": c.get("finish_reason")}
        for c in data.get("choices") or []
        if isinstance(c, dict)
    ]
    yield encode_event(chunk)
    yield DONE
