"""The chart, offline: lint, every ci/ scenario rendered and schema-validated against 1.29 and 1.33,
and the properties users rely on (secure defaults, published env names, gating, TLS wiring)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from helm_tools import (
    CHART,
    CI_VALUES,
    CRD_KINDS,
    KUBE_VERSIONS,
    ROOT,
    by_kind,
    helm,
    one,
    parse,
    pod_specs,
    render,
    template_args,
)

# Published proxy environment (reference 000) plus the chart's own MASKER_DATA_DIR.
PUBLISHED_ENV = {
    "MASKER_LISTEN_ADDR",
    "MASKER_PUBLIC_URL",
    "MASKER_DATABASE_URL",
    "MASKER_OPENAI_BASE_URL",
    "MASKER_OPENAI_API_KEY",
    "MASKER_UPSTREAM_TIMEOUT",
    "MASKER_POLICIES_DIR",
    "MASKER_API_KEYS",
    "MASKER_DEFAULT_FAIL_MODE",
    "MASKER_METRICS_ADDR",
    "MASKER_AGENTS_FILE",
    "MASKER_SECRETS_DIR",
    "MASKER_AUDIT_HMAC_KEY",
    "MASKER_NER_ADDR",
    "MASKER_DATA_DIR",
    "MASKER_WORKERS",  # ours (README), not in the published reference
}
SECRET_ENV = {"MASKER_OPENAI_API_KEY", "MASKER_API_KEYS", "MASKER_AUDIT_HMAC_KEY", "MASKER_DATABASE_URL"}
PUBLISHED_METRICS = (
    "masker_requests_total",
    "masker_request_duration_seconds",
    "masker_redactions_total",
    "masker_vault_size_bytes",
)
SCENARIOS = {p.stem: p for p in CI_VALUES}


def test_ci_scenarios_cover_the_issue() -> None:
    for name in ("default", "ha-postgres", "monitoring", "cert-manager", "ner-disabled"):
        assert f"{name}-values" in SCENARIOS


def test_lint_strict() -> None:
    out = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in out.stdout


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_lint_strict_each_scenario(scenario: str) -> None:
    # (`helm lint` has no --api-versions; it tolerates the chart's `fail` for a missing cert-manager,
    # which test_cert_manager_mode_needs_cert_manager checks with `helm template`.)
    proc = helm("lint", "--strict", str(CHART), "--values", str(SCENARIOS[scenario]))
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_renders_and_validates_strictly(scenario: str, kube_version: str) -> None:
    docs = render([SCENARIOS[scenario]], kube_version=kube_version)
    assert docs
    validated = 0
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            # CRD-served kinds have no built-in schema; their shape is checked by the tests below
            # and by the API server tests (test_chart_k8s.py).
            continue
        kubernetes_validate.validate(doc, kube_version, strict=True)
        validated += 1
    assert validated >= 5


def test_validator_rejects_unknown_fields() -> None:
    """The strict validation above can fail: an unknown field in a Deployment is reported."""
    doc = one(render(), "Deployment", "-proxy")
    doc["spec"]["template"]["spec"]["containers"][0]["unknownField"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBE_VERSIONS[0], strict=True)


# ------------------------------------------------------------------ secure defaults


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_container_is_locked_down(scenario: str) -> None:
    docs = render([SCENARIOS[scenario]])
    specs = pod_specs(docs)
    assert specs
    for name, spec in specs:
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0, name
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in sc["capabilities"], name
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", name
            assert c["resources"]["requests"] and c["resources"]["limits"], name
            assert {"livenessProbe", "readinessProbe"} <= set(c), name
            # A read-only root needs a writable /tmp.
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, name


def test_proxy_and_ner_have_no_api_token() -> None:
    docs = render()
    for name, spec in pod_specs(docs):
        if name.endswith(("-proxy", "-ner")):
            assert spec["automountServiceAccountToken"] is False, name


def test_proxy_probes_health_and_metrics_port() -> None:
    proxy = one(render(), "Deployment", "-proxy")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in proxy["ports"]}
    assert ports == {"http": 8080, "metrics": 9090}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert proxy[probe]["httpGet"] == {"path": "/health", "port": "http"}
    mounts = {m["mountPath"]: m for m in proxy["volumeMounts"]}
    assert "/data" in mounts and not mounts["/data"].get("readOnly")


# ------------------------------------------------------------------ configuration


def _proxy_env(docs: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, Any]]:
    cm = one(docs, "ConfigMap", "-proxy")["data"]
    container = one(docs, "Deployment", "-proxy")["spec"]["template"]["spec"]["containers"][0]
    return cm, {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_proxy_env_uses_published_names_and_secrets_stay_in_secrets(scenario: str) -> None:
    docs = render([SCENARIOS[scenario]])
    cm, env = _proxy_env(docs)
    assert set(cm) | set(env) <= PUBLISHED_ENV
    assert not set(cm) & SECRET_ENV, "credentials must never be in the ConfigMap"
    for name in SECRET_ENV & set(env):
        assert "secretKeyRef" in env[name]["valueFrom"], name
    assert cm["MASKER_LISTEN_ADDR"] == "0.0.0.0:8080"
    assert cm["MASKER_METRICS_ADDR"] == "0.0.0.0:9090"


def test_workers_value_sets_the_process_count() -> None:
    cm, _ = _proxy_env(render())
    assert cm["MASKER_WORKERS"] == "1"
    cm, _ = _proxy_env(render(sets=["proxy.workers=2"]))
    assert cm["MASKER_WORKERS"] == "2"


def test_ner_address_follows_ner_enabled() -> None:
    docs = render()
    cm, _ = _proxy_env(docs)
    ner_svc = one(docs, "Service", "-ner")
    assert cm["MASKER_NER_ADDR"] == f"{ner_svc['metadata']['name']}.masker.svc:50051"
    ner = one(docs, "Deployment", "-ner")["spec"]["template"]["spec"]["containers"][0]
    assert ner["args"][:4] == ["ner", "serve", "--listen", "0.0.0.0:50051"]
    assert ner["readinessProbe"]["grpc"] == {"port": 50051}  # >= 1.24: native gRPC probes

    docs = render([SCENARIOS["ner-disabled-values"]])
    cm, _ = _proxy_env(docs)
    assert "MASKER_NER_ADDR" not in cm
    assert not [d for d in docs if d["metadata"]["name"].endswith("-ner")]


def test_ner_probes_fall_back_to_tcp_before_1_24() -> None:
    ner = one(render(kube_version="1.21.0"), "Deployment", "-ner")["spec"]["template"]["spec"]["containers"][
        0
    ]
    assert ner["readinessProbe"]["tcpSocket"] == {"port": "grpc"}
    assert "grpc" not in ner["livenessProbe"]


def test_postgres_url_comes_from_the_named_secret() -> None:
    docs = render([SCENARIOS["ha-postgres-values"]])
    _, env = _proxy_env(docs)
    assert env["MASKER_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "masker-postgres",
        "key": "url",
    }
    assert env["MASKER_OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "masker-credentials"
    assert not [s for s in by_kind(docs, "Secret") if s["metadata"]["name"].endswith("-proxy")]
    assert "replicas" not in one(docs, "Deployment", "-proxy")["spec"]  # the HPA owns it
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["minReplicas"] == 3
    assert one(docs, "PodDisruptionBudget")["apiVersion"] == "policy/v1"


def test_chart_secret_holds_a_32_byte_audit_key() -> None:
    docs = render(sets=["proxy.secret.openaiApiKey=sk-test"])
    secret = one(docs, "Secret", "-proxy")["data"]
    key = base64.b64decode(base64.b64decode(secret["MASKER_AUDIT_HMAC_KEY"]))
    assert len(key) == 32
    assert base64.b64decode(secret["MASKER_OPENAI_API_KEY"]) == b"sk-test"


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["proxy.replicaCount=2"], "needs proxy.database.type=postgres"),
        (["proxy.autoscaling.enabled=true"], "needs proxy.database.type=postgres"),
        (["proxy.database.type=postgres"], "needs the URL in a Secret"),
        (["operator.enabled=false"], "webhook.enabled needs operator.enabled"),
        (["webhook.tls.mode=secret", "webhook.tls.existingSecret=x"], "needs webhook.tls.caBundle"),
        (["proxy.defaultFailMode=maybe"], "defaultFailMode"),
        (["proxy.workers=0"], "workers"),
        (["proxy.unknownKey=1"], "unknownKey"),
        (["webhook.failurePolicy=Sometimes"], "failurePolicy"),
    ],
)
def test_unsafe_or_invalid_values_are_refused(sets: list[str], message: str) -> None:
    proc = helm(*template_args(sets=sets), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_cert_manager_mode_needs_cert_manager() -> None:
    proc = helm(*template_args(sets=["webhook.tls.mode=cert-manager"], api_versions=()), check=False)
    assert proc.returncode != 0 and "does not serve cert-manager.io/v1" in proc.stderr


def test_names_fit_63_characters() -> None:
    long_release = "r" * 53
    docs = render(release=long_release)
    for doc in docs:
        name = doc["metadata"]["name"]
        assert len(name) <= 63 and not name.endswith("-"), name
    suffixes = {d["metadata"]["name"].rsplit("-", 1)[-1] for d in by_kind(docs, "Deployment")}
    assert suffixes == {"proxy", "ner", "operator"}


# ------------------------------------------------------------------ capability gating


def test_monitoring_objects_need_the_monitoring_api() -> None:
    values = [SCENARIOS["monitoring-values"]]
    with_api = render(values)
    rule = one(with_api, "PrometheusRule")
    exprs = " ".join(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    assert "masker_requests_total" in exprs and "masker_request_duration_seconds_bucket" in exprs
    assert one(with_api, "ServiceMonitor")["spec"]["endpoints"][0]["port"] == "metrics"
    without = render(values, api_versions=("cert-manager.io/v1",))
    assert not by_kind(without, "ServiceMonitor") and not by_kind(without, "PrometheusRule")


def test_dashboard_is_valid_json_for_the_published_metrics() -> None:
    cm = one(render(), "ConfigMap", "-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["masker.json"])
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in PUBLISHED_METRICS:
        assert metric in exprs, metric
    grouped = {label.strip() for group in re.findall(r"by \(([^)]*)\)", exprs) for label in group.split(",")}
    assert {"agent", "status", "stage", "kind", "pass"} <= grouped


# ------------------------------------------------------------------ operator, RBAC, webhook


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_operator_rbac_is_least_privilege() -> None:
    docs = render()
    rules = _rules(one(docs, "ClusterRole"))
    for needed in [
        ("masker.dev", "maskeragents", "watch"),
        ("masker.dev", "maskeragents/status", "patch"),
        ("", "configmaps", "create"),
        ("", "secrets", "update"),
        ("", "events", "create"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ]:
        assert needed in rules, needed
    assert not any("*" in part for rule in rules for part in rule)
    assert not {r for _, r, _ in rules} & {"pods", "rolebindings", "clusterroles", "namespaces"}
    assert ("", "secrets", "list") not in rules and ("", "secrets", "delete") not in rules
    # Webhook configurations: create, and get/update/patch (caBundle only) of our one object only.
    hook_rules = [
        r for r in one(docs, "ClusterRole")["rules"] if "admissionregistration.k8s.io" in r["apiGroups"]
    ]
    name = one(docs, "MutatingWebhookConfiguration")["metadata"]["name"]
    assert {(tuple(r["verbs"]), tuple(r.get("resourceNames", ()))) for r in hook_rules} == {
        (("create",), ()),
        (("get", "update", "patch"), (name,)),
    }
    assert not [
        r for r in _rules(one(render(sets=["webhook.enabled=false"]), "ClusterRole")) if "webhook" in r[1]
    ]

    docs = render([SCENARIOS["namespaced-operator-values"]])
    cluster = _rules(one(docs, "ClusterRole"))
    assert not any(r in {"secrets", "configmaps", "maskeragents"} for _, r, _ in cluster)
    assert ("", "namespaces", "watch") in cluster  # Kopf observes namespaces in namespaced mode
    roles = [r for r in by_kind(docs, "Role") if not r["metadata"]["name"].endswith("-operator-central")]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["clinic-a", "clinic-b"]
    assert ("", "secrets", "create") in _rules(roles[0])
    # Central serving: in the release namespace only the aggregate shards, by name.
    central = one(docs, "Role", "-operator-central")
    assert central["metadata"]["namespace"] == "masker"
    named = [r for r in central["rules"] if r.get("resourceNames")]
    assert _rules(central) == {
        (g, r, v) for g in [""] for r in ("configmaps", "secrets") for v in ("create", "get", "update")
    }
    assert [tuple(r["verbs"]) for r in named] == [("get", "update")]
    assert named[0]["resourceNames"] == [f"masker-central-agents-{i}" for i in range(4)]
    operator = one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"][0]
    assert [a for a in operator["args"] if a.startswith("--namespace")] == [
        "--namespace=clinic-a",
        "--namespace=clinic-b",
    ]


OPERATOR_RBAC = ROOT / "operator" / "masker_operator" / "rbac.yaml"


@pytest.mark.skipif(not OPERATOR_RBAC.exists(), reason="operator RBAC not written yet (issue 6)")
def test_chart_grants_what_the_operator_rbac_file_needs() -> None:
    """operator/masker_operator/rbac.yaml is what the operator is tested with; the chart must cover
    every rule of it (with its configuration name mapped to the chart's), and nothing more."""
    docs = render()
    chart_role = one(docs, "ClusterRole")
    chart_name = one(docs, "MutatingWebhookConfiguration")["metadata"]["name"]
    theirs = next(
        d for d in yaml.safe_load_all(OPERATOR_RBAC.read_text()) if d and d["kind"] == "ClusterRole"
    )

    def expand(role: dict[str, Any], rename: dict[str, str]) -> set[tuple[str, str, str, str]]:
        return {
            (group, resource, verb, rename.get(name, name))
            for rule in role["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
            for name in rule.get("resourceNames", ["*"])
        }

    needed = expand(theirs, {"masker-sidecar-injector": chart_name})
    granted = expand(chart_role, {})
    assert needed - granted == set(), "chart RBAC is missing rules the operator needs"
    assert granted - needed == set(), "chart RBAC grants more than the operator needs"


def test_operator_env_names_exist_in_the_operator_settings() -> None:
    settings = ROOT / "operator" / "masker_operator" / "settings.py"
    if not settings.exists():
        pytest.skip("operator settings not written yet (issue 6)")
    source = settings.read_text()
    operator = one(render(), "Deployment", "-operator")["spec"]["template"]["spec"]["containers"][0]
    for env in operator["env"]:
        name = env["name"]
        if name.startswith("MASKER_OPERATOR_"):
            assert f'p + "{name.removeprefix("MASKER_OPERATOR_")}"' in source, name
        else:
            assert name == "POD_NAMESPACE" and '"POD_NAMESPACE"' in source, name


def test_self_signed_webhook_tls_is_consistent() -> None:
    docs = render()
    hook = one(docs, "MutatingWebhookConfiguration")["webhooks"][0]
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
    assert hook["objectSelector"] == {"matchLabels": {"masker.dev/inject": "true"}}
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {"key": "masker.dev/injection", "operator": "NotIn", "values": ["disabled"]}
    ]
    assert hook["clientConfig"]["service"]["path"] == "/inject-sidecar"
    secret = one(docs, "Secret", "-webhook-tls")["data"]
    assert hook["clientConfig"]["caBundle"] == secret["ca.crt"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["ca.crt"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["tls.crt"]))
    svc = hook["clientConfig"]["service"]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    sans = san.get_values_for_type(x509.DNSName)
    assert f"{svc['name']}.{svc['namespace']}.svc" in sans
    cert.verify_directly_issued_by(ca)
    # The operator mounts the same Secret and serves on the Service's target port.
    operator = one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in operator["volumes"]}
    tls_secret = one(docs, "Secret", "-webhook-tls")["metadata"]["name"]
    assert vols["webhook-tls"]["secret"]["secretName"] == tls_secret
    assert one(docs, "Service", "-webhook")["spec"]["ports"][0]["targetPort"] == "webhook"


def test_cert_manager_webhook_tls() -> None:
    docs = render([SCENARIOS["cert-manager-values"]])
    config = one(docs, "MutatingWebhookConfiguration")
    cert = one(docs, "Certificate", "-webhook")
    inject_from = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert inject_from == f"masker/{cert['metadata']['name']}"
    assert "caBundle" not in config["webhooks"][0]["clientConfig"]
    assert not [s for s in by_kind(docs, "Secret") if s["metadata"]["name"].endswith("-webhook-tls")]
    assert cert["spec"]["secretName"].endswith("-webhook-tls")


def test_webhook_off_removes_its_objects() -> None:
    docs = render(sets=["webhook.enabled=false"])
    assert not by_kind(docs, "MutatingWebhookConfiguration")
    operator = one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]["containers"][0]
    assert "webhook" not in {p["name"] for p in operator["ports"]}


def test_the_crd_ships_from_the_single_source() -> None:
    crd_file = CHART / "crds" / "maskeragents.yaml"
    crd = yaml.safe_load(crd_file.read_text())
    assert crd["kind"] == "CustomResourceDefinition" and crd["spec"]["group"] == "masker.dev"
    out = helm(*template_args(), "--include-crds").stdout
    assert [d for d in parse(out) if d["kind"] == "CustomResourceDefinition"] == [crd]
    # No hand-kept copy anywhere else in the repository.
    root = CHART.parents[1]
    copies = [
        p
        for top in root.iterdir()
        if top.is_dir() and top.name != ".git"
        for p in top.rglob("*.yaml")
        if p != crd_file and "name: maskeragents.masker.dev" in p.read_text(errors="replace")
    ]
    assert copies in ([], [root / "manifests" / "crds.yaml"]), copies


def test_values_yaml_documents_every_key() -> None:
    """Every top-level and first-level key of values.yaml has a comment right above it."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([A-Za-z][\w-]*):", line)
        if m and len(m.group(1)) <= 2 and not (i and lines[i - 1].strip().startswith("#")):
            undocumented.append(f"{i + 1}: {line.strip()}")
    assert not undocumented, undocumented


def test_schema_is_valid_json_schema() -> None:
    import jsonschema

    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)
    for path in CI_VALUES:
        assert isinstance(yaml.safe_load(Path(path).read_text()), dict)


def test_ner_scales_out_with_its_own_hpa() -> None:
    docs = render(sets=["ner.autoscaling.enabled=true", "ner.autoscaling.maxReplicas=6"])
    hpa = one(docs, "HorizontalPodAutoscaler", "-ner")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment", "-ner")["metadata"]["name"]
    assert hpa["spec"]["maxReplicas"] == 6 and hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in one(docs, "Deployment", "-ner")["spec"]  # the HPA owns it
    # Calls spread over every pod: the proxy resolves them through a headless Service.
    headless = one(docs, "Service", "-ner-headless")
    assert headless["spec"]["clusterIP"] == "None"
    cm = one(docs, "ConfigMap", "-proxy")["data"]
    assert cm["MASKER_NER_ADDR"] == f"dns:///{headless['metadata']['name']}.masker.svc:50051"
    assert not by_kind(render(), "HorizontalPodAutoscaler")  # off by default
