"""The fixed parts of the stack and nothing else: Hypercorn on uvloop, and the upstream client
(httpx's API over the aiohttp transport), joined by a bare ASGI function that forwards the body
as it came and relays the answer's bytes as they come.

Why it exists: the issue's budgets (added latency, TTFT delta) are measured against the direct
call, and a proxy built on this server and this client pays for one more HTTP hop before it does
any work of its own. This configuration measures that hop alone, so the report can say how much
of each budget the chosen framework spends and how much is left to our code (``stack``: body
parsing, admission, the pipeline, SSE re-encoding) and to redaction (``inproc``). Nothing here is
reachable from ``masker serve``.

Run: ``python bench/framework_app.py`` with the ``MASKER_*`` env of ``masker serve`` (only the
listen address and the upstream base URL are read).
"""

from __future__ import annotations

from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from masker.http.serve import hypercorn_config, serve_forever
from masker.settings import Settings
from masker.upstream.client import UpstreamClient

settings = Settings.from_env()
_BASE_URL = settings.upstream.base_url or ""
_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "authorization": "Bearer sk-bench-not-a-key",
}
_client: UpstreamClient | None = None


async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    global _client
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _client = UpstreamClient()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _client is not None:
                    await _client.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":
        await _answer(send, 200, b"application/json", b'{"status":"ok"}')
        return
    chunks = []
    while True:
        message: Any = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    assert _client is not None
    response = await _client.post_chat(_BASE_URL, b"".join(chunks), _HEADERS)
    content_type = response.headers.get("content-type", "application/json").encode()
    if not content_type.startswith(b"text/event-stream"):
        body = await response.response.aread()
        await response.response.aclose()
        await _answer(send, response.status, content_type, body)
        return
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [(b"content-type", content_type)],
            "trailers": False,
        }
    )
    try:
        async for chunk in response.response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await response.response.aclose()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _answer(send: ASGISendCallable, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "trailers": False,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


if __name__ == "__main__":
    serve_forever(app, hypercorn_config(settings))  # type: ignore[arg-type]
