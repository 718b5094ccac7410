"""Pure builder for the MutatingWebhookConfiguration (no cluster)."""

from __future__ import annotations

import base64

from masker_operator.settings import WebhookSettings
from masker_operator.webhook_config import ca_bundle_patch, mutating_webhook_configuration, owned_by_operator

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_service_mode_in_cluster() -> None:
    body = mutating_webhook_configuration(WebhookSettings(service_namespace="masker"), CA)
    (hook,) = body["webhooks"]
    assert hook["clientConfig"] == {
        "service": {
            "name": "masker-webhook",
            "namespace": "masker",
            "port": 443,
            "path": "/inject-sidecar",
        },
        "caBundle": base64.b64encode(CA).decode(),
    }
    assert hook["failurePolicy"] == "Fail"
    assert hook["sideEffects"] == "None"
    assert hook["objectSelector"] == {"matchLabels": {"masker.dev/inject": "true"}}
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {"key": "masker.dev/injection", "operator": "NotIn", "values": ["disabled"]}
    ]
    assert hook["rules"][0]["resources"] == ["pods"] and hook["rules"][0]["operations"] == ["CREATE"]
    assert body["metadata"]["name"] == "masker-sidecar-injector"


def test_url_mode_for_tests_and_out_of_cluster() -> None:
    settings = WebhookSettings(url_host="127.0.0.1", port=9555, failure_policy="Fail")
    (hook,) = mutating_webhook_configuration(settings, CA)["webhooks"]
    assert hook["clientConfig"]["url"] == "https://127.0.0.1:9555/inject-sidecar"
    assert "service" not in hook["clientConfig"]
    assert hook["failurePolicy"] == "Fail"


def test_the_operators_own_configuration_is_marked_as_its_own() -> None:
    body = mutating_webhook_configuration(WebhookSettings(), CA)
    assert owned_by_operator(body)
    helm_made = {**body, "metadata": {**body["metadata"], "labels": {"app.kubernetes.io/managed-by": "Helm"}}}
    assert not owned_by_operator(helm_made)


def test_ca_bundle_patch_touches_only_the_ca_and_only_when_it_differs() -> None:
    other_ca = b"-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n"
    current = mutating_webhook_configuration(WebhookSettings(), other_ca)
    ops = ca_bundle_patch(current, CA)
    name = current["webhooks"][0]["name"]
    assert ops == [
        {"op": "test", "path": "/webhooks/0/name", "value": name},
        {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": base64.b64encode(CA).decode()},
    ]
    assert ca_bundle_patch(mutating_webhook_configuration(WebhookSettings(), CA), CA) == []
