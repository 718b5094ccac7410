"""The upstream client names a silent upstream a timeout, whichever timer notices it first: its own
idle timer, or the transport's read timeout (aiohttp's, surfacing as ``httpx.TimeoutException``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from masker.errors import UpstreamError, UpstreamTimeout
from masker.upstream.client import UpstreamResponse


class _Stream(httpx.AsyncByteStream):
    def __init__(self, first: bytes, then: Exception) -> None:
        self.first, self.then = first, then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise self.then


def _response(then: Exception) -> UpstreamResponse:
    stream = _Stream(b'data: {"choices": []}\n\n', then)
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
    return UpstreamResponse(200, response.headers, response)


@pytest.mark.parametrize(
    ("then", "expected"),
    [
        (httpx.ReadTimeout("read timed out"), UpstreamTimeout),
        (httpx.TimeoutException("server timed out"), UpstreamTimeout),
        (httpx.ReadError("connection reset"), UpstreamError),
    ],
)
async def test_a_failure_mid_stream_is_named_for_what_it_was(
    then: Exception, expected: type[Exception]
) -> None:
    lines = []
    with pytest.raises(expected) as info:
        async for line in _response(then).lines(30.0):
            lines.append(line)
    assert lines[0].startswith(b"data: ")
    assert type(info.value) is expected


async def test_a_body_that_times_out_is_a_timeout() -> None:
    with pytest.raises(UpstreamTimeout):
        await _response(httpx.ReadTimeout("read timed out")).json(30.0)
