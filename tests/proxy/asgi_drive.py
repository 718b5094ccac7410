"""Drive an ASGI app with one POST, as Hypercorn would: the body in one message, then a caller that
stays connected. Each message the app sends goes to ``on_send``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def post(app: Any, path: str, body: bytes, on_send: Callable[[dict[str, Any]], None]) -> None:
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        on_send(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    await app(scope, receive, send)
