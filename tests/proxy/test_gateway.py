"""End to end through a real `masker serve`, the unmodified openai SDK and a real fake upstream."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.fake_upstream import INVENTED_EMAIL, INVENTED_PHONE, FakeUpstream
from tests.proxy.conftest import AGENT, AGENT_AEAD, AGENT_RESTRICTED, API_KEY, Phi, replace_text, write_agents
from tests.proxy_process import ProxyProcess


def _client(proxy: ProxyProcess, agent: str = AGENT) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/proxy/{agent}/v1", api_key="unused", max_retries=0)


def _assert_clean(upstream: FakeUpstream, phi: Phi, since: int) -> str:
    seen = "\n".join(c.body.decode() + json.dumps(c.headers) for c in upstream.requests[since:])
    assert seen, "the upstream received nothing"
    for value in phi.values():
        assert value not in seen, "a synthetic identifier reached the upstream"
    return seen


def test_chat_round_trip_restores_values(proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi) -> None:
    since = len(upstream.requests)
    reply = _client(proxy).chat.completions.create(
        model="echo",
        messages=[
            {"role": "system", "content": "You are a scheduler."},
            {"role": "user", "content": phi.sentence()},
        ],
    )
    assert reply.choices[0].message.content == phi.sentence()
    seen = _assert_clean(upstream, phi, since)
    assert "MSKV1." in seen
    # The agent route uses the agent's (here: the process default) upstream key, never the caller's.
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk-agent-upstream-key"


@pytest.mark.parametrize("model", ["echo-c1", "echo-c2", "echo-c5"])
async def test_stream_split_tokens_rehydrate(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi, model: str
) -> None:
    since = len(upstream.requests)
    client = openai.AsyncOpenAI(base_url=f"{proxy.url}/proxy/{AGENT}/v1", api_key="unused", max_retries=0)
    stream = await client.chat.completions.create(
        model=model, stream=True, messages=[{"role": "user", "content": phi.sentence()}]
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert "".join(parts) == phi.sentence()
    for part in parts:  # never a raw token fragment on the wire to the caller
        assert "MSKV1" not in part.upper()
    _assert_clean(upstream, phi, since)
    await client.close()


def test_stream_has_exactly_one_done(proxy: ProxyProcess, phi: Phi) -> None:
    with httpx.stream(
        "POST",
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=10,
        json={
            "model": "echo-c1",
            "stream": True,
            "messages": [{"role": "user", "content": phi.sentence()}],
        },
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines.count("data: [DONE]") == 1
    assert lines[-1] == "data: [DONE]"
    text = "".join(json.loads(line[5:])["choices"][0]["delta"].get("content") or "" for line in lines[:-1])
    assert text == phi.sentence()


def test_streams_reuse_the_upstream_connection(proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi) -> None:
    """A hosted API ends each stream with [DONE] and a chunked-encoding terminator on a kept-alive
    connection. The proxy must read to that end, or its pool drops the connection and every
    streamed turn pays a new TCP and TLS handshake."""
    client = _client(proxy)
    since = len(upstream.requests)
    for _ in range(3):
        stream = client.chat.completions.create(
            model="echo-c4-ka", stream=True, messages=[{"role": "user", "content": phi.sentence()}]
        )
        assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == (
            phi.sentence()
        )
        time.sleep(0.15)  # the next turn: by now the body's end (20 ms after [DONE]) has been read
    ports = {captured.peer_port for captured in upstream.requests[since:]}
    assert len(upstream.requests) == since + 3
    assert len(ports) == 1
    _assert_clean(upstream, phi, since)


@pytest.mark.parametrize("model", ["tools", "tools-c1"])
def test_tool_calls_redacted_and_rehydrated(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi, model: str
) -> None:
    since = len(upstream.requests)
    tricky = f'{phi.name} said "call {phi.phone}"'
    messages = [
        {"role": "user", "content": f"Book {phi.name}."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {
                        "name": "find_patient",
                        "arguments": json.dumps({"email": phi.email, "ssn": phi.ssn}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"phone": phi.phone})},
        {"role": "user", "content": tricky},
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "record_note",
                "description": f"Save a note for {phi.name} ({phi.email}).",
                "parameters": {"type": "object", "properties": {"note": {"type": "string"}}},
            },
        }
    ]
    client = _client(proxy)
    if model == "tools":
        reply = client.chat.completions.create(model=model, messages=messages, tools=tools)  # type: ignore[arg-type]
        call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
        arguments = call.function.arguments  # type: ignore[union-attr]
    else:
        stream = client.chat.completions.create(
            model=model,
            messages=messages,
            tools=tools,  # type: ignore[arg-type]
            stream=True,
        )
        arguments = "".join(
            (tc.function.arguments or "")
            for chunk in stream
            if chunk.choices
            for tc in (chunk.choices[0].delta.tool_calls or [])
            if tc.function
        )
    assert json.loads(arguments) == {"note": tricky, "quoted": f'"{tricky}"'}
    seen = _assert_clean(upstream, phi, since)
    sent = upstream.requests[-1].json
    assert json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]).keys() == {
        "email",
        "ssn",
    }
    assert "MSKV1" in sent["tools"][0]["function"]["description"]
    assert "MSKV1" in seen


def test_other_fields_scanned_and_masker_fields_consumed(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    # The fake refuses fields OpenAI does not know, so PHI rides in one it does (``metadata``);
    # platform objects such as Vapi's ``call`` are stripped (tests/platforms).
    since = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=10,
        json={
            "model": "echo",
            "policy_id": "default",
            "temperature": 0.2,
            "messages": [{"role": "user", "content": "hello"}],
            "metadata": {"callback": phi.phone, "caller": phi.name},
        },
    )
    assert response.status_code == 200
    _assert_clean(upstream, phi, since)
    sent = upstream.requests[-1].json
    assert "policy_id" not in sent
    assert sent["temperature"] == 0.2
    assert sent["metadata"]["callback"].startswith("MSKV1.")


def test_stable_tokens_across_turns(proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi) -> None:
    def turn(messages: list[dict[str, str]]) -> dict[str, object]:
        httpx.post(
            f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
            timeout=10,
            headers={"x-conversation-id": "conv-42"},
            json={"model": "echo", "messages": messages},
        ).raise_for_status()
        body: dict[str, object] = upstream.requests[-1].json
        return body

    first = turn([{"role": "user", "content": phi.sentence()}])
    second = turn(
        [
            {"role": "user", "content": phi.sentence()},
            {"role": "assistant", "content": "Thanks."},
            {"role": "user", "content": f"Again: {phi.phone}"},
        ]
    )
    token_turn1 = first["messages"][0]["content"]  # type: ignore[index]
    assert second["messages"][0]["content"] == token_turn1  # type: ignore[index]
    phone_token = second["messages"][2]["content"].split(": ", 1)[1]  # type: ignore[index]
    assert phone_token in token_turn1


def test_v1_route_requires_api_key_and_forwards_caller_auth(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    url = f"{proxy.url}/v1/chat/completions"
    body = {"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]}
    missing = httpx.post(url, json=body, timeout=10)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    wrong = httpx.post(url, json=body, headers={"x-api-key": "nope"}, timeout=10)
    assert wrong.status_code == 401
    client = openai.OpenAI(
        base_url=f"{proxy.url}/v1",
        api_key="sk-caller-own-key",
        default_headers={"X-Api-Key": API_KEY},
        max_retries=0,
    )
    raw = client.chat.completions.with_raw_response.create(model="echo", messages=body["messages"])  # type: ignore[arg-type]
    reply = raw.parse()
    assert reply.choices[0].message.content == phi.sentence()
    assert upstream.requests[-1].headers["authorization"] == "Bearer sk-caller-own-key"
    meta = json.loads(raw.text)["_redaction"]
    assert meta["entities_total"] >= 4 and meta["policy_id"] == "default"
    assert set(meta) >= {
        "request_id",
        "entities_total",
        "entities_by_type",
        "policy_id",
        "redaction_ms",
        "total_ms",
    }


def test_aead_agent_round_trip(proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi) -> None:
    since = len(upstream.requests)
    reply = _client(proxy, AGENT_AEAD).chat.completions.create(
        model="echo-c1", messages=[{"role": "user", "content": phi.sentence()}]
    )
    assert reply.choices[0].message.content == phi.sentence()
    _assert_clean(upstream, phi, since)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
        (
            {"content": b"\xff\xfe{}", "headers": {"content-type": "application/json"}},
            400,
            "invalid_encoding",
        ),
        ({"json": {"model": "echo"}}, 400, "invalid_messages"),
        (
            {"json": {"model": "echo", "messages": [{"role": "user", "content": "x" * 300_000}]}},
            413,
            "body_too_large",
        ),
        (
            {"content": b"a=b", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
        ),
        (
            {
                "json": {
                    "model": "echo",
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "what is this"},
                                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                            ],
                        }
                    ],
                }
            },
            422,
            "unsupported_content",
        ),
    ],
)
def test_bad_input_is_openai_shaped(
    proxy: ProxyProcess, kwargs: dict[str, object], status: int, code: str
) -> None:
    response = httpx.post(f"{proxy.url}/proxy/{AGENT}/v1/chat/completions", timeout=10, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]


def test_unknown_agent_and_model_not_allowed(proxy: ProxyProcess) -> None:
    body = {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}
    missing = httpx.post(f"{proxy.url}/proxy/agt_01JNOSUCHAGENT000000000000/v1/chat/completions", json=body)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "agent_not_found"
    with pytest.raises(openai.UnprocessableEntityError) as info:
        _client(proxy, AGENT_RESTRICTED).chat.completions.create(model="gpt-x", messages=body["messages"])  # type: ignore[arg-type]
    assert info.value.code == "model_not_allowed"


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("fail-500", 502, "upstream_error"),
        ("fail-429", 502, "upstream_error"),
        ("hang", 504, "upstream_timeout"),
    ],
)
def test_upstream_faults(proxy: ProxyProcess, phi: Phi, model: str, status: int, code: str) -> None:
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=20,
        json={"model": model, "messages": [{"role": "user", "content": phi.sentence()}]},
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    for value in phi.values():
        assert value not in response.text
    if model.startswith("fail-"):
        assert error["upstream_status"] == int(model[5:])
        assert error["upstream_error"]["code"] == f"fake_{model[5:]}"


def test_reset_mid_stream_gives_clean_error(proxy: ProxyProcess, phi: Phi) -> None:
    with httpx.stream(
        "POST",
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=10,
        json={
            "model": "reset",
            "stream": True,
            "messages": [{"role": "user", "content": phi.sentence()}],
        },
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[5:]) for line in lines[:-1]]
    assert "error" in events[-1]
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if "choices" in e)
    assert "MSKV1" not in text.upper()  # no half token reached the caller
    assert phi.sentence().startswith(text)


def test_health(proxy: ProxyProcess) -> None:
    data = httpx.get(f"{proxy.url}/health").json()
    assert data == {"status": "ok", "version": data["version"], "db": "ok", "vault": "ok", "upstream": "ok"}


def test_agents_file_reload_without_restart(proxy: ProxyProcess, proxy_dir: Path) -> None:
    import time

    new_agent = "agt_01JTEST0000000000000000009"
    url = f"{proxy.url}/proxy/{new_agent}/v1/chat/completions"
    body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(url, json=body).status_code == 404
    agents_file = proxy_dir / "agents.yaml"
    original = agents_file.read_text()
    try:
        write_agents(
            agents_file,
            [
                {"id": AGENT, "name": "front-desk", "allowed_policies": ["healthcare"]},
                {"id": new_agent, "name": "late"},
                {"id": AGENT_RESTRICTED, "name": "restricted", "upstream": {"allowed_models": ["echo"]}},
                {
                    "id": AGENT_AEAD,
                    "name": "stateless",
                    "tokenization": "reversible-aead",
                    "redaction_metadata": True,
                },
            ],
        )
        deadline = time.monotonic() + 5
        while httpx.post(url, json=body).status_code != 200:
            assert time.monotonic() < deadline, "the new agent never appeared"
            time.sleep(0.1)
        # A broken file is rejected whole; the previous table stays in force.
        replace_text(agents_file, "version: 1\nagents: [{id: not-an-agent-id}]\n")
        time.sleep(0.6)
        assert httpx.post(url, json=body).status_code == 200
    finally:
        replace_text(agents_file, original)


def test_tokens_in_caller_input_are_not_resolved(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    """A token from another conversation pasted into a prompt comes back as the same text."""
    url = f"{proxy.url}/proxy/{AGENT}/v1/chat/completions"
    httpx.post(
        url,
        timeout=10,
        headers={"x-conversation-id": "victim"},
        json={"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]},
    ).raise_for_status()
    stolen = upstream.requests[-1].json["messages"][0]["content"].split("Call me at ", 1)[1].split(" ", 1)[0]
    assert stolen.startswith("MSKV1.")
    attack = f"Read this back: {stolen}"
    for conversation in ("victim", "attacker"):
        reply = httpx.post(
            url,
            timeout=10,
            headers={"x-conversation-id": conversation},
            json={"model": "echo", "messages": [{"role": "user", "content": attack}]},
        )
        assert reply.json()["choices"][0]["message"]["content"] == attack
        assert phi.phone not in reply.text


@pytest.mark.parametrize("stream", [False, True])
def test_scan_response_policy_redacts_invented_phi(proxy: ProxyProcess, phi: Phi, stream: bool) -> None:
    """The healthcare policy scans answers: PHI the model wrote itself never reaches the caller,
    while the caller's own values still come back."""
    own = f"My number is {phi.phone}."
    reply = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        timeout=20,
        json={
            "model": "invent-c1",
            "stream": stream,
            "policy_id": "healthcare",
            "messages": [{"role": "user", "content": own}],
        },
    )
    if stream:
        text = "".join(
            json.loads(line[5:])["choices"][0]["delta"].get("content") or ""
            for line in reply.text.splitlines()
            if line.startswith("data: {")
        )
    else:
        text = reply.json()["choices"][0]["message"]["content"]
    assert text.startswith(own)
    assert INVENTED_PHONE not in text and INVENTED_EMAIL not in text
    assert "the phone number" in text
