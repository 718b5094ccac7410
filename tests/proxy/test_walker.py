"""The walker end to end, through a real `masker serve` and a scripted fake upstream: what the
request side now reaches (keys, numbers, formerly skipped fields), what the answer side now
rehydrates (error bodies, mid-stream errors, audio transcripts, content parts, reasoning,
logprobs), and which tokens an answer may resolve (only the request's own)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from masker.tokens.grammar import could_contain_token, find_tokens
from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import AGENT, AGENT_AEAD, Phi
from tests.proxy_process import ProxyProcess

_LOCK = threading.Lock()  # the scripted upstream is shared by the session: one script at a time


@pytest.fixture
def scripted(upstream: FakeUpstream) -> Iterator[FakeUpstream]:
    with _LOCK:
        yield upstream
        upstream.script = None


def _post(proxy: ProxyProcess, body: dict[str, Any], agent: str = AGENT, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/proxy/{agent}/v1/chat/completions", json=body, headers=headers, timeout=15
    )


def _tokens_seen(payload: dict[str, Any]) -> list[str]:
    raw = json.dumps(payload["messages"])
    return [raw[t.start : t.end] for t in find_tokens(raw)]


def _events(reply: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: {")]


def test_numbers_keys_and_formerly_skipped_fields_are_redacted(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    digits = int("".join(c for c in phi.phone if c.isdigit()))
    since = len(upstream.requests)
    body = {
        "model": "echo",
        "messages": [
            {"role": "user", "content": "hello"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": phi.ssn,
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"callback": digits})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": phi.ssn, "content": "ok"},
            {"role": "user", "content": "thanks"},
        ],
        "stop": [phi.email],
        "metadata": {phi.email: "owner", "dob": digits},
        "logit_bias": {str(digits): 1},
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "out",
                "schema": {"type": "object", "properties": {"p": {"type": "string", "pattern": phi.ssn}}},
            },
        },
        "customer": {"id": phi.email, "type": phi.phone, "format": phi.phone},
    }
    with upstream.accepting_extra_fields():  # ``customer`` must arrive to be checked (vLLM takes it)
        reply = _post(proxy, body)
    assert reply.status_code == 200, reply.text
    seen = upstream.requests[since].body.decode()
    for value in [*phi.values()[1:], str(digits)]:
        assert value not in seen
    sent = upstream.requests[since].json
    assert isinstance(sent["metadata"]["dob"], str) and could_contain_token(sent["metadata"]["dob"])
    [key] = [k for k in sent["metadata"] if k != "dob"]
    assert could_contain_token(key)
    # The tool call's id and the tool message that answers it still match.
    assert sent["messages"][1]["tool_calls"][0]["id"] == sent["messages"][2]["tool_call_id"]
    assert isinstance(
        json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"])["callback"], str
    )


def test_a_model_name_carrying_phi_is_refused(proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi) -> None:
    since = len(upstream.requests)
    reply = _post(proxy, {"model": f"echo-{phi.email}", "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "model"
    assert phi.email not in reply.text
    assert len(upstream.requests) == since


def test_upstream_error_bodies_are_rehydrated(proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi) -> None:
    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        [token] = _tokens_seen(payload)
        return 400, {
            "error": {"message": f"Invalid value {token}", "type": "invalid_request_error", token: 1}
        }

    scripted.script = script
    reply = _post(proxy, {"model": "script", "messages": [{"role": "user", "content": f"Call {phi.phone}"}]})
    assert reply.status_code == 400  # the upstream refused the request itself: relayed, not retried
    error = reply.json()["error"]["upstream_error"]
    assert error["message"] == f"Invalid value {phi.phone}"
    assert phi.phone in error
    assert not could_contain_token(reply.text)


def test_mid_stream_error_events_are_rehydrated(
    proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi
) -> None:
    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        [token] = _tokens_seen(payload)
        chunk = {"id": "c", "object": "chat.completion.chunk", "model": "script"}
        return 200, [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Dialling "}}]},
            {"error": {"message": f"Rate limited while writing {token}", "type": "server_error"}},
        ]

    scripted.script = script
    body = {"model": "script", "stream": True, "messages": [{"role": "user", "content": f"Call {phi.phone}"}]}
    reply = _post(proxy, body)
    events = _events(reply)
    assert events[-1]["error"]["upstream_error"]["message"] == f"Rate limited while writing {phi.phone}"
    assert not could_contain_token(reply.text)
    assert reply.text.rstrip().endswith("data: [DONE]")


def test_every_text_of_a_completion_is_rehydrated(
    proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi
) -> None:
    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        [token] = _tokens_seen(payload)
        message = {
            "role": "assistant",
            "content": [{"type": "output_text", "text": f"Calling {token} <flush /> now"}],
            "refusal": f"not {token}",
            "reasoning_content": f"The caller gave {token}.",
            "reasoning_details": [{"type": "reasoning.text", "text": f"use {token}", "index": 0}],
            "audio": {"id": "audio_1", "data": "", "transcript": f"Calling {token}", "expires_at": 1},
        }
        logprobs = {"content": [{"token": token, "logprob": -0.01, "bytes": None, "top_logprobs": []}]}
        choice = {"index": 0, "message": message, "logprobs": logprobs, "finish_reason": "stop"}
        return 200, {"id": "chatcmpl-s", "object": "chat.completion", "model": "script", "choices": [choice]}

    scripted.script = script
    reply = _post(proxy, {"model": "script", "messages": [{"role": "user", "content": f"Call {phi.phone}"}]})
    assert reply.status_code == 200, reply.text
    assert not could_contain_token(reply.text)
    choice = reply.json()["choices"][0]
    message = choice["message"]
    assert message["content"][0]["text"] == f"Calling {phi.phone} <flush /> now"
    assert message["refusal"] == f"not {phi.phone}"
    assert message["reasoning_content"] == f"The caller gave {phi.phone}."
    assert message["reasoning_details"][0]["text"] == f"use {phi.phone}"
    assert message["audio"]["transcript"] == f"Calling {phi.phone}"
    assert choice["logprobs"]["content"][0]["token"] == phi.phone


def test_every_text_of_a_stream_is_rehydrated(proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi) -> None:
    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        [token] = _tokens_seen(payload)
        base = {"id": "c", "object": "chat.completion.chunk", "model": "script"}
        text = f"Calling {token} <flush /> now"
        events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
        for i in range(0, len(text), 2):  # a token split across events, in every streamed position
            piece = text[i : i + 2]
            delta = {
                "audio": {"transcript": piece},
                "reasoning_content": piece,
                "reasoning_details": [{"type": "reasoning.text", "text": piece, "index": 0}],
                "content": piece,
            }
            events.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        return 200, events

    scripted.script = script
    body = {"model": "script", "stream": True, "messages": [{"role": "user", "content": f"Call {phi.phone}"}]}
    reply = _post(proxy, body)
    assert not could_contain_token(reply.text)
    deltas = [c["delta"] for e in _events(reply) for c in e.get("choices", [])]
    want = f"Calling {phi.phone} <flush /> now"
    assert "".join(d.get("content", "") for d in deltas) == want
    assert "".join(d.get("reasoning_content", "") for d in deltas) == want
    assert "".join(d.get("audio", {}).get("transcript", "") for d in deltas) == want
    assert "".join(r["text"] for d in deltas for r in d.get("reasoning_details", [])) == want


def _spaced(token: str) -> list[str]:
    tail = token[len("MSKV1") :]
    return ["MSK V1" + tail, "M S K V 1" + tail, "mskv1" + tail.lower(), "Msk V1" + tail.replace(".", " ")]


@pytest.mark.parametrize("agent", [AGENT, AGENT_AEAD])
@pytest.mark.parametrize("victim_conversation", [None, "victim-call"])
def test_another_requests_token_is_never_resolved(
    proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi, agent: str, victim_conversation: str | None
) -> None:
    """The token oracle: a caller who learnt another call's token (same agent, with or without a
    conversation id) cannot have it resolved, however it is spelt — not by typing it, and not by an
    upstream that says it unprompted."""
    victim_headers = {"x-conversation-id": victim_conversation} if victim_conversation else {}
    since = len(scripted.requests)
    _post(
        proxy,
        {"model": "echo", "messages": [{"role": "user", "content": f"Call {phi.phone}"}]},
        agent,
        **victim_headers,
    ).raise_for_status()
    [stolen] = _tokens_seen(scripted.requests[since].json)
    attacker_headers = dict(victim_headers)  # the same scope as the victim: the strongest case
    for spelling in [stolen, *_spaced(stolen)]:
        attack = f"Read this back: {spelling}"
        reply = _post(
            proxy,
            {"model": "echo", "messages": [{"role": "user", "content": attack}]},
            agent,
            **attacker_headers,
        )
        assert reply.status_code == 200, reply.text
        assert phi.phone not in reply.text
        assert reply.json()["choices"][0]["message"]["content"] == attack  # the caller's own text, back

    # An upstream that answers with the victim's token unprompted resolves nothing either.
    scripted.script = lambda payload: (
        200,
        {
            "id": "x",
            "object": "chat.completion",
            "model": "script",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"It is {stolen}"},
                    "finish_reason": "stop",
                }
            ],
        },
    )
    reply = _post(
        proxy,
        {"model": "script", "messages": [{"role": "user", "content": "what number?"}]},
        agent,
        **attacker_headers,
    )
    assert phi.phone not in reply.text
    assert not could_contain_token(reply.text)
    assert reply.json()["choices"][0]["message"]["content"] == "It is the phone number"


def test_a_resent_history_still_resolves(proxy: ProxyProcess, scripted: FakeUpstream, phi: Phi) -> None:
    """Chat clients resend the history in plain: its tokens are this request's, turn after turn."""
    turn = [{"role": "user", "content": f"My number is {phi.phone}"}]
    _post(proxy, {"model": "echo", "messages": turn}, **{"x-conversation-id": "hist"}).raise_for_status()

    def script(payload: dict[str, Any]) -> tuple[int, Any]:
        [token] = _tokens_seen(payload)
        message = {"role": "assistant", "content": f"Noted: {token}"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return 200, {"id": "x", "object": "chat.completion", "model": "script", "choices": [choice]}

    scripted.script = script
    turns = [*turn, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "repeat it"}]
    reply = _post(proxy, {"model": "script", "messages": turns}, **{"x-conversation-id": "hist"})
    assert reply.json()["choices"][0]["message"]["content"] == f"Noted: {phi.phone}"
