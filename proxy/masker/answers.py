"""Rehydrating a stream of named SSE events (``event: <type>`` + ``data: {...}``, as the Responses
and Messages APIs send) through the answer's ``Shape``; whole answers go through
``streaming.rehydrate_answer`` like chat completions.

Why not ``streaming.StreamRehydration``: there the tail a text held back is put into the event that
ends it, which for chat is a delta like the others. Here the ending event (``*.done``,
``content_block_stop``) is not a delta — clients build the text from the deltas — so the tail
travels in a delta of its own, sent just before it.

Every string and key the shape yields is rehydrated against the request's ``AnswerTokens``. A text
that grows across events (a shape gives it a ``stream`` key) goes through ``streaming.GrowingTexts``
(the same as chat's: its own ``StreamRehydrator``, and a ``StreamScanner`` before it when the policy
scans answers), so a token split across deltas is held back only while it could still be a token;
when the shape says an event ends that text, the held-back tail is sent first, in a delta event of
its own (``Shape.tail_event``). With response scanning, the whole texts events carry besides (a
``*.done`` event's text, the completed response) are scanned too. A delta left empty is not sent.
``sequence_number`` fields, where the API has them, are renumbered so the caller sees an unbroken
sequence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import jsonfast
from .errors import MaskerError
from .shapes import Shape, Slot, Texts
from .streaming import GrowingTexts, rehydrate_whole
from .tokens.grammar import could_contain_token
from .tokens.rehydrate import AnswerTokens
from .tokens.response_scan import StreamScanner

log = logging.getLogger("masker.answers")
OnUnresolved = Callable[[str], None] | None
DONE: dict[str, Any] = {}  # the upstream's ``data: [DONE]``, passed on as it came (compared by identity)


async def _rehydrate_event(
    texts: Texts, tokens: AnswerTokens, on_unresolved: OnUnresolved, streams: GrowingTexts
) -> None:
    """Growing texts through their stream's rehydrator (and scanner); every other slot whole."""
    replacements: list[tuple[Slot, str]] = []
    whole: list[Slot] = []
    for slot in texts.slots:
        if slot.stream is None:
            whole.append(slot)
            continue
        text = slot.text
        if slot.prose and streams.scanning:
            text = await streams.scan(slot, text)
        text = await (streams.rehydrators.get(slot.stream) or streams.open(slot)).feed(text)
        if text != slot.text:
            replacements.append((slot, text))
    texts.apply(replacements)
    if whole:
        await rehydrate_whole(texts, tokens, on_unresolved, whole)


def encode_named(event: dict[str, Any]) -> bytes:
    kind = event.get("type")
    head = f"event: {kind}\n".encode() if isinstance(kind, str) and kind.isprintable() else b""
    return head + b"data: " + jsonfast.dumps(event) + b"\n\n"


class EventStreamRehydration:
    def __init__(
        self,
        shape: Shape,
        tokens: AnswerTokens,
        *,
        on_unresolved: OnUnresolved = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        error_event: Callable[[MaskerError], dict[str, Any]],
        scanner: Callable[[], StreamScanner] | None = None,
        scan_whole: Callable[[Texts], Awaitable[Counter[str]]] | None = None,
    ) -> None:
        self.shape = shape
        self.tokens = tokens
        self.on_unresolved = on_unresolved
        self.on_event = on_event
        self.error_event = error_event
        # Policy scan_response: growing prose through a ``StreamScanner`` each (``scanner``), the
        # whole texts events also carry (a ``*.done`` event's text, the completed response) through
        # ``scan_whole``; both before rehydration.
        self._streams = GrowingTexts(tokens, on_unresolved=on_unresolved, scanner=scanner)
        self._scan_whole = scan_whole
        self._whole_redactions: Counter[str] | None = None  # made when the first event is scanned
        self._sequence = 0

    @property
    def response_redactions(self) -> Counter[str]:
        """Invented PHI redacted, by entity type: as the growing texts counted it, or, for an answer
        that carried its texts only whole, as the whole texts did (each value counted once)."""
        return self._streams.redacted or self._whole_redactions or Counter()

    def _numbered(self, event: dict[str, Any]) -> dict[str, Any]:
        if "sequence_number" in event:
            event["sequence_number"] = self._sequence
            self._sequence += 1
        return event

    async def _tails(self, event: dict[str, Any], *, all_streams: bool = False) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        ends = None if all_streams else self.shape.ended(event)
        if ends is None and not all_streams:
            return out
        for key in self._streams.names():
            if ends is None or ends(key):
                tail = await self._streams.release(key)
                if tail:
                    carrier = self.shape.tail_event(event, [key])
                    self.shape.put_tail(carrier, key, tail)
                    if "sequence_number" in event:
                        carrier["sequence_number"] = 0
                    out.append(carrier)
        return out

    async def _one(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        out = await self._tails(event)
        if self._scan_whole is not None:  # the whole texts scanned first, in place
            scanned = self.shape.event(event)
            scanned.slots = [s for s in scanned.slots if s.stream is None]
            redacted = await self._scan_whole(scanned)
            if self._whole_redactions is None:
                self._whole_redactions = Counter()
            self._whole_redactions.update(redacted)
        texts = self.shape.event(event, want=could_contain_token)  # growing texts always come
        await _rehydrate_event(texts, self.tokens, self.on_unresolved, self._streams)
        if not self.shape.is_empty(event):
            out.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return out

    async def run(self, lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The caller's SSE: each event with its ``event:`` line; ``[DONE]`` if the upstream sent it."""
        async for event in self.events(lines):
            yield b"data: [DONE]\n\n" if event is DONE else encode_named(event)

    async def events(self, lines: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
        """The rehydrated events, in order (``DONE`` where the upstream sent ``[DONE]``); a failed
        upstream ends them with the API's error event."""
        data: list[bytes] = []
        done = False
        try:
            async for line in lines:
                if line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" "))
                    continue
                if line or not data:
                    continue  # ``event:``, ``id:`` and comments: the type is inside the data too
                raw = b"\n".join(data)
                data = []
                if raw.strip() == b"[DONE]":
                    done = True
                    continue
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue  # not JSON: nothing we can vouch for reaches the caller
                if not isinstance(event, dict):
                    continue
                for out in await self._one(event):
                    yield self._numbered(out)
            if data and b"\n".join(data).strip() == b"[DONE]":
                done = True
            elif data:  # the body ended without the blank line after its last event
                with contextlib.suppress(ValueError):
                    last = json.loads(b"\n".join(data))
                    if isinstance(last, dict):
                        for out in await self._one(last):
                            yield self._numbered(out)
            for out in await self._tails({}, all_streams=True):
                yield self._numbered(out)
            if done:
                yield DONE
        except MaskerError as exc:
            log.warning("upstream stream failed: %s", type(exc).__name__)
            yield self.error_event(exc)


# ---------------------------------------------------------------------------------------------
# Responses chains (``previous_response_id``): the tokens a chained turn's answer may resolve


@dataclass(frozen=True)
class ChainLink:
    conversation: str | None
    tokens: frozenset[str]
    at: float


class ResponseChains:
    """(agent or tenant id, response id) -> what a turn chained to that response may resolve.
    In memory, bounded, expiring with the vault's time-to-live; replicas do not share it."""

    def __init__(self, ttl_seconds: float = 24 * 3600.0, max_links: int = 50_000) -> None:
        self.ttl = ttl_seconds
        self.max_links = max_links
        self._links: OrderedDict[tuple[str, str], ChainLink] = OrderedDict()

    def get(self, scope: str, response_id: str) -> ChainLink | None:
        link = self._links.get((scope, response_id))
        if link is None or time.monotonic() - link.at > self.ttl:
            return None
        return link

    def remember(
        self, scope: str, response_id: str, conversation: str | None, tokens: frozenset[str]
    ) -> None:
        self._links[(scope, response_id)] = ChainLink(conversation, tokens, time.monotonic())
        self._links.move_to_end((scope, response_id))
        while len(self._links) > self.max_links:
            self._links.popitem(last=False)
