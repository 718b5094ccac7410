"""Pure builder for sidecar injection: a pod (as the admission request shows it) -> its changes.

A pod is injected when it carries the label ``masker.dev/inject: "true"`` and the annotation
``masker.dev/agent: <MaskerAgent name>``. It gets the ``masker-proxy`` container (non-root,
read-only root FS, no privilege escalation, all capabilities dropped), the agent's ConfigMap and
Secret mounted where the proxy looks for them (docs/agents-file.md), and — when
``masker.dev/inject-base-url: "true"`` (or the operator default says so) — ``OPENAI_BASE_URL`` in
every app container pointing at the sidecar's per-agent route.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .names import (
    AGENT_ANNOTATION,
    AGENTS_KEY,
    BASE_URL_ANNOTATION,
    BASE_URL_ENV_ANNOTATION,
    CONFIG_MOUNT,
    DATA_MOUNT,
    DATABASE_URL_KEY,
    INJECT_LABEL,
    INJECTED_ANNOTATION,
    SECRETS_MOUNT,
    SIDECAR_NAME,
    owned_object_name,
)
from .render import proxy_url
from .settings import SidecarSettings

VOLUME_CONFIG = "masker-agent-config"
VOLUME_SECRETS = "masker-agent-secrets"
VOLUME_TMP = "masker-tmp"
VOLUME_DATA = "masker-data"
PORT_NAME = "masker-http"
DEFAULT_BASE_URL_ENV = "OPENAI_BASE_URL"


@dataclass(frozen=True)
class PodChanges:
    """What the webhook sets on the pod: whole lists (JSON-patch friendly) and annotations."""

    containers: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    annotations: dict[str, str]


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = pod.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def requested_agent(pod: Mapping[str, Any]) -> str | None:
    """The MaskerAgent a pod asks for, or None when the pod is not for us (or done already)."""
    meta = _meta(pod)
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if labels.get(INJECT_LABEL) != "true" or annotations.get(INJECTED_ANNOTATION) == "true":
        return None
    spec = pod.get("spec") or {}
    if any(c.get("name") == SIDECAR_NAME for c in spec.get("containers") or []):
        return None
    name = annotations.get(AGENT_ANNOTATION, "").strip()
    return name or None


def wants_base_url(pod: Mapping[str, Any], default: bool) -> bool:
    raw = str((_meta(pod).get("annotations") or {}).get(BASE_URL_ANNOTATION, "")).strip().lower()
    if raw in {"true", "1", "yes"}:
        return True
    if raw in {"false", "0", "no"}:
        return False
    return default


def sidecar_container(settings: SidecarSettings, agent_name: str | None = None) -> dict[str, Any]:
    probe_common = {"timeoutSeconds": 2, "periodSeconds": 10, "failureThreshold": 3}
    database_env = (
        # The agent's shared vault, when the operator put one in its Secret; absent = the agent
        # is rendered with reversible-aead and /data holds nothing that must outlive the pod.
        [
            {
                "name": DATABASE_URL_KEY,
                "valueFrom": {
                    "secretKeyRef": {
                        "name": owned_object_name(agent_name),
                        "key": DATABASE_URL_KEY,
                        "optional": True,
                    }
                },
            }
        ]
        if agent_name
        else []
    )
    return {
        "name": SIDECAR_NAME,
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "args": ["serve"],
        "ports": [{"name": PORT_NAME, "containerPort": settings.port, "protocol": "TCP"}],
        "env": [
            # Reachable by the app over loopback; the kubelet probes the pod IP, so bind all.
            {"name": "MASKER_LISTEN_ADDR", "value": f"0.0.0.0:{settings.port}"},
            {"name": "MASKER_AGENTS_FILE", "value": f"{CONFIG_MOUNT}/{AGENTS_KEY}"},
            {"name": "MASKER_SECRETS_DIR", "value": SECRETS_MOUNT},
            {"name": "MASKER_DATA_DIR", "value": DATA_MOUNT},
            *database_env,
        ],
        "readinessProbe": {
            "httpGet": {"path": settings.ready_path, "port": PORT_NAME},
            "initialDelaySeconds": 1,
            **probe_common,
        },
        "livenessProbe": {
            "httpGet": {"path": settings.health_path, "port": PORT_NAME},
            "initialDelaySeconds": 5,
            **probe_common,
        },
        "resources": {
            "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
            "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": settings.run_as_user,
            "runAsGroup": settings.run_as_user,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": VOLUME_CONFIG, "mountPath": CONFIG_MOUNT, "readOnly": True},
            {"name": VOLUME_SECRETS, "mountPath": SECRETS_MOUNT, "readOnly": True},
            {"name": VOLUME_TMP, "mountPath": "/tmp"},
            {"name": VOLUME_DATA, "mountPath": DATA_MOUNT},
        ],
    }


def sidecar_volumes(agent_name: str) -> list[dict[str, Any]]:
    # Mounted as directories (no subPath) so ConfigMap/Secret updates reach the running proxy.
    name = owned_object_name(agent_name)
    return [
        {"name": VOLUME_CONFIG, "configMap": {"name": name}},
        # 0444: the proxy runs as a non-root user and the pod's fsGroup is not ours to set.
        {"name": VOLUME_SECRETS, "secret": {"secretName": name, "defaultMode": 0o444}},
        {"name": VOLUME_TMP, "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
        {"name": VOLUME_DATA, "emptyDir": {}},
    ]


def _with_env(container: Mapping[str, Any], name: str, value: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(container))
    env = [e for e in out.get("env") or [] if e.get("name") != name]
    env.append({"name": name, "value": value})
    out["env"] = env
    return out


def inject(
    pod: Mapping[str, Any], *, agent_name: str, agent_id: str | None, settings: SidecarSettings
) -> PodChanges:
    """The pod's new containers and volumes. ``agent_id`` is needed only for the base-URL env."""
    spec = pod.get("spec") or {}
    containers = [copy.deepcopy(dict(c)) for c in spec.get("containers") or []]
    if wants_base_url(pod, settings.base_url_env_default):
        if agent_id is None:
            raise ValueError("agent id needed to point the app at the sidecar")
        env_name = str(
            (_meta(pod).get("annotations") or {}).get(BASE_URL_ENV_ANNOTATION) or DEFAULT_BASE_URL_ENV
        )
        url = proxy_url(None, settings.port, agent_id)
        containers = [_with_env(c, env_name, url) for c in containers]
    taken = {v.get("name") for v in spec.get("volumes") or []}
    new_volumes = [v for v in sidecar_volumes(agent_name) if v["name"] not in taken]
    return PodChanges(
        containers=[*containers, sidecar_container(settings, agent_name)],
        volumes=[*(copy.deepcopy(dict(v)) for v in spec.get("volumes") or []), *new_volumes],
        annotations={INJECTED_ANNOTATION: "true"},
    )
