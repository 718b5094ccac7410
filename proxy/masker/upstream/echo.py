"""The built-in echo upstream: what a new user gets when no upstream is configured.

It answers like an OpenAI model whose reply is the last message it received, so the proxy's
rehydration is visible end to end, and it adds ``echo_upstream.received`` — the sanitized request
exactly as an LLM would have seen it — which Masker passes back untouched. Streaming replies come
in small chunks so tokens are split across SSE events, as real models split them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

# The answer field that carries the sanitized request back to the caller (kept tokenized).
ECHO_FIELD = "echo_upstream"


def _last_text(payload: dict[str, Any]) -> str:
    messages = payload.get("messages") or []
    if not messages:
        return ""
    content = messages[-1].get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class _Stream(httpx.AsyncByteStream):
    def __init__(self, events: list[bytes]) -> None:
        self._events = events

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self._events:
            yield event


class EchoTransport(httpx.AsyncBaseTransport):
    def __init__(self, chunk_chars: int = 4) -> None:
        self.chunk_chars = chunk_chars

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(await request.aread())
        text = _last_text(payload)
        model = payload.get("model", "echo")
        ident = "chatcmpl-echo-" + uuid.uuid4().hex[:12]
        created = int(time.time())
        if payload.get("stream"):
            events = []
            base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
            first = {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            }
            events.append(first)
            for i in range(0, len(text), self.chunk_chars):
                events.append(
                    {
                        **base,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"content": text[i : i + self.chunk_chars]},
                                "finish_reason": None,
                            }
                        ],
                    }
                )
            events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            data = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Stream(data))
        body = {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            ECHO_FIELD: {"received": payload},
        }
        return httpx.Response(200, json=body)
