"""The README's "Install in Kubernetes", walked as written, on the real kube-apiserver test bed.

`helm install` (publicUrl, upstream) → the credentials Secret + `helm upgrade --reuse-values` →
the operator run with the chart's env, args and ServiceAccount (its token, the chart's RBAC) →
one MaskerAgent `front-desk` in each of two namespaces → the chart's central proxy as a real
`masker serve` with the env its Deployment gets (ConfigMap envFrom, Secret env) and its agents
volume as the kubelet would project it, re-synced from the API server every half second → a chat
completion with a synthetic name and phone number to each agent's *status* URL through the
unmodified `openai` SDK → delete one agent → 404 for it.

No kubelet and no Ingress here: the public URL is mapped to the proxy's loopback port (what an
Ingress does), and tests/kubelet_volumes.py plays the kubelet's volume sync. The NER service's own
process is covered by test_chart_runtime.py; here the proxy detects in-process.
"""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from helm_tools import CHART
from kubernetes import client
from test_chart_k8s import Helm, _operator_from_deployment, _service_account_kubeconfig

from tests import synthetic
from tests.fake_upstream import FakeUpstream, start_fake_upstream
from tests.k8s_testbed import K8sTestbed, wait_for
from tests.kubelet_volumes import VolumeSync, api_lookups
from tests.proxy_process import ROOT, free_port, start_proxy

pytestmark = pytest.mark.k8s
PUBLIC_URL = "https://masker.example.test"
NAME, PHONE = "Maribel Quintero-Haas", "(415) 555-0143"  # synthetic
MESSAGE = f"Hi, this is {NAME}, my number is {PHONE}. Can I move my appointment?"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = start_fake_upstream()
    yield fake
    fake.close()


def agent_manifest(name: str, upstream_url: str) -> dict[str, Any]:
    """README step 2's MaskerAgent, with the fake LLM as its upstream."""
    return {
        "apiVersion": "masker.dev/v1alpha1",
        "kind": "MaskerAgent",
        "metadata": {"name": name},
        "spec": {
            "upstream": {
                "baseUrl": upstream_url,
                "allowedModels": ["gpt-4o-mini"],
                "apiKeySecretRef": {"name": "openai"},
            },
            "policy": {"name": "healthcare"},
            "tokenization": "vault",
            "failMode": "closed",
        },
    }


def proxy_env(deployment: Any, core: Any, namespace: str, volume_dir: Path, tmp: Path) -> dict[str, str]:
    """The env of the chart's proxy container: envFrom its ConfigMap, env from its Secret."""
    container = deployment.spec.template.spec.containers[0]
    env: dict[str, str] = {}
    for source in container.env_from:
        env.update(core.read_namespaced_config_map(source.config_map_ref.name, namespace).data)
    for var in container.env:
        ref = var.value_from.secret_key_ref
        data = core.read_namespaced_secret(ref.name, namespace).data or {}
        if ref.key in data:
            env[var.name] = base64.b64decode(data[ref.key]).decode()
        else:
            assert ref.optional, var.name
    mounts = {m.mount_path: m.name for m in container.volume_mounts}
    assert mounts["/etc/masker/agents"] == "agents" and mounts["/data"] == "data"
    inside = {
        "/etc/masker/agents": volume_dir,
        "/data": tmp / "data",
        "/etc/masker/policies": ROOT / "policies",
    }
    for name, value in list(env.items()):
        for path, outside in inside.items():
            if value == path or value.startswith(path + "/"):
                env[name] = str(outside) + value[len(path) :]
    # Loopback instead of the pod's 0.0.0.0; detection in-process instead of the NER Service.
    assert env.pop("MASKER_LISTEN_ADDR") == "0.0.0.0:8080"
    assert env.pop("MASKER_METRICS_ADDR") == "0.0.0.0:9090"
    assert env.pop("MASKER_NER_ADDR").endswith(":50051")
    env["MASKER_METRICS_ADDR"] = f"127.0.0.1:{free_port()}"
    return env


def test_readme_walk_central_proxy_serves_every_agent(
    k8s_testbed: K8sTestbed,
    k8s_api: Any,
    k8s_namespace: str,
    tmp_path: Path,
    upstream: FakeUpstream,
) -> None:
    synthetic.register(NAME, PHONE)
    ns, release = k8s_namespace, f"m{uuid.uuid4().hex[:6]}"
    helm = Helm(k8s_testbed, tmp_path / "helm")
    core, apps, custom = (
        client.CoreV1Api(k8s_api),
        client.AppsV1Api(k8s_api),
        client.CustomObjectsApi(k8s_api),
    )
    tenants = [f"clinic-a-{uuid.uuid4().hex[:6]}", f"clinic-b-{uuid.uuid4().hex[:6]}"]

    # 1. Install, then the credentials Secret and the upgrade that points the chart at it.
    helm(
        "install", release, CHART, "--namespace", ns, "--create-namespace",
        "--set", f"proxy.publicUrl={PUBLIC_URL}",
        "--set", f"proxy.upstream.baseUrl={upstream.base_url}",
    )  # fmt: skip
    try:
        helm.kubectl(
            "-n", ns, "create", "secret", "generic", "masker-proxy-credentials",
            "--from-literal=MASKER_OPENAI_API_KEY=sk-test-central",
            "--from-literal=MASKER_API_KEYS=key1:clinic-a",
        )  # fmt: skip
        helm(
            "upgrade", release, CHART, "-n", ns, "--reuse-values",
            "--set", "proxy.secret.existingSecret=masker-proxy-credentials",
        )  # fmt: skip
        operator_deployment = apps.read_namespaced_deployment(f"{release}-masker-operator", ns)
        proxy_deployment = apps.read_namespaced_deployment(f"{release}-masker-proxy", ns)
        kubeconfig = _service_account_kubeconfig(
            k8s_testbed, k8s_api, ns, operator_deployment.spec.template.spec.service_account_name,
            tmp_path / "sa.kubeconfig",
        )  # fmt: skip

        with _operator_from_deployment(operator_deployment, kubeconfig, ns, tmp_path / "operator.log"):
            # 2. A MaskerAgent of the same name in each of two namespaces, each with its own key.
            agents: dict[str, dict[str, Any]] = {}
            for tenant in tenants:
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=tenant)))
                core.create_namespaced_secret(
                    tenant,
                    client.V1Secret(
                        # Labelled for MaskerAgents, as the README's `kubectl label` step does.
                        metadata=client.V1ObjectMeta(
                            name="openai", labels={"masker.dev/upstream-credentials": "true"}
                        ),
                        string_data={"apiKey": f"sk-test-{tenant}"},
                    ),
                )
                custom.create_namespaced_custom_object(
                    "masker.dev",
                    "v1alpha1",
                    tenant,
                    "maskeragents",
                    agent_manifest("front-desk", upstream.base_url),
                )
            for tenant in tenants:

                def ready(tenant: str = tenant) -> dict[str, Any] | None:
                    agent: dict[str, Any] = custom.get_namespaced_custom_object(
                        "masker.dev", "v1alpha1", tenant, "maskeragents", "front-desk"
                    )
                    conds = (agent.get("status") or {}).get("conditions") or []
                    ok = any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
                    return agent if ok else None

                agents[tenant] = wait_for(ready, timeout=20, what=f"{tenant}/front-desk Ready")
                assert agents[tenant]["status"]["proxyUrl"].startswith(f"{PUBLIC_URL}/proxy/agt_")

            # 3. The central proxy, with its Deployment's env and its agents volume kept in sync.
            volume = next(v for v in proxy_deployment.spec.template.spec.volumes if v.name == "agents")
            volume_dict = k8s_api.sanitize_for_serialization(volume)
            volume_dir = tmp_path / "agents-volume"
            env = proxy_env(proxy_deployment, core, ns, volume_dir, tmp_path)
            (tmp_path / "data").mkdir()
            with VolumeSync(volume_dir, volume_dict, *api_lookups(core, ns), interval=0.5) as kubelet:
                proxy = start_proxy(env, tmp_path, ready_timeout=120)
                try:
                    replies = {}
                    for tenant in tenants:
                        # The status URL as published, reached through the "Ingress".
                        status_url = agents[tenant]["status"]["proxyUrl"]
                        base_url = status_url.replace(PUBLIC_URL, proxy.url)
                        sdk = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)

                        def served(url: str = base_url) -> bool:
                            # An empty body: 404 while the agent is unknown, a 4xx about the body after.
                            return (
                                httpx.post(f"{url}/chat/completions", json={}, timeout=10).status_code != 404
                            )

                        wait_for(
                            served, timeout=30, what=f"{tenant} served by the central proxy", interval=0.2
                        )
                        before = len(upstream.requests)
                        reply = sdk.chat.completions.create(
                            model="gpt-4o-mini", messages=[{"role": "user", "content": MESSAGE}]
                        )
                        replies[tenant] = reply.choices[0].message.content or ""
                        (seen,) = upstream.requests[before:]
                        # The LLM sees tokens only, and this tenant's own upstream key.
                        sent = seen.body.decode()
                        assert NAME not in sent and PHONE not in sent and "Maribel" not in sent
                        assert "MSKV1" in sent.upper()
                        assert seen.headers["authorization"] == f"Bearer sk-test-{tenant}"
                        # The caller gets the originals back.
                        assert NAME in replies[tenant] and PHONE in replies[tenant]
                    assert "sk-test-central" not in upstream.raw_traffic()

                    # 4. Delete one agent: its URL answers 404 soon; the other tenant's still works.
                    gone, kept = tenants[1], tenants[0]
                    custom.delete_namespaced_custom_object(
                        "masker.dev", "v1alpha1", gone, "maskeragents", "front-desk"
                    )
                    gone_url = agents[gone]["status"]["proxyUrl"].replace(PUBLIC_URL, proxy.url)
                    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}
                    started = time.monotonic()

                    def refused() -> httpx.Response | None:
                        r = httpx.post(f"{gone_url}/chat/completions", json=body, timeout=10)
                        return r if r.status_code == 404 else None

                    response = wait_for(refused, timeout=20, what="404 for the deleted agent", interval=0.2)
                    print(f"delete -> 404 in {time.monotonic() - started:.2f}s")
                    assert response.json()["error"]["code"] == "agent_not_found"
                    kept_url = agents[kept]["status"]["proxyUrl"].replace(PUBLIC_URL, proxy.url)
                    assert (
                        httpx.post(f"{kept_url}/chat/completions", json=body, timeout=10).status_code == 200
                    )
                    assert proxy.process.poll() is None
                    assert not kubelet.errors, kubelet.errors
                finally:
                    proxy.stop()
    finally:
        helm("uninstall", release, "--namespace", ns)
        for tenant in tenants:
            with contextlib.suppress(client.exceptions.ApiException):
                core.delete_namespace(tenant)
