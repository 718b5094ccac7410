"""Shared pieces of the operator's cluster tests: the operator subprocess fixture and API helpers.

The operator runs as a subprocess (``python -m masker_operator``), authenticated as the
``masker-operator`` ServiceAccount user with only the RBAC of operator/masker_operator/rbac.yaml,
and serves its admission webhook on 127.0.0.1 over TLS with a CA it made itself.

The test bed is shared with tests/chart in the same pytest process, in either order. So the
operator lives only as long as the tests/operator package (package scope), and when it stops every
cluster-scoped object made for or by it (webhook configuration, RBAC, CRD, namespaces) is deleted
and waited for, also when a test failed: otherwise a webhook configuration pointing at a dead port
(or an operator still reconciling) changes what the chart tests see.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s_testbed import (
    OPERATOR_SA_NAME,
    OPERATOR_SA_NAMESPACE,
    K8sTestbed,
    apply_manifest,
    free_port,
    install_crd,
    stop_process,
    wait_for,
    wait_operator_up,
)

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "charts" / "masker" / "crds" / "maskeragents.yaml"
RBAC = ROOT / "operator" / "masker_operator" / "rbac.yaml"
GROUP, VERSION, PLURAL = "masker.dev", "v1alpha1", "maskeragents"
CRD_NAME = f"{PLURAL}.{GROUP}"
PUBLIC_URL = "https://masker.example.test"
# Long enough that a change noticed within 2 s was not noticed by the timer (rotation test),
# short enough for the drift tests.
DRIFT_INTERVAL = 5.0
CUSTOM_POLICY = "dental"  # in the operator's MASKER_OPERATOR_POLICIES_DIR
TEST_SUFFIX = "-operator-tests"
# Not manifests/masker.yaml's "masker-sidecar-injector": a leftover could never be patched into it.
WEBHOOK_CONFIGURATION = "masker-sidecar-injector" + TEST_SUFFIX
CENTRAL_NAME = "masker-central-agents" + TEST_SUFFIX
CENTRAL_SHARDS = 2
CLEANUP_TIMEOUT = 90.0  # namespaces: the controller-manager deletes their contents first
T = TypeVar("T")


def rbac_for_tests() -> list[dict[str, Any]]:
    """operator/masker_operator/rbac.yaml with cluster-scoped names suffixed.

    The test bed is shared with the chart tests, which may install same-named objects; distinct
    names keep either side from silently reusing the other's version of the rules. The webhook
    configuration the rules name is the tests' one (WEBHOOK_CONFIGURATION).
    """
    docs = [d for d in yaml.safe_load_all(RBAC.read_text()) if d]
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            doc["metadata"]["name"] += TEST_SUFFIX
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"]["name"] += TEST_SUFFIX
        if doc["kind"] == "ClusterRole":
            for rule in doc["rules"]:
                if "mutatingwebhookconfigurations" in rule["resources"] and rule.get("resourceNames"):
                    rule["resourceNames"] = [WEBHOOK_CONFIGURATION]
    return docs


Step = tuple[str, Callable[[], object], Callable[[], object]]  # what, delete, read


def _namespaces(core: Any) -> set[str]:
    return {str(ns.metadata.name) for ns in core.list_namespace().items}


def _drop_finalizers(api: Any, namespace: str) -> None:
    """Kopf puts a finalizer on every MaskerAgent (the drift timer needs one); with the operator
    stopped nobody takes it off, and the namespace (and the CRD) would stay Terminating forever."""
    objects = custom(api)
    with contextlib.suppress(ApiException):
        for agent in objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]:
            if agent["metadata"].get("finalizers"):
                objects.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    agent["metadata"]["name"],
                    {"metadata": {"finalizers": None}},
                )


def _delete_and_wait(what: str, delete: Callable[[], object], read: Callable[[], object]) -> None:
    with contextlib.suppress(ApiException):  # 404: already gone; anything else shows in the wait
        delete()
    wait_for(lambda: get_or_none(read) is None, timeout=CLEANUP_TIMEOUT, what=f"{what} deleted", interval=0.2)


@contextlib.contextmanager
def cluster_objects(api: Any) -> Iterator[None]:
    """The CRD, operator namespace and RBAC the operator needs; afterwards, everything cluster-scoped.

    Deleted (and waited for) on the way out, even when a test or the set-up failed: the
    operator's webhook configuration, every namespace created meanwhile (the tests' own, and
    masker-system if it was made here), the RBAC, and the CRD unless it was there before (the
    chart tests install it too). The operator must be stopped first, or it re-creates its webhook
    configuration.
    """
    core = client.CoreV1Api(api)
    ext = client.ApiextensionsV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    admission = client.AdmissionregistrationV1Api(api)
    namespaces_before = _namespaces(core)
    crd_before = get_or_none(lambda: ext.read_custom_resource_definition(CRD_NAME)) is not None
    sa_ns = OPERATOR_SA_NAMESPACE
    try:
        install_crd(api, CRD)
        if sa_ns not in namespaces_before:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=sa_ns)))
        apply_manifest(api, rbac_for_tests())
        yield
    finally:
        hook = WEBHOOK_CONFIGURATION
        steps: list[Step] = [
            (
                f"MutatingWebhookConfiguration {hook}",
                partial(admission.delete_mutating_webhook_configuration, hook),
                partial(admission.read_mutating_webhook_configuration, hook),
            )
        ]
        if sa_ns in namespaces_before:  # someone else's namespace: only our ServiceAccount
            steps.append(
                (
                    f"ServiceAccount {sa_ns}/{OPERATOR_SA_NAME}",
                    partial(core.delete_namespaced_service_account, OPERATOR_SA_NAME, sa_ns),
                    partial(core.read_namespaced_service_account, OPERATOR_SA_NAME, sa_ns),
                )
            )
            for index in range(CENTRAL_SHARDS):  # and the central aggregate the operator wrote
                shard = f"{CENTRAL_NAME}-{index}"
                steps += [
                    (
                        f"ConfigMap {sa_ns}/{shard}",
                        partial(core.delete_namespaced_config_map, shard, sa_ns),
                        partial(core.read_namespaced_config_map, shard, sa_ns),
                    ),
                    (
                        f"Secret {sa_ns}/{shard}",
                        partial(core.delete_namespaced_secret, shard, sa_ns),
                        partial(core.read_namespaced_secret, shard, sa_ns),
                    ),
                ]
        created = sorted(_namespaces(core) - namespaces_before)
        for name in created:
            _drop_finalizers(api, name)
        for name in created:  # start them all before waiting for the first
            with contextlib.suppress(ApiException):
                core.delete_namespace(name)
        steps += [
            (f"Namespace {n}", partial(core.delete_namespace, n), partial(core.read_namespace, n))
            for n in created
        ]
        for doc in rbac_for_tests():
            kind, name = doc["kind"], doc["metadata"]["name"]
            if kind == "ClusterRoleBinding":
                steps.append(
                    (
                        f"{kind} {name}",
                        partial(rbac.delete_cluster_role_binding, name),
                        partial(rbac.read_cluster_role_binding, name),
                    )
                )
            elif kind == "ClusterRole":
                steps.append(
                    (
                        f"{kind} {name}",
                        partial(rbac.delete_cluster_role, name),
                        partial(rbac.read_cluster_role, name),
                    )
                )
        if not crd_before:  # last: its MaskerAgents went with the namespaces
            steps.append(
                (
                    f"CustomResourceDefinition {CRD_NAME}",
                    partial(ext.delete_custom_resource_definition, CRD_NAME),
                    partial(ext.read_custom_resource_definition, CRD_NAME),
                )
            )
        failures = []
        for what, delete, read in steps:
            try:
                _delete_and_wait(what, delete, read)
            except (AssertionError, ApiException) as exc:  # keep cleaning; report all at the end
                failures.append(f"{what}: {exc}")
        assert not failures, "operator tests left objects in the shared test bed:\n" + "\n".join(failures)


class Operator:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, webhook_port: int) -> None:
        self.proc = proc
        self.log = log
        self.webhook_port = webhook_port

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="package")
def operator(
    k8s_testbed: K8sTestbed, k8s_api: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    # Package scope (tests/operator/__init__.py): stopped, and the cluster cleaned, as soon as the
    # last operator test is done, not at the end of the session after the chart tests.
    webhook_port, liveness_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    # The chart's custom policies, as its ConfigMap is mounted into the operator.
    policies = tmp_path_factory.mktemp("custom-policies")
    (policies / f"{CUSTOM_POLICY}.yaml").write_text(
        "version: 1\ndefault_action: tokenize\ncategories: {PHONE: mask, EMAIL: hash}\n"
    )
    env = {
        **k8s_testbed.env(k8s_testbed.operator_kubeconfig),
        "MASKER_OPERATOR_PUBLIC_URL": PUBLIC_URL,
        # Central serving on, as the chart runs it: the aggregate in the operator's namespace.
        "MASKER_OPERATOR_AGGREGATE_NAMESPACE": OPERATOR_SA_NAMESPACE,
        "MASKER_OPERATOR_AGGREGATE_NAME": CENTRAL_NAME,
        "MASKER_OPERATOR_AGGREGATE_SHARDS": str(CENTRAL_SHARDS),
        "MASKER_OPERATOR_AGGREGATE_BATCH_SECONDS": "0.3",
        "MASKER_OPERATOR_DRIFT_INTERVAL": str(DRIFT_INTERVAL),
        "MASKER_OPERATOR_WEBHOOK_URL_HOST": "127.0.0.1",
        "MASKER_OPERATOR_WEBHOOK_LISTEN_ADDR": "127.0.0.1",
        "MASKER_OPERATOR_WEBHOOK_PORT": str(webhook_port),
        "MASKER_OPERATOR_WEBHOOK_CONFIGURATION_NAME": WEBHOOK_CONFIGURATION,
        "MASKER_OPERATOR_PROXY_IMAGE": "registry.example.test/masker:test",
        "MASKER_OPERATOR_POLICIES_DIR": str(policies),
    }
    with cluster_objects(k8s_api):
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
            stop_process(proc)  # before cluster_objects cleans up: it would re-create its webhook
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


def make_upstream_secret(
    api: Any, namespace: str, value: str, name: str = "openai", *, opt_in: bool = True
) -> None:
    """The user's upstream-key Secret; ``opt_in`` = labelled for use by MaskerAgents."""
    labels = {"masker.dev/upstream-credentials": "true"} if opt_in else None
    client.CoreV1Api(api).create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, labels=labels), string_data={"apiKey": value}
        ),
    )


BASE_SPEC: dict[str, Any] = {
    "upstream": {
        "baseUrl": "https://llm.example.test/v1",
        "allowedModels": ["gpt-4o-mini"],
        "apiKeySecretRef": {"name": "openai"},
    },
    "policy": {"name": "healthcare"},
}
