"""The chart's rendered configuration, run for real: proxy + NER processes on loopback.

The proxy gets exactly the env the chart puts in its ConfigMap and Secret, the agents file and
policies the chart mounts, and the NER service the chart's container args. Only the in-pod paths
and 0.0.0.0 listeners are mapped to a temp dir and loopback ports. So a chart setting the code
does not understand (a wrong env name, an agents file the proxy rejects, NER flags that do not
exist) fails here, not in a cluster.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helm_tools import CI_VALUES, ROOT, one, render

from tests.kubelet_volumes import project, volume_files
from tests.proxy_process import free_port, start_proxy

pytestmark = pytest.mark.slow
SCENARIO = next(p for p in CI_VALUES if p.stem == "namespaced-operator-values")


def _serving(addr: str) -> bool:
    with grpc.insecure_channel(addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render([SCENARIO], sets=["proxy.secret.apiKeys=test-key:clinic-a"])


@pytest.fixture(scope="module")
def ner_addr(docs: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    container = one(docs, "Deployment", "-ner")["spec"]["template"]["spec"]["containers"][0]
    port, metrics_port = free_port(), free_port()
    mapping = {"0.0.0.0:50051": f"127.0.0.1:{port}", "0.0.0.0:9464": f"127.0.0.1:{metrics_port}"}
    args = [mapping.get(a, a) for a in container["args"]]
    assert f"127.0.0.1:{port}" in args and f"127.0.0.1:{metrics_port}" in args
    log = tmp_path_factory.mktemp("ner") / "ner.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "masker", *args], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 90
        while not _serving(f"127.0.0.1:{port}"):
            assert proc.poll() is None, f"masker ner serve exited:\n{log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, "NER never became SERVING"
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def test_proxy_runs_with_the_chart_configuration(
    docs: list[dict[str, Any]], ner_addr: str, tmp_path: Path
) -> None:
    deployment = one(docs, "Deployment", "-proxy")["spec"]["template"]["spec"]
    container = deployment["containers"][0]
    assert container["args"] == ["serve"]
    env: dict[str, str] = dict(one(docs, "ConfigMap", "-proxy")["data"])
    secret = {k: base64.b64decode(v).decode() for k, v in one(docs, "Secret", "-proxy")["data"].items()}
    for var in container["env"]:
        ref = var["valueFrom"]["secretKeyRef"]
        if ref["key"] in secret:
            env[var["name"]] = secret[ref["key"]]

    # Volumes, as the pod would see them, under tmp_path.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)  # what Dockerfile.proxy copies to /etc/masker/policies
    policy_cm = one(docs, "ConfigMap", "-policies")["data"]
    for path, mount in mounts.items():
        if mount["name"] == "policies":
            (policies / Path(path).name).write_text(policy_cm[mount["subPath"]])
    # The agents volume as the kubelet projects it: the chart's agents ConfigMap and the Secret
    # with the key material the operator (or you) put there; the operator's shards are absent.
    agents_yaml = one(docs, "ConfigMap", "-agents")["data"]["agents.yaml"]
    agents = yaml.safe_load(agents_yaml)["agents"]
    key_files = {
        f"MASKER_KEY_K_{key}": base64.b64encode(base64.b64encode(os.urandom(32))).decode()
        for agent in agents
        for key in agent.get("keys", [])
    }
    objects = {
        ("ConfigMap", "masker-agents"): one(docs, "ConfigMap", "-agents"),
        ("Secret", "masker-agents"): {"data": key_files},
    }
    volume = next(v for v in deployment["volumes"] if v["name"] == mounts["/etc/masker/agents"]["name"])
    files = volume_files(
        volume, lambda n: objects.get(("ConfigMap", n)), lambda n: objects.get(("Secret", n))
    )
    assert files["agents.d/agents.yaml"] == agents_yaml and set(key_files) < set(files)
    project(tmp_path / "agents", files)
    paths = {
        "/data": tmp_path / "data",
        "/etc/masker/policies": policies,
        "/etc/masker/agents": tmp_path / "agents",
    }
    assert set(paths) <= set(mounts) | {"/etc/masker/policies"}
    for name, value in list(env.items()):
        for inside, outside in paths.items():
            if value == inside or value.startswith(inside + "/"):
                env[name] = str(outside) + value[len(inside) :]
    metrics_port = free_port()
    assert env.pop("MASKER_NER_ADDR").endswith(":50051")
    env["MASKER_NER_ADDR"] = ner_addr
    assert env.pop("MASKER_METRICS_ADDR") == "0.0.0.0:9090"
    env["MASKER_METRICS_ADDR"] = f"127.0.0.1:{metrics_port}"
    assert env.pop("MASKER_LISTEN_ADDR") == "0.0.0.0:8080"
    (tmp_path / "data").mkdir()

    proxy = start_proxy(env, tmp_path)
    try:
        health = httpx.get(proxy.url + "/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        reply = httpx.post(
            f"{proxy.url}/proxy/{agents[0]['id']}/v1/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "What are your opening hours?"}],
            },
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        tenant = httpx.post(
            f"{proxy.url}/v1/chat/completions",
            headers={"X-Api-Key": "test-key"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}]},
            timeout=30,
        )
        assert tenant.status_code == 200, tenant.text
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        assert "masker_requests_total" in metrics and "masker_request_duration_seconds" in metrics
    finally:
        proxy.stop()
