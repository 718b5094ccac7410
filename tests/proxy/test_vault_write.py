"""The vault write runs while the upstream answers, and still decides the outcome: no answer reaches
the caller before its write has succeeded, a failed write drops the answer (503), and after a
failure nothing is forwarded until a write succeeds again.

The real app driven as ASGI, with the real SQLite vault; the store's ``put_many`` is wrapped so the
test can hold a write open or make it fail. The upstream is the real threaded fake LLM over the
real (aiohttp) transport, or the built-in echo upstream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from quart import Quart

from masker.http.app import create_app
from masker.http.runtime import Runtime
from masker.settings import Settings
from masker.tokens.store import VaultRow, VaultUnavailable
from tests.fake_upstream import FakeUpstream
from tests.proxy.asgi_drive import post
from tests.proxy.conftest import Phi

AGENT = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC8"
REPO = Path(__file__).resolve().parents[2]
Write = Callable[[Sequence[VaultRow]], Awaitable[None]]


def _endpoints(tmp_path: Path, upstream: FakeUpstream | None = None) -> Quart:
    agents = tmp_path / "agents.yaml"
    agents.write_text(yaml.safe_dump({"version": 1, "agents": [{"id": AGENT, "name": "vault-order"}]}))
    env = {
        "MASKER_DATA_DIR": str(tmp_path / "data"),
        "MASKER_AGENTS_FILE": str(agents),
        "MASKER_POLICIES_DIR": str(REPO / "policies"),
        "MASKER_AUDIT_ENABLED": "false",
    }
    if upstream is not None:
        env |= {"MASKER_OPENAI_BASE_URL": upstream.base_url, "MASKER_OPENAI_API_KEY": "sk-test-not-a-key"}
    return create_app(Settings.from_env(env))


async def _call(app: Quart, text: str, sent: list[dict[str, Any]], stream: bool = False) -> None:
    request = {"model": "echo", "messages": [{"role": "user", "content": text}], "stream": stream}
    await post(app, f"/proxy/{AGENT}/v1/chat/completions", json.dumps(request).encode(), sent.append)


def _answer(sent: list[dict[str, Any]]) -> tuple[int, str]:
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode()


def _wrap_writes(state: Runtime, around: Callable[[Write, Sequence[VaultRow]], Awaitable[None]]) -> None:
    real = state.store.put_many

    async def put_many(rows: Sequence[VaultRow]) -> None:
        await around(real, rows)

    state.store.put_many = put_many  # type: ignore[method-assign]


def _echo_received(state: Runtime) -> list[str]:
    """Wraps the echo upstream: the request bodies it is sent."""
    transport = state.upstreams.echo._transport
    received: list[str] = []
    real = transport.handle_async_request

    async def handle(request: Any) -> Any:
        received.append((await request.aread()).decode())
        return await real(request)

    transport.handle_async_request = handle  # type: ignore[method-assign]
    return received


def test_the_request_is_on_the_wire_while_its_vault_write_runs(
    tmp_path: Path, phi: Phi, upstream: FakeUpstream
) -> None:
    endpoints = _endpoints(tmp_path, upstream)

    async def scenario() -> None:
        await endpoints.startup()
        try:
            state: Runtime = endpoints.extensions["masker"]
            before = len(upstream.requests)
            seen_while_writing: list[int] = []
            release = asyncio.Event()
            written: list[int] = []

            async def held(real: Write, rows: Sequence[VaultRow]) -> None:
                deadline = time.monotonic() + 5
                while len(upstream.requests) == before and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)  # the upstream (another thread) gets the request meanwhile
                seen_while_writing.append(len(upstream.requests) - before)
                await release.wait()
                await real(rows)
                written.append(len(rows))

            _wrap_writes(state, held)
            sent: list[dict[str, Any]] = []
            call = asyncio.ensure_future(_call(endpoints, f"Please call me at {phi.phone}.", sent))
            for _ in range(500):
                if seen_while_writing:
                    break
                await asyncio.sleep(0.01)
            assert seen_while_writing == [1], "the vault write must overlap the upstream call"
            assert phi.phone not in upstream.requests[-1].body.decode()
            await asyncio.sleep(0.1)  # the fake LLM has long answered
            assert not sent, "nothing may reach the caller before the vault write has succeeded"
            release.set()
            await asyncio.wait_for(call, 10)
            status, answer = _answer(sent)
            assert status == 200 and written == [1]
            assert phi.phone in json.loads(answer)["choices"][0]["message"]["content"]
        finally:
            await endpoints.shutdown()

    asyncio.run(scenario())


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_failed_vault_write_drops_the_answer_and_holds_what_follows(
    tmp_path: Path, phi: Phi, stream: bool
) -> None:
    endpoints = _endpoints(tmp_path)

    async def scenario() -> None:
        await endpoints.startup()
        try:
            state: Runtime = endpoints.extensions["masker"]
            received = _echo_received(state)
            down = True

            async def failing(real: Write, rows: Sequence[VaultRow]) -> None:
                if down:
                    raise VaultUnavailable("injected")
                await real(rows)

            _wrap_writes(state, failing)
            outcomes = []
            answer = ""
            for text in (f"My number is {phi.phone}.", f"Write to {phi.email}.", f"SSN {phi.ssn}."):
                down = not text.startswith("SSN")  # the vault is back for the third turn
                sent: list[dict[str, Any]] = []
                before = len(received)
                await _call(endpoints, text, sent, stream)
                status, answer = _answer(sent)
                code = json.loads(answer)["error"]["code"] if status != 200 else None
                outcomes.append((status, code, len(received) - before))
                assert all(v not in answer for v in phi.values() if v not in text)
                assert all(v not in r for r in received for v in phi.values()), "the upstream saw a value"
            assert outcomes == [
                (503, "redaction_failed", 1),  # forwarded (tokenized) while its write failed
                (503, "redaction_failed", 0),  # held: the last write failed
                (200, None, 1),  # written first, then forwarded
            ]
            assert phi.ssn in answer
        finally:
            await endpoints.shutdown()

    asyncio.run(scenario())
