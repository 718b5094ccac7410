"""Fuzzing (hypothesis) of request bodies through a real proxy, and of the SSE transformer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masker.streaming import DONE, StreamRehydration
from masker.tokens.codec import Codec
from masker.tokens.keys import Key, KeyRing
from tests.proxy.conftest import AGENT
from tests.proxy_process import ProxyProcess

ALLOWED = {200, 400, 403, 404, 413, 415, 422, 429, 502, 503, 504}  # 403: a policy_id the agent may not pick

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", 7, None])},
    optional={"content": json_values, "tool_calls": json_values, "name": json_values},
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"model": st.sampled_from(["echo", "echo-c1", "tools", "fail-500", 3, ""])},
        optional={
            "messages": st.lists(message, max_size=4) | json_values,
            "stream": st.booleans(),
            "tools": json_values,
            "policy_id": st.sampled_from(["default", "healthcare", "nope", 1]),
        },
    ),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_request_bodies_never_crash_the_proxy(proxy: ProxyProcess, body: Any) -> None:
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=20,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in ALLOWED, (response.status_code, response.text[:200])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_raw_bytes_never_crash_the_proxy(proxy: ProxyProcess, body: bytes) -> None:
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=20,
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code in ALLOWED


sse_lines = st.lists(
    st.one_of(
        st.binary(max_size=60),
        st.builds(lambda e: b"data: " + json.dumps(e).encode(), json_values),
        st.builds(
            lambda t, f: (
                b"data: "
                + json.dumps(
                    {"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": f}]}
                ).encode()
            ),
            st.text(alphabet="MSKV1.NAME_ 0123456789ABCDEFGHJK", max_size=30),
            st.sampled_from([None, "stop"]),
        ),
        st.just(b"data: [DONE]"),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(lines=sse_lines)
def test_sse_transformer_never_crashes(lines: list[bytes]) -> None:
    session = Codec("agt_fuzz", KeyRing((Key("F", b"\x01" * 32),))).session(None)

    async def source() -> AsyncIterator[bytes]:
        for line in lines:
            yield line

    async def run() -> list[bytes]:
        return [chunk async for chunk in StreamRehydration(session).run(source())]

    out = asyncio.run(run())
    assert out[-1] == DONE and out.count(DONE) == 1
    for chunk in out[:-1]:
        assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n")
        json.loads(chunk[6:])
