"""The chart and the raw manifests against a real kube-apiserver (1.20, tests/k8s_testbed.py).

* `kubectl apply --dry-run=server` of manifests/ (CRD applied for real first);
* a real `helm install` / `upgrade` / `uninstall`, where the capability gates matter: 1.20 serves
  neither autoscaling/v2 nor policy/v1, so the HA scenario must install without HPA/PDB, and
  ServiceMonitor/PrometheusRule appear only once monitoring.coreos.com/v1 is served;
* the operator run as the chart's ServiceAccount (its token, the chart's RBAC, namespaced mode):
  a MaskerAgent becomes Ready and a labelled pod gets the sidecar through the webhook.

Pods never run (no kubelet); everything else is the real API server, RBAC and admission chain.
Other projects' CRDs (cert-manager, Prometheus Operator) are installed as schema-less stand-ins.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from helm_tools import CHART, ROOT, run, tool
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s_testbed import (
    K8sTestbed,
    free_port,
    install_crd,
    stop_process,
    wait_for,
    wait_operator_up,
    write_kubeconfig,
)

pytestmark = pytest.mark.k8s
T = TypeVar("T")
CI = CHART / "ci"


def stub_crd(group: str, kind: str, plural: str, scope: str = "Namespaced") -> dict[str, Any]:
    """A schema-less stand-in for another project's CRD: lets the API serve the group/kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def install_stub_crds(api: Any, tmp: Path, *crds: dict[str, Any]) -> None:
    path = tmp / f"stub-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump_all(list(crds)))
    install_crd(api, path)


CERT_MANAGER = (
    stub_crd("cert-manager.io", "Certificate", "certificates"),
    stub_crd("cert-manager.io", "Issuer", "issuers"),
)
MONITORING = (
    stub_crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
    stub_crd("monitoring.coreos.com", "PrometheusRule", "prometheusrules"),
)


class Helm:
    """helm/kubectl bound to the test bed, with their caches and config in a temp dir."""

    def __init__(self, bed: K8sTestbed, home: Path, kubeconfig: Path | None = None) -> None:
        self.env = {
            **bed.env(kubeconfig),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "KUBECACHEDIR": str(home / "kubecache"),
        }

    def __call__(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = run([tool("helm"), *args], check=False, env=self.env, timeout=180)
        if check:
            assert proc.returncode == 0, f"helm {' '.join(map(str, args))}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def kubectl(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = run([tool("kubectl"), *args], check=False, env=self.env, timeout=120)
        if check:
            assert proc.returncode == 0, f"kubectl {' '.join(map(str, args))}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        out = self("get", "manifest", release, "--namespace", namespace).stdout
        return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture
def helm(k8s_testbed: K8sTestbed, tmp_path: Path) -> Helm:
    return Helm(k8s_testbed, tmp_path / "helm")


@pytest.fixture
def release() -> str:
    return f"c{uuid.uuid4().hex[:8]}"


def _gone(fn: Callable[[], Any]) -> bool:
    try:
        fn()
    except ApiException as exc:
        return exc.status == 404
    return False


# ---------------------------------------------------------------------------------- manifests/


def test_manifests_server_dry_run(k8s_testbed: K8sTestbed, k8s_api: Any, helm: Helm, tmp_path: Path) -> None:
    install_stub_crds(k8s_api, tmp_path, *CERT_MANAGER)
    install_crd(k8s_api, ROOT / "manifests" / "crds.yaml")
    helm.kubectl("apply", "--dry-run=server", "-f", ROOT / "manifests" / "crds.yaml")
    core = client.CoreV1Api(k8s_api)
    created_ns = False
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="masker")))
        created_ns = True
    except ApiException as exc:
        assert exc.status == 409
    try:
        proc = helm.kubectl("apply", "--dry-run=server", "-f", ROOT / "manifests" / "masker.yaml")
        docs = [d for d in yaml.safe_load_all((ROOT / "manifests" / "masker.yaml").read_text()) if d]
        lines = [line for line in proc.stdout.splitlines() if "(server dry run)" in line]
        assert len(lines) == len(docs), proc.stdout
        # Dry run: nothing was stored.
        assert _gone(lambda: client.AppsV1Api(k8s_api).read_namespaced_deployment("masker-proxy", "masker"))
        # And the server does reject a broken object (the dry run is not a no-op).
        broken = tmp_path / "broken.yaml"
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = "root"
        broken.write_text(yaml.safe_dump(deployment))
        assert helm.kubectl("apply", "--dry-run=server", "-f", broken, check=False).returncode != 0
    finally:
        if created_ns:
            core.delete_namespace("masker")


# ---------------------------------------------------------------------------------- helm


def test_helm_install_upgrade_uninstall_on_1_20(
    k8s_api: Any, helm: Helm, k8s_namespace: str, release: str
) -> None:
    ns = k8s_namespace
    out = helm(
        "install", release, CHART, "--namespace", ns, "--values", CI / "ha-postgres-values.yaml"
    ).stdout
    try:
        kinds = {(d["kind"], d["metadata"]["name"]) for d in helm.manifest(release, ns)}
        # Capability gating: 1.20 has neither autoscaling/v2 nor policy/v1.
        assert not [k for k, _ in kinds if k in {"HorizontalPodAutoscaler", "PodDisruptionBudget"}]
        assert "does not serve autoscaling/v2" in out and "does not serve policy/v1" in out
        apps = client.AppsV1Api(k8s_api)
        deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(ns).items}
        assert set(deployments) == {f"{release}-masker-{c}" for c in ("proxy", "ner", "operator")}
        ner = deployments[f"{release}-masker-ner"].spec.template.spec.containers[0]
        assert ner.readiness_probe.tcp_socket is not None  # gRPC probes need >= 1.24
        proxy = deployments[f"{release}-masker-proxy"].spec.template.spec
        assert (
            proxy.security_context.run_as_non_root
            and proxy.containers[0].security_context.read_only_root_filesystem
        )

        admission = client.AdmissionregistrationV1Api(k8s_api)
        hook_name = f"{release}-masker-sidecar-injector"
        ca_before = (
            admission.read_mutating_webhook_configuration(hook_name).webhooks[0].client_config.ca_bundle
        )
        secret = client.CoreV1Api(k8s_api).read_namespaced_secret(f"{release}-masker-webhook-tls", ns)
        assert secret.data["ca.crt"] == ca_before

        # Upgrade: the self-signed certificate is looked up and kept, config changes roll out.
        helm(
            "upgrade", release, CHART, "--namespace", ns,
            "--values", CI / "ha-postgres-values.yaml", "--set", "proxy.upstream.timeoutSeconds=30",
        )  # fmt: skip
        ca_after = (
            admission.read_mutating_webhook_configuration(hook_name).webhooks[0].client_config.ca_bundle
        )
        assert ca_after == ca_before
        cm = client.CoreV1Api(k8s_api).read_namespaced_config_map(f"{release}-masker-proxy", ns)
        assert cm.data["MASKER_UPSTREAM_TIMEOUT"] == "30"
    finally:
        helm("uninstall", release, "--namespace", ns)
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    assert _gone(lambda: rbac.read_cluster_role(f"{release}-masker-operator"))
    assert _gone(
        lambda: client.AdmissionregistrationV1Api(k8s_api).read_mutating_webhook_configuration(hook_name)
    )
    assert not client.AppsV1Api(k8s_api).list_namespaced_deployment(ns).items
    # CRDs from crds/ are never deleted by helm (MaskerAgents would go with them).
    client.ApiextensionsV1Api(k8s_api).read_custom_resource_definition("maskeragents.masker.dev")


def test_monitoring_objects_follow_the_served_apis(
    k8s_api: Any, helm: Helm, k8s_namespace: str, release: str, tmp_path: Path
) -> None:
    ns = k8s_namespace
    values = ("--values", str(CI / "monitoring-values.yaml"))
    custom = client.CustomObjectsApi(k8s_api)
    apis = {g.name for g in client.ApisApi(k8s_api).get_api_versions().groups}
    try:
        if "monitoring.coreos.com" not in apis:  # first run in this test bed: gated off
            helm("install", release, CHART, "--namespace", ns, *values)
            kinds = {d["kind"] for d in helm.manifest(release, ns)}
            assert "ServiceMonitor" not in kinds and "PrometheusRule" not in kinds
            install_stub_crds(k8s_api, tmp_path, *MONITORING)
            helm("upgrade", release, CHART, "--namespace", ns, *values)
        else:
            helm("install", release, CHART, "--namespace", ns, *values)
        monitors = custom.list_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "servicemonitors")
        rules = custom.list_namespaced_custom_object("monitoring.coreos.com", "v1", ns, "prometheusrules")
        assert [m["metadata"]["name"] for m in monitors["items"]] == [f"{release}-masker"]
        assert len(rules["items"]) == 1
    finally:
        helm("uninstall", release, "--namespace", ns)


def test_cert_manager_mode_installs_where_cert_manager_is_served(
    k8s_api: Any, helm: Helm, k8s_namespace: str, release: str, tmp_path: Path
) -> None:
    install_stub_crds(k8s_api, tmp_path, *CERT_MANAGER)
    ns = k8s_namespace
    helm("install", release, CHART, "--namespace", ns, "--values", CI / "cert-manager-values.yaml")
    try:
        certs = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
            "cert-manager.io", "v1", ns, "certificates"
        )
        names = sorted(c["metadata"]["name"] for c in certs["items"])
        assert names == [f"{release}-masker-webhook", f"{release}-masker-webhook-ca"]
        hook = client.AdmissionregistrationV1Api(k8s_api).read_mutating_webhook_configuration(
            f"{release}-masker-sidecar-injector"
        )
        assert hook.metadata.annotations["cert-manager.io/inject-ca-from"] == f"{ns}/{release}-masker-webhook"
    finally:
        helm("uninstall", release, "--namespace", ns)


# ---------------------------------------------------------------------------------- operator


def _service_account_kubeconfig(bed: K8sTestbed, api: Any, namespace: str, name: str, path: Path) -> Path:
    """A kubeconfig with the token the controller-manager minted for the chart's ServiceAccount."""
    core = client.CoreV1Api(api)

    def token() -> str | None:
        for secret in core.list_namespaced_secret(namespace).items:
            annotations = secret.metadata.annotations or {}
            if secret.type == "kubernetes.io/service-account-token" and (
                annotations.get("kubernetes.io/service-account.name") == name
            ):
                data = secret.data or {}
                return base64.b64decode(data["token"]).decode() if "token" in data else None
        return None

    return write_kubeconfig(
        path, bed.server, bed.ca_file, wait_for(token, timeout=15.0, what="SA token"), name
    )


@contextlib.contextmanager
def _operator_from_deployment(
    deployment: Any, kubeconfig: Path, namespace: str, log: Path, cert_dir: Path | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Run `python -m masker_operator` with the Deployment's args and env, reachable on loopback.

    ``cert_dir``: the chart's webhook TLS Secret as files, as the pod mounts it; without it the
    operator makes its own certificate for 127.0.0.1 so the API server can call it here.
    """
    container = deployment.spec.template.spec.containers[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    for var in container.env:
        if var.value_from is not None:
            assert var.value_from.field_ref.field_path == "metadata.namespace", var.name
            env[var.name] = namespace
        else:
            env[var.name] = var.value
    webhook_port, liveness_port = free_port(), free_port()
    # Out of cluster the API server reaches the webhook by URL, with a certificate for 127.0.0.1
    # that the operator makes itself; everything else is exactly what the chart configured.
    env.pop("MASKER_OPERATOR_WEBHOOK_CERT_DIR", None)
    if cert_dir is not None:
        env["MASKER_OPERATOR_WEBHOOK_CERT_DIR"] = str(cert_dir)
    env.update(
        KUBECONFIG=str(kubeconfig),
        MASKER_OPERATOR_WEBHOOK_URL_HOST="127.0.0.1",
        MASKER_OPERATOR_WEBHOOK_LISTEN_ADDR="127.0.0.1",
        MASKER_OPERATOR_WEBHOOK_PORT=str(webhook_port),
    )
    args = [a for a in container.args if not a.startswith("--liveness")]
    args.append(f"--liveness=http://127.0.0.1:{liveness_port}/healthz")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "masker_operator", *args], env=env, stdout=fh, stderr=subprocess.STDOUT
        )

    try:
        wait_operator_up(proc, liveness_port, webhook_port, lambda: log.read_text(errors="replace"))
        yield proc, webhook_port
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- operator log:\n{log.read_text(errors='replace')[-6000:]}") from exc
    finally:
        stop_process(proc)


def test_operator_runs_with_the_chart_rbac(
    k8s_testbed: K8sTestbed, k8s_api: Any, helm: Helm, k8s_namespace: str, release: str, tmp_path: Path
) -> None:
    ns = k8s_namespace
    helm(
        "install", release, CHART, "--namespace", ns,
        "--set", f"operator.watchNamespaces={{{ns}}}",
        "--set", "proxy.publicUrl=https://masker.example.test",
        "--set", "image.proxy.tag=9.9.9",
    )  # fmt: skip
    try:
        apps = client.AppsV1Api(k8s_api)
        deployment = apps.read_namespaced_deployment(f"{release}-masker-operator", ns)
        sa = deployment.spec.template.spec.service_account_name
        kubeconfig = _service_account_kubeconfig(k8s_testbed, k8s_api, ns, sa, tmp_path / "sa.kubeconfig")
        # The ServiceAccount has exactly the chart's RBAC: e.g. no listing Secrets.
        denied = Helm(k8s_testbed, tmp_path / "h2", kubeconfig).kubectl(
            "get", "secrets", "-n", ns, check=False
        )
        assert denied.returncode != 0 and "forbidden" in denied.stderr

        core = client.CoreV1Api(k8s_api)
        core.create_namespaced_secret(
            ns,
            client.V1Secret(
                metadata=client.V1ObjectMeta(
                    name="openai", labels={"masker.dev/upstream-credentials": "true"}
                ),
                string_data={"apiKey": "sk-test"},
            ),
        )
        custom = client.CustomObjectsApi(k8s_api)
        with _operator_from_deployment(deployment, kubeconfig, ns, tmp_path / "operator.log") as (
            _,
            webhook_port,
        ):
            custom.create_namespaced_custom_object(
                "masker.dev", "v1alpha1", ns, "maskeragents",
                {
                    "apiVersion": "masker.dev/v1alpha1",
                    "kind": "MaskerAgent",
                    "metadata": {"name": "front-desk"},
                    "spec": {
                        "upstream": {
                            "baseUrl": "https://llm.example.test/v1",
                            "apiKeySecretRef": {"name": "openai"},
                        },
                        "policy": {"name": "healthcare"},
                    },
                },
            )  # fmt: skip

            def ready() -> dict[str, Any] | None:
                agent: dict[str, Any] = custom.get_namespaced_custom_object(
                    "masker.dev", "v1alpha1", ns, "maskeragents", "front-desk"
                )
                conds = (agent.get("status") or {}).get("conditions") or []
                return agent if any(c["type"] == "Ready" and c["status"] == "True" for c in conds) else None

            agent = wait_for(ready, timeout=20, what="MaskerAgent Ready")
            assert agent["status"]["proxyUrl"].startswith("https://masker.example.test/proxy/agt_")
            assert core.read_namespaced_config_map("masker-agent-front-desk", ns).data["agents.yaml"]

            # Helm owns the webhook configuration: the operator patched only the caBundle to the
            # CA it serves with (RBAC: that name only), never labels or the Service reference.
            admission = client.AdmissionregistrationV1Api(k8s_api)
            hook_name = f"{release}-masker-sidecar-injector"
            hook = admission.read_mutating_webhook_configuration(hook_name)
            assert hook.metadata.labels["app.kubernetes.io/managed-by"] == "Helm"
            assert hook.webhooks[0].client_config.service.name == f"{release}-masker-webhook"
            chart_ca = core.read_namespaced_secret(f"{release}-masker-webhook-tls", ns).data["ca.crt"]
            assert hook.webhooks[0].client_config.ca_bundle != chart_ca
            # The test bed routes no Services (no kube-proxy, no pods): point the configuration at
            # the operator on loopback, as the Service would in a cluster.
            admission.patch_mutating_webhook_configuration(
                hook_name,
                [
                    {"op": "remove", "path": "/webhooks/0/clientConfig/service"},
                    {
                        "op": "add",
                        "path": "/webhooks/0/clientConfig/url",
                        "value": f"https://127.0.0.1:{webhook_port}/inject-sidecar",
                    },
                ],
                _content_type="application/json-patch+json",
            )

            pod = core.create_namespaced_pod(
                ns,
                client.V1Pod(
                    metadata=client.V1ObjectMeta(
                        name="voice-app",
                        labels={"masker.dev/inject": "true"},
                        annotations={"masker.dev/agent": "front-desk"},
                    ),
                    spec=client.V1Pod(spec=None).spec
                    or client.V1PodSpec(
                        containers=[client.V1Container(name="app", image="example.test/app:1")]
                    ),
                ),
            )
            sidecars = [c for c in pod.spec.containers if c.name == "masker-proxy"]
            assert len(sidecars) == 1, json.dumps([c.name for c in pod.spec.containers])
            sidecar = sidecars[0]
            assert sidecar.image == "ghcr.io/masker-dev/masker:9.9.9"  # the chart's proxy image
            assert sidecar.security_context.run_as_user == 10001  # the image's user, from the chart
            assert sidecar.security_context.read_only_root_filesystem is True
    finally:
        helm("uninstall", release, "--namespace", ns)


def test_helm_upgrade_after_operator_restarts(
    k8s_testbed: K8sTestbed, k8s_api: Any, helm: Helm, k8s_namespace: str, release: str, tmp_path: Path
) -> None:
    """One owner per object: the operator (started twice, as after a restart) never takes the
    webhook configuration from Helm, so `helm upgrade` (server-side apply) still succeeds."""
    ns = k8s_namespace
    admission = client.AdmissionregistrationV1Api(k8s_api)
    hook_name = f"{release}-masker-sidecar-injector"
    try:
        for mode in ("self-signed", "operator"):
            helm(
                "upgrade", "--install", release, CHART, "--namespace", ns,
                "--set", f"operator.watchNamespaces={{{ns}}}",
                "--set", f"webhook.tls.mode={mode}",
            )  # fmt: skip
            deployment = client.AppsV1Api(k8s_api).read_namespaced_deployment(
                f"{release}-masker-operator", ns
            )
            sa = deployment.spec.template.spec.service_account_name
            kubeconfig = _service_account_kubeconfig(
                k8s_testbed, k8s_api, ns, sa, tmp_path / f"{mode}.kubeconfig"
            )
            cert_dir = None
            if mode == "self-signed":  # the pod mounts the chart's TLS Secret
                cert_dir = tmp_path / "webhook-tls"
                cert_dir.mkdir()
                secret = client.CoreV1Api(k8s_api).read_namespaced_secret(f"{release}-masker-webhook-tls", ns)
                for key, value in (secret.data or {}).items():
                    (cert_dir / key).write_bytes(base64.b64decode(value))
            labels = admission.read_mutating_webhook_configuration(hook_name).metadata.labels
            for start in range(2):
                log = tmp_path / f"operator-{mode}-{start}.log"
                with _operator_from_deployment(deployment, kubeconfig, ns, log, cert_dir):
                    hook = wait_for(
                        lambda: (
                            (h := admission.read_mutating_webhook_configuration(hook_name))
                            .webhooks[0]
                            .client_config.ca_bundle
                            and h
                        ),
                        what="caBundle present",
                    )
            assert hook.metadata.labels == labels
            assert hook.webhooks[0].client_config.service.name == f"{release}-masker-webhook"
            if mode == "operator":  # the operator's own CA, patched in at each start
                assert "caBundle updated" in log.read_text()
            else:  # the chart's CA: nothing to patch
                assert "caBundle updated" not in log.read_text()
            upgraded = helm(
                "upgrade", release, CHART, "--namespace", ns, "--reuse-values",
                "--set", "proxy.upstream.timeoutSeconds=31",
            )  # fmt: skip
            assert "conflict" not in upgraded.stderr.lower()
            after = admission.read_mutating_webhook_configuration(hook_name)
            assert after.metadata.labels == labels
            if mode == "operator":  # Helm does not own caBundle in this mode: the operator's stays
                assert after.webhooks[0].client_config.ca_bundle == hook.webhooks[0].client_config.ca_bundle
    finally:
        helm("uninstall", release, "--namespace", ns, check=False)
