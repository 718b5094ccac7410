"""Pure builder for the MutatingWebhookConfiguration that routes pod creation to the injector.

The operator applies it itself (instead of Kopf's managed mode) so that in-cluster it can point
at a Service (``clientConfig.service``; API servers do not resolve cluster DNS for URL configs)
while tests point at ``https://127.0.0.1:<port>`` (``clientConfig.url``). Scope: only pods with
``masker.dev/inject=true``, never in namespaces labelled ``masker.dev/injection=disabled``;
``failurePolicy: Fail`` by default: a pod that asked for a sidecar is never admitted without one,
and the object selector keeps every other pod away from the webhook.

One owner per object: when the configuration exists and is not the operator's (the Helm chart
renders it), the operator only keeps its ``caBundle`` in step with the certificate it serves
(a JSON patch of that one field), never its labels, selectors or policy.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from .names import INJECT_LABEL, MANAGED_BY, NAMESPACE_OPT_OUT_LABEL
from .settings import WebhookSettings

HANDLER_ID = "inject-sidecar"  # also the URL path Kopf's webhook server routes on


def client_config(settings: WebhookSettings, ca_bundle: bytes) -> dict[str, Any]:
    ca = base64.b64encode(ca_bundle).decode("ascii")
    if settings.url_host:
        return {"url": f"https://{settings.url_host}:{settings.port}/{HANDLER_ID}", "caBundle": ca}
    return {
        "service": {
            "name": settings.service_name,
            "namespace": settings.service_namespace,
            "port": settings.service_port,
            "path": f"/{HANDLER_ID}",
        },
        "caBundle": ca,
    }


def mutating_webhook_configuration(settings: WebhookSettings, ca_bundle: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {
            "name": settings.configuration_name,
            "labels": {**MANAGED_BY, "app.kubernetes.io/component": "operator"},
        },
        "webhooks": [
            {
                "name": f"sidecar.{settings.configuration_name}.masker.dev",
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": client_config(settings, ca_bundle),
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "operations": ["CREATE"],
                        "scope": "Namespaced",
                    }
                ],
                "objectSelector": {"matchLabels": {INJECT_LABEL: "true"}},
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": NAMESPACE_OPT_OUT_LABEL, "operator": "NotIn", "values": ["disabled"]}
                    ]
                },
                "failurePolicy": settings.failure_policy,
                "matchPolicy": "Equivalent",
                "sideEffects": "None",
                "reinvocationPolicy": "Never",
                "timeoutSeconds": settings.timeout_seconds,
            }
        ],
    }


def owned_by_operator(current: Mapping[str, Any]) -> bool:
    labels = (current.get("metadata") or {}).get("labels") or {}
    return bool(labels.get("app.kubernetes.io/managed-by") == MANAGED_BY["app.kubernetes.io/managed-by"])


def ca_bundle_patch(current: Mapping[str, Any], ca_bundle: bytes) -> list[dict[str, Any]]:
    """JSON-patch operations setting every webhook's caBundle; empty when they already match.

    Each operation is guarded by a ``test`` of the webhook's name, so a concurrent reorder of the
    list fails the patch instead of writing into the wrong webhook.
    """
    ca = base64.b64encode(ca_bundle).decode("ascii")
    ops: list[dict[str, Any]] = []
    for index, hook in enumerate(current.get("webhooks") or []):
        if (hook.get("clientConfig") or {}).get("caBundle") == ca:
            continue
        ops.append({"op": "test", "path": f"/webhooks/{index}/name", "value": hook.get("name")})
        ops.append({"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": ca})
    return ops
