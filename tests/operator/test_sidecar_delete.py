"""A running sidecar refuses a deleted MaskerAgent as soon as its mounted ConfigMap changes.

The operator does not let the ConfigMap vanish (the kubelet would keep the last content of a
mount whose ConfigMap is gone, and the sidecar would go on serving): it rewrites it as a
tombstone with no agents. Here a real ``masker serve`` reads the operator's rendered file the way
the sidecar does; the test swaps in the tombstone the way the kubelet updates a ConfigMap volume
(new timestamped directory, atomic ``..data`` symlink swap) and the agent must answer 404.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx

from masker_operator.render import (
    AgentRef,
    configmap_body,
    decode_secret_data,
    secret_body,
    tombstone_configmap_body,
)
from masker_operator.spec import parse_spec
from tests.k8s_testbed import wait_for
from tests.proxy_process import start_proxy

AGENT = AgentRef(name="front-desk", namespace="clinic-a", uid="8d7c0c1e-0000-4000-8000-00000000000b")
AGENT_ID = "agt_01JD8X3Q4R5S6T7V8W9XAYBZC2"


def project(directory: Path, files: dict[str, str]) -> None:
    """The kubelet's atomic writer: files in a fresh directory, then ``..data`` swapped to it."""
    directory.mkdir(parents=True, exist_ok=True)
    fresh = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{uuid.uuid4().hex[:8]}"
    fresh.mkdir()
    for name, content in files.items():
        (fresh / name).write_text(content)
    (directory / "..data_tmp").symlink_to(fresh.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    for name in files:
        if not (directory / name).is_symlink():
            (directory / name).symlink_to(f"..data/{name}")


def status_of(url: str) -> tuple[int, str]:
    response = httpx.post(
        f"{url}/proxy/{AGENT_ID}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Opening hours?"}]},
        timeout=30,
    )
    code = (response.json().get("error") or {}).get("code", "") if response.status_code != 200 else ""
    return response.status_code, str(code)


def test_deleted_agent_is_refused_by_a_running_sidecar(tmp_path: Path) -> None:
    spec = parse_spec({})
    plan = secret_body(
        AGENT, spec, existing_data={}, existing_rotation_token=None, upstream_key=None, vapi_secret=None
    )
    cm = configmap_body(AGENT, spec, AGENT_ID, plan.key_names)
    config_dir, secrets_dir = tmp_path / "agent", tmp_path / "secrets"
    project(config_dir, dict(cm["data"]))
    project(secrets_dir, decode_secret_data(plan.body["data"]))
    proxy = start_proxy(
        {
            "MASKER_AGENTS_FILE": str(config_dir / "agents.yaml"),
            "MASKER_SECRETS_DIR": str(secrets_dir),
        },
        tmp_path,
    )
    try:
        assert status_of(proxy.url) == (200, "")  # the built-in echo upstream
        cm["metadata"]["resourceVersion"] = "7"
        project(config_dir, dict(tombstone_configmap_body(cm)["data"]))
        started = time.monotonic()
        wait_for(lambda: status_of(proxy.url)[0] == 404, timeout=10, what="deleted agent refused")
        print(f"\ndeleted agent refused {time.monotonic() - started:.2f} s after the mount changed")
        assert status_of(proxy.url) == (404, "agent_not_found")
        assert "reload failed" not in proxy.log()
    finally:
        proxy.stop()
