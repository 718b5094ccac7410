"""A re-created sidecar still resolves the tokens its predecessor issued (the vault survives pods).

Two real ``masker serve`` processes in sequence, each with the files and environment an injected
sidecar gets (the operator's rendered ConfigMap and Secret, laid out as the kubelet mounts them)
and each with a fresh, empty data directory — what a re-created pod has. A token the first one
sent to the LLM is resolved by the second when the LLM repeats it later in the conversation.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from faker import Faker

from masker_operator.render import (
    AgentRef,
    configmap_body,
    decode_secret_data,
    secret_body,
    sidecar_tokenization,
)
from masker_operator.settings import SidecarSettings
from masker_operator.sidecar import sidecar_container
from masker_operator.spec import parse_spec
from tests.proxy_process import start_proxy

AGENT = AgentRef(name="voice-line", namespace="clinic-a", uid="8d7c0c1e-0000-4000-8000-00000000000a")
AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC1"
PG_ADMIN_URL = os.environ.get("MASKER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Llm:
    """An OpenAI-shaped LLM that remembers what it was sent and can say it again later.

    The proxy refuses to resolve tokens its caller sends (a caller must never read values through
    it), so the repetition has to come from the LLM, as it does mid-conversation.
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self.reply: str | None = None  # None = echo the last message
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                text = str(payload["messages"][-1]["content"])
                llm.received.append(text)
                body = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": payload.get("model", "test"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": llm.reply or text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def upstream() -> Iterator[Llm]:
    llm = Llm()
    yield llm
    llm.server.shutdown()
    llm.server.server_close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = "masker_sidecar_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render_sidecar_files(
    tmp_path: Path, spec_fields: dict[str, object], database_url: str | None
) -> tuple[dict[str, str], str]:
    """The sidecar's mounts and env as the operator renders them; returns (env, tokenization)."""
    spec = parse_spec(spec_fields)
    plan = secret_body(
        AGENT,
        spec,
        existing_data={},
        existing_rotation_token=None,
        upstream_key=None,
        vapi_secret=None,
        database_url=database_url,
    )
    tokenization = sidecar_tokenization(spec, has_database=database_url is not None)
    cm = configmap_body(AGENT, dataclasses.replace(spec, tokenization=tokenization), AGENT_ID, plan.key_names)
    config_dir, secrets_dir = tmp_path / "agent", tmp_path / "secrets"
    config_dir.mkdir()
    secrets_dir.mkdir()
    (config_dir / "agents.yaml").write_text(cm["data"]["agents.yaml"])
    secret_data = decode_secret_data(plan.body["data"])
    for name, value in secret_data.items():
        (secrets_dir / name).write_text(value)
    # The container's env, with its mount paths mapped to the directories above.
    container = sidecar_container(SidecarSettings(), AGENT.name)
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            if ref["key"] in secret_data:  # optional: absent key = variable not set
                env[item["name"]] = secret_data[ref["key"]]
    env["MASKER_AGENTS_FILE"] = str(config_dir / "agents.yaml")
    env["MASKER_SECRETS_DIR"] = str(secrets_dir)
    env.pop("MASKER_LISTEN_ADDR")
    env.pop("MASKER_DATA_DIR")  # each process below gets its own, fresh
    return env, tokenization


def chat(url: str, text: str, history: list[dict[str, str]] | None = None) -> str:
    response = httpx.post(
        f"{url}/proxy/{AGENT_ID}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [*(history or []), {"role": "user", "content": text}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def read_back_by_a_new_pod(tmp_path: Path, env: dict[str, str], upstream: Llm) -> tuple[str, str]:
    """(what the caller said to the first pod, what the second pod gave back for the LLM's echo)."""
    fake = Faker()
    Faker.seed(21)
    name, phone = fake.name(), "415-555-0142"
    text = f"Hi, this is {name}, my number is {phone}."

    first = start_proxy({**env, "MASKER_DATA_DIR": str(tmp_path / "pod-1")}, tmp_path)
    try:
        assert chat(first.url, text) == text
    finally:
        first.stop()
    seen_by_llm = upstream.received[-1]
    assert name not in seen_by_llm and phone not in seen_by_llm
    assert seen_by_llm != text

    # The re-created pod: same mounts, empty /data. The caller's client resends the conversation
    # in plain, as chat clients do (an answer only resolves tokens its own request issued), and the
    # LLM repeats the tokens it was sent on the first pod: they resolve only if the new pod issues
    # the very same tokens for the same values.
    upstream.reply = seen_by_llm
    history = [{"role": "user", "content": text}, {"role": "assistant", "content": text}]
    second = start_proxy({**env, "MASKER_DATA_DIR": str(tmp_path / "pod-2")}, tmp_path)
    try:
        return text, chat(second.url, "Can you read my details back to me?", history)
    finally:
        second.stop()


def test_sidecar_without_a_database_uses_reversible_aead_and_survives(tmp_path: Path, upstream: Llm) -> None:
    env, tokenization = render_sidecar_files(
        tmp_path, {"upstream": {"baseUrl": upstream.base_url}, "policy": {"name": "healthcare"}}, None
    )
    assert tokenization == "reversible-aead"
    assert "MASKER_DATABASE_URL" not in env
    said, read_back = read_back_by_a_new_pod(tmp_path, env, upstream)
    assert read_back == said


def test_sidecar_with_a_shared_postgres_vault_survives(tmp_path: Path, upstream: Llm, pg_url: str) -> None:
    env, tokenization = render_sidecar_files(
        tmp_path, {"upstream": {"baseUrl": upstream.base_url}, "policy": {"name": "healthcare"}}, pg_url
    )
    assert tokenization == "vault"
    assert env["MASKER_DATABASE_URL"] == pg_url
    said, read_back = read_back_by_a_new_pod(tmp_path, env, upstream)
    assert read_back == said


def test_a_resent_conversation_survives_even_a_vault_in_the_pods_data_dir(
    tmp_path: Path, upstream: Llm
) -> None:
    """An answer resolves only the tokens its own request issued, from values the caller sent in
    plain: a chat conversation resent in full never reads the vault for its answer, so even the
    SQLite vault that a re-created pod loses gives the caller the values back. (The shared vault
    still matters for what is not resent; a sidecar therefore never keeps the only copy.)"""
    env, _ = render_sidecar_files(
        tmp_path, {"upstream": {"baseUrl": upstream.base_url}, "policy": {"name": "healthcare"}}, None
    )
    agents = yaml.safe_load(Path(env["MASKER_AGENTS_FILE"]).read_text())
    agents["agents"][0]["tokenization"] = "vault"
    Path(env["MASKER_AGENTS_FILE"]).write_text(yaml.safe_dump(agents))
    said, read_back = read_back_by_a_new_pod(tmp_path, env, upstream)
    assert read_back == said
