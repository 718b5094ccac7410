"""OpenAI Responses API: where text lives in a request, a response object and a stream event.

Request: every string value, dictionary key and JSON number at any depth is a text position —
``input`` (a string, or items: messages with string or part content, ``function_call`` with its
JSON ``arguments`` walked as JSON, ``function_call_output``), ``instructions``, ``tools`` (JSON
Schema included), ``text.format`` schemas, ``metadata`` and anything else — except the closed list
below. ``model`` and ``previous_response_id`` are *verbatim*: the upstream routes on them; PHI
found there is refused, never forwarded.

Not text (each checked by value, anywhere in the body): a key spelled like one of
``PROTOCOL_KEYS`` (the Responses API's and JSON Schema's field names, chat's included); the value of
a key in ``ENUMS`` when it is one of that key's known values; ``true``/``false``/``null``.

Answer: every string and key of a response object or error body is rehydrated; texts under
``output`` (message text, function-call arguments, refusals, reasoning summaries) are ``prose``.
Stream: each ``*.delta`` event's ``delta`` grows a text named by (event kind, ``output_index``,
``content_index`` or ``summary_index``); the matching ``*.done`` event ends it and carries the whole
text, which is rehydrated at once. A tail held back when the text ends travels in a delta event of
its own (``tail_event``), sent before the ``done`` event.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, cast

from ..errors import BadRequest
from . import Kind, RequestWalker, Slot, Texts, Vocabulary, scannable_parts, walk_all
from .chat import ENUMS as CHAT_ENUMS
from .chat import PROTOCOL_KEYS as CHAT_KEYS

_ITEM_TYPES = frozenset(
    {
        "message", "input_text", "output_text", "input_image", "input_file", "input_audio",
        "function_call", "function_call_output", "reasoning", "summary_text", "reasoning_text",
        "refusal", "file_search_call", "web_search_call", "computer_call", "computer_call_output",
        "custom_tool_call", "custom_tool_call_output", "item_reference", "web_search",
        "web_search_preview", "file_search", "image_generation", "code_interpreter", "mcp",
        "local_shell", "text", "json_schema", "json_object", "function", "custom",
    }
)  # fmt: skip
ENUMS: dict[str, frozenset[str]] = {
    **CHAT_ENUMS,
    "type": CHAT_ENUMS["type"] | _ITEM_TYPES,
    "role": CHAT_ENUMS["role"],
    "status": frozenset({"completed", "in_progress", "incomplete", "failed", "queued", "cancelled"}),
    "object": frozenset({"response", "list", "error"}),
    "truncation": frozenset({"auto", "disabled"}),
    "effort": frozenset({"none", "minimal", "low", "medium", "high"}),
    "summary": frozenset({"auto", "concise", "detailed"}),
    "include": frozenset(
        {
            "reasoning.encrypted_content",
            "message.output_text.logprobs",
            "file_search_call.results",
            "web_search_call.results",
            "web_search_call.action.sources",
            "message.input_image.image_url",
            "computer_call_output.output.image_url",
            "code_interpreter_call.outputs",
        }
    ),
}
PROTOCOL_KEYS = CHAT_KEYS | frozenset(
    {
        "input", "instructions", "previous_response_id", "call_id", "output", "max_output_tokens",
        "max_tool_calls", "truncation", "include", "background", "conversation", "prompt", "status",
        "effort", "summary", "encrypted_content", "output_index", "content_index", "item_id",
        "summary_index", "sequence_number", "item", "part", "response", "created_at", "input_tokens",
        "output_tokens", "input_tokens_details", "output_tokens_details", "incomplete_details",
        "output_text", "logprobs", "verbosity", "top_logprobs", "variables", "version",
    }
)  # fmt: skip
VOCABULARY = Vocabulary(
    keys=PROTOCOL_KEYS,
    enums=ENUMS,
    verbatim=frozenset({"model", "previous_response_id"}),
    skip=frozenset({"input", "instructions"}),
)
_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text", "refusal"})
_CONTAINERS = (dict, list)


def _parts(item: dict[str, Any], non_text_parts: str) -> None:
    content = item.get("content")
    if isinstance(content, list):
        item["content"] = scannable_parts(
            content, text=_TEXT_PARTS, non_text_parts=non_text_parts, param="input",
            noun="content part", examples="images, audio, files",
        )  # fmt: skip


def _item_role(item: dict[str, Any]) -> str:
    role = item.get("role")
    if isinstance(role, str) and role in ENUMS["role"]:
        return role
    if item.get("type") in ("function_call_output", "custom_tool_call_output"):
        return "tool"
    return "assistant" if item.get("type") in ("function_call", "reasoning") else "user"


def _event_stream(event: dict[str, Any]) -> tuple[str, int, int] | None:
    """The growing text a delta or done event belongs to: (kind, output index, part index)."""
    kind = event.get("type")
    if not isinstance(kind, str) or not kind.startswith("response."):
        return None
    base, _, phase = kind.rpartition(".")
    if phase not in ("delta", "done") or base in ("response.output_item", "response.content_part"):
        return None
    output = event.get("output_index", 0)
    part = event.get("content_index", event.get("summary_index", 0))
    if not isinstance(output, int) or not isinstance(part, int):
        return None
    return base, output, part


class Responses:
    name = "responses"

    def request(self, body: dict[str, Any], *, non_text_parts: str, max_messages: int) -> Texts:
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise BadRequest("'model' is required.", param="model", code="invalid_model")
        items = body.get("input")
        if items is not None and not isinstance(items, str | list):
            raise BadRequest("'input' must be a string or an array of items.", param="input")
        if isinstance(items, list):
            if len(items) > max_messages:
                raise BadRequest(
                    "Too many input items in one request.", param="input", code="too_many_messages"
                )
            if not all(isinstance(item, dict) for item in items):
                raise BadRequest("Each input item must be an object.", param="input")
        walk = RequestWalker(VOCABULARY)
        slots = walk.slots
        # The instructions lead the conversation, as a system message leads chat's: the memo's
        # prefix then covers them, and a voice agent's long prompt is detected once per call.
        instructions = body.get("instructions")
        if isinstance(instructions, str):
            slots.append(Slot(body, "instructions", instructions, "system"))
        elif instructions is not None:
            walk.walk(instructions, "system")
        if isinstance(items, str):
            walk.out.newest = len(slots)
            slots.append(Slot(body, "input", items, "user"))
        elif isinstance(items, list):
            for item in items:
                walk.out.newest = len(slots)
                _parts(item, non_text_parts)
                walk.walk(item, _item_role(item))
        walk.out.conversation = len(slots)
        walk.walk(body, "field", top=True)
        return walk.out

    def answer(self, body: Any, *, want: Callable[[str], bool] | None = None) -> Texts:
        out = Texts(want)
        if isinstance(body, dict):
            self._response(body, out)
        else:
            walk_all(body, out)
        return out

    @staticmethod
    def _response(body: dict[str, Any], out: Texts) -> None:
        """A response object: every string and key; the model's own texts (under ``output``) prose."""
        for key, value in body.items():
            out.add(body, key, key, Kind.KEY)
            if isinstance(value, str):
                out.add(body, key, value, prose=key == "output_text")
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, prose=key == "output")

    def event(
        self, event: dict[str, Any], *, everything: bool = True, want: Callable[[str], bool] | None = None
    ) -> Texts:
        stream = _event_stream(event)
        growing = stream is not None and str(event.get("type", "")).endswith(".delta")
        out = Texts(want)
        for key, value in event.items():
            out.add(event, key, key, Kind.KEY)
            if isinstance(value, str):
                grows = growing and key == "delta"
                is_args = (
                    stream is not None and stream[0].endswith("arguments") and key in ("delta", "arguments")
                )
                out.add(
                    event,
                    key,
                    value,
                    json=is_args,
                    stream=stream if grows else None,
                    prose=key in ("delta", "text", "arguments", "refusal"),
                )
            elif key == "response" and isinstance(value, dict):
                self._response(value, out)  # as a whole answer: only its output is prose
            elif isinstance(value, _CONTAINERS):
                walk_all(value, out, prose=key in ("item", "part"))
        if not everything:  # only a token split across events can concern this event
            out.slots = [s for s in out.slots if s.stream is not None]
        return out

    def ended(self, event: dict[str, Any]) -> Callable[[Hashable], bool] | None:
        kind = str(event.get("type", ""))
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return lambda stream: True
        if kind == "response.output_item.done":
            output = event.get("output_index")
            return lambda stream: cast(tuple[str, int, int], stream)[1] == output
        if kind.endswith(".done"):
            own = _event_stream(event)
            return None if own is None else (lambda stream: stream == own)
        return None

    def put_tail(self, event: dict[str, Any], stream: Hashable, tail: str) -> None:
        if _event_stream(event) == stream and str(event.get("type", "")).endswith(".delta"):
            event["delta"] = str(event.get("delta", "")) + tail

    def is_empty(self, event: dict[str, Any]) -> bool:
        return str(event.get("type", "")).endswith(".delta") and event.get("delta") == ""

    def tail_event(self, template: dict[str, Any], streams: list[Hashable]) -> dict[str, Any]:
        base, output, part = cast(tuple[str, int, int], streams[0])
        event: dict[str, Any] = {"type": f"{base}.delta", "output_index": output, "delta": ""}
        if "item_id" in template:
            event["item_id"] = template["item_id"]
        if base.endswith("summary_text"):
            event["summary_index"] = part
        elif not base.endswith("arguments"):
            event["content_index"] = part
        return event


RESPONSES = Responses()

__all__ = ["ENUMS", "PROTOCOL_KEYS", "RESPONSES", "VOCABULARY", "Responses"]
