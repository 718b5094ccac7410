"""Response scanning (policy ``scan_response: true``): PHI the upstream *invented* is redacted.

The request side guarantees the upstream never saw the caller's PHI, but a model can still write
a phone number, a name or an address of its own. This module runs a ``Detector`` over the
upstream's answer **before rehydration** — at that point the caller's own values are still tokens,
so they are never touched (findings overlapping a token are ignored) — and applies the policy to
what it finds with the request side's operators (``operators``). ``tokenize`` has nothing to
restore in this direction, so it becomes the speakable fallback phrase ("the phone number");
``mask``/``placeholder``/``hash``/``drop``/``keep`` act as on the request side.

``scan_text``/``scan_completion`` handle whole answers (``scan_prose`` the whole texts of a walked
answer or stream event); ``StreamScanner`` handles SSE deltas: it
holds back a bounded window of text so a value split across events, at any split point, is seen
whole before any of it is released. Its output feeds the ``StreamRehydrator``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..detect.types import DetectOptions, Detector, Finding
from ..operators import operator_for
from ..policy import Action, Policy
from ..shapes import Shape, Texts
from ..shapes.chat import CHAT
from .codec import Codec
from .grammar import TOKEN_PATTERN, find_tokens

DEFAULT_WINDOW = 96  # longest value guaranteed to be caught whole when split across events
DEFAULT_CONTEXT = 160  # already-released text shown to the detector for context words


def _token_spans(text: str, *, open_end: bool) -> list[tuple[int, int]]:
    spans = [(t.start, t.end) for t in find_tokens(text)]
    if open_end:  # a token still arriving at the end of the buffer
        m = TOKEN_PATTERN.search(text, spans[-1][1] if spans else 0, partial=True)
        if m is not None and m.partial:
            spans.append((m.start(), len(text)))
    return spans


def _usable(findings: list[Finding], spans: list[tuple[int, int]], policy: Policy) -> list[Finding]:
    return [
        f
        for f in findings
        if policy.action_for(f.entity) is not Action.KEEP
        and not any(f.start < end and start < f.end for start, end in spans)
    ]


def _apply(
    text: str, findings: list[Finding], policy: Policy, codec: Codec, lo: int, hi: int
) -> tuple[str, Counter[str]]:
    """Redact ``text[lo:hi]``; findings are clipped to that range. Returns the text and the number
    of values redacted per entity type."""
    out: list[str] = []
    cursor, counts = lo, Counter[str]()
    for f in sorted(findings, key=lambda f: f.start):
        start, end = max(f.start, cursor), min(f.end, hi)
        if start >= end:
            continue
        # The request side's operators, with no session: nothing invented can be given a token.
        replacement = operator_for(policy, f).anonymize(
            f.entity, text[f.start : f.end], codec=codec, session=None
        )
        if replacement is None:
            continue
        out.append(text[cursor:start])
        out.append(replacement.text)
        cursor = end
        counts[f.entity.value] += 1
    out.append(text[cursor:hi])
    return "".join(out), counts


async def scan_text(
    text: str, *, detector: Detector, policy: Policy, codec: Codec, options: DetectOptions | None = None
) -> tuple[str, Counter[str]]:
    """Redact invented PHI in one whole text (tokens untouched). Returns (text, redactions by type)."""
    if not text:
        return text, Counter()
    result = await detector.detect([text], options or policy.detect_options())
    findings = _usable(result.findings[0], _token_spans(text, open_end=False), policy)
    return _apply(text, findings, policy, codec, 0, len(text))


async def scan_completion(
    data: dict[str, Any], *, detector: Detector, policy: Policy, codec: Codec, shape: Shape = CHAT
) -> Counter[str]:
    """Scan a whole answer in place: every text the shape marks as the model's own (content and
    its parts, refusal, reasoning, audio transcript, tool-call arguments...). Call it before
    rehydration. Returns the values redacted per entity type."""
    return await scan_prose(shape.answer(data), detector=detector, policy=policy, codec=codec)


async def scan_prose(texts: Texts, *, detector: Detector, policy: Policy, codec: Codec) -> Counter[str]:
    """Scan, in place, the slots of a walked answer (or stream event) that are the model's own
    prose and hold whole texts (growing texts go through a ``StreamScanner``); before rehydration.
    Returns the values redacted per entity type."""
    prose = [slot for slot in texts.slots if slot.prose and slot.text and slot.stream is None]
    total = Counter[str]()
    if not prose:
        return total
    result = await detector.detect([slot.text for slot in prose], policy.detect_options())
    replacements = []
    for slot, found in zip(prose, result.findings, strict=True):
        usable = _usable(found, _token_spans(slot.text, open_end=False), policy)
        if not usable:
            continue
        # Replacements contain no quote or backslash, so JSON arguments stay valid JSON.
        text, counts = _apply(slot.text, usable, policy, codec, 0, len(slot.text))
        replacements.append((slot, text))
        total.update(counts)
    texts.apply(replacements)
    return total


class StreamScanner:
    """Feed one text stream (a choice's content, or one tool call's arguments) in order.

    Text is released only once ``window`` more characters have been seen after it, and never in
    the middle of a finding, so any value up to ``window`` characters long is detected whole
    however the upstream split it. Hold-back is bounded by ``max_hold``; past it, text is
    released even mid-finding (the released part of a value that long is still redacted).
    """

    def __init__(
        self,
        *,
        detector: Detector,
        policy: Policy,
        codec: Codec,
        window: int = DEFAULT_WINDOW,
        context: int = DEFAULT_CONTEXT,
        max_hold: int | None = None,
    ) -> None:
        self._detector = detector
        self._policy = policy
        self._codec = codec
        self._options = policy.detect_options()
        self._window = window
        self._context_len = context
        self._max_hold = max_hold if max_hold is not None else 4 * window
        self._context = ""
        self._buffer = ""
        self.redacted = Counter[str]()  # values redacted, by entity type

    @property
    def pending(self) -> int:
        """Characters held back right now."""
        return len(self._buffer)

    async def feed(self, text: str) -> str:
        self._buffer += text
        if len(self._buffer) <= self._window:
            return ""
        return await self._release(final=False)

    async def finish(self) -> str:
        return await self._release(final=True) if self._buffer else ""

    async def _release(self, *, final: bool) -> str:
        full = self._context + self._buffer
        lo = len(self._context)
        result = await self._detector.detect([full], self._options)
        findings = [
            f
            for f in _usable(result.findings[0], _token_spans(full, open_end=not final), self._policy)
            if f.end > lo
        ]
        cut = len(full)
        if not final:
            cut = len(full) - self._window
            moved = True
            while moved:  # never release part of a finding that is still in view
                moved = False
                for f in findings:
                    if f.start < cut < f.end and max(f.start, lo) < cut:
                        cut, moved = max(f.start, lo), True
            if cut <= lo:
                if len(self._buffer) <= self._max_hold:
                    return ""
                cut = len(full) - self._window  # bounded: release, redacting what is visible
        out, count = _apply(full, findings, self._policy, self._codec, lo, cut)
        self.redacted.update(count)
        self._context = full[:cut][-self._context_len :]
        self._buffer = full[cut:]
        return out
