"""A running proxy (``masker serve``) picks up what the operator renders, without a restart.

No kubelet here, so the test plays its part: it copies the operator's ConfigMap and Secret from
the real API server into directories the way the kubelet updates volume mounts (a fresh
timestamped directory, then an atomic ``..data`` symlink swap), and the proxy reads them through
MASKER_AGENTS_FILE / MASKER_SECRETS_DIR exactly as the injected sidecar does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.k8s_testbed import free_port, wait_for
from tests.operator._cluster import (
    GROUP,
    PLURAL,
    ROOT,
    VERSION,
    Operator,
    agents_file,
    create_agent,
    custom,
    get_agent,
    ready,
)

pytestmark = pytest.mark.k8s


def project(directory: Path, files: dict[str, str]) -> None:
    """Write ``files`` like the kubelet's atomic writer: new dir, swap ``..data``, stable links."""
    directory.mkdir(parents=True, exist_ok=True)
    fresh = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{uuid.uuid4().hex[:8]}"
    fresh.mkdir()
    for name, content in files.items():
        (fresh / name).write_text(content)
    tmp_link = directory / "..data_tmp"
    tmp_link.symlink_to(fresh.name)
    old = os.readlink(directory / "..data") if (directory / "..data").is_symlink() else None
    os.replace(tmp_link, directory / "..data")
    for name in files:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(f"..data/{name}")
    if old:
        shutil.rmtree(directory / old, ignore_errors=True)


def sync_from_cluster(api: Any, namespace: str, agent: str, config_dir: Path, secrets_dir: Path) -> None:
    core = client.CoreV1Api(api)
    secret = core.read_namespaced_secret(f"masker-agent-{agent}", namespace)
    project(secrets_dir, {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()})
    cm = core.read_namespaced_config_map(f"masker-agent-{agent}", namespace)
    project(config_dir, dict(cm.data))


def chat(port: int, agent_id: str, model: str) -> tuple[int, dict[str, Any]]:
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "What are your opening hours?"}]}
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/proxy/{agent_id}/v1/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def proxy_dirs(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    yield tmp_path / "agent", tmp_path / "secrets", tmp_path / "data"


def test_running_proxy_picks_up_operator_changes(
    operator: Operator, k8s_api: Any, k8s_namespace: str, proxy_dirs: tuple[Path, Path, Path]
) -> None:
    ns = k8s_namespace
    config_dir, secrets_dir, data_dir = proxy_dirs
    create_agent(k8s_api, ns, "hotline", {"upstream": {"allowedModels": ["gpt-4o-mini"]}})
    agent = wait_for(
        lambda: (a := get_agent(k8s_api, ns, "hotline")) and (ready(a) or {}).get("status") == "True" and a,
        what="Ready",
    )
    agent_id = agent["status"]["agentId"]
    sync_from_cluster(k8s_api, ns, "hotline", config_dir, secrets_dir)

    port = free_port()
    env = {
        **os.environ,
        "MASKER_LISTEN_ADDR": f"127.0.0.1:{port}",
        "MASKER_AGENTS_FILE": str(config_dir / "agents.yaml"),
        "MASKER_SECRETS_DIR": str(secrets_dir),
        "MASKER_DATA_DIR": str(data_dir),
        "MASKER_POLICIES_DIR": str(ROOT / "policies"),
        "MASKER_RELOAD_INTERVAL": "0.2",
    }
    for name in ("MASKER_OPENAI_BASE_URL", "MASKER_UPSTREAM_URL", "MASKER_OPENAI_API_KEY"):
        env.pop(name, None)  # the built-in echo upstream
    log = data_dir.parent / "proxy.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "masker", "serve"], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    try:

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"proxy exited {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_for(healthy, timeout=60, what="proxy /health")
        assert chat(port, agent_id, "gpt-4o-mini")[0] == 200
        status, body = chat(port, agent_id, "gpt-4o")
        assert status == 422, body
        assert body["error"]["code"] == "model_not_allowed"

        # Change the MaskerAgent; the operator re-renders; the "kubelet" syncs; the proxy reloads.
        custom(k8s_api).patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "hotline", {"spec": {"upstream": {"allowedModels": ["gpt-4o"]}}}
        )
        wait_for(
            lambda: (
                agents_file(k8s_api, ns, "hotline")["agents"][0]["upstream"]["allowed_models"] == ["gpt-4o"]
            ),
            what="ConfigMap re-rendered",
        )
        sync_from_cluster(k8s_api, ns, "hotline", config_dir, secrets_dir)
        wait_for(
            lambda: chat(port, agent_id, "gpt-4o")[0] == 200, timeout=10, what="proxy reloaded the agent"
        )
        assert chat(port, agent_id, "gpt-4o-mini")[0] == 422

        # A key rotation (new key + old key, new key list) is picked up too, with the same process.
        custom(k8s_api).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            PLURAL,
            "hotline",
            {"metadata": {"annotations": {"masker.dev/rotate-keys": "r1"}}},
        )
        wait_for(
            lambda: agents_file(k8s_api, ns, "hotline")["agents"][0]["keys"] == ["HOTLINE_2", "HOTLINE_1"],
            what="rotated keys rendered",
        )
        reloads = log.read_text().count("agents reloaded")
        sync_from_cluster(k8s_api, ns, "hotline", config_dir, secrets_dir)
        wait_for(lambda: log.read_text().count("agents reloaded") > reloads, what="reload after rotation")
        assert chat(port, agent_id, "gpt-4o")[0] == 200
        assert proc.poll() is None
        assert "reload failed" not in log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
