"""OpenAI chat completions: where text lives in a request, a completion and a stream chunk.

Request: every string value, every dictionary key and every JSON number at any depth is a text
position, in messages, tools, ``response_format`` (JSON-schema descriptions, patterns, ``$ref``),
``stop``, ``logit_bias``, ``metadata`` and any field a platform adds. Tool-call ``arguments`` are
parsed as JSON and walked the same way (keys and numbers included), then re-serialised.

Not text — the closed list, each checked by value, anywhere in the body:

* a key spelled exactly like one of ``PROTOCOL_KEYS`` (the field names of the OpenAI API and of
  JSON Schema): a fixed word carries no caller data;
* the value of a key in ``ENUMS`` (``role``, ``type``, ``finish_reason``, ``format``, ``detail``,
  ``modalities``...) when it is one of that key's known values; any other value there is text;
* a ``logit_bias`` key that is a decimal token id (1-6 digits): tokenizer vocabulary. Its values
  (the biases) are numbers and scanned like any number;
* ``true``, ``false`` and ``null``.

``model`` is scanned like everything else but is *verbatim*: the upstream routes on it, so it
cannot be rewritten; a model name in which the detector finds PHI is refused (400), never forwarded.

Answer: every string and key (a key spelled like a ``PROTOCOL_KEYS`` field name is a fixed word and
cannot hold a token) of a completion, an error body or a stream event is rehydrated; the
model's own texts (what is under ``choices[].message`` or ``choices[].delta``, protocol fields
aside) are also ``prose`` for response scanning. In a stream, each string under a choice's
``delta`` continues across events: its stream key is (choice index, path), where a list item is
named by its ``index`` field when it has one (tool calls, reasoning details) and by position
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, cast

from ..errors import BadRequest
from . import Kind, RequestWalker, Texts, Vocabulary, scannable_parts, walk_all

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_PART_TYPES = frozenset(
    {"text", "image_url", "input_audio", "file", "refusal", "input_text", "output_text", "audio"}
)
_FORMATS = frozenset(
    {
        # audio formats
        "wav", "mp3", "flac", "opus", "pcm16", "aac", "aiff",
        # JSON Schema string formats
        "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
        "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
        "json-pointer", "relative-json-pointer", "regex", "int32", "int64", "float", "double",
        "byte", "binary", "password",
    }
)  # fmt: skip
ENUMS: dict[str, frozenset[str]] = {
    "role": ROLES,
    "type": _PART_TYPES
    | _SCHEMA_TYPES
    | {"function", "json_schema", "json_object", "custom", "grammar", "content", "ephemeral"}
    | {"reasoning.text", "reasoning.summary", "reasoning.encrypted", "url_citation", "allowed_tools"},
    "object": frozenset({"chat.completion", "chat.completion.chunk", "list", "error"}),
    "finish_reason": frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"}),
    "detail": frozenset({"auto", "low", "high"}),
    "format": _FORMATS,
    "voice": frozenset(
        {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"}
    ),
    "reasoning_effort": frozenset({"none", "minimal", "low", "medium", "high"}),
    "verbosity": frozenset({"low", "medium", "high"}),
    "service_tier": frozenset({"auto", "default", "flex", "scale", "priority"}),
    "modalities": frozenset({"text", "audio"}),
    "encoding_format": frozenset({"float", "base64"}),
    "tool_choice": frozenset({"none", "auto", "required"}),
    "function_call": frozenset({"none", "auto"}),
    "search_context_size": frozenset({"low", "medium", "high"}),
    "mode": frozenset({"auto", "required"}),
}
PROTOCOL_KEYS = frozenset(
    {
        # request
        "messages", "model", "role", "content", "name", "tool_calls", "tool_call_id", "function",
        "arguments", "type", "text", "image_url", "url", "detail", "input_audio", "data", "format",
        "file", "file_id", "filename", "file_data", "refusal", "audio", "id", "tools", "tool_choice",
        "parallel_tool_calls", "description", "parameters", "strict", "stream", "stream_options",
        "include_usage", "include_obfuscation", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
        "top_logprobs", "user", "seed", "response_format", "json_schema", "schema", "modalities",
        "voice", "prediction", "reasoning_effort", "verbosity", "service_tier", "store",
        "metadata", "web_search_options", "search_context_size", "user_location", "approximate",
        "city", "country", "region", "timezone", "functions", "function_call", "cache_control",
        "prompt_cache_key", "safety_identifier", "custom", "grammar", "definition", "syntax",
        "allowed_tools", "mode", "reasoning",
        # JSON Schema
        "properties", "required", "items", "enum", "additionalProperties", "$schema", "$ref",
        "$defs", "definitions", "$id", "$comment", "anyOf", "oneOf", "allOf", "not", "const",
        "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "title",
        "examples", "nullable", "patternProperties", "prefixItems", "contains", "minProperties",
        "maxProperties", "propertyNames", "dependentRequired", "if", "then", "else",
        # answers
        "choices", "index", "message", "delta", "finish_reason", "object", "created", "usage",
        "prompt_tokens", "completion_tokens", "total_tokens", "system_fingerprint",
        "reasoning_content", "reasoning_details", "transcript", "expires_at", "annotations",
        "token", "bytes", "error", "code", "param", "obfuscation",
        "prompt_tokens_details", "completion_tokens_details", "cached_tokens", "audio_tokens",
        "reasoning_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens",
        "url_citation", "start_index", "end_index", "summary", "signature", "encrypted",
    }
)  # fmt: skip
VOCABULARY = Vocabulary(
    keys=PROTOCOL_KEYS,
    enums=ENUMS,
    id_keyed=frozenset({"logit_bias"}),
    verbatim=frozenset({"model"}),
    skip=frozenset({"messages"}),
)
_CONTAINERS = (dict, list)
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
# Protocol fields of a choice's message/delta: rehydrated, never response-scanned as prose.
_ANSWER_PROTOCOL = frozenset({"role", "id", "type", "index", "finish_reason", "logprobs"})
# Not the model's prose either (never response-scanned): payloads and opaque values.
_NOT_PROSE = _ANSWER_PROTOCOL | {"data", "signature", "encrypted", "format", "url", "expires_at"}


@dataclass(frozen=True, slots=True)
class Item:
    """A list item in a stream path: named by its ``index`` field, or by its position."""

    index: int
    by_field: bool


def _content_parts(message: dict[str, Any], non_text_parts: str) -> None:
    content = message.get("content")
    if isinstance(content, list):
        message["content"] = scannable_parts(
            content, text=_TEXT_PART_TYPES, non_text_parts=non_text_parts, param="messages",
            noun="content part", examples="images, audio, files",
        )  # fmt: skip


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


def _path_step(node: list[Any], position: int) -> Item:
    item = node[position]
    if isinstance(item, dict):
        index = item.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            return Item(index, True)
    return Item(position, False)


def _walk_delta(
    node: Any, out: Texts, choice: int, path: tuple[Hashable, ...], *, prose: bool, everything: bool
) -> None:
    """A delta's strings, each growing one with its stream key (choice, path); the others (keys,
    ids, types, names: whole in one event) only with ``everything``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if everything and key not in PROTOCOL_KEYS:
                out.add(node, key, key, Kind.KEY)
            if isinstance(value, str):
                if key in _ANSWER_PROTOCOL or key == "name":
                    if everything:
                        out.add(node, key, value)
                    continue
                here = (choice, (*path, key))
                text_prose = prose and key not in _NOT_PROSE
                out.add(node, key, value, json=key == "arguments", stream=here, prose=text_prose)
            elif isinstance(value, _CONTAINERS):
                inner = prose and key not in _ANSWER_PROTOCOL
                _walk_delta(value, out, choice, (*path, key), prose=inner, everything=everything)
    elif isinstance(node, list):
        for position, value in enumerate(node):
            step = (*path, _path_step(node, position))
            if isinstance(value, str):
                out.add(node, position, value, stream=(choice, step), prose=prose)
            elif isinstance(value, _CONTAINERS):
                _walk_delta(value, out, choice, step, prose=prose, everything=everything)


def _walk_message(node: Any, out: Texts) -> None:
    """A whole message: every string and key; the model's own texts are prose."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in PROTOCOL_KEYS:
                out.add(node, key, key, Kind.KEY)
            if isinstance(value, str):
                out.add(node, key, value, json=key == "arguments", prose=key not in _NOT_PROSE)
            elif isinstance(value, _CONTAINERS):
                if key in _ANSWER_PROTOCOL:
                    walk_all(value, out, keys=PROTOCOL_KEYS)
                else:
                    _walk_message(value, out)
    elif isinstance(node, list):
        for position, value in enumerate(node):
            if isinstance(value, str):
                out.add(node, position, value, prose=True)
            elif isinstance(value, _CONTAINERS):
                _walk_message(value, out)


class ChatCompletions:
    name = "chat.completions"

    def request(self, body: dict[str, Any], *, non_text_parts: str, max_messages: int) -> Texts:
        messages = _validate(body, max_messages)
        walk = RequestWalker(VOCABULARY)
        for message in messages:
            walk.out.newest = len(walk.slots)
            _content_parts(message, non_text_parts)
            walk.walk(message, message["role"])
        walk.out.conversation = len(walk.slots)  # the messages' texts; other fields come after them
        walk.walk(body, "field", top=True)
        return walk.out

    def answer(self, body: Any, *, want: Callable[[str], bool] | None = None) -> Texts:
        out = Texts(want)
        if not isinstance(body, dict):
            walk_all(body, out, keys=PROTOCOL_KEYS)
            return out
        for key, value in body.items():
            if key not in PROTOCOL_KEYS:
                out.add(body, key, key, Kind.KEY)
            if isinstance(value, str):
                out.add(body, key, value)
            elif key == "choices" and isinstance(value, list):
                for choice in value:
                    if not isinstance(choice, dict):
                        walk_all(choice, out, keys=PROTOCOL_KEYS)
                        continue
                    for ckey, cvalue in choice.items():
                        if ckey not in PROTOCOL_KEYS:
                            out.add(choice, ckey, ckey, Kind.KEY)
                        if isinstance(cvalue, str):
                            out.add(choice, ckey, cvalue)
                        elif ckey == "message":
                            _walk_message(cvalue, out)
                        elif isinstance(cvalue, _CONTAINERS):
                            walk_all(cvalue, out, keys=PROTOCOL_KEYS)
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, keys=PROTOCOL_KEYS)
        return out

    def event(
        self, event: dict[str, Any], *, everything: bool = True, want: Callable[[str], bool] | None = None
    ) -> Texts:
        out = Texts(want)
        if not everything:  # the growing texts only: what most events of a stream need
            choices = event.get("choices")
            if isinstance(choices, list):
                for position, choice in enumerate(choices):
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict) and delta:
                        index = _choice_index(choice, position)
                        _walk_delta(delta, out, index, (), prose=True, everything=False)
            return out
        for key, value in event.items():
            if key not in PROTOCOL_KEYS:
                out.add(event, key, key, Kind.KEY)
            if key == "choices" and isinstance(value, list):
                for position, choice in enumerate(value):
                    if not isinstance(choice, dict):
                        walk_all(choice, out, keys=PROTOCOL_KEYS)
                        continue
                    for ckey, cvalue in choice.items():
                        if ckey not in PROTOCOL_KEYS:
                            out.add(choice, ckey, ckey, Kind.KEY)
                        if isinstance(cvalue, str):
                            out.add(choice, ckey, cvalue)
                        elif ckey == "delta" and isinstance(cvalue, dict):
                            index = _choice_index(choice, position)
                            _walk_delta(cvalue, out, index, (), prose=True, everything=True)
                        elif isinstance(cvalue, _CONTAINERS):
                            walk_all(cvalue, out, keys=PROTOCOL_KEYS)
            elif isinstance(value, str):
                out.add(event, key, value)
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, keys=PROTOCOL_KEYS)
        return out

    def ended(self, event: dict[str, Any]) -> Callable[[Hashable], bool] | None:
        choices = event.get("choices")
        if not isinstance(choices, list):
            return None
        finished: set[int] = set()
        for position, item in enumerate(choices):
            if isinstance(item, dict) and item.get("finish_reason") is not None:
                finished.add(_choice_index(item, position))
        if not finished:
            return None
        return lambda stream: cast(tuple[int, tuple[Hashable, ...]], stream)[0] in finished

    def put_tail(self, event: dict[str, Any], stream: Hashable, tail: str) -> None:
        choice, path = cast(tuple[int, tuple[Hashable, ...]], stream)
        for position, item in enumerate(_choices(event)):
            if _choice_index(item, position) == choice:
                delta = item.get("delta")
                if not isinstance(delta, dict):
                    delta = item["delta"] = {}
                _append_at(delta, path, tail)
                return

    def is_empty(self, event: dict[str, Any]) -> bool:
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices:
            return False
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("finish_reason") is not None:
                return False
            delta = choice.get("delta")
            if not isinstance(delta, dict) or not all(v == "" for v in delta.values()):
                return False
        return True

    def tail_event(self, template: dict[str, Any], streams: list[Hashable]) -> dict[str, Any]:
        indices = sorted({cast(tuple[int, tuple[Hashable, ...]], s)[0] for s in streams})
        return {
            **template,
            "object": "chat.completion.chunk",
            "choices": [{"index": i, "delta": {}, "finish_reason": None} for i in indices],
        }


def _choices(event: dict[str, Any]) -> list[dict[str, Any]]:
    choices = event.get("choices")
    if not isinstance(choices, list):
        return []
    return [c for c in choices if isinstance(c, dict)]


def _choice_index(choice: dict[str, Any], position: int) -> int:
    index = choice.get("index", position)
    return index if isinstance(index, int) and not isinstance(index, bool) else position


def _append_at(node: dict[str, Any], path: tuple[Hashable, ...], tail: str) -> None:
    """Append ``tail`` at ``path`` under ``node``, creating what is missing."""
    here: Any = node
    for step, following in zip(path, (*path[1:], None), strict=True):
        if isinstance(step, Item):
            if not isinstance(here, list):
                return
            found = None
            for position, item in enumerate(here):
                if step.by_field and isinstance(item, dict) and item.get("index") == step.index:
                    found = position
                    break
            if following is None:
                here.append(tail)
                return
            if found is None:
                here.append({"index": step.index} if step.by_field else {})
                found = len(here) - 1
            here = here[found]
        else:
            if not isinstance(here, dict):
                return
            if following is None:
                existing = here.get(step)
                here[step] = (existing if isinstance(existing, str) else "") + tail
                return
            if not isinstance(here.get(step), (dict, list)):
                here[step] = [] if isinstance(following, Item) else {}
            here = here[step]


CHAT = ChatCompletions()

__all__ = ["CHAT", "ENUMS", "PROTOCOL_KEYS", "ROLES", "ChatCompletions", "Item"]
