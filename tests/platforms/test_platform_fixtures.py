"""Each voice platform's recorded request shape, through a real ``masker serve`` to an upstream
that refuses unknown top-level fields as OpenAI does: 200, nothing platform-private or PHI reaches
the upstream, and the caller gets the originals back — streamed, whole, and in tool-call arguments."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import CHAT_FIELDS, FakeUpstream
from tests.platforms.conftest import AGENTS, AUTO_AGENT, PLATFORMS, load_fixture
from tests.proxy_process import ProxyProcess

AUTO_DETECTED = ("vapi", "elevenlabs", "retell", "bolna")  # the others send only OpenAI fields


def _post(proxy: ProxyProcess, agent_id: str, fixture: dict[str, Any], **changes: Any) -> httpx.Response:
    body = copy.deepcopy(fixture["body"])
    body.update(changes)
    return httpx.post(
        f"{proxy.url}/proxy/{agent_id}/v1/chat/completions",
        json=body,
        headers=fixture["headers"],
        timeout=30,
    )


def _streamed(response: httpx.Response) -> tuple[str, str]:
    """(the text, the tool-call arguments) a streamed reply adds up to."""
    text, args = [], []
    for line in response.text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            text.append(delta.get("content") or "")
            for call in delta.get("tool_calls") or []:
                args.append((call.get("function") or {}).get("arguments") or "")
    return "".join(text), "".join(args)


def _assert_clean(upstream: FakeUpstream, since: int, fixture: dict[str, Any]) -> dict[str, Any]:
    sent = upstream.requests[since:]
    assert sent, "the upstream received nothing"
    for captured in sent:
        raw = (captured.body.decode() + json.dumps(captured.headers)).lower()
        for value in fixture["phi"]:
            assert value.lower() not in raw, (
                f"a known PHI value of the {fixture['platform']} fixture reached the upstream"
            )
        for private in fixture["private_values"]:
            assert private.lower() not in raw, f"platform-private {private!r} reached the upstream"
        assert not set(captured.json) & set(fixture["private_fields"])
        assert set(captured.json) <= CHAT_FIELDS
    body: dict[str, Any] = sent[-1].json
    return body


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_platform_turn_round_trip(
    proxy: ProxyProcess, upstream: FakeUpstream, platform: str, stream: bool
) -> None:
    fixture = load_fixture(platform)
    since = len(upstream.requests)
    response = _post(proxy, AGENTS[platform], fixture, stream=stream)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, fixture)
    if stream:
        text, _ = _streamed(response)
    else:
        text = response.json()["choices"][0]["message"]["content"]
    assert text == fixture["expect_reply"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_platform_tool_call_arguments_restored(
    proxy: ProxyProcess, upstream: FakeUpstream, platform: str
) -> None:
    fixture = load_fixture(platform)
    since = len(upstream.requests)
    response = _post(proxy, AGENTS[platform], fixture, model="tools", stream=True)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, fixture)
    _, args = _streamed(response)
    assert json.loads(args)["note"] == fixture["expect_reply"]


@pytest.mark.parametrize("platform", AUTO_DETECTED)
def test_platform_auto_detected(proxy: ProxyProcess, upstream: FakeUpstream, platform: str) -> None:
    fixture = load_fixture(platform)
    since = len(upstream.requests)
    response = _post(proxy, AUTO_AGENT, fixture, stream=False)
    assert response.status_code == 200, response.text
    _assert_clean(upstream, since, fixture)
    assert response.json()["choices"][0]["message"]["content"] == fixture["expect_reply"]


def test_vapi_known_values_in_later_turns_and_flush_tag(proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    """A patient name from ``variableValues`` is hidden in any case, spacing or part, with no cue;
    the date of birth in another format is hidden too; ``<flush />`` passes through."""
    fixture = load_fixture("vapi")
    said = "OLSEN  derek here again. born 1961 04 12. yes thats right, Derek <flush /> thanks"
    messages = [
        *fixture["body"]["messages"],
        {"role": "assistant", "content": "Got it."},
        {"role": "user", "content": said},
    ]
    since = len(upstream.requests)
    response = _post(proxy, AGENTS["vapi"], fixture, messages=messages, stream=False)
    assert response.status_code == 200, response.text
    sent = _assert_clean(upstream, since, fixture)
    assert "<flush />" in sent["messages"][-1]["content"]
    assert response.json()["choices"][0]["message"]["content"] == said


def test_vapi_secret_kept_field_never_forwarded(proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    """An agent that forwards ``metadata`` still has credentials taken out of it at any depth."""
    fixture = load_fixture("vapi")
    since = len(upstream.requests)
    response = _post(
        proxy,
        AGENTS["pipecat"],  # a profile without strip lists: metadata is forwarded, and scanned
        {**fixture, "body": {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}},
        metadata={"routing": {"twilioAuthToken": "f00dfeed0000000000000000deadbeef", "desk": "north"}},
    )
    assert response.status_code == 200, response.text
    sent = upstream.requests[-1].json
    assert len(upstream.requests) > since
    assert "f00dfeed" not in upstream.requests[-1].body.decode()
    assert sent["metadata"]["routing"] == {"desk": "north"}


def test_retries_keep_tokens_and_are_audited_once(
    proxy: ProxyProcess, upstream: FakeUpstream, tmp_path_factory: Any
) -> None:
    """ElevenLabs retries a turn at least 3 times: the upstream sees the same tokens each time and
    the audit log holds one record for the logical turn."""
    fixture = load_fixture("elevenlabs")
    turn = [*fixture["body"]["messages"], {"role": "user", "content": "is the refill ready today"}]
    since = len(upstream.requests)
    ids = []
    for _ in range(3):
        response = _post(proxy, AGENTS["elevenlabs"], fixture, stream=False, messages=turn)
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    bodies = [c.body for c in upstream.requests[since:]]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    later = [*turn, {"role": "user", "content": "and one more thing"}]
    marker = _post(proxy, AGENTS["elevenlabs"], fixture, stream=False, messages=later)  # the next turn
    seen = _audited_until(proxy, marker.headers["x-request-id"])
    assert sum(i in seen for i in ids) == 1


def _audited_until(proxy: ProxyProcess, marker_id: str) -> list[str]:
    """The audit log's request ids once ``marker_id`` is among them (records are written in order)."""
    audit = Path(proxy.log_path.parent) / "audit"
    deadline = time.monotonic() + 20  # a wait for the batch writer, not a speed claim
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen = [
            json.loads(line)["request_id"]
            for f in sorted(audit.glob("**/*.jsonl"))
            for line in f.read_text().splitlines()
            if line.strip()
        ]
        if marker_id in seen:
            return seen
        time.sleep(0.2)
    raise AssertionError("the audit writer did not write the marker turn")


def test_responses_retries_audited_once(proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    fixture = load_fixture("elevenlabs")  # ElevenLabs in Responses mode retries the same body
    body = {
        "model": "echo",
        "input": fixture["body"]["messages"][-1]["content"],
        "user_id": "el-user-9",
        "elevenlabs_extra_body": fixture["body"]["elevenlabs_extra_body"],
    }
    url = f"{proxy.url}/proxy/{AGENTS['elevenlabs']}/v1/responses"
    ids = []
    for _ in range(3):
        response = httpx.post(url, json=body, timeout=30)
        assert response.status_code == 200, response.text
        ids.append(response.headers["x-request-id"])
    marker = httpx.post(url, json={**body, "input": "and one more thing"}, timeout=30)
    seen = _audited_until(proxy, marker.headers["x-request-id"])
    assert sum(i in seen for i in ids) == 1
