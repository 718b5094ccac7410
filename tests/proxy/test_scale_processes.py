"""Scale features through real `masker serve` processes: metrics of several workers on one port,
and findings shared by two proxies through Redis without any text in it."""

from __future__ import annotations

import base64
import re
import secrets
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import Phi, write_agents
from tests.proxy_process import free_port, start_proxy

AGENT = "agt_01JTEST0000000000000000SC1"
REDIS_URL = "redis://127.0.0.1:6379/0"
FINDINGS_KEY = base64.b64encode(b"synthetic-findings-key-32-bytes!").decode()


def _conversation(phi: Phi, turns: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "You are the front desk of a clinic."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"Turn {i}: {phi.sentence()} I live in Springfield."})
        messages.append({"role": "assistant", "content": f"Thanks, noted for turn {i}."})
    messages.append({"role": "user", "content": "Can Dr. Alvarez see me on Friday?"})
    return messages


def _chat(url: str, messages: list[dict[str, str]]) -> httpx.Response:
    return httpx.post(
        f"{url}/proxy/{AGENT}/v1/chat/completions",
        json={"model": "echo", "messages": messages},
        timeout=30,
    )


def _metric(text: str, name: str, labels: str) -> float:
    pattern = re.compile(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} ([0-9.e+]+)$", re.M)
    return sum(float(m) for m in pattern.findall(text))


def test_metrics_work_with_two_workers(upstream: FakeUpstream, tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    write_agents(agents, [{"id": AGENT, "name": "scale-desk"}])
    metrics_addr = f"127.0.0.1:{free_port()}"
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_WORKERS": "2",
            "MASKER_METRICS_ADDR": metrics_addr,
        },
        tmp_path,
    )
    try:
        sent = 24
        for i in range(sent):  # a new connection each: the kernel spreads them over both workers
            assert _chat(proc.url, [{"role": "user", "content": f"hello {i}"}]).status_code == 200
        deadline = time.monotonic() + 30
        total = 0.0
        while time.monotonic() < deadline:
            body = httpx.get(f"http://{metrics_addr}/metrics", timeout=5).text
            total = _metric(body, "masker_requests_total", 'agent="scale-desk",status="200"')
            if total >= sent and "masker_vault_size_bytes" in body:
                break
            time.sleep(0.2)
        assert total == sent  # both workers' counts, summed, on one port
        assert "Address already in use" not in proc.log()
        vault = re.search(r"^masker_vault_size_bytes ([0-9.e+]+)$", body, re.M)
        assert vault is not None and float(vault.group(1)) > 0
    finally:
        proc.stop()
    assert proc.process.returncode == 0, proc.log()[-2000:]


def _findings_keys(client: redis.Redis) -> set[bytes]:
    return set(client.scan_iter(match=b"masker:f:*", count=1000))


def test_findings_are_shared_by_two_proxies_and_hold_no_text(
    upstream: FakeUpstream, tmp_path: Path, phi: Phi
) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    agents = tmp_path / "agents.yaml"
    write_agents(agents, [{"id": AGENT, "name": "scale-desk"}])
    common = {
        "MASKER_OPENAI_BASE_URL": upstream.base_url,
        "MASKER_AGENTS_FILE": str(agents),
        "MASKER_REDIS_URL": REDIS_URL,
        "MASKER_FINDINGS_HMAC_KEY": FINDINGS_KEY,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_proxy(common, tmp_path / "a")
    second = start_proxy(common, tmp_path / "b")
    # Texts nobody has sent before: a fresh nonce in every message.
    # Common lower-case words, so the nonce itself is never mistaken for an identifier or a name.
    words = ["apple", "river", "stone", "cloud", "maple", "tulip", "pencil", "window", "garden"]
    nonce = " ".join(secrets.choice(words) for _ in range(8))
    messages = [{**m, "content": f"{m['content']} ({nonce})"} for m in _conversation(phi, 4)]
    try:
        before = _findings_keys(client)
        assert _chat(first.url, messages).status_code == 200
        deadline = time.monotonic() + 10
        written: set[bytes] = set()
        # One entry per text of the body: every message, and the model name (scanned like any text).
        texts = len(messages) + 1
        while time.monotonic() < deadline and len(written) < texts:
            written = _findings_keys(client) - before  # published in the background
            time.sleep(0.05)
        assert len(written) == texts

        upstream.requests.clear()
        assert _chat(second.url, messages).status_code == 200
        time.sleep(0.5)
        # The second proxy found every message in the store, so it had nothing to publish...
        assert _findings_keys(client) - before == written
        # ...and redacted all the same.
        sent = upstream.raw_traffic()
        assert nonce in sent
        for value in phi.values():
            assert value not in sent

        for key in written:  # keys are HMACs, values offsets/types/scores/recognizer names
            assert len(key) == len(b"masker:f:") + 32
            value = client.get(key) or b""
            for text in [*phi.values(), nonce, "Springfield", "Alvarez", "clinic"]:
                assert text.encode() not in value and text.encode() not in key
    finally:
        first.stop()
        second.stop()
        for key in _findings_keys(client) - before:
            client.delete(key)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_vault_size_gauge_is_the_file_size(backend: str, upstream: FakeUpstream, tmp_path: Path) -> None:
    agents = tmp_path / "agents.yaml"
    write_agents(agents, [{"id": AGENT, "name": "scale-desk"}])
    metrics_addr = f"127.0.0.1:{free_port()}"
    proc = start_proxy(
        {
            "MASKER_OPENAI_BASE_URL": upstream.base_url,
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_METRICS_ADDR": metrics_addr,
        },
        tmp_path,
    )
    try:
        body = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "masker_vault_size_bytes " not in body:
            body = httpx.get(f"http://{metrics_addr}/metrics", timeout=5).text
            time.sleep(0.1)
        vault = re.search(r"^masker_vault_size_bytes ([0-9.e+]+)$", body, re.M)
        assert vault is not None
        size = float(vault.group(1))
        assert size > 0 and size % 512 == 0  # whole pages, as the database holds them
    finally:
        proc.stop()
