"""Request redaction: find every string the upstream would see, detect PHI, apply the policy.

Everything in the body is scanned — messages of all roles, content parts, tool-call arguments in
history (parsed as JSON so replacements stay valid JSON), tool names and descriptions, and any
field the caller's platform added (voice platforms send call and customer objects) — except a
short list of structural keys whose values are protocol vocabulary, not user text.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, MutableMapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any

from .detect.types import LABELS, Detector, Entity, Finding, NerUnavailable
from .errors import BadRequest, Unprocessable
from .policy import Action, Policy
from .redaction_memo import UNCHANGED, Prefixes, PrefixMemo, SlotResult, signatures
from .tokens.codec import TokenSession
from .tokens.grammar import find_tokens, format_token

# Keys whose string values are protocol vocabulary or opaque ids the upstream needs verbatim.
STRUCTURAL_KEYS = frozenset(
    {
        "role",
        "type",
        "model",
        "id",
        "tool_call_id",
        "object",
        "finish_reason",
        "detail",
        "format",
        "voice",
        "reasoning_effort",
        "service_tier",
        "modalities",
        "stop",
        "logit_bias",
        "encoding_format",
        "response_format",
        "$schema",
        "$ref",
        "pattern",
        "additionalProperties",
        "required",
    }
)
_CONTAINERS = (dict, list)
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass(slots=True)
class _Slot:
    container: MutableMapping[str, Any] | MutableSequence[Any]
    key: Any
    text: str
    role: str
    identifier: bool = False


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


class _Collector:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.slots: list[_Slot] = []
        self.json_fixups: list[tuple[MutableMapping[str, Any], str, Any]] = []

    def walk(self, node: Any, role: str) -> None:
        # Strings first: nearly every value is one. Every ``name`` is an identifier (function, tool
        # and participant names alike).
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str):
                    if key in STRUCTURAL_KEYS:
                        continue
                    if key == "arguments":
                        self._arguments(node, key, value, role)
                    else:
                        self.slots.append(_Slot(node, key, value, role, key == "name"))
                elif isinstance(value, _CONTAINERS):
                    self.walk(value, role)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    self.slots.append(_Slot(node, index, value, role))
                elif isinstance(value, _CONTAINERS):
                    self.walk(value, role)

    def _arguments(self, node: dict[str, Any], key: str, value: str, role: str) -> None:
        try:
            parsed = json.loads(value)
        except ValueError:
            self.slots.append(_Slot(node, key, value, role))
            return
        if isinstance(parsed, str):
            self.slots.append(_Slot(node, key, value, role))
            return
        holder = {"v": parsed}
        self.walk(holder, role)
        self.json_fixups.append((node, key, holder))

    def message_content(self, message: dict[str, Any], role: str) -> None:
        content = message.get("content")
        if isinstance(content, list):
            kept: list[Any] = []
            for part in content:
                if not isinstance(part, dict):
                    raise BadRequest("Each content part must be an object.", param="messages")
                kind = part.get("type")
                if kind in _TEXT_PART_TYPES:
                    kept.append(part)
                    continue
                if self.policy.non_text_parts == "reject":
                    raise Unprocessable(
                        "Non-text content parts (images, audio, files) cannot be scanned for PHI; "
                        "this policy rejects them.",
                        code="unsupported_content",
                        param="messages",
                    )
                if self.policy.non_text_parts == "forward":
                    kept.append(part)
            message["content"] = kept


def _validate(body: dict[str, Any], max_messages: int) -> list[Any]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty array.", param="messages", code="invalid_messages")
    if len(messages) > max_messages:
        raise BadRequest("Too many messages in one request.", param="messages", code="too_many_messages")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(
                "Each message must be an object with a 'role'.", param="messages", code="invalid_messages"
            )
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise BadRequest("'model' is required.", param="model", code="invalid_model")
    return messages


def _with_token_shields(text: str, findings: list[Finding]) -> list[Finding]:
    """Token-shaped text in the caller's own input is itself tokenized (as ``ID_NUMBER``).

    Legitimate callers never send tokens (they only ever see restored values), so one here is
    either an echo or an attempt to make the proxy resolve a token from another conversation.
    Wrapping it means rehydration gives back exactly the text the caller sent, never the value
    behind it.
    """
    if "mskv" not in text.lower():
        return findings
    shields = [Finding(m.start, m.end, Entity.ID_NUMBER, 1.0, "token-shield") for m in find_tokens(text)]
    if not shields:
        return findings
    kept = [f for f in findings if not any(f.start < s.end and s.start < f.end for s in shields)]
    return sorted([*kept, *shields], key=lambda f: f.start)


def _replacement(
    policy: Policy, session: TokenSession, finding: Finding, value: str, identifier: bool
) -> tuple[str | None, str | None]:
    """(replacement text or None to keep the value, token body when it is a token)."""
    # A token shield is never subject to policy: see _with_token_shields.
    action = Action.TOKENIZE if finding.recognizer == "token-shield" else policy.action_for(finding.entity)
    if action is Action.TOKENIZE:
        body = session.token_body(finding.entity, value)
        return format_token(LABELS[finding.entity], body, identifier=identifier), body
    if action is Action.KEEP:
        return None, None
    if action is Action.MASK:
        return "***", None
    if action is Action.PLACEHOLDER:
        return f"<{LABELS[finding.entity]}>", None
    if action is Action.HASH:
        return session.codec.hash_value(value), None
    return "", None  # DROP


def _redact_slot(policy: Policy, session: TokenSession, slot: _Slot, findings: list[Finding]) -> SlotResult:
    if not findings:
        return UNCHANGED
    text = slot.text
    pieces: list[str] = []
    tokens: list[tuple[int, int, Entity, str]] = []
    entities: list[str] = []
    cursor = 0
    for finding in findings:
        if finding.start < cursor:
            continue  # the detector resolves overlaps; stay safe if one slips through
        value = text[finding.start : finding.end]
        replacement, body = _replacement(policy, session, finding, value, slot.identifier)
        if replacement is None:
            continue
        entities.append(finding.entity.value)
        if body is not None:
            tokens.append((finding.start, finding.end, finding.entity, body))
        pieces.append(text[cursor : finding.start])
        pieces.append(replacement)
        cursor = finding.end
    if not entities:
        return UNCHANGED
    pieces.append(text[cursor:])
    return SlotResult("".join(pieces), tuple(tokens), tuple(entities))


def _apply(slot: _Slot, result: SlotResult, entities: list[str]) -> None:
    """Put a slot's redacted text in place and add its entity types to ``entities``."""
    if result.text is None:
        return
    entities.extend(result.entities)
    slot.container[slot.key] = result.text


def _adoption(
    session: TokenSession, slots: list[_Slot], results: tuple[SlotResult, ...]
) -> Callable[[], None] | None:
    """Issuing, in ``session``, the tokens of results taken from the memo (a fresh result issued
    its own while it was made); None when they hold none."""
    pending = [
        (slot.text, result.tokens) for slot, result in zip(slots, results, strict=True) if result.tokens
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
    texts: list[str], findings: list[list[Finding]], replayed: list[_Slot], results: tuple[SlotResult, ...]
) -> bool:
    """Whether the replayed turns and the new texts disagree about a value: one found now (or found
    now as another type) stands in a replayed turn, or one the replayed turns replaced stands in a
    new text without being found there. Either way the memo would send an occurrence raw."""
    seeds = {
        (entity, slot.text[start:end].lower())
        for slot, result in zip(replayed, results, strict=True)
        for start, end, entity, _ in result.tokens
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
        spans = [(start, end) for start, end, _, _ in result.tokens]
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
    """Whether one of ``values`` occurs in ``low`` outside every one of ``spans``."""
    for value in values:
        pos = low.find(value)
        while pos >= 0:
            end = pos + len(value)
            if not any(s <= pos and end <= e for s, e in spans):
                return True
            pos = low.find(value, pos + len(value))
    return False


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
) -> RedactionOutcome:
    """Mutates and returns ``body`` with PHI replaced. Raises ``NerUnavailable`` or detector errors
    only when the policy is fail-closed; the caller maps them to 503. With ``memo``, the leading
    texts redacted on an earlier turn of the same conversation are not detected again."""
    messages = _validate(body, max_messages)
    for name in policy.strip_fields:
        body.pop(name, None)
    collector = _Collector(policy)
    newest = 0  # where the last message's texts start
    for message in messages:
        newest = len(collector.slots)
        role = message["role"]
        collector.message_content(message, role)
        collector.walk(message, role)
    conversation = len(collector.slots)  # the messages' texts; other body fields come after them
    for key, value in body.items():
        if key in ("messages", "model") or key in STRUCTURAL_KEYS:
            continue
        if isinstance(value, str):
            collector.slots.append(_Slot(body, key, value, "field"))
        elif isinstance(value, _CONTAINERS):
            collector.walk(value, "field")

    slots = collector.slots
    outcome = RedactionOutcome(body)
    started = time.perf_counter()
    options = policy.detect_options()
    roles = [s.role for s in slots]
    known: tuple[SlotResult, ...] = ()
    if memo is not None and conversation:
        prefixes = Prefixes(
            f"{session.codec.mode}:{session.codec.keyring.current.kid}:{session.scope_id}",
            signatures(session.scope_id, [(s.role, s.identifier, s.text) for s in slots[:conversation]]),
            roles,
            policy,
            options,
        )
        known = memo.longest(prefixes)
    fresh = slots[len(known) :]
    texts = [s.text.replace("_", " ") if s.identifier else s.text for s in fresh]
    try:
        result = await detector.detect(texts, options, roles=roles[len(known) :])
        if known and _memo_stale(texts, result.findings, slots[: len(known)], known):
            # A value occurs both in a replayed turn and in a new text, where the two readings
            # disagree: detect the whole request, so that every occurrence is replaced alike.
            known, fresh = (), slots
            texts = [s.text.replace("_", " ") if s.identifier else s.text for s in fresh]
            result = await detector.detect(texts, options, roles=roles)
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
        _redact_slot(policy, session, slot, found)
        for slot, found in zip(fresh, findings_per_slot, strict=True)
    ]
    entities: list[str] = []  # counted once: a Counter update per slot costs ~0.6 us
    for slot, slot_result in zip(slots[: len(known)], known, strict=True):
        _apply(slot, slot_result, entities)
    outcome.settle = _adoption(session, slots[: len(known)], known)
    for slot, slot_result in zip(fresh, results, strict=True):
        _apply(slot, slot_result, entities)
    outcome.entities_by_type.update(entities)
    if memo is not None and conversation and not result.degraded:
        # Two prefixes: the whole conversation (the next turn extends it) and all but its newest
        # message (the next request may replace that one: a caller's barge-in, a retried turn).
        slot_results = (*known, *results[: conversation - len(known)])
        memo.remember(prefixes, slot_results)
        memo.remember(prefixes, slot_results[:newest])
    for node, key, holder in collector.json_fixups:
        node[key] = json.dumps(holder["v"], ensure_ascii=False)
    outcome.tokenize_ms = (time.perf_counter() - started) * 1000
    return outcome
