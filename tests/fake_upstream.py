"""A real HTTP server that plays an OpenAI-compatible LLM for tests (fakes are fine for the upstream).

Behaviour is chosen by the request's ``model``:

* ``echo`` / ``echo-cN``: reply with the last message's text (stream: N characters per event).
* ``tools`` / ``tools-cN``: reply with one tool call whose JSON arguments carry the last text.
* ``fail-500`` / ``fail-429``: an OpenAI-shaped error with that status.
* ``hang``: never answer (until the test ends).
* ``stall``: start a stream (headers and one event), then fall silent (until the test ends).
* ``invent`` / ``invent-cN``: echo, then add a phone number and e-mail of the model's own.
* ``reset``: start streaming, then drop the connection in the middle of a token.
* a ``-ka`` suffix (``echo-ka``): stream with chunked encoding on a kept-alive connection, as hosted
  APIs do (the others close the connection to end a stream); ``Captured.peer_port`` then shows
  whether the proxy reused its connection.
* ``script``: answer whatever ``FakeUpstream.script(payload)`` returns: ``(status, body)`` for a
  JSON answer, or ``(200, [events])`` for a stream (any JSON events, error events included; on
  ``/responses`` and ``/messages`` each event is sent with its ``event:`` line).
* ``slow``: stream one character every 50 ms; a stream its reader abandons is counted in
  ``abandoned_streams`` (the proxy must hang up on the LLM when its caller hangs up). On
  ``/responses`` and ``/messages``, ``slow…`` models send one event every 50 ms.

As strict as the hosted APIs about the request's shape: a top-level field the real API does not know
is refused with 400, as OpenAI refuses it (``invalid_request_error``, "Unrecognized request argument
supplied: X") on ``/chat/completions`` and ``/responses``, and as Anthropic refuses it ("X: Extra
inputs are not permitted") on ``/messages``. ``GET /models`` lists ``MODELS``.

Every request (path, headers, body) is recorded for leak assertions.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INVENTED_PHONE = "(212) 555-0199"
INVENTED_EMAIL = "front.desk@clinic-invented.example"


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes
    peer_port: int = 0  # the proxy's side of the connection: equal ports = a reused connection

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeUpstream:
    server: ThreadingHTTPServer
    requests: list[Captured] = field(default_factory=list)
    stop_hanging: threading.Event = field(default_factory=threading.Event)
    abandoned_streams: int = 0
    # The Responses API keeps each turn upstream: id -> (previous id, the turn's user text).
    stored_responses: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    script: Callable[[dict[str, Any]], tuple[int, Any]] | None = None
    # False plays an OpenAI-compatible server that takes extra top-level fields (vLLM, LiteLLM);
    # only ``accepting_extra_fields`` sets it, for a test that must see such a field arrive.
    strict: bool = True

    @contextlib.contextmanager
    def accepting_extra_fields(self) -> Iterator[None]:
        self.strict = False
        try:
            yield
        finally:
            self.strict = True

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def raw_traffic(self) -> str:
        return "\n".join(
            c.path + json.dumps(c.headers) + c.body.decode("utf-8", "replace") for c in self.requests
        )

    def close(self) -> None:
        self.stop_hanging.set()
        self.server.shutdown()
        self.server.server_close()


# Top-level request fields the hosted APIs accept (OpenAI's and Anthropic's API references).
CHAT_FIELDS = frozenset(
    {
        "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort",
        "response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
        "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
        "verbosity", "web_search_options",
    }
)  # fmt: skip
RESPONSES_FIELDS = frozenset(
    {
        "model", "input", "background", "conversation", "include", "instructions", "max_output_tokens",
        "max_tool_calls", "metadata", "parallel_tool_calls", "previous_response_id", "prompt",
        "prompt_cache_key", "reasoning", "safety_identifier", "service_tier", "store", "stream",
        "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p",
        "truncation", "user",
    }
)  # fmt: skip
MESSAGES_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "container", "mcp_servers", "metadata", "service_tier",
        "stop_sequences", "stream", "system", "temperature", "thinking", "tool_choice", "tools", "top_k",
        "top_p",
    }
)  # fmt: skip
MODELS = ("gpt-4o", "gpt-4o-mini", "echo", "tools", "claude-echo")


def openai_unknown_field(payload: dict[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    """OpenAI's 400 body for the first unknown top-level field, or None when all are known."""
    for name in payload:
        if name not in known:
            return {
                "error": {
                    "message": f"Unrecognized request argument supplied: {name}",
                    "type": "invalid_request_error",
                    "param": name,
                    "code": None,
                }
            }
    return None


def anthropic_unknown_field(payload: dict[str, Any]) -> dict[str, Any] | None:
    for name in payload:
        if name not in MESSAGES_FIELDS:
            return {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": f"{name}: Extra inputs are not permitted",
                },
            }
    if not isinstance(payload.get("max_tokens"), int):
        return {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        }
    return None


def _last_text(payload: dict[str, Any]) -> str:
    content = (payload.get("messages") or [{}])[-1].get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _input_text(items: Any) -> str:
    """The newest user text (or tool output) of a Responses ``input``."""
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            return str(item.get("output", ""))
        if item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _anthropic_text(payload: dict[str, Any]) -> str:
    content = (payload.get("messages") or [{}])[-1].get("content")
    if isinstance(content, str):
        return content
    out: list[str] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            out.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            out.append(inner if isinstance(inner, str) else json.dumps(inner))
    return "".join(out)


def _chunk_size(model: str) -> int:
    model = model.removesuffix("-ka")
    if "-c" in model:
        return max(1, int(model.rsplit("-c", 1)[1]))
    return 3


def start_fake_upstream() -> FakeUpstream:
    holder: dict[str, FakeUpstream] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send_json(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _sse(
            self, events: list[dict[str, Any]], *, reset_after: int | None = None, pace: float = 0.0
        ) -> None:
            try:
                self._write_sse(events, reset_after, pace)
            except (BrokenPipeError, ConnectionResetError):
                holder["fake"].abandoned_streams += 1
                self.close_connection = True

        def _write_sse(self, events: list[dict[str, Any]], reset_after: int | None, pace: float) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            if self.keep_alive:
                self._write_chunked_sse(events)
                return
            self.send_header("connection", "close")
            self.end_headers()
            for i, event in enumerate(events):
                if reset_after is not None and i == reset_after:
                    self.wfile.flush()
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.close()
                    return
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                if pace:
                    time.sleep(pace)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _write_chunked_sse(self, events: list[dict[str, Any]]) -> None:
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for data in [json.dumps(event) for event in events] + ["[DONE]"]:
                raw = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()
            time.sleep(0.02)  # the body's end can trail [DONE] (a separate packet on a real network)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _named_sse(self, events: list[dict[str, Any]], *, done: bool = False, pace: float = 0.0) -> None:
            """SSE with ``event:`` lines, as the Responses and Messages APIs stream."""
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            try:
                for event in events:
                    self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    if pace:
                        time.sleep(pace)
                if done:
                    self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                holder["fake"].abandoned_streams += 1
            self.close_connection = True

        def _scripted(self, payload: dict[str, Any]) -> bool:
            """``model: script`` on ``/responses`` and ``/messages``: the script's answer, a stream
            as named events (``event:`` + ``data:``, as those APIs send)."""
            fake = holder["fake"]
            if payload.get("model") != "script" or fake.script is None:
                return False
            status, answer = fake.script(payload)
            if isinstance(answer, list):
                self._named_sse(answer)
            else:
                self._send_json(status, answer)
            return True

        def _responses(self, payload: dict[str, Any]) -> None:
            fake = holder["fake"]
            model = str(payload.get("model", "echo"))
            previous = payload.get("previous_response_id")
            if previous is not None and previous not in fake.stored_responses:
                self._send_json(
                    400,
                    {
                        "error": {
                            "message": f"Previous response with id '{previous}' not found.",
                            "type": "invalid_request_error",
                            "param": "previous_response_id",
                            "code": "previous_response_not_found",
                        }
                    },
                )
                return
            text = _input_text(payload.get("input"))
            response_id = f"resp_fake{len(fake.stored_responses) + 1:04d}"
            fake.stored_responses[response_id] = (previous, text)
            if model.startswith("invent"):
                text = f"{text} Also reach us at {INVENTED_PHONE} or {INVENTED_EMAIL}."
            if model.startswith("recall"):  # the chain's first user text: only the upstream still has it
                first, cursor = text, previous
                while cursor is not None:
                    cursor, first = fake.stored_responses[cursor]
                text = f"Earlier you said: {first}"
            size = _chunk_size(model)
            if model.startswith("tools"):
                args = json.dumps({"note": text})
                item: dict[str, Any] = {
                    "type": "function_call",
                    "id": "fc_1",
                    "call_id": "call_1",
                    "name": "record_note",
                    "arguments": args,
                    "status": "completed",
                }
            else:
                item = {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            response = {
                "id": response_id,
                "object": "response",
                "created_at": int(time.time()),
                "status": "completed",
                "model": model,
                "output": [item],
                "previous_response_id": previous,
                "instructions": payload.get("instructions"),
                "tools": payload.get("tools") or [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2},
            }
            if not payload.get("stream"):
                self._send_json(200, response)
                return
            pending = {**response, "status": "in_progress", "output": []}
            events: list[dict[str, Any]] = [
                {"type": "response.created", "response": pending},
                {"type": "response.in_progress", "response": pending},
            ]
            if item["type"] == "function_call":
                events.append(
                    {
                        "type": "response.output_item.added",
                        "output_index": 0,
                        "item": {**item, "arguments": ""},
                    }
                )
                for i in range(0, len(args), size):
                    events.append(
                        {
                            "type": "response.function_call_arguments.delta",
                            "item_id": "fc_1",
                            "output_index": 0,
                            "delta": args[i : i + size],
                        }
                    )
                events.append(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": "fc_1",
                        "output_index": 0,
                        "arguments": args,
                    }
                )
            else:
                empty = {**item, "status": "in_progress", "content": []}
                part = {"type": "output_text", "text": "", "annotations": []}
                where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
                events.append({"type": "response.output_item.added", "output_index": 0, "item": empty})
                events.append({"type": "response.content_part.added", **where, "part": part})
                for i in range(0, len(text), size):
                    events.append(
                        {"type": "response.output_text.delta", **where, "delta": text[i : i + size]}
                    )
                events.append({"type": "response.output_text.done", **where, "text": text})
                events.append({"type": "response.content_part.done", **where, "part": {**part, "text": text}})
            events.append({"type": "response.output_item.done", "output_index": 0, "item": item})
            events.append({"type": "response.completed", "response": response})
            for number, event in enumerate(events):
                event["sequence_number"] = number
            self._named_sse(events, pace=0.05 if model.startswith("slow") else 0.0)

        def _messages(self, payload: dict[str, Any]) -> None:
            if not self.headers.get("x-api-key"):
                self._send_json(
                    401,
                    {
                        "type": "error",
                        "error": {"type": "authentication_error", "message": "x-api-key header is required"},
                    },
                )
                return
            if not self.headers.get("anthropic-version"):
                self._send_json(
                    400,
                    {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "message": "anthropic-version: header is required",
                        },
                    },
                )
                return
            model = str(payload.get("model", "claude-echo"))
            text = _anthropic_text(payload)
            size = _chunk_size(model)
            tools = "tools" in model
            if tools:
                args = json.dumps({"note": text})
                block: dict[str, Any] = {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "record_note",
                    "input": {"note": text},
                }
            else:
                block = {"type": "text", "text": text}
            message = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [block],
                "stop_reason": "tool_use" if tools else "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
            if not payload.get("stream"):
                self._send_json(200, message)
                return
            events: list[dict[str, Any]] = [
                {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
            ]
            if tools:
                events.append(
                    {"type": "content_block_start", "index": 0, "content_block": {**block, "input": {}}}
                )
                for i in range(0, len(args), size):
                    events.append(
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "input_json_delta", "partial_json": args[i : i + size]},
                        }
                    )
            else:
                events.append(
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
                )
                for i in range(0, len(text), size):
                    events.append(
                        {
                            "type": "content_block_delta",
                            "index": 0,
                            "delta": {"type": "text_delta", "text": text[i : i + size]},
                        }
                    )
            events.append({"type": "content_block_stop", "index": 0})
            events.append(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                }
            )
            events.append({"type": "message_stop"})
            self._named_sse(events, pace=0.05 if model.startswith("slow") else 0.0)

        def do_GET(self) -> None:
            fake = holder["fake"]
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Captured(self.path, headers, b"", self.client_address[1]))
            entries = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in MODELS
            ]
            if self.path.rstrip("/").endswith("/models"):
                self._send_json(200, {"object": "list", "data": entries})
                return
            name = self.path.rsplit("/models/", 1)[-1] if "/models/" in self.path else ""
            match = [e for e in entries if e["id"] == name]
            if match:
                self._send_json(200, match[0])
                return
            self._send_json(
                404,
                {
                    "error": {
                        "message": f"The model '{name}' does not exist",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "model_not_found",
                    }
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            fake = holder["fake"]
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Captured(self.path, headers, body, self.client_address[1]))
            payload = json.loads(body)
            if self.path.endswith("/messages"):
                anthropic_error = anthropic_unknown_field(payload)
                if anthropic_error is not None:
                    self._send_json(400, anthropic_error)
                    return
                if not self._scripted(payload):
                    self._messages(payload)
                return
            if self.path.endswith("/responses"):
                refused = openai_unknown_field(payload, RESPONSES_FIELDS)
                if refused is not None:
                    self._send_json(400, refused)
                    return
                if not self._scripted(payload):
                    self._responses(payload)
                return
            refused = openai_unknown_field(payload, CHAT_FIELDS) if fake.strict else None
            if refused is not None:
                self._send_json(400, refused)
                return
            model = str(payload.get("model", "echo"))
            self.keep_alive = model.endswith("-ka")
            text = _last_text(payload)
            base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": model}
            if model.startswith("fail-"):
                status = int(model.split("-")[1])
                self._send_json(
                    status,
                    {
                        "error": {
                            "message": "synthetic upstream failure",
                            "type": "server_error",
                            "code": f"fake_{status}",
                        }
                    },
                )
                return
            if model == "script" and fake.script is not None:
                status, answer = fake.script(payload)
                if isinstance(answer, list):
                    self._sse(answer)
                else:
                    self._send_json(status, answer)
                return
            if model == "hang":
                fake.stop_hanging.wait(30)
                return
            if model == "stall":
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                first = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    ],
                }
                self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
                self.wfile.flush()
                fake.stop_hanging.wait(30)
                self.close_connection = True
                return
            size = _chunk_size(model)
            if model.startswith("invent"):
                text = f"{text} Also reach us at {INVENTED_PHONE} or {INVENTED_EMAIL}."
            if model.startswith("tools"):
                args = json.dumps({"note": text, "quoted": f'"{text}"'})
                call = {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "record_note", "arguments": args},
                }
                if payload.get("stream"):
                    events = [
                        {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {
                                        "role": "assistant",
                                        "tool_calls": [
                                            {
                                                "index": 0,
                                                "id": "call_1",
                                                "type": "function",
                                                "function": {"name": "record_note", "arguments": ""},
                                            }
                                        ],
                                    },
                                    "finish_reason": None,
                                }
                            ],
                        }
                    ]
                    for i in range(0, len(args), size):
                        events.append(
                            {
                                **base,
                                "object": "chat.completion.chunk",
                                "choices": [
                                    {
                                        "index": 0,
                                        "delta": {
                                            "tool_calls": [
                                                {"index": 0, "function": {"arguments": args[i : i + size]}}
                                            ]
                                        },
                                        "finish_reason": None,
                                    }
                                ],
                            }
                        )
                    events.append(
                        {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                        }
                    )
                    self._sse(events)
                    return
                self._send_json(
                    200,
                    {
                        **base,
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                                "finish_reason": "tool_calls",
                            }
                        ],
                    },
                )
                return
            if payload.get("stream"):
                events = [
                    {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [
                            {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                        ],
                    }
                ]
                for i in range(0, len(text), size):
                    events.append(
                        {
                            **base,
                            "object": "chat.completion.chunk",
                            "choices": [
                                {"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}
                            ],
                        }
                    )
                events.append(
                    {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    }
                )
                reset_after = None
                if model == "reset":
                    start = text.find("MSKV1")
                    reset_after = 1 + (start + 8) // size if start >= 0 else len(events) // 2
                self._sse(events, reset_after=reset_after, pace=0.05 if model == "slow" else 0.0)
                return
            self._send_json(
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake = FakeUpstream(server)
    holder["fake"] = fake
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
