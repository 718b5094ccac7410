"""Pure builder for the MutatingWebhookConfiguration that routes pod creation to the injector.

The operator applies it itself (instead of Kopf's managed mode) so that in-cluster it can point
at a Service (``clientConfig.service``; API servers do not resolve cluster DNS for URL configs)
while tests point at ``https://127.0.0.1:<port>`` (``clientConfig.url``). Scope: only pods with
``masker.dev/inject=true``, never in namespaces labelled ``masker.dev/injection=disabled``;
``failurePolicy: Ignore`` by default so a down operator never blocks pod creation.
"""

from __future__ import annotations

import base64
from typing import Any

from .names import INJECT_LABEL, NAMESPACE_OPT_OUT_LABEL
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
            "labels": {"app.kubernetes.io/name": "masker", "app.kubernetes.io/component": "operator"},
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
