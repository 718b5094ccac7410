"""The operator's only door to the Kubernetes API (the only module importing ``kubernetes``).

Small, synchronous and dict-based: objects go in and come out as plain JSON-shaped dicts (the
same shape the builders produce), and every client failure is translated into the operator's
error tree (errors.py) so the handlers decide retry vs. give up in one place. Kopf runs sync
handlers in a thread pool, so blocking calls are fine here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from .errors import (
    ApiConflictError,
    ApiNotFoundError,
    CredentialsNotAllowedError,
    OperatorError,
    TransientApiError,
)
from .settings import GROUP, PLURAL, VERSION

T = TypeVar("T")
REQUEST_TIMEOUT = 10.0


def _call(what: str, fn: Callable[[], T]) -> T:
    """Run one API call, mapping client errors onto errors.py (no response bodies in messages)."""
    try:
        return fn()
    except ApiException as exc:
        status = exc.status or 0
        if status == 404:
            raise ApiNotFoundError(f"{what}: not found") from exc
        if status == 409:
            raise ApiConflictError(f"{what}: conflict") from exc
        if status in (400, 422):
            raise OperatorError(f"{what}: rejected by the API server ({status} {exc.reason})") from exc
        raise TransientApiError(f"{what}: API error {status} {exc.reason}") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientApiError(f"{what}: {type(exc).__name__}") from exc


class Kube:
    """Typed-enough wrappers around the few API calls the operator makes."""

    def __init__(self, api: client.ApiClient) -> None:
        # Typed as Any on purpose: the client accepts plain dict bodies at runtime, while its
        # stubs demand model objects; dicts are what the builders produce.
        self.api: Any = api
        self.core: Any = client.CoreV1Api(api)
        self.custom: Any = client.CustomObjectsApi(api)
        self.admission: Any = client.AdmissionregistrationV1Api(api)

    @classmethod
    def from_environment(cls) -> Kube:
        """In-cluster ServiceAccount credentials, else $KUBECONFIG / ~/.kube/config."""
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except ConfigException:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        return cls(client.ApiClient())

    def _dict(self, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return out

    # --- reads -----------------------------------------------------------------------------

    def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._dict(
                _call(
                    f"configmap {namespace}/{name}",
                    lambda: self.core.read_namespaced_config_map(
                        name, namespace, _request_timeout=REQUEST_TIMEOUT
                    ),
                )
            )
        except ApiNotFoundError:
            return None

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._dict(
                _call(
                    f"secret {namespace}/{name}",
                    lambda: self.core.read_namespaced_secret(
                        name, namespace, _request_timeout=REQUEST_TIMEOUT
                    ),
                )
            )
        except ApiNotFoundError:
            return None

    def get_agent(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj = _call(
                f"maskeragent {namespace}/{name}",
                lambda: self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        except ApiNotFoundError:
            return None
        return dict(obj)

    def list_agent_keys(self, namespaces: tuple[str, ...]) -> set[tuple[str, str]]:
        """(namespace, name) of every MaskerAgent in ``namespaces`` (empty = all namespaces)."""
        calls = [
            (
                f"list maskeragents in {ns}",
                partial(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL),
            )
            for ns in namespaces
        ] or [("list maskeragents", partial(self.custom.list_cluster_custom_object, GROUP, VERSION, PLURAL))]
        pages = [_call(what, partial(fn, _request_timeout=REQUEST_TIMEOUT)) for what, fn in calls]
        return {
            (item["metadata"]["namespace"], item["metadata"]["name"])
            for page in pages
            for item in page.get("items") or []
        }

    # --- writes ----------------------------------------------------------------------------

    def create_configmap(self, body: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        _call(
            f"create configmap {meta['namespace']}/{meta['name']}",
            lambda: self.core.create_namespaced_config_map(
                meta["namespace"], body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def replace_configmap(self, body: Mapping[str, Any]) -> None:
        """Replace with the resourceVersion in ``body`` (optimistic concurrency: 409 on a race)."""
        meta = body["metadata"]
        _call(
            f"replace configmap {meta['namespace']}/{meta['name']}",
            lambda: self.core.replace_namespaced_config_map(
                meta["name"], meta["namespace"], body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def create_secret(self, body: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        _call(
            f"create secret {meta['namespace']}/{meta['name']}",
            lambda: self.core.create_namespaced_secret(
                meta["namespace"], body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def replace_secret(self, body: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        _call(
            f"replace secret {meta['namespace']}/{meta['name']}",
            lambda: self.core.replace_namespaced_secret(
                meta["name"], meta["namespace"], body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def create_mutating_webhook_configuration(self, body: Mapping[str, Any]) -> None:
        name = body["metadata"]["name"]
        _call(
            f"create mutatingwebhookconfiguration {name}",
            lambda: self.admission.create_mutating_webhook_configuration(
                body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def get_mutating_webhook_configuration(self, name: str) -> dict[str, Any] | None:
        try:
            return self._dict(
                _call(
                    f"mutatingwebhookconfiguration {name}",
                    lambda: self.admission.read_mutating_webhook_configuration(
                        name, _request_timeout=REQUEST_TIMEOUT
                    ),
                )
            )
        except ApiNotFoundError:
            return None

    def replace_mutating_webhook_configuration(self, body: Mapping[str, Any]) -> None:
        """Replace with the resourceVersion in ``body`` (409 on a race)."""
        name = body["metadata"]["name"]
        _call(
            f"replace mutatingwebhookconfiguration {name}",
            lambda: self.admission.replace_mutating_webhook_configuration(
                name, body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def json_patch_mutating_webhook_configuration(self, name: str, ops: list[dict[str, Any]]) -> None:
        _call(
            f"patch mutatingwebhookconfiguration {name}",
            lambda: self.admission.patch_mutating_webhook_configuration(
                name,
                ops,
                _request_timeout=REQUEST_TIMEOUT,
                _content_type="application/json-patch+json",
            ),
        )

    def get_credential(self, namespace: str, name: str, key: str, *, opt_in_label: str) -> str:
        """A decoded value of a user's Secret that opted in to being read for MaskerAgents.

        ApiNotFoundError if the Secret or key is missing; CredentialsNotAllowedError (naming the
        Secret and label, never a value) if the Secret lacks ``<opt_in_label>: "true"``.
        """
        secret = self.get_secret(namespace, name)
        data: Mapping[str, str] = (secret or {}).get("data") or {}
        if secret is None or key not in data:
            raise ApiNotFoundError(f"secret {namespace}/{name} or its key {key!r} does not exist")
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if labels.get(opt_in_label) != "true":
            raise CredentialsNotAllowedError(
                f'secret {namespace}/{name} is not labelled {opt_in_label}="true"; '
                "MaskerAgents may only use Secrets that opted in"
            )
        return base64.b64decode(data[key]).decode()
