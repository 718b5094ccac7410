"""Chart hygiene from issue 21: the `helm test` Pod (rendered, and its command run for real),
egress NetworkPolicies, the audit key with your own Secret, the webhook failing closed, the
operator told about custom policies and the sidecar vault default, and docs naming real objects."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helm_tools import ROOT, by_kind, one, render

from tests.proxy_process import free_port, start_proxy


def _pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pods = [d for d in by_kind(docs, "Pod") if d["metadata"]["name"].endswith("-test")]
    assert len(pods) == 1
    return pods[0]


def test_helm_test_pod_is_a_test_hook_running_the_proxy_image() -> None:
    docs = render()
    pod = _pod(docs)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    proxy = one(docs, "Deployment", "-proxy")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == proxy["image"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    service = one(docs, "Service", "-proxy")
    assert env["MASKER_TEST_PROXY_URL"] == (
        f"http://{service['metadata']['name']}.masker.svc:{service['spec']['ports'][0]['port']}"
    )
    assert env["MASKER_NER_ADDR"] == "masker-ner.masker.svc:50051"
    assert container["command"][:2] == ["python", "-c"]
    # NER admits the test Pod (its NetworkPolicy is ingress-restricted).
    ner_policy = one(docs, "NetworkPolicy", "-ner")
    peers = ner_policy["spec"]["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {**_selector(pod)}}} in peers
    assert not [p for p in by_kind(render(sets=["tests.enabled=false"]), "Pod")]


def _selector(pod: dict[str, Any]) -> dict[str, str]:
    labels = pod["metadata"]["labels"]
    return {
        k: labels[k]
        for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")
    }


@pytest.mark.slow
def test_helm_test_command_passes_against_a_real_proxy(tmp_path: Path) -> None:
    """The Pod's command, run here: against a real `masker serve` as the release's proxy."""
    (container,) = _pod(render(sets=["ner.enabled=false"]))["spec"]["containers"]
    release_proxy = start_proxy({}, tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
        env.update({e["name"]: e["value"] for e in container["env"]})
        env["MASKER_TEST_PROXY_URL"] = release_proxy.url
        env["MASKER_POLICIES_DIR"] = str(ROOT / "policies")  # the image's /etc/masker/policies
        env["MASKER_TEST_LOCAL_PORT"] = str(free_port())
        env["TMPDIR"] = str(tmp_path)
        proc = subprocess.run(
            [sys.executable, *container["command"][1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        release_proxy.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   release proxy /health" in proc.stdout
    assert "ok   redaction round trip" in proc.stdout


@pytest.mark.slow
def test_helm_test_command_fails_when_the_proxy_is_down(tmp_path: Path) -> None:
    (container,) = _pod(render(sets=["ner.enabled=false"]))["spec"]["containers"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    env.update({e["name"]: e["value"] for e in container["env"]})
    env["MASKER_TEST_PROXY_URL"] = f"http://127.0.0.1:{free_port()}"
    script = container["command"][2].replace('"/health", 60)', '"/health", 2)')
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "FAIL" in proc.stdout


def test_egress_network_policies() -> None:
    docs = render()
    ner = one(docs, "NetworkPolicy", "-ner")["spec"]
    assert "Egress" in ner["policyTypes"]
    # NER sees raw text: it may resolve names and nothing else.
    assert ner["egress"] == [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]
    proxy = one(docs, "NetworkPolicy", "-proxy")["spec"]
    assert "Egress" in proxy["policyTypes"]
    rules = proxy["egress"]
    assert rules[0] == ner["egress"][0]
    assert rules[1]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "ner"
    assert rules[2] == {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }
    assert len(rules) == 3

    narrowed = render(
        sets=[
            "networkPolicy.egress.upstreamCidrs={203.0.113.0/24}",
            "networkPolicy.egress.upstreamPorts={443,8443}",
        ]
    )
    rules = one(narrowed, "NetworkPolicy", "-proxy")["spec"]["egress"]
    assert rules[2]["to"] == [{"ipBlock": {"cidr": "203.0.113.0/24"}}]
    assert [p["port"] for p in rules[2]["ports"]] == [443, 8443]

    open_egress = render(sets=["networkPolicy.egress.enabled=false"])
    for name in ("-ner", "-proxy"):
        spec = one(open_egress, "NetworkPolicy", name)["spec"]
        assert spec["policyTypes"] == ["Ingress"] and "egress" not in spec


def test_proxy_may_reach_a_postgres_vault() -> None:
    docs = render(sets=["proxy.database.type=postgres", "proxy.database.existingSecret=pg"])
    rules = one(docs, "NetworkPolicy", "-proxy")["spec"]["egress"]
    assert {"ports": [{"port": 5432, "protocol": "TCP"}]} in rules


def _audit_source(docs: list[dict[str, Any]]) -> dict[str, Any]:
    env = one(docs, "Deployment", "-proxy")["spec"]["template"]["spec"]["containers"][0]["env"]
    return next(e for e in env if e["name"] == "MASKER_AUDIT_HMAC_KEY")["valueFrom"]["secretKeyRef"]


def test_audit_key_is_kept_when_you_bring_your_own_secret() -> None:
    own = render(sets=["proxy.secret.existingSecret=masker-proxy-credentials"])
    ref = _audit_source(own)
    assert ref["name"] == "masker-audit"
    audit = one(own, "Secret", "-audit")
    key = base64.b64decode(base64.b64decode(audit["data"]["MASKER_AUDIT_HMAC_KEY"]))
    assert len(key) == 32
    # The other credentials come from the user's Secret.
    env = one(own, "Deployment", "-proxy")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert next(e for e in env if e["name"] == "MASKER_API_KEYS")["valueFrom"]["secretKeyRef"]["name"] == (
        "masker-proxy-credentials"
    )

    theirs = render(
        sets=[
            "proxy.secret.existingSecret=masker-proxy-credentials",
            "proxy.secret.auditHmacKeyInExistingSecret=true",
        ]
    )
    assert _audit_source(theirs)["name"] == "masker-proxy-credentials"
    assert not [d for d in by_kind(theirs, "Secret") if d["metadata"]["name"].endswith("-audit")]

    chart_made = render()
    assert _audit_source(chart_made)["name"] == "masker-proxy"
    assert "MASKER_AUDIT_HMAC_KEY" in one(chart_made, "Secret", "-proxy")["data"]


def test_webhook_fails_closed_only_for_pods_that_asked() -> None:
    (hook,) = one(render(), "MutatingWebhookConfiguration")["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert hook["objectSelector"] == {"matchLabels": {"masker.dev/inject": "true"}}


def test_operator_gets_custom_policies_and_the_vault_default() -> None:
    docs = render(
        sets=["sidecar.vaultDatabase.secretName=vault-db"],
        values=[],
    )
    spec = one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["MASKER_OPERATOR_VAULT_DATABASE_SECRET"] == "vault-db"
    assert env["MASKER_OPERATOR_VAULT_DATABASE_SECRET_KEY"] == "url"
    assert "MASKER_OPERATOR_POLICIES_DIR" not in env

    with_policy = render(sets=["proxy.policies.inline.dental.version=1"])
    spec = one(with_policy, "Deployment", "-operator")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "custom-policies")
    assert env["MASKER_OPERATOR_POLICIES_DIR"] == mount["mountPath"]
    assert "subPath" not in mount  # whole directory: a changed policy reaches the operator
    volume = next(v for v in spec["volumes"] if v["name"] == "custom-policies")
    policies = one(with_policy, "ConfigMap", "-policies")
    assert volume["configMap"]["name"] == policies["metadata"]["name"]
    assert "dental.yaml" in policies["data"]


def test_webhook_tls_mode_operator_needs_no_key_material() -> None:
    docs = render(sets=["webhook.tls.mode=operator"])
    assert not [d for d in by_kind(docs, "Secret") if d["metadata"]["name"].endswith("-webhook-tls")]
    (hook,) = one(docs, "MutatingWebhookConfiguration")["webhooks"]
    assert "caBundle" not in hook["clientConfig"]
    spec = one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert "MASKER_OPERATOR_WEBHOOK_CERT_DIR" not in env
    assert "webhook-tls" not in {v["name"] for v in spec["volumes"]}


def test_docs_name_the_webhook_service_the_chart_creates() -> None:
    docs = render()
    service = one(docs, "Service", "-webhook")["metadata"]["name"]
    text = "\n".join((ROOT / p).read_text() for p in ("docs/helm.md", "docs/operator.md", "README.md"))
    for named in set(re.findall(r"`?(masker-[a-z-]*webhook[a-z-]*)`?", text)):
        # Objects the chart creates are named <release>-masker-...; docs use release "masker".
        rendered = {d["metadata"]["name"] for d in docs}
        assert named in rendered or named == service or named.startswith("masker-sidecar-injector"), named
