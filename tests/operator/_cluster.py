"""Shared pieces of the operator's cluster tests: the operator subprocess fixture and API helpers.

The operator runs as a subprocess (``python -m masker_operator``), authenticated as the
``masker-operator`` ServiceAccount user with only the RBAC of operator/masker_operator/rbac.yaml,
and serves its admission webhook on 127.0.0.1 over TLS with a CA it made itself.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s_testbed import (
    K8sTestbed,
    apply_manifest,
    free_port,
    install_crd,
    stop_process,
    wait_operator_up,
)

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "charts" / "masker" / "crds" / "maskeragents.yaml"
RBAC = ROOT / "operator" / "masker_operator" / "rbac.yaml"
GROUP, VERSION, PLURAL = "masker.dev", "v1alpha1", "maskeragents"
PUBLIC_URL = "https://masker.example.test"
T = TypeVar("T")


def rbac_for_tests() -> list[dict[str, Any]]:
    """operator/masker_operator/rbac.yaml with cluster-scoped names suffixed.

    The test bed is shared with the chart tests, which may install same-named objects; distinct
    names keep either side from silently reusing the other's version of the rules.
    """
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            doc["metadata"]["name"] += "-operator-tests"
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"]["name"] += "-operator-tests"
    return docs


class Operator:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, webhook_port: int) -> None:
        self.proc = proc
        self.log = log
        self.webhook_port = webhook_port

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def operator(
    k8s_testbed: K8sTestbed, k8s_api: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    install_crd(k8s_api, CRD)
    core = client.CoreV1Api(k8s_api)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="masker-system")))
    except ApiException as exc:
        if exc.status != 409:
            raise
    apply_manifest(k8s_api, rbac_for_tests())
    webhook_port, liveness_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    env = {
        **k8s_testbed.env(k8s_testbed.operator_kubeconfig),
        "MASKER_OPERATOR_PUBLIC_URL": PUBLIC_URL,
        "MASKER_OPERATOR_DRIFT_INTERVAL": "1",
        "MASKER_OPERATOR_WEBHOOK_URL_HOST": "127.0.0.1",
        "MASKER_OPERATOR_WEBHOOK_LISTEN_ADDR": "127.0.0.1",
        "MASKER_OPERATOR_WEBHOOK_PORT": str(webhook_port),
        "MASKER_OPERATOR_PROXY_IMAGE": "registry.example.test/masker:test",
    }
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "masker_operator",
                "--liveness",
                f"http://127.0.0.1:{liveness_port}/healthz",
            ],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    op = Operator(proc, log, webhook_port)

    try:
        wait_operator_up(proc, liveness_port, webhook_port, op.output)
        yield op
    finally:
        stop_process(proc)
        # The test bed is shared (chart tests): leave no webhook pointing at a dead port.
        with contextlib.suppress(ApiException):
            client.AdmissionregistrationV1Api(k8s_api).delete_mutating_webhook_configuration(
                "masker-sidecar-injector"
            )
        if os.environ.get("MASKER_SHOW_OPERATOR_LOG"):
            print(op.output())


def custom(api: Any) -> Any:
    return client.CustomObjectsApi(api)


def create_agent(api: Any, namespace: str, name: str, spec: dict[str, Any], **meta: Any) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MaskerAgent",
        "metadata": {"name": name, **meta},
        "spec": spec,
    }
    custom(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def get_agent(api: Any, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = custom(api).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return obj


def ready(agent: dict[str, Any]) -> dict[str, Any] | None:
    for cond in (agent.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def get_or_none(fn: Callable[[], T]) -> T | None:
    try:
        return fn()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def agents_file(api: Any, namespace: str, name: str) -> dict[str, Any]:
    cm = client.CoreV1Api(api).read_namespaced_config_map(f"masker-agent-{name}", namespace)
    doc: dict[str, Any] = yaml.safe_load(cm.data["agents.yaml"])
    return doc


def secret_data(api: Any, namespace: str, name: str) -> dict[str, str]:
    secret = client.CoreV1Api(api).read_namespaced_secret(f"masker-agent-{name}", namespace)
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def make_upstream_secret(api: Any, namespace: str, value: str, name: str = "openai") -> None:
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"apiKey": value}),
    )


BASE_SPEC: dict[str, Any] = {
    "upstream": {
        "baseUrl": "https://llm.example.test/v1",
        "allowedModels": ["gpt-4o-mini"],
        "apiKeySecretRef": {"name": "openai"},
    },
    "policy": {"name": "healthcare"},
}
