"""Issue 21 on a real kube-apiserver: Secrets must opt in, unknown policies are refused, the
rotate annotation takes effect at once, and the webhook fails closed for labelled pods only."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from masker_operator.settings import WebhookSettings
from masker_operator.webhook_config import mutating_webhook_configuration
from tests.k8s_testbed import free_port, wait_for
from tests.operator._cluster import (
    CUSTOM_POLICY,
    DRIFT_INTERVAL,
    GROUP,
    PLURAL,
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
ATTACKER = "https://collector.attacker.example.test/v1"


def _condition(api: Any, ns: str, name: str, reason: str) -> dict[str, Any]:
    return wait_for(
        lambda: (c := ready(get_agent(api, ns, name))) and c["reason"] == reason and c,
        what=f"Ready reason {reason}",
    )


def test_a_secret_that_did_not_opt_in_is_never_copied(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    # Someone allowed to create MaskerAgents, not to read Secrets, names the database password.
    make_upstream_secret(k8s_api, ns, "sk-test-not-for-agents", name="billing-db", opt_in=False)
    spec = {"upstream": {"baseUrl": ATTACKER, "apiKeySecretRef": {"name": "billing-db"}}}
    create_agent(k8s_api, ns, "exfil", spec)
    cond = _condition(k8s_api, ns, "exfil", "InvalidSpec")
    assert cond["status"] == "False"
    assert "masker.dev/upstream-credentials" in cond["message"]
    assert "billing-db" in cond["message"] and "sk-test" not in cond["message"]
    owned = get_or_none(lambda: secret_data(k8s_api, ns, "exfil")) or {}
    assert "sk-test-not-for-agents" not in owned.values()
    assert get_or_none(lambda: agents_file(k8s_api, ns, "exfil")) is None

    # The Secret's owner opts in: the agent recovers (the drift timer retries).
    client.CoreV1Api(k8s_api).patch_namespaced_secret(
        "billing-db", ns, {"metadata": {"labels": {"masker.dev/upstream-credentials": "true"}}}
    )
    wait_for(
        lambda: (ready(get_agent(k8s_api, ns, "exfil")) or {}).get("status") == "True",
        timeout=DRIFT_INTERVAL * 3,
        what="Ready once the Secret opted in",
    )
    assert secret_data(k8s_api, ns, "exfil")["UPSTREAM_API_KEY_EXFIL"] == "sk-test-not-for-agents"


def test_vault_database_secret_must_opt_in_too(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        ns,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="vault-db"),
            string_data={"url": "postgresql://vault@db.example.test:5432/vault"},
        ),
    )
    create_agent(
        k8s_api, ns, "vaulted", {"upstream": {}, "vault": {"databaseSecretRef": {"name": "vault-db"}}}
    )
    assert "vault-db" in _condition(k8s_api, ns, "vaulted", "InvalidSpec")["message"]
    client.CoreV1Api(k8s_api).patch_namespaced_secret(
        "vault-db", ns, {"metadata": {"labels": {"masker.dev/upstream-credentials": "true"}}}
    )
    wait_for(
        lambda: (ready(get_agent(k8s_api, ns, "vaulted")) or {}).get("status") == "True",
        timeout=DRIFT_INTERVAL * 3,
        what="Ready",
    )
    assert secret_data(k8s_api, ns, "vaulted")["MASKER_DATABASE_URL"].startswith("postgresql://")
    assert agents_file(k8s_api, ns, "vaulted")["agents"][0]["tokenization"] == "vault"


def test_sidecar_without_vault_database_is_rendered_reversible(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "voice", {"upstream": {}, "tokenization": "vault"})
    cond = _condition(k8s_api, ns, "voice", "Reconciled")
    assert "reversible-aead" in cond["message"]
    assert agents_file(k8s_api, ns, "voice")["agents"][0]["tokenization"] == "reversible-aead"
    assert get_agent(k8s_api, ns, "voice")["status"]["sidecarTokenization"] == "reversible-aead"


def test_unknown_policy_name_is_invalid_spec(operator: Operator, k8s_api: Any, k8s_namespace: str) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "typo", {"upstream": {}, "policy": {"name": "healthcar"}})
    cond = _condition(k8s_api, ns, "typo", "InvalidSpec")
    assert "spec.policy.name" in cond["message"]
    assert "['default', 'dental', 'healthcare']" in cond["message"]
    assert get_or_none(lambda: agents_file(k8s_api, ns, "typo")) is None


def test_custom_policy_is_known_and_reaches_the_sidecar(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "dentist", {"upstream": {}, "policy": {"name": CUSTOM_POLICY}})
    _condition(k8s_api, ns, "dentist", "Reconciled")
    (entry,) = agents_file(k8s_api, ns, "dentist")["agents"]
    assert entry["policy"] == CUSTOM_POLICY
    # The sidecar's proxy has only the built-in policies on disk: the custom one comes inline.
    assert entry["policy_inline"]["categories"] == {"PHONE": "mask", "EMAIL": "hash"}


def test_rotation_by_annotation_takes_effect_within_2s(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    create_agent(k8s_api, ns, "rotor", {"upstream": {}})
    wait_for(lambda: get_or_none(lambda: secret_data(k8s_api, ns, "rotor")), what="Secret")
    figures = []
    for number in (2, 3, 4):
        started = time.monotonic()
        custom(k8s_api).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            ns,
            PLURAL,
            "rotor",
            {"metadata": {"annotations": {"masker.dev/rotate-keys": f"r{number}"}}},
        )
        wait_for(
            lambda n=number: f"MASKER_KEY_K_ROTOR_{n}" in secret_data(k8s_api, ns, "rotor"),
            timeout=5,
            what=f"key {number} in the Secret",
        )
        figures.append(time.monotonic() - started)
        wait_for(
            lambda n=number: agents_file(k8s_api, ns, "rotor")["agents"][0]["keys"][0] == f"ROTOR_{n}",
            timeout=5,
            what=f"key {number} first in the agents file",
        )
    print(f"\nrotate-keys annotation -> new key in the Secret: {', '.join(f'{f:.2f}s' for f in figures)}")
    assert max(figures) <= 2.0, figures
    # Not the drift timer (every DRIFT_INTERVAL s here) that noticed: the rotate-keys handler did.
    rotations = [
        line for line in operator.output().splitlines() if f"rotated token key of {ns}/rotor" in line
    ]
    assert len(rotations) == 3, rotations
    assert not [line for line in rotations if "drift timer" in line], rotations


@pytest.fixture
def dead_webhook(k8s_api: Any, k8s_namespace: str) -> Iterator[str]:
    """Our webhook configuration pointing at a port nobody listens on: the operator is down.

    Scoped to the test namespace by a label of its own, so no other test's pods are affected.
    """
    admission = client.AdmissionregistrationV1Api(k8s_api)
    marker = f"t{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(k8s_api).patch_namespace(
        k8s_namespace, {"metadata": {"labels": {"masker-test": marker}}}
    )
    settings = WebhookSettings(
        url_host="127.0.0.1", port=free_port(), configuration_name=f"masker-down-{marker}"
    )
    body = mutating_webhook_configuration(
        settings, b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
    )
    body["webhooks"][0]["namespaceSelector"]["matchLabels"] = {"masker-test": marker}
    body["webhooks"][0]["timeoutSeconds"] = 2
    admission.create_mutating_webhook_configuration(body)
    try:
        yield settings.configuration_name
    finally:
        admission.delete_mutating_webhook_configuration(settings.configuration_name)


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels, "annotations": {"masker.dev/agent": "front-desk"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example.test/bot:1"}]},
    }


def test_webhook_down_refuses_labelled_pods_and_admits_the_rest(
    k8s_api: Any, k8s_namespace: str, dead_webhook: str
) -> None:
    core = client.CoreV1Api(k8s_api)
    hook = client.AdmissionregistrationV1Api(k8s_api).read_mutating_webhook_configuration(dead_webhook)
    assert hook.webhooks[0].failure_policy == "Fail"  # the operator's default, not set here
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod(k8s_namespace, _pod("asked-for-sidecar", {"masker.dev/inject": "true"}))
    assert info.value.status >= 400
    assert re.search(r"failed calling webhook", str(info.value.body)), info.value.body
    assert get_or_none(lambda: core.read_namespaced_pod("asked-for-sidecar", k8s_namespace)) is None
    plain = core.create_namespaced_pod(k8s_namespace, _pod("unrelated", {"app": "web"}))
    assert [c.name for c in plain.spec.containers] == ["app"]
