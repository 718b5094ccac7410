"""A real HTTP server that plays an OpenAI-compatible LLM for tests (fakes are fine for the upstream).

Behaviour is chosen by the request's ``model``:

* ``echo`` / ``echo-cN``: reply with the last message's text (stream: N characters per event).
* ``tools`` / ``tools-cN``: reply with one tool call whose JSON arguments carry the last text.
* ``fail-500`` / ``fail-429``: an OpenAI-shaped error with that status.
* ``hang``: never answer (until the test ends).
* ``invent`` / ``invent-cN``: echo, then add a phone number and e-mail of the model's own.
* ``reset``: start streaming, then drop the connection in the middle of a token.
* a ``-ka`` suffix (``echo-ka``): stream with chunked encoding on a kept-alive connection, as hosted
  APIs do (the others close the connection to end a stream); ``Captured.peer_port`` then shows
  whether the proxy reused its connection.
* ``script``: answer whatever ``FakeUpstream.script(payload)`` returns: ``(status, body)`` for a
  JSON answer, or ``(200, [events])`` for a stream (any JSON events, error events included).
* ``slow``: stream one character every 50 ms; a stream its reader abandons is counted in
  ``abandoned_streams`` (the proxy must hang up on the LLM when its caller hangs up).

Every request (path, headers, body) is recorded for leak assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
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
    script: Callable[[dict[str, Any]], tuple[int, Any]] | None = None

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


def _last_text(payload: dict[str, Any]) -> str:
    content = (payload.get("messages") or [{}])[-1].get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


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

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            fake = holder["fake"]
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Captured(self.path, headers, body, self.client_address[1]))
            payload = json.loads(body)
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
