"""Anthropic Messages API: where text lives in a request, a message and a stream event.

Request: every string value, dictionary key and JSON number at any depth is a text position —
``system`` (a string or text blocks), ``messages`` (string content or blocks: ``text``,
``tool_use`` with its ``input`` object, ``tool_result`` with string or block content, a ``document``
with a plain-text source and a ``search_result`` of text blocks — a PDF or image is a non-text
block for the policy), ``tools``
(``input_schema`` JSON Schema included), ``stop_sequences``, ``metadata`` — except the closed list:
a key spelled like one of ``PROTOCOL_KEYS``; the value of a key in ``ENUMS`` when it is one of that
key's known values; ``true``/``false``/``null``. ``model`` is verbatim (refused if it holds PHI).

Answer: every string and key of a message or error body is rehydrated; block texts and tool inputs
are ``prose``. Stream: a ``content_block_delta`` grows the text of its block — ``text_delta.text``,
``input_json_delta.partial_json`` (JSON, so insertions are escaped), ``thinking_delta.thinking`` —
named by (block index, delta field); ``content_block_stop`` for that index ends it, and a tail held
back then travels in a delta event of its own before the stop.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, cast

from ..errors import BadRequest
from . import Kind, RequestWalker, Slot, Texts, Vocabulary, scannable_parts, walk_all
from .chat import ENUMS as CHAT_ENUMS
from .chat import PROTOCOL_KEYS as CHAT_KEYS

_BLOCK_TYPES = frozenset(
    {
        "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
        "server_tool_use", "web_search_tool_result", "search_result", "base64", "url",
        "text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta",
        "message", "error", "auto", "any", "tool", "none", "enabled", "disabled", "ephemeral",
        "custom", "object", "string", "number", "integer", "boolean", "array", "null",
    }
)  # fmt: skip
ENUMS: dict[str, frozenset[str]] = {
    **CHAT_ENUMS,
    "type": _BLOCK_TYPES,
    "role": frozenset({"user", "assistant"}),
    "stop_reason": frozenset(
        {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
    ),
    "media_type": frozenset(
        {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"}
    ),
}
PROTOCOL_KEYS = CHAT_KEYS | frozenset(
    {
        "system", "max_tokens", "stop_sequences", "top_k", "thinking", "budget_tokens", "input_schema",
        "input", "tool_use_id", "is_error", "source", "media_type", "stop_reason", "stop_sequence",
        "container", "mcp_servers", "disable_parallel_tool_use", "citations", "signature",
        "partial_json", "content_block", "input_tokens", "output_tokens", "cache_creation_input_tokens",
        "cache_read_input_tokens", "service_tier", "user_id",
    }
)  # fmt: skip
VOCABULARY = Vocabulary(
    keys=PROTOCOL_KEYS,
    enums=ENUMS,
    verbatim=frozenset({"model"}),
    skip=frozenset({"messages", "system"}),
    documents=frozenset(),  # tool inputs are objects here, never JSON in a string
)
_TEXT_BLOCKS = frozenset({"text", "tool_use", "tool_result", "thinking", "redacted_thinking"})
_DELTA_FIELDS = {"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}
_CONTAINERS = (dict, list)


def _all_text(blocks: Any) -> bool:
    return isinstance(blocks, str) or (
        isinstance(blocks, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in blocks)
    )


def _text_source(block: dict[str, Any]) -> bool:
    """A block of another type whose payload is nothing but text, walked and scanned like a message:
    a ``document`` with a plain-text source (``{"type": "text", "data": "..."}``) or a source of
    text blocks (``{"type": "content", "content": [...]}``), and a ``search_result`` whose content
    is text blocks. A PDF, an image or a file id is an unscannable attachment for the policy."""
    kind = block.get("type")
    if kind == "search_result":
        return _all_text(block.get("content"))
    if kind != "document":
        return False
    source = block.get("source")
    if not isinstance(source, dict):
        return False
    if source.get("type") == "text":
        return isinstance(source.get("data"), str)
    return source.get("type") == "content" and _all_text(source.get("content"))


def _blocks(message: dict[str, Any], non_text_parts: str, key: str = "content") -> None:
    content = message.get(key)
    if not isinstance(content, list):
        return
    message[key] = kept = scannable_parts(
        content, text=_TEXT_BLOCKS, non_text_parts=non_text_parts, param="messages",
        noun="content block", examples="images, documents", is_text=_text_source,
    )  # fmt: skip
    for block in kept:
        if block.get("type") == "tool_result":
            _blocks(block, non_text_parts)


class Messages:
    name = "messages"

    def request(self, body: dict[str, Any], *, non_text_parts: str, max_messages: int) -> Texts:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("messages: Field required", param="messages", code="invalid_messages")
        if len(messages) > max_messages:
            raise BadRequest("Too many messages in one request.", param="messages", code="too_many_messages")
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            raise BadRequest("Each message must be an object with a 'role'.", param="messages")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest("model: Field required", param="model", code="invalid_model")
        walk = RequestWalker(VOCABULARY)
        slots = walk.slots
        # The system prompt leads the conversation, as a system message leads chat's: the memo's
        # prefix then covers it, and a voice agent's long prompt is detected once per call.
        if "system" in body:
            if isinstance(body["system"], list):
                _blocks(body, non_text_parts, key="system")
            if isinstance(body["system"], str):
                slots.append(Slot(body, "system", body["system"], "system"))
            else:
                walk.walk(body["system"], "system")
        for message in messages:
            walk.out.newest = len(slots)
            _blocks(message, non_text_parts)
            walk.walk(message, message["role"])
        walk.out.conversation = len(slots)
        walk.walk(body, "field", top=True)
        return walk.out

    def answer(self, body: Any, *, want: Callable[[str], bool] | None = None) -> Texts:
        out = Texts(want)
        if isinstance(body, dict):
            self._message(body, out)
        else:
            walk_all(body, out)
        return out

    @staticmethod
    def _message(body: dict[str, Any], out: Texts) -> None:
        """A message: every string and key; its content blocks are the model's prose."""
        for key, value in body.items():
            out.add(body, key, key, Kind.KEY)
            if isinstance(value, str):
                out.add(body, key, value)
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, prose=key == "content")

    def event(
        self, event: dict[str, Any], *, everything: bool = True, want: Callable[[str], bool] | None = None
    ) -> Texts:
        out = Texts(want)
        delta = event.get("delta")
        index = event.get("index")
        grows = (
            event.get("type") == "content_block_delta" and isinstance(delta, dict) and isinstance(index, int)
        )
        for key, value in event.items():
            out.add(event, key, key, Kind.KEY)
            if isinstance(value, str):
                out.add(event, key, value)
            elif grows and key == "delta":
                assert isinstance(delta, dict)
                field = _DELTA_FIELDS.get(str(delta.get("type")))
                for dkey, dvalue in delta.items():
                    out.add(delta, dkey, dkey, Kind.KEY)
                    if isinstance(dvalue, str):
                        stream = (index, dkey) if dkey == field else None
                        out.add(delta, dkey, dvalue, json=dkey == "partial_json", stream=stream, prose=True)
                    elif isinstance(dvalue, _CONTAINERS):
                        walk_all(dvalue, out)
            elif key == "message" and isinstance(value, dict):
                self._message(value, out)  # as a whole answer: only its content is prose
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, prose=key == "content_block")
        if not everything:  # only a token split across events can concern this event
            out.slots = [s for s in out.slots if s.stream is not None]
        return out

    def ended(self, event: dict[str, Any]) -> Callable[[Hashable], bool] | None:
        kind = event.get("type")
        if kind == "message_stop":
            return lambda stream: True
        if kind == "content_block_stop":
            index = event.get("index")
            return lambda stream: cast(tuple[int, str], stream)[0] == index
        return None

    def put_tail(self, event: dict[str, Any], stream: Hashable, tail: str) -> None:
        index, field = cast(tuple[int, str], stream)
        delta = event.get("delta")
        if (
            event.get("type") == "content_block_delta"
            and event.get("index") == index
            and isinstance(delta, dict)
        ):
            delta[field] = str(delta.get(field, "")) + tail

    def is_empty(self, event: dict[str, Any]) -> bool:
        delta = event.get("delta")
        if event.get("type") != "content_block_delta" or not isinstance(delta, dict):
            return False
        field = _DELTA_FIELDS.get(str(delta.get("type")))
        return field is not None and delta.get(field) == ""

    def tail_event(self, template: dict[str, Any], streams: list[Hashable]) -> dict[str, Any]:
        index, field = cast(tuple[int, str], streams[0])
        kind = {v: k for k, v in _DELTA_FIELDS.items()}[field]
        return {"type": "content_block_delta", "index": index, "delta": {"type": kind, field: ""}}


MESSAGES = Messages()

__all__ = ["ENUMS", "MESSAGES", "PROTOCOL_KEYS", "VOCABULARY", "Messages"]
