"""The unmodified ``openai`` and ``anthropic`` SDKs through a real ``masker serve``: ``models``, the
Responses API (whole and streamed, tools, ``previous_response_id`` chains) and Anthropic Messages
(create and stream, with a tool call), on the agent route and the tenant route."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import httpx
import openai
import pytest
from faker import Faker

from tests import synthetic
from tests.fake_upstream import INVENTED_EMAIL, INVENTED_PHONE, MODELS, FakeUpstream
from tests.platforms.conftest import API_KEY, AUTO_AGENT, LIMITED_AGENT, SCANNING_AGENT
from tests.proxy_process import ProxyProcess

ROUTES = ("agent", "tenant")


@dataclass(frozen=True)
class Caller:
    name: str
    phone: str
    email: str

    def sentence(self) -> str:
        return f"Hi, I'm {self.name}; call me on {self.phone} or write to {self.email}."

    def values(self) -> list[str]:
        return [self.name, self.phone, self.email]


@pytest.fixture(scope="module")
def caller() -> Caller:
    fake = Faker("en_US")
    fake.seed_instance(1919)
    person = Caller(
        f"{fake.first_name()} {fake.last_name()}",
        f"({fake.random_int(201, 989)}) 555-{fake.random_int(100, 999):04d}",
        fake.user_name() + "@example.net",
    )
    synthetic.register(*person.values())
    return person


def _openai(proxy: ProxyProcess, route: str, agent: str = AUTO_AGENT) -> openai.OpenAI:
    if route == "agent":
        return openai.OpenAI(base_url=f"{proxy.url}/proxy/{agent}/v1", api_key="sk-caller", max_retries=0)
    return openai.OpenAI(
        base_url=f"{proxy.url}/v1", api_key="sk-caller", default_headers={"x-api-key": API_KEY}, max_retries=0
    )


def _anthropic(proxy: ProxyProcess, route: str) -> anthropic.Anthropic:
    if route == "agent":
        return anthropic.Anthropic(
            base_url=f"{proxy.url}/proxy/{AUTO_AGENT}", api_key="unused", max_retries=0
        )
    # The SDK sends its key as ``Authorization: Bearer``: that is the caller's upstream key, which
    # Masker forwards as the upstream's ``x-api-key``; the tenant key rides in ``X-Api-Key``.
    return anthropic.Anthropic(
        base_url=proxy.url,
        api_key="sk-ant-upstream",
        default_headers={"x-api-key": API_KEY},
        max_retries=0,
    )


def _assert_clean(upstream: FakeUpstream, since: int, caller: Caller) -> None:
    sent = upstream.requests[since:]
    assert sent, "the upstream received nothing"
    for captured in sent:
        raw = captured.body.decode() + json.dumps(captured.headers)
        for value in caller.values():
            assert value not in raw, "a synthetic identifier reached the upstream"


@pytest.fixture(scope="module")
def tools() -> Iterator[list[dict[str, object]]]:
    yield [
        {
            "type": "function",
            "name": "record_note",
            "description": "Write a note to the chart",
            "parameters": {
                "type": "object",
                "properties": {"note": {"type": "string"}},
                "required": ["note"],
            },
        }
    ]


# -- models ------------------------------------------------------------------------------------


def test_models_list_agent_allowed_models(proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    client = _openai(proxy, "agent", LIMITED_AGENT)
    listed = {m.id: m for m in client.models.list()}
    assert set(listed) == {"gpt-4o-mini", "echo", "own"}
    assert listed["echo"].owned_by == "fake"  # the upstream's entry where it has one
    assert listed["own"].owned_by == "masker"
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")  # the upstream has it; this agent may not use it


@pytest.mark.parametrize("route", ROUTES)
def test_models_list_upstream(proxy: ProxyProcess, route: str) -> None:
    client = _openai(proxy, route)
    assert [m.id for m in client.models.list()] == list(MODELS)
    assert client.models.retrieve("claude-echo").object == "model"


def test_models_tenant_needs_its_key(proxy: ProxyProcess) -> None:
    assert httpx.get(f"{proxy.url}/v1/models").status_code == 401
    assert httpx.get(f"{proxy.url}/v1/models", headers={"x-api-key": "wrong"}).status_code == 401


# -- Responses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_responses_create(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller, route: str, tools: list[dict[str, object]]
) -> None:
    since = len(upstream.requests)
    client = _openai(proxy, route)
    reply = client.responses.create(
        model="echo",
        instructions=f"The caller is {caller.name}. Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": caller.sentence()}]}],
        tools=tools,  # type: ignore[arg-type]
    )
    _assert_clean(upstream, since, caller)
    assert reply.output_text == caller.sentence()


@pytest.mark.parametrize("route", ROUTES)
def test_responses_stream(proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller, route: str) -> None:
    since = len(upstream.requests)
    client = _openai(proxy, route)
    deltas: list[str] = []
    completed = None
    numbers = []
    for event in client.responses.create(model="echo-c1", input=caller.sentence(), stream=True):
        numbers.append(event.sequence_number)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        elif event.type == "response.completed":
            completed = event.response
    _assert_clean(upstream, since, caller)
    assert "".join(deltas) == caller.sentence()
    assert completed is not None and completed.output_text == caller.sentence()
    assert numbers == list(range(len(numbers)))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_responses_function_call(
    proxy: ProxyProcess,
    upstream: FakeUpstream,
    caller: Caller,
    route: str,
    stream: bool,
    tools: list[dict[str, object]],
) -> None:
    since = len(upstream.requests)
    client = _openai(proxy, route)
    if stream:
        parts: list[str] = []
        done = ""
        for event in client.responses.create(
            model="tools-c2",
            input=caller.sentence(),
            tools=tools,  # type: ignore[arg-type]
            stream=True,
        ):
            if event.type == "response.function_call_arguments.delta":
                parts.append(event.delta)
            elif event.type == "response.function_call_arguments.done":
                done = event.arguments
        arguments = "".join(parts)
        assert done == arguments
    else:
        reply = client.responses.create(model="tools", input=caller.sentence(), tools=tools)  # type: ignore[arg-type]
        call = reply.output[0]
        assert call.type == "function_call"
        arguments = call.arguments
    _assert_clean(upstream, since, caller)
    assert json.loads(arguments)["note"] == caller.sentence()


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_responses_previous_response_id(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller, route: str, stream: bool
) -> None:
    """The second turn does not resend the first; the model repeats it from upstream state, and
    its tokens still come back as the caller's values."""
    since = len(upstream.requests)
    client = _openai(proxy, route)
    first = client.responses.create(model="echo", input=caller.sentence())
    if stream:
        text = ""
        for event in client.responses.create(
            model="recall", input="What did I tell you?", previous_response_id=first.id, stream=True
        ):
            if event.type == "response.output_text.delta":
                text += event.delta
    else:
        text = client.responses.create(
            model="recall", input="What did I tell you?", previous_response_id=first.id
        ).output_text
    _assert_clean(upstream, since, caller)
    assert text == f"Earlier you said: {caller.sentence()}"


def test_responses_chain_is_bound_to_its_caller(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller
) -> None:
    """A response id made through one agent opens nothing through another caller, although the
    upstream itself would happily continue the chain."""
    first = _openai(proxy, "agent").responses.create(model="echo", input=caller.sentence())
    other = _openai(proxy, "tenant").responses.create(
        model="recall", input="What did I tell you?", previous_response_id=first.id
    )
    for value in caller.values():
        assert value not in other.output_text
    assert "MSKV1" not in other.output_text.upper()


def test_responses_unknown_fields_from_platforms_stripped(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller
) -> None:
    """ElevenLabs in Responses mode: its own fields never reach a strict upstream."""
    since = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{AUTO_AGENT}/v1/responses",
        json={
            "model": "echo",
            "input": caller.sentence(),
            "user_id": "el-user-1",
            "elevenlabs_extra_body": {"patient_name": caller.name},
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, caller)
    assert "user_id" not in upstream.requests[-1].json
    assert response.json()["output"][0]["content"][0]["text"] == caller.sentence()


# -- Anthropic Messages ------------------------------------------------------------------------

ANTHROPIC_TOOLS = [
    {
        "name": "record_note",
        "description": "Write a note to the chart",
        "input_schema": {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]},
    }
]


@pytest.mark.parametrize("route", ROUTES)
def test_messages_create_text_and_tool(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller, route: str
) -> None:
    since = len(upstream.requests)
    client = _anthropic(proxy, route)
    reply = client.messages.create(
        model="claude-echo",
        max_tokens=200,
        system=f"The caller is {caller.name}.",
        messages=[{"role": "user", "content": caller.sentence()}],
    )
    assert reply.content[0].type == "text" and reply.content[0].text == caller.sentence()
    tool_reply = client.messages.create(
        model="claude-tools",
        max_tokens=200,
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        messages=[
            {"role": "user", "content": "Note this down."},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_0",
                        "name": "record_note",
                        "input": {"note": caller.phone},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": caller.sentence()}],
            },
        ],
    )
    block = tool_reply.content[0]
    assert block.type == "tool_use" and block.input == {"note": caller.sentence()}
    _assert_clean(upstream, since, caller)
    sent_headers = upstream.requests[-1].headers
    assert sent_headers["anthropic-version"]
    assert sent_headers["x-api-key"] == (
        "sk-operator-upstream-key" if route == "agent" else "sk-ant-upstream"
    )


@pytest.mark.parametrize("route", ROUTES)
def test_messages_stream_text_and_tool(
    proxy: ProxyProcess, upstream: FakeUpstream, caller: Caller, route: str
) -> None:
    since = len(upstream.requests)
    client = _anthropic(proxy, route)
    with client.messages.stream(
        model="claude-echo-c1", max_tokens=200, messages=[{"role": "user", "content": caller.sentence()}]
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == caller.sentence()
    with client.messages.stream(
        model="claude-tools-c2",
        max_tokens=200,
        tools=ANTHROPIC_TOOLS,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": caller.sentence()}],
    ) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.input == {"note": caller.sentence()}
    _assert_clean(upstream, since, caller)


def test_messages_unknown_field_refused_upstream_is_passed_back(proxy: ProxyProcess) -> None:
    """The fake is as strict as Anthropic; a generic caller's unknown field comes back as its 400."""
    client = _anthropic(proxy, "agent")
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(
            model="claude-echo",
            max_tokens=10,
            messages=[{"role": "user", "content": "hello"}],
            extra_body={"not_a_field": 1},
        )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/responses",
            {"model": "slow-c1", "input": "a fairly long answer to be streamed slowly", "stream": True},
        ),
        (
            "/v1/messages",
            {
                "model": "slow-claude-c1",
                "max_tokens": 50,
                "stream": True,
                "messages": [{"role": "user", "content": "a fairly long answer to be streamed slowly"}],
            },
        ),
    ],
)
def test_stream_hang_up_closes_the_upstream(
    proxy: ProxyProcess, upstream: FakeUpstream, path: str, body: dict[str, object]
) -> None:
    before = upstream.abandoned_streams
    with httpx.stream("POST", f"{proxy.url}/proxy/{AUTO_AGENT}{path}", json=body, timeout=30) as response:
        assert response.status_code == 200
        next(response.iter_raw())
    deadline = time.monotonic() + 10  # a wait for the fake to notice, not a speed claim
    while upstream.abandoned_streams == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.abandoned_streams > before


def test_responses_answer_scanned_when_the_policy_says_so(proxy: ProxyProcess, caller: Caller) -> None:
    """PHI the model invents (not the caller's) is redacted from a whole Responses answer."""
    reply = _openai(proxy, "agent", SCANNING_AGENT).responses.create(model="invent", input=caller.sentence())
    assert reply.output_text.startswith(caller.sentence())
    assert INVENTED_PHONE not in reply.output_text and INVENTED_EMAIL not in reply.output_text
