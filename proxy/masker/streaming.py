"""SSE in, SSE out: rehydrate an upstream stream event by event.

The request's ``Shape`` says where text lives in an event. Every string and key of every event is
rehydrated; a text that grows across events (a choice's content, refusal, reasoning, audio
transcript, tool-call arguments, any field a provider adds to the delta) gets its own
``StreamRehydrator``, so a token split across events (down to one character per event) is held
back only while it could still be a token. Events are re-serialised one for one; an event whose
text was entirely held back is skipped rather than sent empty. Exactly one ``data: [DONE]`` ends
the stream, also when the upstream forgot it. If the upstream fails mid-stream, the held-back tail
(possibly half a token) is dropped and the client gets an OpenAI-shaped error event — the
upstream's error rehydrated like any answer — then ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

from . import jsonfast
from .errors import MaskerError, UpstreamError
from .shapes import Shape, Slot, Texts
from .shapes.chat import CHAT
from .tokens.codec import TokenSession
from .tokens.grammar import could_contain_token, could_hold_token
from .tokens.rehydrate import AnswerTokens, StreamRehydrator, answer_tokens, json_escape, rehydrate_text
from .tokens.response_scan import StreamScanner

DONE = b"data: [DONE]\n\n"
# After [DONE], how long the upstream gets to end its body. Until it has, its connection cannot
# go back to the pool, and the next streamed call would pay a new TCP (and TLS) handshake.
DRAIN_SECONDS = 0.25
_DRAINS: set[asyncio.Task[None]] = set()


def encode_event(event: dict[str, Any]) -> bytes:
    return b"data: " + jsonfast.dumps(event) + b"\n\n"


class GrowingTexts:
    """The texts that grow across the events of one answer stream (a choice's content, one tool
    call's arguments, a Responses output text, a Messages content block), each named by the key
    its ``Shape`` gives it: every API's stream rehydration goes through here.

    Each text has its own ``StreamRehydrator``, so a token split across events is held back only
    while it could still be one; with ``scanner`` (policy ``scan_response``), the model's prose
    first goes through its own ``StreamScanner``, so PHI the model invents is redacted before
    anything is rehydrated, however the upstream split it."""

    __slots__ = (
        "_new_scanner",
        "_on_unresolved",
        "_scanners",
        "_tokens",
        "redacted",
        "rehydrators",
        "scanning",
    )

    def __init__(
        self,
        tokens: AnswerTokens,
        *,
        on_unresolved: Callable[[str], None] | None = None,
        scanner: Callable[[], StreamScanner] | None = None,
    ) -> None:
        self._tokens = tokens
        self._on_unresolved = on_unresolved
        self._new_scanner = scanner
        self.scanning = scanner is not None
        # Read directly on the hot path (``rehydrators.get(key) or open(slot)``, after ``scan``
        # when ``scanning``): a coroutine frame of ours per stream event would be a measurable
        # share of a voice answer's rehydration.
        self.rehydrators: dict[Hashable, StreamRehydrator] = {}
        self._scanners: dict[Hashable, StreamScanner] = {}
        self.redacted = Counter[str]()  # invented PHI redacted, by entity type

    def names(self) -> list[Hashable]:
        return list(self.rehydrators)

    def open(self, slot: Slot) -> StreamRehydrator:
        """The rehydrator of ``slot``'s growing text (``slot.stream`` names it), made at its start."""
        rehydrator = self.rehydrators.get(slot.stream)
        if rehydrator is None:
            rehydrator = self.rehydrators[slot.stream] = StreamRehydrator(
                self._tokens, escape=json_escape if slot.json else None, on_unresolved=self._on_unresolved
            )
        return rehydrator

    async def scan(self, slot: Slot, text: str) -> str:
        """``text`` of ``slot``'s growing prose through its scanner (``scanning`` only)."""
        assert self._new_scanner is not None
        scanner = self._scanners.get(slot.stream)
        if scanner is None:
            scanner = self._scanners[slot.stream] = self._new_scanner()
        return await scanner.feed(text)

    async def release(self, key: Hashable) -> str:
        """What text ``key`` still holds back (scanner, then rehydrator), released; the text ends."""
        rehydrator = self.rehydrators.pop(key)
        scanner = self._scanners.pop(key, None)
        text = ""
        if scanner is not None:
            text = await scanner.finish()
            self.redacted.update(scanner.redacted)
        return await rehydrator.feed(text) + await rehydrator.finish()


async def rehydrate_whole(
    texts: Texts,
    tokens: AnswerTokens,
    on_unresolved: Callable[[str], None] | None,
    slots: list[Slot] | None = None,
) -> None:
    """Rehydrate ``slots`` (default: all of ``texts``) as whole texts, and write them back."""
    replacements: list[tuple[Slot, str]] = []
    for slot in texts.slots if slots is None else slots:
        if texts.want is None and not could_contain_token(slot.text):
            continue
        text = await rehydrate_text(
            tokens, slot.text, escape=json_escape if slot.json else None, on_unresolved=on_unresolved
        )
        if text != slot.text:
            replacements.append((slot, text))
    texts.apply(replacements)


async def rehydrate_answer(
    body: Any,
    tokens: AnswerTokens | TokenSession,
    *,
    shape: Shape = CHAT,
    on_unresolved: Callable[[str], None] | None = None,
) -> None:
    """Rehydrate a whole answer in place: a completion or an error body, every string and key."""
    # Serialising (orjson: ~2 us for a voice answer) and one bytes check is far cheaper than the
    # walk; most answers hold no token and are done here.
    if could_hold_token(jsonfast.dumps(body)):
        texts = shape.answer(body, want=could_contain_token)
        await rehydrate_whole(texts, answer_tokens(tokens), on_unresolved)


class StreamRehydration:
    def __init__(
        self,
        tokens: AnswerTokens | TokenSession,
        *,
        shape: Shape = CHAT,
        on_unresolved: Callable[[str], None] | None = None,
        trailer: Callable[[], dict[str, Any] | None] | None = None,
        scanner: Callable[[], StreamScanner] | None = None,
    ) -> None:
        self._tokens = answer_tokens(tokens)
        self._shape = shape
        self._on_unresolved = on_unresolved
        self._trailer = trailer  # extra top-level fields for the last event (``_redaction``)
        # One rehydrator per growing text; policy scan_response: a scanner before it.
        self._streams = GrowingTexts(self._tokens, on_unresolved=on_unresolved, scanner=scanner)
        self._template: dict[str, Any] = {}
        self._trailer_sent = False
        self._saw_finish = False
        self._upstream_done = False  # [DONE] read: what follows is only the end of the body

    @property
    def response_redactions(self) -> Counter[str]:
        """Invented PHI redacted, by entity type."""
        return self._streams.redacted

    async def transform(self, event: dict[str, Any], raw: bytes | None = None) -> dict[str, Any] | None:
        """Rehydrate one event in place (``raw``: its JSON as received, when known); None when
        nothing is left to send yet."""
        if not self._template:
            self._template = {k: event[k] for k in ("id", "object", "created", "model") if k in event}
        # Without a token's beginning anywhere in the raw event, only the growing texts need
        # feeding (a token may be split across events); no whole text can hold one.
        everything = raw is None or could_hold_token(raw)
        texts = self._shape.event(event, everything=everything, want=could_contain_token)
        replacements: list[tuple[Slot, str]] = []
        streams = self._streams
        whole: list[Slot] = []
        held = False
        for slot in texts.slots:
            if slot.stream is None:
                whole.append(slot)
                continue
            text = slot.text
            if not text:
                continue
            if slot.prose and streams.scanning:
                text = await streams.scan(slot, text)
            text = await (streams.rehydrators.get(slot.stream) or streams.open(slot)).feed(text)
            if text != slot.text:
                replacements.append((slot, text))
                held = held or not text
        if replacements:
            texts.apply(replacements)
        if whole:
            await rehydrate_whole(texts, self._tokens, self._on_unresolved, whole)
        ended = self._shape.ended(event) if streams.rehydrators else None
        if ended is not None:
            for key in [k for k in streams.names() if ended(k)]:
                tail = await streams.release(key)
                if tail:
                    self._shape.put_tail(event, key, tail)
        if held and self._shape.is_empty(event):
            return None
        return event

    async def finish_events(self) -> list[dict[str, Any]]:
        """Whatever is still held back when the upstream ends, as one final event."""
        if not self._streams.rehydrators:
            return []
        keys = self._streams.names()
        event = self._shape.tail_event(self._template, keys)
        for key in keys:
            tail = await self._streams.release(key)
            if tail:
                self._shape.put_tail(event, key, tail)
        if self._shape.is_empty(event):
            return []
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
                    if isinstance(error, dict):
                        await rehydrate_answer(error, self._tokens, on_unresolved=self._on_unresolved)
                    raise UpstreamError(
                        "The upstream LLM reported an error mid-stream.",
                        upstream_body=error if isinstance(error, dict) else None,
                    )
                out = await self.transform(event, data)
                if out is None:
                    continue
                choices = out.get("choices") or []
                finished = any(isinstance(c, dict) and c.get("finish_reason") is not None for c in choices)
                if finished:
                    self._saw_finish = True
                    if not self._streams.rehydrators:
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
