"""Red team: realistic bodies of every platform and API shape through a real ``masker serve`` to the
strict fake upstream, with synthetic PHI in every place the upstream would see it — system prompts,
earlier assistant turns, tool definitions (descriptions, enum values, defaults, examples), tool-call
arguments (nested, ``\\u00e9``-escaped, a phone or SSN as a JSON *number*), tool results, ``name``
fields, metadata and user fields, the platform's own objects (Vapi's ``call``/``customer``),
Responses ``instructions`` and input items of every type, Anthropic ``system`` blocks with
``cache_control``, ``tool_result`` blocks and text documents — streamed and whole, through raw
HTTP and the ``openai`` / ``anthropic`` SDKs.

Each test asserts: nothing raw reaches the upstream (every string, key and number of every request
body and header is swept, in every JSON spelling and digit grouping: ``tests.leak_sweep``); the
caller gets its values back intact (also in tool-call arguments streamed one character per event);
and nothing a caller sends (headers, body fields, model names, a token it learnt) weakens the
agent's policy or opens another conversation's values."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from faker import Faker

from masker.tokens.grammar import could_contain_token, find_tokens
from tests import synthetic
from tests.fake_upstream import CHAT_FIELDS, INVENTED_EMAIL, INVENTED_PHONE, FakeUpstream
from tests.leak_sweep import format_hits, sweep_texts
from tests.platforms.conftest import AGENTS, API_KEY, AUTO_AGENT, SCANNING_AGENT
from tests.platforms.ws_client import WsClient
from tests.proxy_process import ProxyProcess, free_port, start_proxy

_LOCK = threading.Lock()  # the scripted upstream is shared by the session: one script at a time


@dataclass(frozen=True)
class Patient:
    """One synthetic caller (Faker, seeded), with an accented name so JSON escapes are exercised."""

    first: str
    last: str
    phone: str
    ssn: str
    email: str
    mrn: str
    dob: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def phone_number(self) -> int:  # the phone as a JSON number, as a tool schema of type integer has it
        return int("".join(c for c in self.phone if c.isdigit()))

    @property
    def ssn_number(self) -> int:
        return int(self.ssn.replace("-", ""))

    @property
    def e164(self) -> str:
        return f"+1{self.phone_number}"

    def card(self) -> str:
        """The chart line a system prompt carries, each value with its cue."""
        return (
            f"Patient: {self.name}. Date of birth: {self.dob}. Phone: {self.phone}. "
            f"SSN: {self.ssn}. MRN: {self.mrn}. Email: {self.email}."
        )

    def said(self) -> str:
        """What the caller says in the newest turn (the echo upstream answers it back)."""
        return f"yes, this is {self.name}, my date of birth is {self.dob} and my email is {self.email}"

    def values(self) -> list[str]:
        return [
            self.name,
            self.first,
            self.last,
            self.phone,
            str(self.phone_number),
            self.ssn,
            str(self.ssn_number),
            self.email,
            self.mrn,
            self.dob,
            self.e164,
        ]


@pytest.fixture(scope="module")
def patient() -> Patient:
    fake = Faker("es_ES")
    fake.seed_instance(2610)
    first = next(n for n in (fake.first_name() for _ in range(200)) if not n.isascii() and " " not in n)
    last = next(n for n in (fake.last_name() for _ in range(200)) if not n.isascii() and " " not in n)
    us = Faker("en_US")
    us.seed_instance(2610)
    person = Patient(
        first=first,
        last=last,
        phone=f"({us.random_int(201, 989)}) 555-{us.random_int(100, 999):04d}",
        ssn=f"{us.random_int(100, 665):03d}-{us.random_int(10, 99):02d}-{us.random_int(1000, 9999):04d}",
        email=f"{us.user_name()}@example.org",
        mrn=str(us.random_int(10_000_000, 99_999_999)),
        dob=us.date_of_birth(minimum_age=30, maximum_age=80).isoformat(),
    )
    synthetic.register(*person.values())
    return person


@pytest.fixture
def scripted(upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    with _LOCK:
        yield upstream
        upstream.script = None


def _assert_clean(upstream: FakeUpstream, since: int, patient: Patient) -> list[dict[str, Any]]:
    """Every request the upstream received since ``since``: no PHI in any spelling, anywhere."""
    sent = upstream.requests[since:]
    assert sent, "the upstream received nothing"
    texts = {
        f"upstream request {i} ({c.path})": c.path + "\n" + json.dumps(c.headers) + "\n" + c.body.decode()
        for i, c in enumerate(sent)
    }
    hits = sweep_texts(patient.values(), texts)
    assert not hits, "PHI reached the upstream:\n" + format_hits(hits)
    return [c.json for c in sent]


# -- chat completions, per platform --------------------------------------------------------------


def _chat_messages(p: Patient) -> list[dict[str, Any]]:
    arguments = json.dumps(  # ensure_ascii: the accented name arrives as \\u00e9 escapes
        {
            "patient": {"name": p.name, "phone": p.phone_number, "ssn": p.ssn_number},
            "reason": f"caller {p.name} wants a refill",
        }
    )
    return [
        {"role": "system", "content": f"You are the front desk of Lakeside Clinic. {p.card()} Be brief."},
        {"role": "assistant", "content": f"Hi {p.first}, I have {p.phone} on file for you."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup_patient", "arguments": arguments},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": json.dumps({"found": True, "mrn": p.mrn, "email": p.email, "dob": p.dob}),
        },
        {"role": "user", "content": [{"type": "text", "text": p.said()}]},
    ]


def _chat_tools(p: Patient) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": "lookup_patient",
                "description": f"Look up a patient record, e.g. {p.name} at {p.phone}.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": [p.name], "default": p.name},
                        "phone": {"type": "integer", "examples": [p.phone_number]},
                        "email": {"type": "string", "description": f"like {p.email}"},
                    },
                    "required": ["name"],
                },
            },
        }
    ]


def _platform_body(platform: str, p: Patient) -> tuple[dict[str, Any], dict[str, str]]:
    """A turn as ``platform`` posts it (docs/platforms.md), the caller's PHI everywhere it goes."""
    body: dict[str, Any] = {
        "model": "echo",
        "messages": _chat_messages(p),
        "tools": _chat_tools(p),
        "temperature": 0.3,
    }
    headers: dict[str, str] = {"authorization": "Bearer platform-credential"}
    if platform == "vapi":
        body["metadata"] = {"clinicId": "c1", "patient": p.name}
        body["call"] = {
            "id": "call-redteam-vapi",
            "type": "inboundPhoneCall",
            "customer": {"number": p.e164},
            "assistantOverrides": {"variableValues": {"patient_name": p.name, "dob": p.dob}},
            "monitor": {"controlUrl": "https://example.invalid/control"},
        }
        body["customer"] = {"number": p.e164, "name": p.name}
        body["phoneNumber"] = {"number": "+15555550199", "twilioAuthToken": "feedface" * 4}
        body["timestamp"] = 1733580000000
    elif platform == "elevenlabs":
        body["messages"][0]["content"] += f" Caller: {p.e164}."
        body.update(
            user_id=f"el-{p.mrn}",
            elevenlabs_extra_body={"patient_name": p.name, "mrn": p.mrn},
            parallel_tool_calls=False,
            stream_options={"include_usage": True},
        )
    elif platform == "retell":
        headers["x-retell-call-id"] = "retell-call-redteam"
        body["retell_llm_dynamic_variables"] = {"patient_name": p.name, "phone": p.phone}
    elif platform == "bolna":
        body.update(user="run-redteam#3", stop=["User:"], service_tier="auto")
    elif platform == "livekit":
        body.update(
            prompt_cache_key=f"agent-{p.mrn}",
            safety_identifier=p.email,
            user=p.email,
            metadata={"room": f"room-{p.last}", "caller": p.phone},
            store=False,
        )
    elif platform == "pipecat":
        body["messages"].insert(1, {"role": "developer", "content": f"Address the caller as {p.first}."})
        body.update(seed=7, max_completion_tokens=200, service_tier="auto")
    return body, headers


def _chat_stream(response: httpx.Response) -> tuple[str, str]:
    """(the text, the tool-call arguments) a streamed chat reply adds up to."""
    text, args = [], []
    for line in response.text.splitlines():
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        assert "error" not in event, event
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            text.append(delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                args.append((call.get("function") or {}).get("arguments") or "")
    return "".join(text), "".join(args)


PLATFORMS = tuple(AGENTS)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_chat_platform_body_nothing_raw_upstream_and_answer_intact(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, platform: str, stream: bool
) -> None:
    body, headers = _platform_body(platform, patient)
    body["stream"] = stream
    since = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENTS[platform]}/v1/chat/completions", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    [sent] = _assert_clean(upstream, since, patient)
    assert set(sent) <= CHAT_FIELDS
    text = _chat_stream(response)[0] if stream else response.json()["choices"][0]["message"]["content"]
    assert text == patient.said()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_chat_streamed_tool_arguments_split_per_character(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, platform: str
) -> None:
    """The model's tool call carries tokens split one character per event, inside a JSON string
    (and a quoted copy of it): the caller's arguments are valid JSON holding the values."""
    body, headers = _platform_body(platform, patient)
    body.update(model="tools-c1", stream=True)
    since = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENTS[platform]}/v1/chat/completions", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)
    arguments = json.loads(_chat_stream(response)[1])
    assert arguments == {"note": patient.said(), "quoted": f'"{patient.said()}"'}


def test_chat_openai_sdk_whole_and_stream(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient
) -> None:
    body, _ = _platform_body("livekit", patient)
    client = openai.OpenAI(
        base_url=f"{proxy.url}/proxy/{AGENTS['livekit']}/v1", api_key="sk-x", max_retries=0
    )
    since = len(upstream.requests)
    whole = client.chat.completions.create(**body)
    text = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(**{**body, "model": "echo-c1"}, stream=True)
        if chunk.choices
    )
    _assert_clean(upstream, since, patient)
    assert whole.choices[0].message.content == patient.said() == text


# -- Responses API --------------------------------------------------------------------------------


def _responses_body(p: Patient) -> dict[str, Any]:
    arguments = json.dumps({"patient": {"name": p.name, "phone": p.phone_number, "ssn": p.ssn_number}})
    return {
        "model": "echo",
        "instructions": f"You are the front desk of Lakeside Clinic. {p.card()}",
        "input": [
            {"type": "message", "role": "developer", "content": f"The caller's first name is {p.first}."},
            {
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"Hi {p.first}, is {p.phone} right?"}],
            },
            {"type": "function_call", "call_id": "call_1", "name": "lookup_patient", "arguments": arguments},
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": json.dumps({"mrn": p.mrn, "email": p.email, "dob": p.dob}),
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": p.said()}]},
        ],
        "tools": [
            {
                "type": "function",
                "name": "lookup_patient",
                "description": f"Look up a patient record, e.g. {p.name} at {p.phone}.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": [p.name], "default": p.name},
                        "phone": {"type": "integer", "examples": [p.phone_number]},
                    },
                },
            }
        ],
        "metadata": {"patient": p.name, "callback": p.phone},
        "user": p.email,
        "safety_identifier": p.email,
        "prompt_cache_key": f"clinic-{p.mrn}",
        "store": False,
    }


def _responses_stream(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    """(output text deltas, argument deltas, the completed response) of a streamed Responses reply."""
    text, args, completed = [], [], {}
    for line in response.text.splitlines():
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        assert event.get("type") != "error", event
        if event["type"] == "response.output_text.delta":
            text.append(event["delta"])
        elif event["type"] == "response.function_call_arguments.delta":
            args.append(event["delta"])
        elif event["type"] == "response.completed":
            completed = event["response"]
    return "".join(text), "".join(args), completed


@pytest.mark.parametrize("route", ["agent", "tenant"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_responses_body_nothing_raw_upstream_and_answer_intact(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, route: str, stream: bool
) -> None:
    body = {**_responses_body(patient), "stream": stream, "model": "echo-c1" if stream else "echo"}
    url, headers = _route(proxy, route, "responses")
    since = len(upstream.requests)
    response = httpx.post(url, json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)
    if stream:
        text, _, completed = _responses_stream(response)
        assert text == patient.said()
        assert completed["output"][0]["content"][0]["text"] == patient.said()
    else:
        assert response.json()["output"][0]["content"][0]["text"] == patient.said()


def test_responses_streamed_arguments_split_per_character(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient
) -> None:
    client = openai.OpenAI(base_url=f"{proxy.url}/proxy/{AUTO_AGENT}/v1", api_key="sk-x", max_retries=0)
    body = _responses_body(patient)
    since = len(upstream.requests)
    parts, done = [], ""
    for event in client.responses.create(**{**body, "model": "tools-c1"}, stream=True):
        if event.type == "response.function_call_arguments.delta":
            parts.append(event.delta)
        elif event.type == "response.function_call_arguments.done":
            done = event.arguments
    _assert_clean(upstream, since, patient)
    assert json.loads("".join(parts)) == {"note": patient.said()} == json.loads(done)


def test_responses_string_input_and_sdk(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient
) -> None:
    client = openai.OpenAI(base_url=f"{proxy.url}/proxy/{AUTO_AGENT}/v1", api_key="sk-x", max_retries=0)
    since = len(upstream.requests)
    reply = client.responses.create(model="echo", instructions=patient.card(), input=patient.said())
    _assert_clean(upstream, since, patient)
    assert reply.output_text == patient.said()


# -- Anthropic Messages ---------------------------------------------------------------------------


def _messages_body(p: Patient) -> dict[str, Any]:
    return {
        "model": "claude-echo",
        "max_tokens": 300,
        "system": [
            {"type": "text", "text": "You are the front desk of Lakeside Clinic."},
            {"type": "text", "text": p.card(), "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            {"role": "user", "content": "I need a refill."},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Sure {p.first}, let me look you up."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "lookup_patient",
                        "input": {"patient": {"name": p.name, "phone": p.phone_number, "ssn": p.ssn_number}},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": json.dumps({"mrn": p.mrn, "email": p.email})}],
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "text",
                            "media_type": "text/plain",
                            "data": f"Referral for {p.card()}",
                        },
                        "title": f"Referral {p.name}",
                    },
                    {"type": "text", "text": p.said(), "cache_control": {"type": "ephemeral"}},
                ],
            },
        ],
        "tools": [
            {
                "name": "lookup_patient",
                "description": f"Look up a patient record, e.g. {p.name} at {p.phone}.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "enum": [p.name], "default": p.name},
                        "phone": {"type": "integer", "examples": [p.phone_number]},
                    },
                },
            }
        ],
        "metadata": {"user_id": p.email},
        "stop_sequences": [f"{p.first}:"],
    }


def _messages_stream(response: httpx.Response) -> tuple[str, str]:
    text, args = [], []
    for line in response.text.splitlines():
        if not line.startswith("data: {"):
            continue
        event = json.loads(line[6:])
        assert event.get("type") != "error", event
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            text.append(delta["text"])
        elif delta.get("type") == "input_json_delta":
            args.append(delta["partial_json"])
    return "".join(text), "".join(args)


def _route(proxy: ProxyProcess, route: str, api: str) -> tuple[str, dict[str, str]]:
    if route == "agent":
        return f"{proxy.url}/proxy/{AUTO_AGENT}/v1/{api}", {}
    return f"{proxy.url}/v1/{api}", {"x-api-key": API_KEY, "authorization": "Bearer sk-caller-own"}


@pytest.mark.parametrize("route", ["agent", "tenant"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_messages_body_nothing_raw_upstream_and_answer_intact(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, route: str, stream: bool
) -> None:
    body = {**_messages_body(patient), "stream": stream, "model": "claude-echo-c1"}
    url, headers = _route(proxy, route, "messages")
    since = len(upstream.requests)
    response = httpx.post(url, json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)
    # The fake answers the newest user turn's text blocks (and tool results), joined.
    text = _messages_stream(response)[0] if stream else response.json()["content"][0]["text"]
    assert text.endswith(patient.said())


def test_messages_sdk_streamed_tool_input_split_per_character(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient
) -> None:
    client = anthropic.Anthropic(base_url=f"{proxy.url}/proxy/{AUTO_AGENT}", api_key="unused", max_retries=0)
    body = _messages_body(patient)
    body["messages"][-1]["content"] = [{"type": "text", "text": patient.said()}]
    since = len(upstream.requests)
    with client.messages.stream(**{**body, "model": "claude-tools-c1"}) as stream:
        final = stream.get_final_message()
    _assert_clean(upstream, since, patient)
    block = final.content[0]
    assert block.type == "tool_use" and block.input == {"note": patient.said()}


# -- response scanning on every route, streamed and whole ----------------------------------------

_INVENTED = f"Our desk is on {INVENTED_PHONE}; write to {INVENTED_EMAIL}."


def _responses_events(text: str) -> list[dict[str, Any]]:
    """A Responses stream of ``text`` one character per delta, as OpenAI sends it."""
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    item = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    response = {
        "id": "resp_scan",
        "object": "response",
        "status": "completed",
        "model": "script",
        "output": [item],
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**response, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        {"type": "response.content_part.added", **where, "part": {"type": "output_text", "text": ""}},
        *({"type": "response.output_text.delta", **where, "delta": c} for c in text),
        {"type": "response.output_text.done", **where, "text": text},
        {"type": "response.content_part.done", **where, "part": {"type": "output_text", "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": response},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def _messages_events(text: str) -> list[dict[str, Any]]:
    message: dict[str, Any] = {
        "id": "msg_scan",
        "type": "message",
        "role": "assistant",
        "model": "script",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}
            for c in text
        ),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
        {"type": "message_stop"},
    ]


def _scripted_answer(api: str, text: str, *, stream: bool) -> tuple[int, Any]:
    """The fake upstream's answer of ``text`` in ``api``'s shape: whole, or streamed a character
    per event."""
    if api == "responses":
        events = _responses_events(text)
        return 200, events if stream else events[-1]["response"]
    if api == "messages":
        if stream:
            return 200, _messages_events(text)
        return 200, {**_messages_events(text)[0]["message"], "content": [{"type": "text", "text": text}]}
    if stream:
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "script"}
        return 200, [
            *(
                {**chunk, "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]}
                for c in text
            ),
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
    return 200, {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "script",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def _first_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload)
    [token, *_] = [raw[t.start : t.end] for t in find_tokens(raw)]
    return token


@pytest.mark.parametrize("api", ["responses", "messages"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_invented_phi_redacted_on_every_route(
    proxy: ProxyProcess, scripted: FakeUpstream, patient: Patient, api: str, stream: bool
) -> None:
    """The healthcare policy scans answers: PHI the model invents is redacted, streamed (split one
    character per event) as well as whole; the caller's own value, a token, comes back intact."""

    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        text = f"Thanks {_first_token(payload)}. {_INVENTED}"
        if api == "responses":
            events = _responses_events(text)
            return 200, events if payload.get("stream") else events[-1]["response"]
        if payload.get("stream"):
            return 200, _messages_events(text)
        message = {**_messages_events(text)[0]["message"], "content": [{"type": "text", "text": text}]}
        return 200, message

    scripted.script = script
    body: dict[str, Any] = {"model": "script", "stream": stream}
    if api == "responses":
        body["input"] = f"My name is {patient.name}."
    else:
        body.update(max_tokens=100, messages=[{"role": "user", "content": f"My name is {patient.name}."}])
    response = httpx.post(f"{proxy.url}/proxy/{SCANNING_AGENT}/v1/{api}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    if not stream:
        texts = [json.dumps(response.json(), ensure_ascii=False)]
    elif api == "responses":
        text, _, completed = _responses_stream(response)
        texts = [text, json.dumps(completed, ensure_ascii=False), response.text]
    else:
        texts = [_messages_stream(response)[0], response.text]
    for text in texts:
        assert INVENTED_PHONE not in text and INVENTED_EMAIL not in text
        assert "555-0199" not in text
    assert f"Thanks {patient.name}." in texts[0]


# -- what a caller sends cannot weaken the policy or open another conversation -------------------

_WEAKENING_HEADERS = {
    "x-masker-policy": "default",
    "x-masker-policy-id": "default",
    "x-masker-fail-mode": "open",
    "x-masker-scan-response": "false",
    "x-masker-agent": AUTO_AGENT,
    "x-masker-bypass": "true",
}


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
def test_policy_id_for_a_weaker_policy_refused(proxy: ProxyProcess, upstream: FakeUpstream, api: str) -> None:
    body: dict[str, Any] = {"model": "echo", "policy_id": "default", "stream": False}
    if api == "responses":
        body["input"] = "hello"
    else:
        body.update(max_tokens=10, messages=[{"role": "user", "content": "hello"}])
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{SCANNING_AGENT}/v1/{api}", json=body, timeout=30)
    assert response.status_code == 403, response.text
    assert len(upstream.requests) == since


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
def test_headers_and_metadata_do_not_weaken_the_policy(
    proxy: ProxyProcess, scripted: FakeUpstream, patient: Patient, api: str
) -> None:
    """Headers and fields that look like switches (``X-Masker-*``, ``metadata.masker_policy``) are
    not read: the scanning policy still redacts invented PHI, and nothing raw goes upstream."""

    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        return _scripted_answer(api, f"Hello {_first_token(payload)}. {_INVENTED}", stream=False)

    scripted.script = script
    said = f"I am {patient.name}, phone {patient.phone}."
    body: dict[str, Any] = {
        "model": "script",
        "metadata": {"masker_policy": "default", "policy": "none", "scan_response": "false"},
    }
    if api == "responses":
        body["input"] = said
    else:
        body.update(max_tokens=50, messages=[{"role": "user", "content": said}])
    since = len(scripted.requests)
    response = httpx.post(
        f"{proxy.url}/proxy/{SCANNING_AGENT}/v1/{api}", json=body, headers=_WEAKENING_HEADERS, timeout=30
    )
    assert response.status_code == 200, response.text
    _assert_clean(scripted, since, patient)
    assert INVENTED_PHONE not in response.text and INVENTED_EMAIL not in response.text
    assert patient.name in response.text


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
def test_model_name_carrying_phi_refused(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, api: str
) -> None:
    body: dict[str, Any] = {"model": f"echo-{patient.email}"}
    if api == "responses":
        body["input"] = "hello"
    else:
        body.update(max_tokens=10, messages=[{"role": "user", "content": "hello"}])
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{AUTO_AGENT}/v1/{api}", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert patient.email not in response.text
    assert len(upstream.requests) == since


def _turn(api: str, text: str, model: str = "echo") -> dict[str, Any]:
    if api == "responses":
        return {"model": model, "input": text}
    if api == "messages":
        return {
            "model": "claude-echo" if model == "echo" else model,
            "max_tokens": 50,
            "messages": [{"role": "user", "content": text}],
        }
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def _answer_text(api: str, data: dict[str, Any]) -> str:
    if api == "responses":
        return str(data["output"][0]["content"][0]["text"])
    if api == "messages":
        return str(data["content"][0]["text"])
    return str(data["choices"][0]["message"]["content"])


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
@pytest.mark.parametrize("same", ["same-conversation-header", "other-agent"])
def test_a_learnt_token_opens_nothing(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, api: str, same: str
) -> None:
    """Conversation A's token (as a leaked upstream log would show it), sent by another caller —
    claiming A's conversation id on the same agent, or through another agent — comes back as the
    text that caller sent, never A's value."""
    conversation = {"x-masker-conversation-id": "conv-redteam-a"}
    since = len(upstream.requests)
    first = httpx.post(
        f"{proxy.url}/proxy/{AGENTS['livekit']}/v1/{api}",
        json=_turn(api, f"my email is {patient.email}"),
        headers=conversation,
        timeout=30,
    )
    assert first.status_code == 200, first.text
    token = _first_token(upstream.requests[since].json)
    agent = AGENTS["livekit"] if same == "same-conversation-header" else AGENTS["pipecat"]
    second = httpx.post(
        f"{proxy.url}/proxy/{agent}/v1/{api}",
        json=_turn(api, f"what is {token}?"),
        headers=conversation,
        timeout=30,
    )
    assert second.status_code == 200, second.text
    assert patient.email not in second.text
    assert _answer_text(api, second.json()) == f"what is {token}?"


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_an_answer_resolves_only_its_own_request_tokens(
    proxy: ProxyProcess, scripted: FakeUpstream, patient: Patient, api: str, stream: bool
) -> None:
    """A model that writes another conversation's token (a poisoned prompt cache, a shared
    upstream) gets a neutral phrase back to the caller, never that conversation's value."""
    since = len(scripted.requests)
    first = httpx.post(
        f"{proxy.url}/proxy/{AGENTS['livekit']}/v1/{api}",
        json=_turn(api, f"my email is {patient.email}"),
        headers={"x-masker-conversation-id": "conv-redteam-b"},
        timeout=30,
    )
    assert first.status_code == 200, first.text
    foreign = _first_token(scripted.requests[since].json)

    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        return _scripted_answer(api, f"Your email is {foreign}.", stream=bool(payload.get("stream")))

    scripted.script = script
    body = {**_turn(api, "what is my email?", model="script"), "stream": stream}
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENTS['livekit']}/v1/{api}",
        json=body,
        headers={"x-masker-conversation-id": "conv-redteam-c"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert patient.email not in response.text
    assert not could_contain_token(response.text.replace("\\", ""))


# -- fields the upstream would refuse ------------------------------------------------------------


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
def test_unknown_field_refused_upstream_comes_back_as_a_400(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, api: str
) -> None:
    """A generic caller's field the API does not know is forwarded (scanned: a self-hosted upstream
    may take it); a strict upstream refuses it, and the caller gets that refusal as a 400 in its
    API's error shape (an SDK or platform does not retry a 400 as it retries a 5xx), with no PHI
    having reached the upstream."""
    body = {**_turn(api, "hello"), "patient_context": {"who": patient.name, "callback": patient.phone}}
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{AUTO_AGENT}/v1/{api}", json=body, timeout=30)
    _assert_clean(upstream, since, patient)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if api == "messages":  # Anthropic's own shape, as the anthropic SDK reads it
        assert "patient_context" in error["message"]
    else:
        assert error["param"] == "patient_context"


# -- the history memo on the Responses and Messages routes ----------------------------------------


def _history_bytes(metrics_url: str) -> float:
    for line in httpx.get(metrics_url, timeout=10).text.splitlines():
        if line.startswith('masker_memory_budget_bytes{region="history"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize("api", ["responses", "messages"])
def test_resent_history_is_remembered_on_responses_and_messages(
    upstream: FakeUpstream, patient: Patient, tmp_path: Path, api: str
) -> None:
    """A fresh proxy that has only served ``api`` turns holds history-memo entries: the route
    redacts resent history once, as chat completions does, instead of detecting every turn whole."""
    port = free_port()
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_OPENAI_API_KEY": "sk-operator-upstream-key",
            "MASKER_API_KEYS": f"{API_KEY}:memo-tenant",
            "MASKER_METRICS_ADDR": f"127.0.0.1:{port}",
        },
        tmp_path,
    )
    try:
        body = _responses_body(patient) if api == "responses" else _messages_body(patient)
        body["messages" if api == "messages" else "input"][-1:] = []  # an earlier turn of the call
        since = len(upstream.requests)
        response = httpx.post(
            f"{proc.url}/v1/{api}",
            json=body,
            headers={"x-api-key": API_KEY, "authorization": "Bearer sk-x", "x-call-id": f"memo-{api}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        _assert_clean(upstream, since, patient)
        deadline = time.monotonic() + 10  # the gauge is published every second
        while _history_bytes(f"http://127.0.0.1:{port}/metrics") == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _history_bytes(f"http://127.0.0.1:{port}/metrics") > 0
    finally:
        proc.stop()


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["chat/completions", "responses", "messages"])
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_caller_headers_carry_nothing_upstream(
    proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient, api: str, stream: bool
) -> None:
    """Headers are not scanned, so none of the caller's goes upstream unless it is a fixed part of
    the API (an organization, a beta flag): not the conversation ids platforms send, not W3C trace
    ``baggage`` / ``tracestate`` (free-form key=value lists a platform may fill with call data)."""
    headers = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": f"vendor={patient.mrn}",
        "baggage": f"patient={patient.email},callback={patient.phone_number},mrn={patient.mrn}",
        "x-call-id": f"call-{patient.mrn}",
        "x-conversation-id": f"conv-{patient.mrn}",
        "x-retell-call-id": f"retell-{patient.mrn}",
        "x-patient-phone": patient.phone,
        "user-agent": f"VapiBot/1.0 ({patient.email})",
    }
    body = {**_turn(api, "hello"), "stream": stream}
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{AUTO_AGENT}/v1/{api}", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)


# -- the Responses WebSocket mode, and the rarer item and block types ----------------------------


def test_websocket_full_body_and_invented_phi(
    proxy: ProxyProcess, scripted: FakeUpstream, patient: Patient
) -> None:
    """LiveKit's and Pipecat's default: the full red-team body as ``response.create``, then an
    answer with invented PHI on a scanning agent: nothing raw upstream, values back, PHI gone."""
    client = WsClient("127.0.0.1", proxy.port, f"/proxy/{SCANNING_AGENT}/v1/responses")
    since = len(scripted.requests)
    try:
        body = {k: v for k, v in _responses_body(patient).items() if k != "store"}
        client.send_json({"type": "response.create", **body, "model": "echo-c1"})
        events = client.until(("response.completed", "error"))
        assert events[-1]["type"] == "response.completed", events[-1]
        assert (
            "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == patient.said()
        )

        def script(payload: dict[str, Any]) -> tuple[int, Any]:
            return 200, _responses_events(f"Thanks {_first_token(payload)}. {_INVENTED}")

        scripted.script = script
        client.send_json({"type": "response.create", "model": "script", "input": f"I am {patient.name}."})
        events = client.until(("response.completed", "error"))
    finally:
        client.close()
    _assert_clean(scripted, since, patient)
    raw = json.dumps(events, ensure_ascii=False)
    assert INVENTED_PHONE not in raw and INVENTED_EMAIL not in raw
    assert f"Thanks {patient.name}." in raw


def test_responses_rarer_input_items(proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient) -> None:
    """Reasoning summaries, custom tool calls and their outputs, an item reference, a developer
    message with string content, a JSON-schema output format and prompt variables."""
    body = {
        "model": "echo",
        "instructions": [{"type": "message", "role": "system", "content": patient.card()}],
        "input": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": f"{patient.name} asked about {patient.dob}"}],
            },
            {
                "type": "custom_tool_call",
                "call_id": "ct_1",
                "name": "sql",
                "input": f"SELECT * FROM p WHERE ssn='{patient.ssn}'",
            },
            {
                "type": "custom_tool_call_output",
                "call_id": "ct_1",
                "output": f"{patient.name}; {patient.phone}; {patient.email}",
            },
            {"type": "item_reference", "id": "msg_earlier"},
            {"type": "message", "role": "user", "content": patient.said()},
        ],
        "text": {
            "format": {
                "type": "json_schema",
                "name": "out",
                "schema": {
                    "type": "object",
                    "description": f"for {patient.name}",
                    "properties": {"mrn": {"type": "string", "const": patient.mrn}},
                },
            }
        },
        "prompt": {
            "id": "pmpt_1",
            "variables": {
                "patient_name": patient.name,
                "callback": {"type": "input_text", "text": patient.phone},
            },
        },
    }
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{AUTO_AGENT}/v1/responses", json=body, timeout=30)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)
    assert response.json()["output"][0]["content"][0]["text"] == patient.said()


def test_messages_rarer_blocks(proxy: ProxyProcess, upstream: FakeUpstream, patient: Patient) -> None:
    """A search result and a document of text blocks (text, so scanned and forwarded under the
    default policy, which refuses images and PDFs), thinking in an earlier assistant turn, a
    ``tool_result`` marked as an error, and ``tool_choice`` naming the tool."""
    body = {
        "model": "claude-echo",
        "max_tokens": 100,
        "system": patient.card(),
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "search_result",
                        "source": f"https://ehr.example/p/{patient.mrn}",
                        "title": f"Chart of {patient.name}",
                        "content": [
                            {
                                "type": "text",
                                "text": f"{patient.name}, DOB {patient.dob}, phone {patient.phone}",
                            }
                        ],
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "content",
                            "content": [{"type": "text", "text": f"Referral: {patient.card()}"}],
                        },
                    },
                    {"type": "text", "text": "Book me in."},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": f"{patient.first} wants a booking; SSN {patient.ssn}",
                        "signature": "c2lnbmF0dXJl",
                    },
                    {"type": "tool_use", "id": "toolu_9", "name": "book", "input": {"who": patient.name}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_9",
                        "is_error": True,
                        "content": f"no slot for {patient.email}",
                    },
                    {"type": "text", "text": patient.said()},
                ],
            },
        ],
        "tool_choice": {"type": "tool", "name": "book"},
        "tools": [
            {"name": "book", "input_schema": {"type": "object", "properties": {"who": {"type": "string"}}}}
        ],
    }
    since = len(upstream.requests)
    response = httpx.post(f"{proxy.url}/proxy/{AUTO_AGENT}/v1/messages", json=body, timeout=30)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, patient)
    assert response.json()["content"][0]["text"].endswith(patient.said())
