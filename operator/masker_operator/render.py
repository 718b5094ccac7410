"""Pure builders: a MaskerAgent becomes the ConfigMap and Secret bodies the proxy mounts.

Nothing here talks to the API server; the handlers fetch the current objects, call these
functions and write the result. The ConfigMap holds ``agents.yaml`` in the format of
docs/agents-file.md (one agent per ConfigMap, named ``masker-agent-<name>``); the Secret of the
same name holds, one key per file, the upstream API key, the Vapi secret and the token keys —
secret values never appear in the ConfigMap.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .names import (
    AGENT_LABEL,
    AGENTS_KEY,
    DATABASE_URL_KEY,
    DELETED_ANNOTATION,
    MANAGED_BY,
    ROTATION_TOKEN_ANNOTATION,
    owned_object_name,
    ref_suffix,
)
from .settings import GROUP, KIND, VERSION
from .spec import AgentSpec

KEY_FILE_PREFIX = "MASKER_KEY_K_"
AGENT_ID_RE = re.compile(r"^agt_[0-9A-HJKMNP-TV-Z]{26}$")


@dataclass(frozen=True)
class AgentRef:
    """The identity of a MaskerAgent object (what owner references and labels need)."""

    name: str
    namespace: str
    uid: str
    generation: int = 1


@dataclass(frozen=True)
class SecretPlan:
    """The desired Secret and what it implies for the ConfigMap."""

    body: dict[str, Any]
    key_names: tuple[str, ...]  # newest first
    rotated: bool


def generate_key() -> str:
    """A fresh token key: 32 random bytes, base64 (the form docs/agents-file.md expects)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_agent_id(ulid_text: str) -> str:
    """``agt_<ULID>``; the ULID text comes from the caller so this stays deterministic."""
    agent_id = f"agt_{ulid_text.upper()}"
    if not AGENT_ID_RE.match(agent_id):
        raise ValueError("not a 26-character Crockford ULID")
    return agent_id


def upstream_key_ref(agent: AgentRef) -> str:
    return f"UPSTREAM_API_KEY_{ref_suffix(agent.name)}"


def vapi_secret_ref(agent: AgentRef) -> str:
    return f"VAPI_SECRET_{ref_suffix(agent.name)}"


def owner_reference(agent: AgentRef) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "name": agent.name,
        "uid": agent.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _labels(agent: AgentRef) -> dict[str, str]:
    return {**MANAGED_BY, AGENT_LABEL: agent.name[:63]}


def _metadata(agent: AgentRef, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": owned_object_name(agent.name),
        "namespace": agent.namespace,
        "labels": _labels(agent),
        "ownerReferences": [owner_reference(agent)],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def agent_entry(
    agent: AgentRef,
    spec: AgentSpec,
    agent_id: str,
    key_names: Sequence[str],
    *,
    custom_policy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of ``agents:`` in docs/agents-file.md.

    ``custom_policy``: the content of the named policy when it is one of the chart's custom
    policies, which a sidecar's proxy does not have on disk; it is rendered inline (the spec's
    categories and default action still win over it).
    """
    upstream: dict[str, Any] = {}
    if spec.base_url:
        upstream["base_url"] = spec.base_url
    if spec.api_key_ref is not None:
        upstream["api_key_ref"] = upstream_key_ref(agent)
    upstream["allowed_models"] = list(spec.allowed_models)
    entry: dict[str, Any] = {
        "id": agent_id,
        "name": agent.name,
        "namespace": agent.namespace,
        "upstream": upstream,
        "policy": spec.policy,
    }
    if custom_policy is not None:
        inline: dict[str, Any] = {**custom_policy, "version": 1}
        inline["categories"] = {**(custom_policy.get("categories") or {}), **(spec.policy_categories or {})}
        if spec.policy_default_action is not None:
            inline["default_action"] = spec.policy_default_action
        entry["policy_inline"] = inline
    elif spec.policy_categories is not None or spec.policy_default_action is not None:
        inline = {"version": 1, "categories": dict(spec.policy_categories or {})}
        if spec.policy_default_action is not None:
            inline["default_action"] = spec.policy_default_action
        entry["policy_inline"] = inline
    entry.update(
        {
            "tokenization": spec.tokenization,
            "keys": list(key_names),
            "fail_mode": spec.fail_mode,
            "rate_limit": {"rps": spec.rps, "burst": spec.burst},
        }
    )
    if spec.vapi_secret_ref is not None:
        entry["vapi_secret_ref"] = vapi_secret_ref(agent)
    entry["redaction_metadata"] = spec.redaction_metadata
    entry["strip_fields"] = list(spec.strip_fields)
    return entry


def agents_yaml(entries: Sequence[Mapping[str, Any]]) -> str:
    """The whole agents file; stable output so unchanged specs give byte-identical files."""
    return yaml.safe_dump({"version": 1, "agents": list(entries)}, sort_keys=False, default_flow_style=False)


def configmap_body(
    agent: AgentRef,
    spec: AgentSpec,
    agent_id: str,
    key_names: Sequence[str],
    *,
    custom_policy: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    entry = agent_entry(agent, spec, agent_id, key_names, custom_policy=custom_policy)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(agent),
        "data": {AGENTS_KEY: agents_yaml([entry])},
    }


def tombstone_configmap_body(existing: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's ConfigMap after the agent was deleted: no agents, and no owner.

    Running sidecars keep serving whatever their mounted file says, and the kubelet keeps the
    last content of a mount whose ConfigMap is gone. So the file must change to "no agents"
    (the proxy then answers 404) rather than disappear; without an owner reference the garbage
    collector leaves it in place. A MaskerAgent created again under the same name adopts it.
    """
    meta = existing.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": dict(meta.get("labels") or {}),
            "annotations": {**(meta.get("annotations") or {}), DELETED_ANNOTATION: "true"},
            "resourceVersion": meta.get("resourceVersion"),
        },
        "data": {AGENTS_KEY: agents_yaml([])},
    }


def sidecar_tokenization(spec: AgentSpec, *, has_database: bool) -> str:
    """What a sidecar's proxy uses: a vault only when it is shared, else reversible-aead.

    A sidecar's own vault would live in the pod's emptyDir and die with the pod, after which the
    caller hears tokens instead of the values they stood for. reversible-aead needs no storage:
    the encrypted original travels in the token, under keys kept in the agent's Secret.
    """
    if spec.tokenization == "vault" and not has_database:
        return "reversible-aead"
    return spec.tokenization


def key_names_in(data: Mapping[str, str], agent: AgentRef) -> tuple[str, ...]:
    """Token key names present in a Secret's data, newest (highest number) first."""
    pattern = re.compile(rf"^{KEY_FILE_PREFIX}({re.escape(ref_suffix(agent.name))}_(\d+))$")
    found = [(int(m.group(2)), m.group(1)) for k in data if (m := pattern.match(k))]
    return tuple(name for _, name in sorted(found, reverse=True))


def secret_body(
    agent: AgentRef,
    spec: AgentSpec,
    *,
    existing_data: Mapping[str, str],
    existing_rotation_token: str | None,
    upstream_key: str | None,
    vapi_secret: str | None,
    database_url: str | None = None,
    fresh_key: Callable[[], str] = generate_key,
) -> SecretPlan:
    """The desired Secret. ``existing_data`` is the current Secret's data, already decoded.

    Token keys are never dropped: a rotation adds ``<NAME>_<n+1>`` and keeps the older ones so
    tokens minted under them still resolve. A rotation happens when the rotation token (spec
    field and/or annotation) differs from the one recorded on the Secret.
    """
    keys = list(key_names_in(existing_data, agent))
    rotated = False
    suffix = ref_suffix(agent.name)
    values: dict[str, str] = {f"{KEY_FILE_PREFIX}{k}": existing_data[f"{KEY_FILE_PREFIX}{k}"] for k in keys}
    wants_rotation = bool(spec.rotation_token) and spec.rotation_token != (existing_rotation_token or "")
    if not keys or (wants_rotation and existing_rotation_token is not None):
        number = int(keys[0].rsplit("_", 1)[1]) + 1 if keys else 1
        name = f"{suffix}_{number}"
        values[f"{KEY_FILE_PREFIX}{name}"] = fresh_key()
        keys.insert(0, name)
        rotated = bool(keys[1:])
    if upstream_key is not None:
        values[upstream_key_ref(agent)] = upstream_key
    if vapi_secret is not None:
        values[vapi_secret_ref(agent)] = vapi_secret
    if database_url is not None:
        values[DATABASE_URL_KEY] = database_url
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _metadata(agent, {ROTATION_TOKEN_ANNOTATION: spec.rotation_token}),
        "data": {k: base64.b64encode(v.encode()).decode("ascii") for k, v in sorted(values.items())},
    }
    return SecretPlan(body=body, key_names=tuple(keys), rotated=rotated)


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (data or {}).items()}


def needs_update(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether ``existing`` drifted from ``desired`` in anything we own (data, labels, owner)."""
    if (existing.get("data") or {}) != desired.get("data", {}):
        return True
    meta = existing.get("metadata") or {}
    want = desired["metadata"]
    labels = meta.get("labels") or {}
    if any(labels.get(k) != v for k, v in want.get("labels", {}).items()):
        return True
    annotations = meta.get("annotations") or {}
    if any(annotations.get(k) != v for k, v in want.get("annotations", {}).items()):
        return True
    owner_uids = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
    return not all(ref["uid"] in owner_uids for ref in want.get("ownerReferences", []))


def proxy_url(public_url: str | None, sidecar_port: int, agent_id: str, *, central: bool = True) -> str:
    """Where callers point their OpenAI base URL: the central proxy when it serves the agent and
    has a public URL, else the injected sidecar."""
    base = public_url.rstrip("/") if public_url and central else f"http://127.0.0.1:{sidecar_port}"
    return f"{base}/proxy/{agent_id}/v1"


def ready_condition(
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int,
    now: str,
    previous: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The ``conditions`` list with ``Ready`` set; keeps other types and the transition time."""
    status = "True" if ready else "False"
    before = next((c for c in previous if c.get("type") == "Ready"), None)
    changed = before is None or before.get("status") != status
    condition = {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now if changed or before is None else before.get("lastTransitionTime", now),
    }
    return [*(dict(c) for c in previous if c.get("type") != "Ready"), condition]
