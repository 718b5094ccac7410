"""The operator against a real kube-apiserver: reconcile, drift, rotation, GC, sidecar injection."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.request
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.k8s_testbed import OPERATOR_USER, K8sTestbed, wait_for
from tests.operator._cluster import (
    BASE_SPEC,
    DRIFT_INTERVAL,
    GROUP,
    PLURAL,
    PUBLIC_URL,
    VERSION,
    Operator,
    agents_file,
    create_agent,
    custom,
    get_agent,
    get_or_none,
    make_upstream_secret,
    ready,
    secret_data,
)

pytestmark = pytest.mark.k8s


def test_apply_renders_configmap_secret_and_ready_within_2s(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    make_upstream_secret(k8s_api, ns, "sk-test-upstream-1")
    started = time.monotonic()
    create_agent(k8s_api, ns, "front-desk", BASE_SPEC)
    core = client.CoreV1Api(k8s_api)

    def all_there() -> dict[str, Any] | None:
        agent = get_agent(k8s_api, ns, "front-desk")
        cond = ready(agent)
        if not cond or cond["status"] != "True":
            return None
        cm = get_or_none(lambda: core.read_namespaced_config_map("masker-agent-front-desk", ns))
        secret = get_or_none(lambda: core.read_namespaced_secret("masker-agent-front-desk", ns))
        return agent if cm and secret else None

    agent = wait_for(all_there, timeout=2.0, what="ConfigMap + Secret + Ready=True")
    print(f"apply -> Ready in {time.monotonic() - started:.2f}s")
    status = agent["status"]
    agent_id = status["agentId"]
    assert agent_id.startswith("agt_") and len(agent_id) == 30
    assert status["proxyUrl"] == f"{PUBLIC_URL}/proxy/{agent_id}/v1"
    assert status["observedGeneration"] == 1
    assert ready(agent)["reason"] == "Reconciled"  # type: ignore[index]

    doc = agents_file(k8s_api, ns, "front-desk")
    assert doc["version"] == 1
    (entry,) = doc["agents"]
    assert entry["id"] == agent_id
    assert entry["upstream"] == {
        "base_url": "https://llm.example.test/v1",
        "api_key_ref": "UPSTREAM_API_KEY_FRONT_DESK",
        "allowed_models": ["gpt-4o-mini"],
    }
    assert entry["policy"] == "healthcare"
    # The CRD default is vault; a sidecar has no shared vault database here, so it must not keep
    # the only copy in its pod (issue 21): the sidecar's file says reversible-aead.
    assert entry["tokenization"] == "reversible-aead"
    assert entry["rate_limit"] == {"rps": 100, "burst": 200}  # CRD defaults
    assert entry["keys"] == ["FRONT_DESK_1"]

    data = secret_data(k8s_api, ns, "front-desk")
    assert data["UPSTREAM_API_KEY_FRONT_DESK"] == "sk-test-upstream-1"
    assert len(base64.b64decode(data["MASKER_KEY_K_FRONT_DESK_1"])) == 32
    # Secret values never leak into the ConfigMap.
    cm = core.read_namespaced_config_map("masker-agent-front-desk", ns)
    assert "sk-test-upstream-1" not in cm.data["agents.yaml"]
    assert data["MASKER_KEY_K_FRONT_DESK_1"] not in cm.data["agents.yaml"]
    owners = cm.metadata.owner_references
    assert [(o.kind, o.name, o.uid, o.controller) for o in owners] == [
        ("MaskerAgent", "front-desk", agent["metadata"]["uid"], True)
    ]


def test_update_changes_config_keeps_agent_id(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    make_upstream_secret(k8s_api, ns, "sk-test-upstream-2")
    create_agent(k8s_api, ns, "triage", BASE_SPEC)
    first = wait_for(
        lambda: (a := get_agent(k8s_api, ns, "triage")) and (ready(a) or {}).get("status") == "True" and a,
        what="Ready",
    )
    agent_id = first["status"]["agentId"]

    custom(k8s_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        PLURAL,
        "triage",
        {
            "spec": {
                "rateLimit": {"rps": 5, "burst": 10},
                "tokenization": "reversible-aead",
                "policy": {"categories": {"PHONE": "mask", "EMAIL": {"action": "hash", "threshold": 0.7}}},
            }
        },
    )
    entry = wait_for(
        lambda: (e := agents_file(k8s_api, ns, "triage")["agents"][0])["rate_limit"]["rps"] == 5 and e,
        what="ConfigMap updated",
    )
    assert entry["rate_limit"] == {"rps": 5, "burst": 10}
    assert entry["tokenization"] == "reversible-aead"
    assert entry["policy_inline"] == {
        "version": 1,
        "categories": {"PHONE": "mask", "EMAIL": {"action": "hash", "threshold": 0.7}},
    }
    assert entry["id"] == agent_id
    agent = wait_for(
        lambda: (a := get_agent(k8s_api, ns, "triage"))["status"].get("observedGeneration") == 2 and a,
        what="observedGeneration 2",
    )
    assert agent["status"]["agentId"] == agent_id


def test_key_rotation_adds_key_and_keeps_old(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "rotor", {"upstream": {}})
    wait_for(lambda: get_or_none(lambda: secret_data(k8s_api, ns, "rotor")), what="Secret")
    old = secret_data(k8s_api, ns, "rotor")["MASKER_KEY_K_ROTOR_1"]

    custom(k8s_api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        ns,
        PLURAL,
        "rotor",
        {"metadata": {"annotations": {"masker.dev/rotate-keys": "2026-01"}}},
    )
    wait_for(
        lambda: agents_file(k8s_api, ns, "rotor")["agents"][0]["keys"] == ["ROTOR_2", "ROTOR_1"],
        what="two keys, newest first",
    )
    data = secret_data(k8s_api, ns, "rotor")
    assert data["MASKER_KEY_K_ROTOR_1"] == old
    assert data["MASKER_KEY_K_ROTOR_2"] != old

    # The spec field rotates too; the same token again does not.
    custom(k8s_api).patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "rotor", {"spec": {"keyRotation": {"token": "q2"}}}
    )
    wait_for(lambda: agents_file(k8s_api, ns, "rotor")["agents"][0]["keys"][0] == "ROTOR_3", what="third key")
    time.sleep(DRIFT_INTERVAL + 0.5)  # a drift-timer round must not rotate again
    assert agents_file(k8s_api, ns, "rotor")["agents"][0]["keys"] == ["ROTOR_3", "ROTOR_2", "ROTOR_1"]


def test_drift_is_repaired(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "drifty", {"upstream": {}})
    core = client.CoreV1Api(k8s_api)
    wait_for(lambda: get_or_none(lambda: agents_file(k8s_api, ns, "drifty")), what="ConfigMap")
    original = agents_file(k8s_api, ns, "drifty")
    key = secret_data(k8s_api, ns, "drifty")["MASKER_KEY_K_DRIFTY_1"]

    core.patch_namespaced_config_map(
        "masker-agent-drifty", ns, {"data": {"agents.yaml": "version: 1\nagents: []\n"}}
    )
    wait_for(
        lambda: agents_file(k8s_api, ns, "drifty") == original,
        timeout=DRIFT_INTERVAL * 3,
        what="ConfigMap content restored",
    )

    core.delete_namespaced_config_map("masker-agent-drifty", ns)
    wait_for(
        lambda: get_or_none(lambda: agents_file(k8s_api, ns, "drifty")) == original,
        timeout=DRIFT_INTERVAL * 3,
        what="ConfigMap recreated",
    )
    assert secret_data(k8s_api, ns, "drifty")["MASKER_KEY_K_DRIFTY_1"] == key


def test_upstream_secret_change_is_propagated(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "late", BASE_SPEC)
    agent = wait_for(
        lambda: (c := ready(get_agent(k8s_api, ns, "late"))) and c["reason"] == "SecretNotFound" and c,
        what="SecretNotFound condition",
    )
    assert agent["status"] == "False"
    assert "openai" in agent["message"]
    make_upstream_secret(k8s_api, ns, "sk-test-late-1")
    wait_for(
        lambda: (ready(get_agent(k8s_api, ns, "late")) or {}).get("status") == "True",
        what="Ready after secret",
    )
    assert secret_data(k8s_api, ns, "late")["UPSTREAM_API_KEY_LATE"] == "sk-test-late-1"
    client.CoreV1Api(k8s_api).patch_namespaced_secret(
        "openai", ns, {"stringData": {"apiKey": "sk-test-late-2"}}
    )
    wait_for(
        lambda: secret_data(k8s_api, ns, "late")["UPSTREAM_API_KEY_LATE"] == "sk-test-late-2",
        timeout=DRIFT_INTERVAL * 3,
        what="rotated upstream key copied",
    )


def test_invalid_spec_gets_clear_condition(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "broken", {"upstream": {}, "policy": {"categories": {"PHONE": "obliterate"}}})
    cond = wait_for(lambda: ready(get_agent(k8s_api, ns, "broken")), what="Ready condition")
    assert cond["status"] == "False"
    assert cond["reason"] == "InvalidSpec"
    assert "spec.policy.categories.PHONE" in cond["message"]
    assert "unknown action" in cond["message"]
    assert get_or_none(lambda: agents_file(k8s_api, ns, "broken")) is None

    # Fixing the spec recovers.
    custom(k8s_api).patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "broken", {"spec": {"policy": {"categories": {"PHONE": "mask"}}}}
    )
    wait_for(lambda: (ready(get_agent(k8s_api, ns, "broken")) or {}).get("status") == "True", what="recovery")


def test_schema_rejects_bad_enum(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    with pytest.raises(ApiException) as info:
        create_agent(k8s_api, k8s_namespace, "rot13", {"upstream": {}, "tokenization": "rot13"})
    assert info.value.status == 422
    assert "tokenization" in str(info.value.body)


def test_delete_leaves_a_tombstone_configmap(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "shortlived", {"upstream": {}})
    core = client.CoreV1Api(k8s_api)
    wait_for(
        lambda: get_or_none(lambda: core.read_namespaced_secret("masker-agent-shortlived", ns)), what="Secret"
    )
    wait_for(
        lambda: get_or_none(lambda: core.read_namespaced_config_map("masker-agent-shortlived", ns)),
        what="ConfigMap",
    )
    agent_id = get_agent(k8s_api, ns, "shortlived")["status"]["agentId"]
    custom(k8s_api).delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "shortlived")

    # The Secret goes; the ConfigMap stays as a tombstone with no agents, so running sidecars (whose
    # kubelet would keep the last content of a deleted ConfigMap) stop serving the agent.
    wait_for(
        lambda: get_or_none(lambda: core.read_namespaced_secret("masker-agent-shortlived", ns)) is None,
        # The garbage collector learns a new CRD's kind on its 30 s discovery resync, then backs off.
        timeout=90,
        what="garbage collection of the Secret",
    )
    cm = core.read_namespaced_config_map("masker-agent-shortlived", ns)
    assert yaml.safe_load(cm.data["agents.yaml"]) == {"version": 1, "agents": []}
    assert cm.metadata.annotations["masker.dev/deleted"] == "true"
    assert not cm.metadata.owner_references
    assert get_or_none(lambda: get_agent(k8s_api, ns, "shortlived")) is None  # finalizer released

    # The same name again adopts the tombstone: owned, serving, no longer marked deleted.
    create_agent(k8s_api, ns, "shortlived", {"upstream": {}})
    entry = wait_for(
        lambda: (agents_file(k8s_api, ns, "shortlived")["agents"] or [None])[0], what="agent re-rendered"
    )
    assert entry["id"] != agent_id  # a new agent, a new URL secret
    cm = core.read_namespaced_config_map("masker-agent-shortlived", ns)
    assert "masker.dev/deleted" not in (cm.metadata.annotations or {})
    assert cm.metadata.owner_references[0].name == "shortlived"


def _pod(name: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "containers": [
                {
                    "name": "voice-bot",
                    "image": "registry.example.test/bot:1",
                    "env": [{"name": "X", "value": "1"}],
                }
            ]
        },
    }


def test_labelled_pod_gets_sidecar(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "concierge", {"upstream": {}})
    agent = wait_for(
        lambda: (a := get_agent(k8s_api, ns, "concierge")).get("status", {}).get("agentId") and a,
        what="agent id",
    )
    agent_id = agent["status"]["agentId"]
    core = client.CoreV1Api(k8s_api)
    pod = core.create_namespaced_pod(
        ns,
        _pod(
            "bot",
            {"masker.dev/inject": "true"},
            {"masker.dev/agent": "concierge", "masker.dev/inject-base-url": "true"},
        ),
    )
    names = [c.name for c in pod.spec.containers]
    assert names == ["voice-bot", "masker-proxy"]
    sidecar = pod.spec.containers[1]
    assert sidecar.image == "registry.example.test/masker:test"
    assert sidecar.security_context.run_as_non_root is True
    assert sidecar.security_context.read_only_root_filesystem is True
    assert sidecar.security_context.allow_privilege_escalation is False
    assert sidecar.readiness_probe.http_get.path == "/health"
    env = {e.name: e.value for e in sidecar.env}
    assert env["MASKER_AGENTS_FILE"] == "/etc/masker/agent/agents.yaml"
    assert env["MASKER_SECRETS_DIR"] == "/etc/masker/secrets"
    volumes = {v.name: v for v in pod.spec.volumes}
    assert volumes["masker-agent-config"].config_map.name == "masker-agent-concierge"
    assert volumes["masker-agent-secrets"].secret.secret_name == "masker-agent-concierge"
    app_env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert app_env == {"X": "1", "OPENAI_BASE_URL": f"http://127.0.0.1:8080/proxy/{agent_id}/v1"}
    assert pod.metadata.annotations["masker.dev/injected"] == "true"

    plain = core.create_namespaced_pod(ns, _pod("plain", {}, {"masker.dev/agent": "concierge"}))
    assert [c.name for c in plain.spec.containers] == ["voice-bot"]

    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod(
            ns, _pod("orphan", {"masker.dev/inject": "true"}, {"masker.dev/agent": "nobody"})
        )
    assert "MaskerAgent 'nobody' not found" in str(info.value.body)


def test_pods_from_a_deployment_get_sidecar(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    # Controller-made pods reach admission without metadata.namespace; the injector copes.
    ns = k8s_namespace
    create_agent(k8s_api, ns, "fleet", {"upstream": {}})
    wait_for(lambda: get_agent(k8s_api, ns, "fleet").get("status", {}).get("agentId"), what="agent id")
    labels = {"app": "bot", "masker.dev/inject": "true"}
    client.AppsV1Api(k8s_api).create_namespaced_deployment(
        ns,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "bot"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "bot"}},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"masker.dev/agent": "fleet"}},
                    "spec": _pod("x", labels, {})["spec"],
                },
            },
        },
    )
    core = client.CoreV1Api(k8s_api)
    pods = wait_for(
        lambda: core.list_namespaced_pod(ns, label_selector="app=bot").items,
        timeout=20,
        what="pod created by the ReplicaSet",
    )
    assert [c.name for c in pods[0].spec.containers] == ["voice-bot", "masker-proxy"]


def test_operator_log_has_no_secret_values(operator: Operator) -> None:
    text = operator.output()
    assert "sk-test-" not in text
    assert "Traceback" not in text, text[-3000:]


def test_printer_columns(
    operator: Operator, k8s_api: Any, k8s_testbed: K8sTestbed, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "columns", {"upstream": {}, "policy": {"name": "healthcare"}})
    wait_for(lambda: (ready(get_agent(k8s_api, ns, "columns")) or {}).get("status") == "True", what="Ready")
    # What `kubectl get magent` shows: the server-side Table rendering of the CRD's printer columns.
    request = urllib.request.Request(
        f"{k8s_testbed.server}/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}",
        headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
            "Authorization": f"Bearer {k8s_testbed.admin_token}",
        },
    )
    context = ssl.create_default_context(cafile=str(k8s_testbed.ca_file))
    with urllib.request.urlopen(request, context=context, timeout=10) as resp:
        table = json.loads(resp.read())
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "Ready", "Reason", "Policy", "Tokenization"]
    (row,) = table["rows"]
    assert row["cells"][:5] == ["columns", "True", "Reconciled", "healthcare", "vault"]


@pytest.mark.parametrize(
    ("verb", "group", "resource", "allowed"),
    [
        ("create", "", "configmaps", True),
        ("update", "", "secrets", True),
        ("list", "", "secrets", False),  # Secrets are read by name only
        ("delete", "", "secrets", False),  # deletion is the garbage collector's job
        ("patch", "masker.dev", "maskeragents", True),
        ("delete", "masker.dev", "maskeragents", False),
        ("create", "", "pods", False),
    ],
)
def test_operator_runs_with_least_privilege(
    operator: Operator, k8s_api: Any, verb: str, group: str, resource: str, allowed: bool
) -> None:
    # The operator subprocess authenticates as this user; everything else in this module proves the
    # granted rules suffice, this proves they are not broader than intended.
    review = client.AuthorizationV1Api(k8s_api).create_subject_access_review(
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": OPERATOR_USER,
                "groups": ["system:serviceaccounts", "system:authenticated"],
                "resourceAttributes": {
                    "verb": verb,
                    "group": group,
                    "resource": resource,
                    "namespace": "clinic-a",
                },
            },
        }
    )
    assert review.status.allowed is allowed
