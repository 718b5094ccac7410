"""What applies to a request is decided in one place (masker.context), and nothing a caller sends
can steer it: the policy, the fields stripped, the upstream credentials, the types of the fields
Masker interprets. Against the real proxy process and the fake upstream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import AGENT, AGENT_HEALTH, API_KEY, Phi, replace_text
from tests.proxy_process import ROOT, ProxyProcess, free_port


def _chat(proxy: ProxyProcess, agent: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{proxy.url}/proxy/{agent}/v1/chat/completions", json=body, timeout=20)


def _error_code(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    return str(error["code"])


@pytest.mark.parametrize("requested", ["default", "no-such-policy"])
def test_a_caller_cannot_pick_a_policy_its_agent_does_not_allow(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi, requested: str
) -> None:
    """The clinic agent runs `healthcare`; asking for `default` (weaker: no answer scanning) or any
    name not on its allow-list is refused before anything is forwarded, and the refusal does not
    say whether the name exists."""
    before = len(upstream.requests)
    body = {
        "model": "echo",
        "policy_id": requested,
        "messages": [{"role": "user", "content": phi.sentence()}],
    }
    response = _chat(proxy, AGENT_HEALTH, body)
    assert response.status_code == 403
    assert _error_code(response) == "policy_not_allowed"
    assert len(upstream.requests) == before


def test_a_caller_may_name_its_own_policy_or_an_allowed_one(proxy: ProxyProcess, phi: Phi) -> None:
    own = _chat(
        proxy,
        AGENT_HEALTH,
        {"model": "echo", "policy_id": "healthcare", "messages": [{"role": "user", "content": "Hello"}]},
    )
    assert own.status_code == 200 and own.json()["_redaction"]["policy_id"] == "healthcare"
    for bad in (7, ["healthcare"], {"name": "healthcare"}):
        wrong_type = _chat(
            proxy,
            AGENT_HEALTH,
            {"model": "echo", "policy_id": bad, "messages": [{"role": "user", "content": "x"}]},
        )
        assert wrong_type.status_code == 400 and _error_code(wrong_type) == "invalid_type"


def test_the_agents_strip_fields_never_reach_the_upstream(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    """A voice platform's request carries its phone-number object, Twilio credentials included; the
    agent strips it, so neither the object nor the token is forwarded."""
    auth_token = "9f1c2e7d4b8a6035e1d2c3b4a5968778"
    sid = "AC4b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d"
    body = {
        "model": "echo",
        "messages": [{"role": "user", "content": phi.sentence()}],
        "call": {"id": "call-strip-1", "type": "inboundPhoneCall"},
        "phoneNumber": {
            "id": "pn-1",
            "provider": "twilio",
            "number": phi.phone,
            "twilioAccountSid": sid,
            "twilioAuthToken": auth_token,
        },
    }
    before = len(upstream.requests)
    response = _chat(proxy, AGENT_HEALTH, body)
    assert response.status_code == 200, response.text
    sent = upstream.requests[before:]
    assert len(sent) == 1
    assert "phoneNumber" not in sent[0].json
    raw = sent[0].body.decode()
    assert auth_token not in raw and sid not in raw and phi.phone not in raw


def test_a_tenant_caller_without_authorization_does_not_get_the_operator_key(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    before = len(upstream.requests)
    response = httpx.post(
        f"{proxy.url}/v1/chat/completions",
        headers={"x-api-key": API_KEY},
        json={"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]},
        timeout=20,
    )
    assert response.status_code == 401
    assert _error_code(response) == "missing_upstream_key"
    assert len(upstream.requests) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stream", "false"),
        ("stream", 1),
        ("temperature", "1e400"),  # sent raw below: JSON's 1e400 is infinite as a double
        ("temperature", "0.7"),
        ("top_p", True),
        ("n", "2"),
        ("n", 1.5),
        ("max_tokens", "100"),
        ("max_tokens", 1e3),
        ("stream_options", "include_usage"),
        ("stream_options", {"include_usage": "yes"}),
        ("logprobs", "true"),
    ],
)
def test_fields_masker_interprets_must_have_their_type(
    proxy: ProxyProcess, upstream: FakeUpstream, field: str, value: Any
) -> None:
    before = len(upstream.requests)
    body = {"model": "echo", "messages": [{"role": "user", "content": "Hello"}], field: value}
    raw = json.dumps(body)
    if value == "1e400":
        raw = raw.replace('"1e400"', "1e400")
    response = httpx.post(
        f"{proxy.url}/proxy/{AGENT}/v1/chat/completions",
        content=raw.encode(),
        headers={"content-type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 400, response.text
    assert _error_code(response) == "invalid_type"
    assert response.json()["error"]["param"].split(".")[0] == field
    assert len(upstream.requests) == before


def test_well_typed_fields_pass(proxy: ProxyProcess) -> None:
    response = _chat(
        proxy,
        AGENT,
        {
            "model": "echo",
            "messages": [{"role": "user", "content": "Hello"}],
            "stream": False,
            "temperature": 0,
            "top_p": 0.9,
            "n": 1,
            "max_tokens": 64,
            "stream_options": None,
            "logprobs": False,
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"


def test_an_idle_stream_reports_a_timeout(proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    """The upstream starts answering, then falls silent past MASKER_UPSTREAM_TIMEOUT (3 s here)."""
    response = _chat(
        proxy, AGENT, {"model": "stall", "stream": True, "messages": [{"role": "user", "content": "Hello"}]}
    )
    assert response.status_code == 200
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == "upstream_timeout" and error["type"] == "timeout_error"


def test_an_unknown_policy_on_reload_keeps_the_previous_table(
    proxy: ProxyProcess, proxy_dir: Path, phi: Phi
) -> None:
    agents_file = proxy_dir / "agents.yaml"
    original = agents_file.read_text()
    try:
        broken = original.replace("policy: healthcare", "policy: healthcar")
        assert broken != original
        replace_text(agents_file, broken)
        deadline = time.monotonic() + 5
        while "unknown policy 'healthcar'" not in proxy.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "agents file rejected; keeping the previous table" in proxy.log()
        assert "unknown policy 'healthcar'" in proxy.log()
        # Still the healthcare agent, on its own policy: not dropped, and not run as `default`.
        response = _chat(
            proxy, AGENT_HEALTH, {"model": "echo", "messages": [{"role": "user", "content": "Hi"}]}
        )
        assert response.status_code == 200 and response.json()["_redaction"]["policy_id"] == "healthcare"
    finally:
        replace_text(agents_file, original)
        time.sleep(0.6)


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``masker serve`` expected to refuse its configuration: returns once it has exited."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    base |= {
        "MASKER_LISTEN_ADDR": f"127.0.0.1:{free_port()}",
        "MASKER_DATA_DIR": str(tmp_path / "data"),
        "MASKER_POLICIES_DIR": str(ROOT / "policies"),
    }
    return subprocess.run(
        [sys.executable, "-m", "masker", "serve"],
        cwd=tmp_path,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "listening" not in result.stdout.lower()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("masker: configuration error: ") and message in lines[0]


def test_an_unknown_policy_name_stops_the_start(tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    agents.write_text("version: 1\nagents:\n  - {id: agt_01JTEST0000000000000000009, policy: healthcar}\n")
    _refused(_serve(tmp_path, {"MASKER_AGENTS_FILE": str(agents)}), "unknown policy 'healthcar'")
    agents.write_text(
        "version: 1\nagents:\n  - {id: agt_01JTEST0000000000000000009, allowed_policies: [nope]}\n"
    )
    _refused(_serve(tmp_path, {"MASKER_AGENTS_FILE": str(agents)}), "unknown policy 'nope'")
    _refused(
        _serve(tmp_path, {"MASKER_API_KEYS": "k:t", "MASKER_TENANT_POLICY": "strict"}),
        "unknown policy 'strict'",
    )


def test_a_policies_dir_that_does_not_exist_stops_the_start(tmp_path: Path) -> None:
    """Relative to a working directory it is not in, `policies` would silently be empty."""
    _refused(_serve(tmp_path, {"MASKER_POLICIES_DIR": "policies"}), "MASKER_POLICIES_DIR")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MASKER_AUDIT_HMAC_KEY": "not base64!"}, "MASKER_AUDIT_HMAC_KEY must be base64"),
        ({"MASKER_AUDIT_HMAC_KEY": "c2hvcnQ="}, "exactly 32 bytes"),
        ({"MASKER_UPSTREAM_TIMEOUT": "soon"}, "MASKER_UPSTREAM_TIMEOUT"),
        ({"MASKER_TENANT_RPS": "-5"}, "MASKER_TENANT_RPS"),
        ({"MASKER_DEFAULT_FAIL_MODE": "sideways"}, "MASKER_DEFAULT_FAIL_MODE"),
        ({"MASKER_METRICS_ADDR": "nowhere"}, "MASKER_METRICS_ADDR"),
        ({"MASKER_NER_ADDR": "127.0.0.1:9", "MASKER_NER_TLS_CA": "/nonexistent/ca.pem"}, "MASKER_NER_TLS_CA"),
    ],
)
def test_bad_settings_stop_the_start_with_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _serve(tmp_path, env)
    _refused(result, message)
    if "MASKER_AUDIT_HMAC_KEY" in env:
        assert env["MASKER_AUDIT_HMAC_KEY"] not in result.stderr
