"""Voice-platform profiles: what each platform adds to an OpenAI-shaped body, and what to do with it.

Vapi, ElevenLabs, Bolna, LiveKit, Pipecat and a customer's own Retell server (calling through the
OpenAI SDK) all post chat completions, each with its own extras (docs/platforms.md has the table).
For one request this module decides, in one place:

* **which platform sent it** — the agent's ``platform:`` setting, else auto-detection from the body
  and headers (``detect_platform``);
* **the conversation id** — a caller-sent ``X-Masker-Conversation-Id`` (or ``X-Conversation-Id``,
  ``X-Session-Id``, ``X-Call-Id``) first, then the platform's own (Vapi's ``call.id``, Bolna's run
  id, ElevenLabs' conversation or user id, Retell's call id header);
* **the platform's own fields, stripped before the upstream** — hosted APIs refuse unknown
  top-level fields with 400, and these carry the caller's number, the account's Twilio credentials
  and a URL that can make the call speak. Whatever is kept is still scanned by redaction, and keys
  that name secrets are dropped from it at any depth (``_drop_secrets``);
* **the values known to be PHI for this conversation** — the caller's number, ``variableValues``
  such as a patient's name or date of birth — which are tokenized wherever they appear in the
  conversation, cue or no cue, in any case, spacing or digit grouping (``PlatformTurn.known``, given
  to detection as its ``known`` values: ``detect.propagate`` matches them);
* **the logical turn** a request belongs to, so a retry or a barge-in re-post of the same turn is
  audited once (``TurnLedger``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import jsonfast
from .detect.types import Entity
from .errors import ConfigError

_MAX_KNOWN = 64  # values per request; a platform object is small, a hostile one is capped
_MAX_KNOWN_CHARS = 128  # longer values are prose (a patient's context), left to the detector


class Platform(StrEnum):
    GENERIC = "generic"  # a plain OpenAI client
    VAPI = "vapi"
    ELEVENLABS = "elevenlabs"
    RETELL = "retell"  # a customer's Retell server calling through the OpenAI SDK
    BOLNA = "bolna"
    LIVEKIT = "livekit"
    PIPECAT = "pipecat"


# OpenAI's chat-completions request fields: what a strict upstream accepts at the top level.
OPENAI_CHAT_FIELDS = frozenset(
    {
        "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
        "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
        "verbosity", "web_search_options",
    }
)  # fmt: skip

# Keys whose values are credentials or capabilities (Twilio auth token and account SID, Vapi's
# control and listen URLs, API keys): removed from any platform object that is forwarded.
_SECRET_KEY = re.compile(
    r"(auth_?token|account_?sid|secret|password|api_?key|credential|control_?url|listen_?url|"
    r"private_?key|bearer|^token$|access_?token|refresh_?token|signing)",
    re.IGNORECASE,
)


# Fields whose keys are the API's own vocabulary (a tool parameter may well be named "password");
# every other object forwarded is free-form (``metadata``, a kept platform field) and loses secrets.
_PROTOCOL_FIELDS = frozenset(
    {
        "model", "messages", "tools", "functions", "function_call", "tool_choice", "response_format",
        "prediction", "audio", "web_search_options", "stream_options", "logit_bias",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """A platform's defaults. ``strip_unknown``: every top-level field OpenAI does not know is the
    platform's (Vapi's ``destructured`` metadata mode spreads arbitrary keys at the top level)."""

    platform: Platform
    strip: frozenset[str]
    strip_unknown: bool


PROFILES: dict[Platform, Profile] = {
    Platform.GENERIC: Profile(Platform.GENERIC, frozenset(), False),
    Platform.VAPI: Profile(
        Platform.VAPI,
        frozenset({"call", "customer", "phoneNumber", "metadata", "assistant", "timestamp"}),
        True,
    ),
    Platform.ELEVENLABS: Profile(Platform.ELEVENLABS, frozenset({"user_id", "elevenlabs_extra_body"}), True),
    Platform.RETELL: Profile(
        Platform.RETELL, frozenset({"retell_llm_dynamic_variables", "call_details", "metadata"}), True
    ),
    Platform.BOLNA: Profile(Platform.BOLNA, frozenset(), True),
    Platform.LIVEKIT: Profile(Platform.LIVEKIT, frozenset(), True),
    Platform.PIPECAT: Profile(Platform.PIPECAT, frozenset(), True),
}


@dataclass(frozen=True)
class PlatformSetting:
    """An agent's ``platform:`` setting. ``platform`` None = auto-detect; ``strip`` replaces the
    profile's list when given; ``forward`` names fields of it to send on anyway (still scanned)."""

    platform: Platform | None = None
    strip: frozenset[str] | None = None
    forward: frozenset[str] = frozenset()
    strip_unknown: bool | None = None


AUTO = PlatformSetting()


def platform_setting(raw: Any, where: str) -> PlatformSetting:
    """Parse ``platform: vapi`` or ``platform: {name: vapi, strip: [...], forward: [...],
    strip_unknown: true}`` from the agents file."""
    if raw is None or raw == "auto":
        return AUTO
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: platform must be a name or a mapping")
    unknown = set(raw) - {"name", "strip", "forward", "strip_unknown"}
    if unknown:
        raise ConfigError(f"{where}: platform has unknown keys {sorted(unknown)}")
    name = raw.get("name", "auto")
    platform = None
    if name != "auto":
        try:
            platform = Platform(str(name))
        except ValueError:
            raise ConfigError(
                f"{where}: platform must be auto or one of {[p.value for p in Platform]}"
            ) from None

    def names(key: str) -> frozenset[str] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: platform {key} must be a list of field names")
        return frozenset(value)

    strip_unknown = raw.get("strip_unknown")
    if strip_unknown is not None and not isinstance(strip_unknown, bool):
        raise ConfigError(f"{where}: platform strip_unknown must be true or false")
    return PlatformSetting(platform, names("strip"), names("forward") or frozenset(), strip_unknown)


_BOLNA_USER = re.compile(r"^([^#]{1,200})#(\d{1,12})$")


def detect_platform(headers: Mapping[str, str], body: Mapping[str, Any]) -> Platform:
    """Best guess from what the platforms send (docs/reference: voice-platforms). LiveKit and
    Pipecat send only OpenAI fields, so they are recognised by the agent's setting alone."""
    if isinstance(body.get("call"), Mapping) or isinstance(body.get("phoneNumber"), Mapping):
        return Platform.VAPI
    if "elevenlabs_extra_body" in body or "user_id" in body:
        return Platform.ELEVENLABS
    if "x-retell-call-id" in headers or "retell_llm_dynamic_variables" in body:
        return Platform.RETELL
    user = body.get("user")
    if isinstance(user, str) and _BOLNA_USER.match(user):
        return Platform.BOLNA
    return Platform.GENERIC


@dataclass(frozen=True)
class PlatformTurn:
    """What the profile found in one request (the body itself is already stripped)."""

    platform: Platform
    conversation_id: str | None
    known: tuple[tuple[Entity, str], ...]
    turn_key: str  # a digest naming the logical turn; equal for a retry or re-post of it
    stripped: tuple[str, ...]  # field names only, for debugging; never values


def prepare(
    setting: PlatformSetting,
    scope: str,
    headers: Mapping[str, str],
    body: dict[str, Any],
    *,
    api_fields: frozenset[str] = OPENAI_CHAT_FIELDS,
    protocol_fields: frozenset[str] | None = None,
) -> PlatformTurn:
    """Read the platform's fields, then strip them from ``body`` (in place). ``scope`` is the
    agent or tenant id the turn key is bound to; ``api_fields`` are the top-level fields the
    upstream API accepts (chat completions by default), ``protocol_fields`` those of them whose
    keys are the API's vocabulary (kept whole; every other object loses keys naming secrets)."""
    protocol = _PROTOCOL_FIELDS if protocol_fields is None else protocol_fields
    platform = setting.platform or detect_platform(headers, body)
    profile = PROFILES[platform]
    conversation = conversation_id(platform, headers, body)
    known = _known_values(platform, body)
    strip = set(profile.strip if setting.strip is None else setting.strip) - setting.forward
    strip_unknown = profile.strip_unknown if setting.strip_unknown is None else setting.strip_unknown
    if strip_unknown:
        strip |= {k for k in body if k not in api_fields and k not in setting.forward}
    stripped = tuple(sorted(k for k in strip if k in body))
    for name in stripped:
        del body[name]
    for key, value in body.items():
        if key not in protocol and isinstance(value, dict | list):
            _drop_secrets(value)
    return PlatformTurn(
        platform, conversation, known, _turn_key(platform, scope, conversation, body), stripped
    )


CONVERSATION_HEADERS = ("x-masker-conversation-id", "x-conversation-id", "x-session-id", "x-call-id")


def conversation_id(platform: Platform, headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    for name in CONVERSATION_HEADERS:
        value = headers.get(name)
        if value:
            return value[:256]
    return _platform_conversation(platform, headers, body)


def _platform_conversation(
    platform: Platform, headers: Mapping[str, str], body: Mapping[str, Any]
) -> str | None:
    call_id = _get(body, "call", "id")
    if isinstance(call_id, str) and call_id:  # Vapi, and any client sending Vapi's call object
        return call_id[:256]
    if platform is Platform.RETELL:
        header = headers.get("x-retell-call-id")
        if header:
            return header[:256]
    if platform is Platform.BOLNA:
        match = _BOLNA_USER.match(str(body.get("user", "")))
        if match:
            return f"bolna:{match.group(1)}"
    if platform is Platform.ELEVENLABS:
        extra = body.get("elevenlabs_extra_body")
        for holder in (extra if isinstance(extra, Mapping) else {}, body):
            for key in ("conversation_id", "call_id", "user_id"):
                value = holder.get(key)
                if isinstance(value, str) and value:
                    return f"elevenlabs:{value[:200]}"
    return None


def _drop_secrets(node: Any, depth: int = 0) -> None:
    if depth > 32:
        return
    if isinstance(node, dict):
        for key in [k for k in node if isinstance(k, str) and _SECRET_KEY.search(k)]:
            del node[key]
        for value in node.values():
            _drop_secrets(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _drop_secrets(value, depth + 1)


# ---------------------------------------------------------------------------------------------
# Known values


_ENTITY_BY_KEY: tuple[tuple[re.Pattern[str], Entity], ...] = (
    (re.compile(r"e-?mail", re.I), Entity.EMAIL),
    (re.compile(r"dob|birth|date", re.I), Entity.DATE),
    (re.compile(r"phone|number|caller_?id|mobile|cell|from_?number|to_?number", re.I), Entity.PHONE),
    (re.compile(r"ssn|social", re.I), Entity.SSN),
    (re.compile(r"mrn|medical_?record|chart", re.I), Entity.MRN),
    (re.compile(r"address|street", re.I), Entity.ADDRESS),
    (re.compile(r"zip|postal", re.I), Entity.ZIP),
    (re.compile(r"name", re.I), Entity.PERSON),
)
_E164 = re.compile(r"\+\d{8,15}")
_NON_DIGIT = re.compile(r"\D")


# Keys naming the business side of a call (the clinic, the assistant): not the caller's PHI.
_NOT_THE_CALLER = re.compile(r"clinic|practice|org|company|business|office|assistant|agent|bot|brand", re.I)


_UNTYPED = "untyped"  # a key no pattern names: its value counts only with an identifier's digits


@functools.lru_cache(maxsize=4096)  # platforms send the same few keys on every turn
def _entity_for_key(key: str) -> Entity | str | None:
    if _NOT_THE_CALLER.search(key):
        return None
    for pattern, entity in _ENTITY_BY_KEY:
        if pattern.search(key):
            return entity
    return _UNTYPED


def _entity_for(key: str, value: str) -> Entity | None:
    """The entity a platform value is known to be, by its key; None when it is not known PHI. An
    unrecognised key's value counts only if it carries an identifier's digits (a flag such as
    "yes" or "en" would otherwise be hidden all through the conversation)."""
    entity = _entity_for_key(key)
    if entity == _UNTYPED:
        return Entity.ID_NUMBER if len(_NON_DIGIT.sub("", value)) >= 4 else None
    return entity if isinstance(entity, Entity) else None


def _scalars(node: Any, key: str, out: list[tuple[Entity, str]], depth: int = 0) -> None:
    """Every scalar under ``node`` as a known value, typed by the nearest key's name."""
    if depth > 8 or len(out) >= _MAX_KNOWN:
        return
    if isinstance(node, Mapping):
        for k, v in node.items():
            _scalars(v, str(k), out, depth + 1)
    elif isinstance(node, list):
        for v in node:
            _scalars(v, key, out, depth + 1)
    elif isinstance(node, str | int | float) and not isinstance(node, bool):
        text = str(node).strip()
        entity = _entity_for(key, text) if 2 <= len(text) <= _MAX_KNOWN_CHARS else None
        if entity is not None:
            out.append((entity, text))


def _get(node: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _known_values(platform: Platform, body: Mapping[str, Any]) -> tuple[tuple[Entity, str], ...]:
    out: list[tuple[Entity, str]] = []
    if platform is Platform.VAPI:
        paths: tuple[tuple[str, ...], ...] = (("customer",), ("call", "customer"))
        for path in paths:
            _scalars(_get(body, *path), "customer", out)
        paths = (
            ("call", "assistantOverrides", "variableValues"),
            ("assistantOverrides", "variableValues"),
            ("assistant", "variableValues"),
        )
        for path in paths:
            _scalars(_get(body, *path), "value", out)
    elif platform is Platform.ELEVENLABS:
        _scalars(body.get("elevenlabs_extra_body"), "value", out)
        # The caller's id reaches the system prompt as E.164 ({{system__caller_id}}).
        for message in body.get("messages") or []:
            if isinstance(message, Mapping) and message.get("role") == "system":
                content = message.get("content")
                if isinstance(content, str):
                    out.extend((Entity.PHONE, m.group()) for m in _E164.finditer(content))
    elif platform is Platform.RETELL:
        _scalars(body.get("retell_llm_dynamic_variables"), "value", out)
        _scalars(_get(body, "call_details", "call"), "value", out)
    return tuple(dict.fromkeys(out))[:_MAX_KNOWN]


# ---------------------------------------------------------------------------------------------
# Logical turns


def _turn_key(platform: Platform, scope: str, conversation: str | None, body: Mapping[str, Any]) -> str:
    """A logical turn is named by who asks (agent or tenant), the conversation, and what the model
    is asked: the messages, tools and model. Bolna names its turns (``user: run#turn``). A retry
    (ElevenLabs, ≥ 3 times) sends the same body, so it names the same turn; a Vapi re-post after a
    barge-in carries the longer transcript, so it is a new turn, as it is for the model."""
    digest = hashlib.sha256()
    digest.update(f"{scope}\x00{conversation or ''}\x00".encode())
    user = body.get("user")
    match = _BOLNA_USER.match(user) if platform is Platform.BOLNA and isinstance(user, str) else None
    if match:
        digest.update(f"bolna-turn\x00{match.group(2)}".encode())
    else:
        asked = {k: body.get(k) for k in ("model", "messages", "tools", "input", "instructions", "system")}
        # Key order as the caller sent it: a retry resends the same bytes, so the same order.
        digest.update(jsonfast.dumps(asked))
    return digest.hexdigest()


class TurnLedger:
    """Logical turns seen recently in this process, to audit each once. In memory, bounded, with
    a time-to-live longer than any platform's retry window; replicas do not share it."""

    def __init__(
        self, ttl_seconds: float = 300.0, max_turns: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl_seconds
        self.max_turns = max_turns
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def repeat(self, turn_key: str) -> bool:
        """True when this turn was already seen (and so already audited); records it otherwise."""
        now = self.clock()
        while self._seen:
            at = next(iter(self._seen.values()))
            if now - at <= self.ttl and len(self._seen) < self.max_turns:
                break
            self._seen.popitem(last=False)
        if turn_key in self._seen:
            return True
        self._seen[turn_key] = now
        return False

    def once(self, observer: Callable[[Any], None]) -> Callable[[Any], None]:
        """``observer`` (which accounts for a finished ``RequestRecord``), told when a successful
        request repeats a turn already accounted for (``record.repeat``): counted, not audited."""

        def finish(record: Any) -> None:
            if record.turn_key is not None and record.status == 200:
                record.repeat = self.repeat(record.turn_key)
            observer(record)

        return finish
