"""Request redaction: detect PHI at every text position of the body and apply the policy.

The request's ``Shape`` (``shapes.chat`` for chat completions) says where text lives: every string,
key and number at any depth — messages of all roles, content parts, tool-call arguments (parsed as
JSON, so replacements stay valid JSON), tools, ``response_format``, ``stop``, ``logit_bias`` and
any field the caller's platform added — except its closed list of protocol vocabulary. What each
finding becomes is decided by its operator (``operators``); a number that holds PHI becomes a
string.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .detect.types import Detector, Entity, Finding, NerUnavailable
from .errors import BadRequest
from .operators import SHIELD, operator_for
from .policy import Policy
from .redaction_memo import (
    UNCHANGED,
    Prefixes,
    PrefixMemo,
    SlotResult,
    make_slot_result,
    signatures,
    slot_entities,
    slot_has_tokens,
    slot_spans,
    slot_text,
    slot_tokens,
)
from .shapes import Shape, Slot
from .shapes.chat import CHAT
from .tokens.codec import TokenSession
from .tokens.grammar import could_contain_token, find_tokens


@dataclass
class RedactionOutcome:
    body: dict[str, Any]
    entities_by_type: Counter[str] = field(default_factory=Counter)
    degraded: bool = False
    fail_open: bool = False
    detection_ms: float = 0.0
    tokenize_ms: float = 0.0
    # Work the forwarded request does not depend on: issuing the tokens of history texts taken from
    # the memo (for rehydration, and a vault re-write if the vault may have lost them). The caller
    # runs it before reading the answer or writing the vault; None when there is none.
    settle: Callable[[], None] | None = None

    @property
    def entities_total(self) -> int:
        return sum(self.entities_by_type.values())


def _with_token_shields(text: str, findings: list[Finding]) -> list[Finding]:
    """Token-shaped text in the caller's own input is itself tokenized (as ``ID_NUMBER``).

    Legitimate callers never send tokens (they only ever see restored values), so one here is
    either an echo or an attempt to make the proxy resolve a token from another conversation.
    Wrapping it means rehydration gives back exactly the text the caller sent, never the value
    behind it.
    """
    if not could_contain_token(text):  # the grammar's own pre-check: any case, any spacing
        return findings
    shields = [Finding(m.start, m.end, Entity.ID_NUMBER, 1.0, SHIELD) for m in find_tokens(text)]
    if not shields:
        return findings
    kept = [f for f in findings if not any(f.start < s.end and s.start < f.end for s in shields)]
    return sorted([*kept, *shields], key=lambda f: f.start)


# Findings replaced between two returns to the event loop: a large body's tens of thousands of
# findings are tokenized in slices, so other requests and /health are answered meanwhile.
SLICE = 1024


def _redact_slot(policy: Policy, session: TokenSession, slot: Slot, findings: list[Finding]) -> SlotResult:
    out: list[SlotResult] = []
    for _ in _redact_steps(policy, session, slot, findings, out):
        pass
    return out[0]


async def _redact_slot_sliced(
    policy: Policy, session: TokenSession, slot: Slot, findings: list[Finding]
) -> SlotResult:
    out: list[SlotResult] = []
    for _ in _redact_steps(policy, session, slot, findings, out):
        await asyncio.sleep(0)
    return out[0]


def _redact_steps(
    policy: Policy, session: TokenSession, slot: Slot, findings: list[Finding], out: list[SlotResult]
) -> Iterator[None]:
    """Redacts ``slot``, pausing (a ``yield``) after every ``SLICE`` findings; puts the result in
    ``out``."""
    if not findings:
        out.append(UNCHANGED)
        return
    text = slot.text
    pieces: list[str] = []
    tokens: list[tuple[int, int, Entity, str]] = []
    entities: list[str] = []
    cursor = 0
    for k, finding in enumerate(findings, 1):
        if k % SLICE == 0:
            yield
        if finding.start < cursor:
            continue  # the detector resolves overlaps; stay safe if one slips through
        value = text[finding.start : finding.end]
        replacement = operator_for(policy, finding).anonymize(
            finding.entity, value, codec=session.codec, session=session, identifier=slot.identifier
        )
        if replacement is None:
            continue
        entities.append(finding.entity.value)
        if replacement.token is not None:
            tokens.append((finding.start, finding.end, finding.entity, replacement.token))
        pieces.append(text[cursor : finding.start])
        pieces.append(replacement.text)
        cursor = finding.end
    if not entities:
        out.append(UNCHANGED)
        return
    pieces.append(text[cursor:])
    out.append(make_slot_result("".join(pieces), tokens, entities))


def _apply(slot: Slot, result: SlotResult, entities: list[str], out: list[tuple[Slot, str]]) -> None:
    """Queue a slot's redacted text and add its entity types to ``entities``."""
    text = slot_text(result)
    if text is None:
        return
    if slot.verbatim:
        raise BadRequest(
            "'model' must name a model; the value sent looks like personal data and was not forwarded.",
            param="model",
            code="invalid_model",
        )
    entities.extend(slot_entities(result))
    out.append((slot, text))


def _adoption(
    session: TokenSession, slots: list[Slot], results: tuple[SlotResult, ...]
) -> Callable[[], None] | None:
    """Issuing, in ``session``, the tokens of results taken from the memo (a fresh result issued
    its own while it was made); None when they hold none."""
    pending = [
        (slot.text, slot_tokens(result))
        for slot, result in zip(slots, results, strict=True)
        if slot_has_tokens(result)
    ]
    if not pending:
        return None

    def adopt() -> None:
        for text, tokens in pending:
            for start, end, entity, body in tokens:
                session.adopt(entity, text[start:end], body)

    return adopt


_MAX_MEMO_VALUES = 256  # more values than this: detecting the whole request is the cheaper check


def _memo_stale(
    texts: list[str], findings: list[list[Finding]], replayed: list[Slot], results: tuple[SlotResult, ...]
) -> bool:
    """Whether the replayed turns and the new texts disagree about a value: one found now (or found
    now as another type) stands in a replayed turn, or one the replayed turns replaced stands in a
    new text without being found there. Either way the memo would send an occurrence raw."""
    seeds = {
        (entity, slot.text[start:end].lower())
        for slot, result in zip(replayed, results, strict=True)
        for start, end, entity, _ in slot_tokens(result)
        if end - start >= 3
    }
    found = {
        (f.entity, text[f.start : f.end].lower())
        for text, fs in zip(texts, findings, strict=True)
        for f in fs
        if f.end - f.start >= 3
    }
    new = {value for _, value in found - seeds}
    if len(new) > _MAX_MEMO_VALUES or len(seeds) > _MAX_MEMO_VALUES:
        return True
    for slot, result in zip(replayed, results, strict=True):
        spans = slot_spans(result)
        if new and _uncovered(slot.text.lower(), new, spans):
            return True
    for text, fs in zip(texts, findings, strict=True):
        for entity in {e for e, _ in seeds}:
            values = {v for e, v in seeds if e is entity}
            typed = [(f.start, f.end) for f in fs if f.entity is entity]
            if _uncovered(text.lower(), values, typed):
                return True
    return False


def _uncovered(low: str, values: set[str], spans: list[tuple[int, int]]) -> bool:
    """Whether one of ``values`` occurs in ``low`` outside every one of ``spans`` (findings: they
    do not overlap, so only the last one starting at or before an occurrence can hold it)."""
    spans = sorted(spans)
    starts = [s for s, _ in spans]
    for value in values:
        pos = low.find(value)
        while pos >= 0:
            end = pos + len(value)
            k = bisect.bisect_right(starts, pos) - 1
            if k < 0 or spans[k][1] < end:
                return True
            pos = low.find(value, pos + len(value))
    return False


def _known_tag(known: Sequence[tuple[Entity, str]]) -> str:
    """A digest of the known values, in any order, for the memo's key ("" when there are none)."""
    if not known:
        return ""
    digest = hashlib.sha256()
    for entity, value in sorted(set(known), key=lambda item: (item[0].value, item[1])):
        digest.update(f"{entity.value}\x00{value}\x00".encode("utf-8", "surrogatepass"))
    return ":" + digest.hexdigest()[:32]


async def redact_request(
    body: dict[str, Any],
    *,
    detector: Detector,
    policy: Policy,
    session: TokenSession,
    fail_mode: str,
    max_messages: int = 1000,
    on_fail_open: Callable[[], None] | None = None,
    memo: PrefixMemo | None = None,
    shape: Shape = CHAT,
    known: Sequence[tuple[Entity, str]] = (),
) -> RedactionOutcome:
    """Mutates and returns ``body`` with PHI replaced. Raises ``NerUnavailable`` or detector errors
    only when the policy is fail-closed; the caller maps them to 503. With ``memo``, the leading
    texts redacted on an earlier turn of the same conversation are not detected again. ``known``:
    values the caller's platform says are PHI in this conversation, replaced wherever they occur."""
    for name in policy.strip_fields:
        body.pop(name, None)
    walked = shape.request(body, non_text_parts=policy.non_text_parts, max_messages=max_messages)
    slots = walked.slots
    conversation = walked.conversation
    outcome = RedactionOutcome(body)
    started = time.perf_counter()
    options = policy.detect_options()
    roles = [s.role for s in slots]
    replayed: tuple[SlotResult, ...] = ()
    if memo is not None and conversation:
        prefixes = Prefixes(
            # The known values are part of the key: a turn redacted without one of them (a platform
            # that sent it late) holds it raw, and must not be replayed to a request that knows it.
            f"{session.codec.mode}:{session.codec.keyring.current.kid}:{session.scope_id}{_known_tag(known)}",
            signatures(session.scope_id, [(s.role, s.identifier, s.text) for s in slots[:conversation]]),
            roles,
            policy,
            options,
        )
        replayed = memo.longest(prefixes)
    fresh = slots[len(replayed) :]
    texts = [s.text.replace("_", " ") if s.identifier else s.text for s in fresh]
    try:
        result = await detector.detect(texts, options, roles=roles[len(replayed) :], known=known)
        if replayed and _memo_stale(texts, result.findings, slots[: len(replayed)], replayed):
            # A value occurs both in a replayed turn and in a new text, where the two readings
            # disagree: detect the whole request, so that every occurrence is replaced alike.
            replayed, fresh = (), slots
            texts = [s.text.replace("_", " ") if s.identifier else s.text for s in fresh]
            result = await detector.detect(texts, options, roles=roles, known=known)
    except (NerUnavailable, Exception):
        if fail_mode != "open":
            raise
        outcome.fail_open = True
        if on_fail_open is not None:
            on_fail_open()
        outcome.detection_ms = (time.perf_counter() - started) * 1000
        return outcome
    outcome.detection_ms = (time.perf_counter() - started) * 1000
    outcome.degraded = result.degraded
    findings_per_slot = [
        _with_token_shields(slot.text, found) for slot, found in zip(fresh, result.findings, strict=True)
    ]

    started = time.perf_counter()
    results = [
        await _redact_slot_sliced(policy, session, slot, found)
        if len(found) > SLICE
        else _redact_slot(policy, session, slot, found)
        for slot, found in zip(fresh, findings_per_slot, strict=True)
    ]
    entities: list[str] = []  # counted once: a Counter update per slot costs ~0.6 us
    replacements: list[tuple[Slot, str]] = []
    for slot, slot_result in zip(slots[: len(replayed)], replayed, strict=True):
        _apply(slot, slot_result, entities, replacements)
    for slot, slot_result in zip(fresh, results, strict=True):
        _apply(slot, slot_result, entities, replacements)
    outcome.settle = _adoption(session, slots[: len(replayed)], replayed)
    walked.apply(replacements)
    outcome.entities_by_type.update(entities)
    if memo is not None and conversation and not result.degraded:
        # Two prefixes: the whole conversation (the next turn extends it) and all but its newest
        # message (the next request may replace that one: a caller's barge-in, a retried turn).
        slot_results = (*replayed, *results[: conversation - len(replayed)])
        memo.remember(prefixes, slot_results)
        memo.remember(prefixes, slot_results[: walked.newest])
    outcome.tokenize_ms = (time.perf_counter() - started) * 1000
    return outcome
