"""manifests/ (raw YAML for users without Helm) must be exactly what the chart renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import yaml
from helm_tools import CHART, KUBE_VERSIONS, ROOT, tool

SCRIPT = ROOT / "scripts" / "gen-manifests.sh"


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    tool("helm")
    return subprocess.run(
        ["bash", str(root / "scripts" / "gen-manifests.sh"), "--check"], capture_output=True, text=True
    )


def test_manifests_are_in_sync_with_the_chart() -> None:
    proc = _check(ROOT)
    assert proc.returncode == 0, proc.stderr


def test_the_check_notices_drift(tmp_path: Path) -> None:
    """Copy the inputs, change one chart default, and the check must fail with a diff."""
    for rel in ("charts", "manifests", "scripts"):
        shutil.copytree(ROOT / rel, tmp_path / rel)
    values = tmp_path / "charts" / "masker" / "values.yaml"
    values.write_text(values.read_text().replace("timeoutSeconds: 60", "timeoutSeconds: 61"))
    proc = _check(tmp_path)
    assert proc.returncode == 1
    assert 'MASKER_UPSTREAM_TIMEOUT: "61"' in proc.stderr and "out of date" in proc.stderr


def test_crds_file_is_the_chart_crd() -> None:
    docs = [d for d in yaml.safe_load_all((ROOT / "manifests" / "crds.yaml").read_text()) if d]
    assert docs == [yaml.safe_load(p.read_text()) for p in sorted((CHART / "crds").glob("*.yaml"))]


def test_manifests_validate_and_hold_no_generated_secrets() -> None:
    docs = [d for d in yaml.safe_load_all((ROOT / "manifests" / "masker.yaml").read_text()) if d]
    # The namespace is the user's: `kubectl delete -f` must never take their Secrets with it.
    assert not [d for d in docs if d["kind"] == "Namespace"]
    assert {d["metadata"].get("namespace", "masker") for d in docs} == {"masker"}
    # No cert-manager: the operator makes its certificate and patches the caBundle in.
    assert not [d for d in docs if d["kind"] in {"Certificate", "Issuer"}]
    (hook,) = next(d for d in docs if d["kind"] == "MutatingWebhookConfiguration")["webhooks"]
    assert "caBundle" not in hook["clientConfig"] and hook["failurePolicy"] == "Fail"
    operator = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "masker-operator"
    )
    env = {e["name"] for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "MASKER_OPERATOR_WEBHOOK_CERT_DIR" not in env
    assert not [d for d in docs if (d["metadata"].get("annotations") or {}).get("helm.sh/hook")]
    # Deterministic and shareable: no key material (the chart would generate some on install).
    assert not [d for d in docs if d["kind"] == "Secret"]
    for doc in docs:
        if doc["kind"] not in {"Certificate", "Issuer"}:
            for version in KUBE_VERSIONS:
                kubernetes_validate.validate(doc, version, strict=True)
