"""Rate limits, signatures, metrics, audit and trace propagation, through a real `masker serve`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from masker.signatures import sign
from tests.fake_upstream import INVENTED_PHONE, FakeUpstream
from tests.proxy.conftest import Phi, write_agents
from tests.proxy_process import ProxyProcess, free_port, start_proxy

LIMITED = "agt_01JTEST00000000000000000R1"
SIGNED = "agt_01JTEST00000000000000000S1"
SECRET = "synthetic-vapi-secret"
METRICS_URL: list[str] = []


@pytest.fixture(scope="module")
def obs_proxy(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    metrics_addr = f"127.0.0.1:{free_port()}"
    work = tmp_path_factory.mktemp("obs")
    agents = work / "agents.yaml"
    write_agents(
        agents,
        [
            {"id": LIMITED, "name": "limited", "rate_limit": {"rps": 1, "burst": 3}},
            {
                "id": SIGNED,
                "name": "signed",
                "vapi_secret_ref": "VAPI_SECRET_SIGNED",
                "allowed_policies": ["healthcare"],
            },
        ],
    )
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_METRICS_ADDR": metrics_addr,
            "MASKER_AUDIT_DIR": str(work / "audit"),
            "MASKER_AUDIT_HMAC_KEY": base64.b64encode(b"k" * 32).decode(),
            "VAPI_SECRET_SIGNED": SECRET,
        },
        work,
    )
    METRICS_URL.append(f"http://{metrics_addr}/metrics")
    yield proc
    proc.stop()


def _chat(proc: ProxyProcess, agent: str, text: str, **kwargs: object) -> httpx.Response:
    return httpx.post(
        f"{proc.url}/proxy/{agent}/v1/chat/completions",
        timeout=10,
        json={"model": "echo", "messages": [{"role": "user", "content": text}]},
        **kwargs,
    )  # type: ignore[arg-type]


def test_rate_limit_429_with_retry_after(obs_proxy: ProxyProcess) -> None:
    statuses = [_chat(obs_proxy, LIMITED, "hello") for _ in range(6)]
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [200, 200, 200]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, codes
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limited"


def test_vapi_signature_required(obs_proxy: ProxyProcess, phi: Phi) -> None:
    body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]}).encode()
    url = f"{obs_proxy.url}/proxy/{SIGNED}/v1/chat/completions"
    headers = {"content-type": "application/json"}
    unsigned = httpx.post(url, content=body, headers=headers)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "bad_signature"
    forged = httpx.post(url, content=body, headers={**headers, "x-vapi-signature": sign(body, "wrong")})
    assert forged.status_code == 401
    good = httpx.post(
        url, content=body, headers={**headers, "x-vapi-signature": sign(body, SECRET)}, timeout=10
    )
    assert good.status_code == 200
    assert good.json()["choices"][0]["message"]["content"] == phi.sentence()


def test_traceparent_reaches_upstream(obs_proxy: ProxyProcess, upstream: FakeUpstream) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    body = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]}).encode()
    response = httpx.post(
        f"{obs_proxy.url}/proxy/{SIGNED}/v1/chat/completions",
        content=body,
        timeout=10,
        headers={
            "content-type": "application/json",
            "traceparent": parent,
            "x-vapi-signature": sign(body, SECRET),
        },
    )
    assert response.status_code == 200
    sent = upstream.requests[-1].headers.get("traceparent", "")
    assert sent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


def _signed_chat(proc: ProxyProcess, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(
        f"{proc.url}/proxy/{SIGNED}/v1/chat/completions",
        content=body,
        timeout=10,
        headers={"content-type": "application/json", "x-vapi-signature": sign(body, SECRET)},
    )


def _scrape_after(wanted: str) -> str:
    """The metrics text once ``wanted`` is in it (or after 5 s): the proxy accounts for a request
    right after the answer is sent, so a scrape can race the last few microseconds of it."""
    deadline = time.monotonic() + 5
    while True:
        text = httpx.get(METRICS_URL[-1]).text
        if wanted in text or time.monotonic() > deadline:
            return text
        time.sleep(0.01)


def test_response_redactions_are_counted_by_type(obs_proxy: ProxyProcess, phi: Phi) -> None:
    payload = {
        "model": "invent",
        "policy_id": "healthcare",
        "messages": [{"role": "user", "content": phi.sentence()}],
    }
    response = _signed_chat(obs_proxy, payload)
    assert response.status_code == 200
    assert INVENTED_PHONE not in response.json()["choices"][0]["message"]["content"]
    text = _scrape_after('pass="response"')
    assert 'masker_redactions_total{kind="PHONE",pass="response"} 1.0' in text
    assert 'masker_redactions_total{kind="EMAIL",pass="response"} 1.0' in text


def test_metrics_and_audit_without_phi(obs_proxy: ProxyProcess, phi: Phi, tmp_path: Path) -> None:
    ok = _signed_chat(obs_proxy, {"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]})
    assert ok.status_code == 200
    text = _scrape_after('masker_requests_total{agent="signed",status="200"}')
    (obs_proxy.log_path.parent / "metrics-scrape.txt").write_text(text)
    assert 'masker_requests_total{agent="signed",status="200"}' in text
    assert 'masker_redactions_total{kind="PHONE",pass="request"}' in text
    assert "masker_request_duration_seconds_bucket" in text
    # Every NER call is timed (the start-up warm-up call is one).
    ner_calls = [line for line in text.splitlines() if line.startswith("masker_ner_latency_seconds_count")]
    assert ner_calls and float(ner_calls[0].split()[-1]) >= 1
    assert SIGNED not in text and LIMITED not in text  # agent ids are secrets: never labels
    obs_proxy.stop()  # flushes the audit writer
    audit_dir = obs_proxy.log_path.parent / "audit"
    lines = [
        json.loads(line) for f in sorted(audit_dir.glob("*.jsonl")) for line in f.read_text().splitlines()
    ]
    assert any(rec["agent"] == "signed" and rec["entities_total"] >= 4 for rec in lines)
    blob = (audit_dir.parent / "audit").as_posix()
    everything = "".join(f.read_text() for f in audit_dir.iterdir()) + text + obs_proxy.log()
    for value in phi.values():
        assert value not in everything
    env = {**os.environ, "MASKER_AUDIT_HMAC_KEY": base64.b64encode(b"k" * 32).decode()}
    verify = subprocess.run(
        [sys.executable, "-m", "masker", "audit", "verify", blob],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
