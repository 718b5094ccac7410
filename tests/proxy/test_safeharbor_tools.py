"""Safe-Harbor identifiers inside tool calls, end to end: a real ``masker serve`` and the strict fake
upstream. The value sits in a tool-call argument under a key that is its only label, or is itself
a key of the arguments object, disguised the ways pasted text disguises it; none of it may reach
the upstream raw, and the arguments must stay valid JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests import synthetic
from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import AGENT
from tests.proxy_process import ProxyProcess

# (arguments object, the raw values that must not reach the upstream)
CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"mrn": "482913"}, ["482913"]),  # six digits: an identifier only because of its key
    ({"birthDate": "7/29"}, ["7/29"]),  # a month and day: a date only because of its key
    ({"social_security": "512\u201144\u20117781"}, ["512\u201144\u20117781"]),
    ({"5124477781": "verified"}, ["5124477781"]),  # the phone number is the key
    ({"W534279690": {"status": "active"}}, ["W534279690"]),  # a member number as a nested key
    ({"note": "Call580-625-4516now re: DOB05/28/1954"}, ["580-625-4516", "05/28/1954"]),
    ({"contact": "jane . roe @ gmail . com"}, ["roe @ gmail"]),
    ({"host": "186.121.150.237:6155"}, ["186.121.150.237:6155"]),
]


def _post(proxy: ProxyProcess, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{proxy.url}/proxy/{AGENT}/v1/chat/completions", json=body, timeout=15)


@pytest.mark.parametrize(("arguments", "raw"), CASES)
def test_tool_call_values_and_keys_are_masked(
    proxy: ProxyProcess, upstream: FakeUpstream, arguments: dict[str, Any], raw: list[str]
) -> None:
    synthetic.register(*raw)
    since = len(upstream.requests)
    body = {
        "model": "echo",
        "messages": [
            {"role": "user", "content": "update the chart please"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "update_record", "arguments": json.dumps(arguments)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        ],
    }
    reply = _post(proxy, body)
    assert reply.status_code == 200, reply.text
    sent = upstream.requests[since].json
    args_text = sent["messages"][1]["tool_calls"][0]["function"]["arguments"]
    forwarded = json.loads(args_text)  # still valid JSON after replacement
    assert isinstance(forwarded, dict) and len(forwarded) == len(arguments)
    seen = upstream.requests[since].body.decode("utf-8")
    decoded = json.dumps(sent, ensure_ascii=False)  # the same body with \u escapes resolved
    for value in raw:
        assert value not in seen and value not in decoded
