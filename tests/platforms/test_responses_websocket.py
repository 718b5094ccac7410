"""The Responses API's WebSocket mode (what LiveKit's and Pipecat's Responses clients use by default):
``response.create`` in, the streaming events out, through a real ``masker serve``."""

from __future__ import annotations

import json

import pytest
from faker import Faker

from tests import synthetic
from tests.fake_upstream import FakeUpstream
from tests.platforms.conftest import API_KEY, AUTO_AGENT
from tests.platforms.ws_client import WsClient, WsRejected
from tests.proxy_process import ProxyProcess

ENDS = ("response.completed", "response.failed", "error")


@pytest.fixture(scope="module")
def values() -> tuple[str, str]:
    fake = Faker("en_US")
    fake.seed_instance(2020)
    name = f"{fake.first_name()} {fake.last_name()}"
    phone = f"({fake.random_int(201, 989)}) 555-{fake.random_int(100, 999):04d}"
    synthetic.register(name, phone)
    return name, phone


def _connect(proxy: ProxyProcess, route: str) -> WsClient:
    if route == "agent":
        return WsClient("127.0.0.1", proxy.port, f"/proxy/{AUTO_AGENT}/v1/responses")
    # A tenant caller brings its own upstream key (the operator's is not spent for it).
    headers = {"x-api-key": API_KEY, "authorization": "Bearer sk-tenant-caller"}
    return WsClient("127.0.0.1", proxy.port, "/v1/responses", headers)


def _text(events: list[dict[str, object]]) -> str:
    return "".join(str(e["delta"]) for e in events if e.get("type") == "response.output_text.delta")


@pytest.mark.parametrize("route", ["agent", "tenant"])
def test_websocket_turns_chain_and_tools(
    proxy: ProxyProcess, upstream: FakeUpstream, values: tuple[str, str], route: str
) -> None:
    name, phone = values
    said = f"This is {name}, my number is {phone}."
    since = len(upstream.requests)
    client = _connect(proxy, route)
    try:
        client.send_json({"type": "response.create", "model": "echo-c1", "input": said})
        first = client.until(ENDS)
        assert first[-1]["type"] == "response.completed", first[-1]
        assert _text(first) == said
        numbers = [e["sequence_number"] for e in first]
        assert numbers == list(range(len(numbers)))
        response_id = first[-1]["response"]["id"]  # type: ignore[index]

        # The second turn sends only the new item; the model repeats the first from its own state.
        client.send_json(
            {
                "type": "response.create",
                "model": "recall",
                "previous_response_id": response_id,
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "What did I say?"}]}],
            }
        )
        second = client.until(ENDS)
        assert _text(second) == f"Earlier you said: {said}"

        client.send_json(
            {
                "type": "response.create",
                "model": "tools-c2",
                "input": said,
                "tools": [{"type": "function", "name": "record_note", "parameters": {"type": "object"}}],
            }
        )
        third = client.until(ENDS)
        arguments = "".join(
            str(e["delta"]) for e in third if e.get("type") == "response.function_call_arguments.delta"
        )
        assert json.loads(arguments) == {"note": said}
    finally:
        client.close()
    raw = "".join(c.body.decode() for c in upstream.requests[since:])
    assert name not in raw and phone not in raw
    assert all(c.path.endswith("/responses") for c in upstream.requests[since:])


def test_websocket_bad_message_gets_an_error_and_the_connection_stays(proxy: ProxyProcess) -> None:
    client = _connect(proxy, "agent")
    try:
        client.send_json({"type": "session.update"})
        error = client.receive_json()
        assert error["type"] == "error" and error["status"] == 400
        client.send_json({"type": "response.create", "model": "echo", "input": "hello", "call": {"id": "x"}})
        events = client.until(ENDS)
        assert events[-1]["type"] == "response.completed"  # ``call`` (Vapi's) stripped, not refused
    finally:
        client.close()


def test_websocket_tenant_needs_its_key(proxy: ProxyProcess) -> None:
    with pytest.raises((WsRejected, ConnectionError)):
        client = WsClient("127.0.0.1", proxy.port, "/v1/responses", {"x-api-key": "wrong"})
        client.send_json({"type": "response.create", "model": "echo", "input": "hello"})
        client.receive_json()
