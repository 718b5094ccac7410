"""The upstream client: httpx's API over an aiohttp transport, one pool for the whole process.

Measured on this machine (see docs/benchmarks.md): httpx's own transport costs ~2.5 ms p50 per
proxied request and tops out near 300 req/s at concurrency 32; the aiohttp transport adds ~1 ms.
httpx stays the API so tests and the echo upstream plug in as transports.

Timeouts: ``MASKER_UPSTREAM_TIMEOUT`` bounds the wait for the response headers (and the whole body
for non-streaming calls); while streaming, it bounds the silence between two chunks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .. import jsonfast
from ..errors import UpstreamError, UpstreamTimeout


@dataclass
class UpstreamResponse:
    status: int
    headers: httpx.Headers
    response: httpx.Response

    async def json(self, timeout: float) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                raw = await self.response.aread()
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeout("The upstream LLM did not respond within the configured timeout.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("The upstream LLM connection failed while reading the response.") from exc
        finally:
            await self.response.aclose()
        try:
            data = jsonfast.loads(raw)
        except ValueError as exc:
            raise UpstreamError(
                "The upstream LLM returned a response that is not JSON.", upstream_status=self.status
            ) from exc
        if not isinstance(data, dict):
            raise UpstreamError(
                "The upstream LLM returned an unexpected JSON shape.", upstream_status=self.status
            )
        return data

    async def lines(self, idle_timeout: float) -> AsyncIterator[bytes]:
        """Raw SSE lines, bounded by ``idle_timeout`` between chunks."""
        iterator = self.response.aiter_bytes().__aiter__()
        pending = b""
        try:
            while True:
                try:
                    async with asyncio.timeout(idle_timeout):
                        chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.rstrip(b"\r")
            if pending:
                yield pending.rstrip(b"\r")
        except (TimeoutError, httpx.TimeoutException) as exc:
            # Whichever notices the silence first (our idle timer or the transport's read timeout,
            # both set to MASKER_UPSTREAM_TIMEOUT), the caller is told it was a timeout.
            raise UpstreamTimeout("The upstream LLM stopped sending within the configured timeout.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("The upstream LLM connection failed mid-stream.") from exc
        finally:
            await self.response.aclose()


def build_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=httpx.Limits(max_connections=512, max_keepalive_connections=128))


class UpstreamClient:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, *, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._transport = transport or build_transport()
        self._urls: dict[str, httpx.URL] = {}
        # Attached to each request, as httpx.AsyncClient would; the transport reads it.
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0)).as_dict()

    async def close(self) -> None:
        await self._transport.aclose()

    async def post_chat(self, base_url: str, payload: bytes, headers: Mapping[str, str]) -> UpstreamResponse:
        url = self._urls.get(base_url)
        if url is None:
            if len(self._urls) > 256:  # upstreams are few; this only guards against misuse
                self._urls.clear()
            url = self._urls[base_url] = httpx.URL(base_url.rstrip("/") + "/chat/completions")
        return await self._send("POST", url, payload, headers)

    async def send(
        self, method: str, base_url: str, path: str, payload: bytes | None, headers: Mapping[str, str]
    ) -> UpstreamResponse:
        """Any other endpoint of the upstream API (``/models``, ``/responses``, ``/messages``)."""
        return await self._send(method, httpx.URL(base_url.rstrip("/") + path), payload, headers)

    async def _send(
        self, method: str, url: httpx.URL, payload: bytes | None, headers: Mapping[str, str]
    ) -> UpstreamResponse:
        # httpx's request and response types, straight to the transport: AsyncClient's URL merging,
        # auth, redirect and cookie layers (none of which a proxied call uses) cost ~100 us of CPU
        # per request, a quarter of the whole client (docs/benchmarks.md, profile).
        request = httpx.Request(
            method, url, content=payload, headers=headers, extensions={"timeout": self._timeout}
        )
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._transport.handle_async_request(request)
                response.request = request
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeout("The upstream LLM did not respond within the configured timeout.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("The upstream LLM could not be reached.") from exc
        return UpstreamResponse(response.status_code, response.headers, response)
