"""A fast fake OpenAI chat-completions server for benchmarks, on a raw asyncio protocol.

Why not ``tests/fake_upstream.py``: that one is a threaded ``http.server`` built to record traffic,
and at a few thousand requests per second it would be the bottleneck we end up measuring. This one
parses just enough HTTP/1.1 (keep-alive, Content-Length bodies), does no logging and answers:

* non-stream: one ``chat.completion`` whose content repeats the last message (so any tokens in the
  new utterance come back and must be rehydrated, like a model reading back a phone number);
* ``"stream": true``: ``--stream-words`` words as SSE, ``--chunk-words`` words per event, with
  ``--chunk-delay-ms`` between events; every ``--token-every``-th word is one of the Masker tokens
  found in the request (so the proxy has tokens to rehydrate mid-stream), else a filler word.

``--delay-ms`` delays the response headers (a model's "thinking" time). A model name ending in
``-d<ms>`` (e.g. ``bench-d1``) overrides ``--chunk-delay-ms`` for that request: the streaming
scenario paces its events like a (fast) real model, so the proxy is not measured while the fake
LLM and the client fight it for the same two cores. Loopback only.

Run: ``python bench/fake_llm.py --port 0`` prints ``LISTENING <port>`` once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

_PACE = re.compile(r"-d(\d+(?:\.\d+)?)$")
_TOKEN = re.compile(rb"MSKV1\.[A-Z]{2,12}\.[0-9A-Z]{10,}")
_FILLER = (
    "okay", "so", "your", "appointment", "is", "confirmed", "for", "next", "week", "and", "we", "will",
    "send", "a", "reminder", "to", "the", "number", "on", "file", "please", "arrive", "early",
)


class Options:
    def __init__(self, ns: argparse.Namespace) -> None:
        self.delay = ns.delay_ms / 1000
        self.chunk_delay = ns.chunk_delay_ms / 1000
        self.stream_words = ns.stream_words
        self.chunk_words = max(1, ns.chunk_words)
        self.token_every = max(1, ns.token_every)


def _last_text(payload: dict[str, Any]) -> str:
    messages = payload.get("messages") or [{}]
    content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _json_response(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def completion(payload: dict[str, Any]) -> bytes:
    data = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload.get("model", "bench"),
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Noted: " + _last_text(payload)},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }
    return json.dumps(data, separators=(",", ":")).encode()


def stream_events(raw: bytes, payload: dict[str, Any], opts: Options) -> Iterator[bytes]:
    tokens = [t.decode() for t in dict.fromkeys(_TOKEN.findall(raw))]
    words: list[str] = []
    for i in range(opts.stream_words):
        if tokens and i % opts.token_every == opts.token_every - 1:
            words.append(tokens[(i // opts.token_every) % len(tokens)])
        else:
            words.append(_FILLER[i % len(_FILLER)])
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": payload.get("model", "bench")}

    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    # Lazily, so the first event leaves before the rest are encoded (TTFT is what is measured).
    yield event({"role": "assistant", "content": ""})
    for i in range(0, len(words), opts.chunk_words):
        yield event({"content": " ".join(words[i:i + opts.chunk_words]) + " "})
    yield event({}, "stop")
    yield b"data: [DONE]\n\n"


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class FakeLLM(asyncio.Protocol):
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4:end + 4 + length]
        self.buffer = self.buffer[end + 4 + length:]
        self.busy = True
        asyncio.get_running_loop().create_task(self._answer(body))

    async def _answer(self, raw: bytes) -> None:
        transport = self.transport
        assert transport is not None
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            transport.write(_json_response(b'{"error":{"message":"bad json","type":"invalid_request"}}',
                                           "400 Bad Request"))
            self._done()
            return
        if self.opts.delay:
            await asyncio.sleep(self.opts.delay)
        if not payload.get("stream"):
            transport.write(_json_response(completion(payload)))
            self._done()
            return
        chunk_delay = self.opts.chunk_delay
        pace = _PACE.search(str(payload.get("model", "")))
        if pace:
            chunk_delay = float(pace.group(1)) / 1000
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
                        b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")
        for event in stream_events(raw, payload, self.opts):
            if transport.is_closing():
                return
            transport.write(_chunked(event))
            # Always yield to the loop: other connections' streams interleave as with a real model.
            await asyncio.sleep(chunk_delay)
        transport.write(b"0\r\n\r\n")
        self._done()

    def _done(self) -> None:
        self.busy = False
        if self.buffer:
            self._next()


async def main_async(ns: argparse.Namespace) -> None:
    opts = Options(ns)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: FakeLLM(opts), "127.0.0.1", ns.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--chunk-delay-ms", type=float, default=0.0)
    p.add_argument("--stream-words", type=int, default=200)
    p.add_argument("--chunk-words", type=int, default=1)
    p.add_argument("--token-every", type=int, default=20)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
