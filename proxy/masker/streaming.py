"""SSE in, SSE out: rehydrate an upstream chat-completions stream chunk by chunk.

Each choice's ``content`` and each tool call's ``arguments`` gets its own ``StreamRehydrator``, so a
token split across events (down to one character per event) is held back only while it could
still be a token. Events are re-serialised one for one; an event whose text was entirely held
back is skipped rather than sent empty. Exactly one ``data: [DONE]`` ends the stream, also when
the upstream forgot it. If the upstream fails mid-stream, the held-back tail (possibly half a
token) is dropped and the client gets an OpenAI-shaped error event, then ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from . import jsonfast
from .errors import MaskerError, UpstreamError
from .tokens.codec import TokenSession
from .tokens.rehydrate import StreamRehydrator, json_escape, rehydrate_text
from .tokens.response_scan import StreamScanner

DONE = b"data: [DONE]\n\n"
# After [DONE], how long the upstream gets to end its body. Until it has, its connection cannot
# go back to the pool, and the next streamed call would pay a new TCP (and TLS) handshake.
DRAIN_SECONDS = 0.25
_DRAINS: set[asyncio.Task[None]] = set()
_STRUCTURAL = frozenset({"role", "tool_calls", "function_call"})


def encode_event(event: dict[str, Any]) -> bytes:
    return b"data: " + jsonfast.dumps(event) + b"\n\n"


class StreamRehydration:
    def __init__(
        self,
        session: TokenSession,
        *,
        on_unresolved: Callable[[str], None] | None = None,
        trailer: Callable[[], dict[str, Any] | None] | None = None,
        scanner: Callable[[], StreamScanner] | None = None,
    ) -> None:
        # Policy scan_response: PHI the model invented is redacted before rehydration, per stream.
        self._new_scanner = scanner
        self._scanners: dict[Any, StreamScanner] = {}
        self._session = session
        self._on_unresolved = on_unresolved
        self._trailer = trailer  # extra top-level fields for the last event (``_redaction``)
        # One rehydrator per (choice, text field): content, refusal, reasoning_content and any
        # field a provider adds to the delta — all of it reaches the caller, so all of it is handled.
        self._text: dict[tuple[int, str], StreamRehydrator] = {}
        self._args: dict[tuple[int, int], StreamRehydrator] = {}
        self._template: dict[str, Any] = {}
        self._trailer_sent = False
        self.response_redactions = Counter[str]()  # invented PHI redacted, by entity type
        self._saw_finish = False
        self._upstream_done = False  # [DONE] read: what follows is only the end of the body

    def _rh(self, key: Any, table: dict[Any, StreamRehydrator], escape: bool) -> StreamRehydrator:
        rh = table.get(key)
        if rh is None:
            rh = table[key] = StreamRehydrator(
                self._session, escape=json_escape if escape else None, on_unresolved=self._on_unresolved
            )
        return rh

    async def _scan(self, key: Any, text: str) -> str:
        if self._new_scanner is None:
            return text
        scanner = self._scanners.get(key)
        if scanner is None:
            scanner = self._scanners[key] = self._new_scanner()
        return await scanner.feed(text)

    async def _scan_tail(self, key: Any) -> str:
        scanner = self._scanners.pop(key, None)
        if scanner is None:
            return ""
        self.response_redactions.update(scanner.redacted)
        return await scanner.finish()

    async def _flush_choice(self, index: int, delta: dict[str, Any]) -> None:
        for text_key in [k for k in self._text if k[0] == index]:
            rh = self._text.pop(text_key)
            tail = await rh.feed(await self._scan_tail(("c", *text_key))) + await rh.finish()
            if tail:
                delta[text_key[1]] = (delta.get(text_key[1]) or "") + tail
        for key in [k for k in self._args if k[0] == index]:
            rh = self._args.pop(key)
            tail = await rh.feed(await self._scan_tail(("t", *key))) + await rh.finish()
            if tail:
                delta.setdefault("tool_calls", []).append({"index": key[1], "function": {"arguments": tail}})

    async def transform(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Rehydrate one event in place; None when nothing is left to send yet."""
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices:
            return event
        if not self._template:
            self._template = {k: event[k] for k in ("id", "object", "created", "model") if k in event}
        emptied = True
        for choice in choices:
            if not isinstance(choice, dict):
                emptied = False
                continue
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                emptied = False
                continue
            had_text = False
            for name, value in list(delta.items()):
                if name in _STRUCTURAL or not isinstance(value, str) or not value:
                    continue
                had_text = True
                delta[name] = await self._rh((index, name), self._text, False).feed(
                    await self._scan(("c", index, name), value)
                )
            for call in delta.get("tool_calls") or []:
                if not isinstance(call, dict):
                    continue
                fn = call.get("function")
                if not isinstance(fn, dict):
                    continue
                if isinstance(fn.get("name"), str):
                    fn["name"] = await rehydrate_text(
                        self._session, fn["name"], on_unresolved=self._on_unresolved
                    )
                args = fn.get("arguments")
                if isinstance(args, str) and args:
                    had_text = True
                    key = (index, call.get("index", 0))
                    fn["arguments"] = await self._rh(key, self._args, True).feed(
                        await self._scan(("t", *key), args)
                    )
            if choice.get("finish_reason") is not None:
                await self._flush_choice(index, delta)
            held_all = all(isinstance(v, str) and not v and k not in _STRUCTURAL for k, v in delta.items())
            if not (had_text and held_all and choice.get("finish_reason") is None):
                emptied = False
        if emptied:
            return None
        return event

    async def finish_events(self) -> list[dict[str, Any]]:
        """Whatever is still held back when the upstream ends, as one final event."""
        delta_by_choice: dict[int, dict[str, Any]] = {}
        for index in sorted({*(k[0] for k in self._text), *(k[0] for k in self._args)}):
            delta: dict[str, Any] = {}
            await self._flush_choice(index, delta)
            if delta:
                delta_by_choice[index] = delta
        if not delta_by_choice:
            return []
        event = {
            **self._template,
            "object": "chat.completion.chunk",
            "choices": [{"index": i, "delta": d, "finish_reason": None} for i, d in delta_by_choice.items()],
        }
        return [event]

    def _with_trailer(self, event: dict[str, Any]) -> dict[str, Any]:
        if self._trailer is not None and not self._trailer_sent:
            extra = self._trailer()
            if extra:
                event.update(extra)
            self._trailer_sent = True
        return event

    async def run(self, lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The caller's SSE. Ends by closing ``lines``: at once if the upstream had not finished
        (the caller hung up: stop the generation), else after draining it in the background."""
        try:
            async for chunk in self._relay(lines):
                yield chunk
        finally:
            if self._upstream_done:
                _drain_in_background(lines)
            else:
                await _aclose(lines)

    async def _relay(self, lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        finished = False  # saw [DONE] or a finish_reason: anything else is a truncated stream
        try:
            async for line in lines:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    finished = self._upstream_done = True
                    break
                try:
                    event = jsonfast.loads(data)
                except ValueError:
                    continue  # not JSON: not something an OpenAI client could use either
                if not isinstance(event, dict):
                    continue
                if "error" in event and "choices" not in event:
                    error = event.get("error")
                    raise UpstreamError(
                        "The upstream LLM reported an error mid-stream.",
                        upstream_body=error if isinstance(error, dict) else None,
                    )
                out = await self.transform(event)
                if out is None:
                    continue
                choices = out.get("choices") or []
                finished = any(isinstance(c, dict) and c.get("finish_reason") is not None for c in choices)
                if finished:
                    self._saw_finish = True
                    if not (self._text or self._args):
                        out = self._with_trailer(out)
                yield encode_event(out)
            if not (finished or self._saw_finish):
                raise UpstreamError("The upstream LLM stream ended before it was complete.")
            for event in await self.finish_events():
                yield encode_event(self._with_trailer(event))
        except MaskerError as exc:
            yield encode_event(exc.body())
        yield DONE


def _drain_in_background(lines: AsyncIterator[bytes]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # finalised after its loop stopped: the connection goes with the loop
        return
    task = loop.create_task(_drain(lines))
    _DRAINS.add(task)  # the loop keeps only a weak reference to its tasks
    task.add_done_callback(_DRAINS.discard)


async def _drain(lines: AsyncIterator[bytes]) -> None:
    """Read what the upstream still sends after [DONE] (normally nothing but the end of its body)
    so that its connection is reused; give up after ``DRAIN_SECONDS``. Runs on its own: the caller
    has its [DONE] and may hang up at once (the openai SDK does), which must not cut this short."""
    try:
        # Whatever goes wrong here costs only the reuse of this connection: nothing to report.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(DRAIN_SECONDS):
                async for _ in lines:
                    pass
    finally:
        await _aclose(lines)


async def _aclose(lines: AsyncIterator[bytes]) -> None:
    aclose = getattr(lines, "aclose", None)
    if aclose is not None:
        await aclose()
