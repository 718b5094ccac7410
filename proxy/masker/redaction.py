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
from .tokens.codec import TokenSession
from .tokens.grammar import find_tokens

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
_IDENTIFIER_PARENTS = frozenset({"function", "function_call"})
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass
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

    @property
    def entities_total(self) -> int:
        return sum(self.entities_by_type.values())


class _Collector:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.slots: list[_Slot] = []
        self.json_fixups: list[tuple[MutableMapping[str, Any], str, Any]] = []

    def walk(self, node: Any, role: str, parent_key: str | None = None) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in STRUCTURAL_KEYS and not isinstance(value, dict | list):
                    continue
                if key == "name" and isinstance(value, str) and parent_key in _IDENTIFIER_PARENTS:
                    self.slots.append(_Slot(node, key, value, role, identifier=True))
                elif key == "arguments" and isinstance(value, str):
                    self._arguments(node, key, value, role)
                elif isinstance(value, str):
                    self.slots.append(_Slot(node, key, value, role, identifier=(key == "name")))
                elif isinstance(value, dict | list):
                    self.walk(value, role, key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    self.slots.append(_Slot(node, index, value, role))
                elif isinstance(value, dict | list):
                    self.walk(value, role, parent_key)

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
        self.walk(holder, role, None)
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
) -> str | None:
    if finding.recognizer == "token-shield":  # never subject to policy: see _with_token_shields
        return session.tokenize(finding.entity, value, identifier=identifier)
    action = policy.action_for(finding.entity)
    if action is Action.KEEP:
        return None
    if action is Action.TOKENIZE:
        return session.tokenize(finding.entity, value, identifier=identifier)
    if action is Action.MASK:
        return "***"
    if action is Action.PLACEHOLDER:
        return f"<{LABELS[finding.entity]}>"
    if action is Action.HASH:
        return session.codec.hash_value(value)
    return ""  # DROP


async def redact_request(
    body: dict[str, Any],
    *,
    detector: Detector,
    policy: Policy,
    session: TokenSession,
    fail_mode: str,
    max_messages: int = 1000,
    on_fail_open: Callable[[], None] | None = None,
) -> RedactionOutcome:
    """Mutates and returns ``body`` with PHI replaced. Raises ``NerUnavailable`` or detector errors
    only when the policy is fail-closed; the caller maps them to 503."""
    messages = _validate(body, max_messages)
    for name in policy.strip_fields:
        body.pop(name, None)
    collector = _Collector(policy)
    for message in messages:
        role = message["role"]
        collector.message_content(message, role)
        collector.walk(message, role)
    for key, value in body.items():
        if key in ("messages", "model") or key in STRUCTURAL_KEYS:
            continue
        if isinstance(value, str):
            collector.slots.append(_Slot(body, key, value, "field"))
        elif isinstance(value, dict | list):
            collector.walk(value, "field", key)

    slots = collector.slots
    outcome = RedactionOutcome(body)
    started = time.perf_counter()
    texts = [s.text.replace("_", " ") if s.identifier else s.text for s in slots]
    try:
        result = await detector.detect(texts, policy.detect_options(), roles=[s.role for s in slots])
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
        _with_token_shields(slot.text, found) for slot, found in zip(slots, result.findings, strict=True)
    ]

    started = time.perf_counter()
    for slot, findings in zip(slots, findings_per_slot, strict=True):
        if not findings:
            continue
        text = slot.text
        pieces: list[str] = []
        cursor = 0
        for finding in findings:
            if finding.start < cursor:
                continue  # the detector resolves overlaps; stay safe if one slips through
            value = text[finding.start : finding.end]
            replacement = _replacement(policy, session, finding, value, slot.identifier)
            if replacement is None:
                continue
            outcome.entities_by_type[finding.entity.value] += 1
            pieces.append(text[cursor : finding.start])
            pieces.append(replacement)
            cursor = finding.end
        if cursor:
            pieces.append(text[cursor:])
            slot.container[slot.key] = "".join(pieces)
    for node, key, holder in collector.json_fixups:
        node[key] = json.dumps(holder["v"], ensure_ascii=False)
    outcome.tokenize_ms = (time.perf_counter() - started) * 1000
    return outcome
