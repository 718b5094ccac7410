"""Parsing and validating a MaskerAgent ``spec`` beyond what the CRD's OpenAPI schema can say.

The API server already enforces types, enums and defaults (charts/masker/crds/maskeragents.yaml);
this module re-checks what a user can still get wrong (unknown policy actions, protected request
fields, burst below rps) and turns the loose mapping into a typed, frozen value. Errors name the
field, never a value that could be sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpecError
from .names import ROTATE_ANNOTATION

ACTIONS = frozenset({"tokenize", "mask", "placeholder", "hash", "drop", "keep"})
TOKENIZATION_MODES = frozenset({"vault", "reversible-aead"})
FAIL_MODES = frozenset({"closed", "open"})
# Where an agent is served: the chart's central proxy, injected sidecars, or both.
SERVED_BY = frozenset({"both", "central", "sidecar"})
# Fields the proxy needs to do its job; stripping them would silently break every request.
PROTECTED_FIELDS = frozenset({"model", "messages"})
_ENTITY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_URL_RE = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class AgentSpec:
    """A validated MaskerAgent spec (defaults applied as the CRD does)."""

    base_url: str | None = None
    allowed_models: tuple[str, ...] = ()
    api_key_ref: SecretRef | None = None
    policy: str = "default"
    policy_categories: Mapping[str, Any] | None = None
    policy_default_action: str | None = None
    tokenization: str = "vault"
    fail_mode: str = "closed"
    rps: int = 100
    burst: int = 200
    vapi_secret_ref: SecretRef | None = None
    redaction_metadata: bool = False
    strip_fields: tuple[str, ...] = ()
    rotation_token: str = ""
    served_by: str = "both"
    vault_database_ref: SecretRef | None = None

    @property
    def central(self) -> bool:
        return self.served_by in ("both", "central")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(where, "must be an object")
    return value


def _str(value: Any, where: str, default: str | None = None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str):
        raise SpecError(where, "must be a string")
    return value


def _int(value: Any, where: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(where, "must be an integer")
    if not low <= value <= high:
        raise SpecError(where, f"must be between {low} and {high}")
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(where, "must be a list of non-empty strings")
    if len(set(value)) != len(value):
        raise SpecError(where, "must not contain duplicates")
    return tuple(value)


def _secret_ref(value: Any, where: str, default_key: str) -> SecretRef | None:
    if value is None:
        return None
    ref = _mapping(value, where)
    name = _str(ref.get("name"), f"{where}.name")
    if not name:
        raise SpecError(f"{where}.name", "is required")
    key = _str(ref.get("key"), f"{where}.key", default_key) or default_key
    return SecretRef(name=name, key=key)


def _categories(value: Any, where: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    cats = _mapping(value, where)
    out: dict[str, Any] = {}
    for entity, rule in cats.items():
        here = f"{where}.{entity}"
        if not isinstance(entity, str) or not _ENTITY_RE.match(entity):
            raise SpecError(where, "entity names must be letters, digits and underscores")
        if isinstance(rule, str):
            if rule not in ACTIONS:
                raise SpecError(here, f"unknown action; use one of {sorted(ACTIONS)}")
            out[entity] = rule
        elif isinstance(rule, Mapping):
            extra = set(rule) - {"action", "threshold"}
            if extra:
                raise SpecError(here, f"unknown keys {sorted(extra)}; use action and threshold")
            action = rule.get("action")
            if action is not None and action not in ACTIONS:
                raise SpecError(f"{here}.action", f"unknown action; use one of {sorted(ACTIONS)}")
            threshold = rule.get("threshold")
            if threshold is not None and (
                isinstance(threshold, bool)
                or not isinstance(threshold, int | float)
                or not 0.0 <= float(threshold) <= 1.0
            ):
                raise SpecError(f"{here}.threshold", "must be a number between 0 and 1")
            out[entity] = dict(rule)
        else:
            raise SpecError(here, "must be an action name or {action, threshold}")
    return out


def parse_spec(
    spec: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
    *,
    known_policies: Collection[str] | None = None,
) -> AgentSpec:
    """Validate a MaskerAgent spec; raises :class:`SpecError` naming the first bad field.

    ``known_policies``: the policy names the proxy will have (built-in plus the chart's custom
    ones); a name outside it is refused rather than silently served as ``default``.
    """
    upstream = _mapping(spec.get("upstream"), "upstream")
    base_url = _str(upstream.get("baseUrl"), "upstream.baseUrl")
    if base_url is not None and not _URL_RE.match(base_url):
        raise SpecError("upstream.baseUrl", "must be an http(s) URL")
    policy = _mapping(spec.get("policy"), "policy")
    policy_name = _str(policy.get("name"), "policy.name", "default") or "default"
    if not _POLICY_NAME_RE.match(policy_name):
        raise SpecError("policy.name", "must be a plain policy name (letters, digits, . _ -)")
    if known_policies is not None and policy_name not in known_policies:
        raise SpecError("policy.name", f"unknown policy; known policies are {sorted(known_policies)}")
    default_action = _str(policy.get("defaultAction"), "policy.defaultAction")
    if default_action is not None and default_action not in ACTIONS:
        raise SpecError("policy.defaultAction", f"unknown action; use one of {sorted(ACTIONS)}")
    tokenization = _str(spec.get("tokenization"), "tokenization", "vault") or "vault"
    if tokenization not in TOKENIZATION_MODES:
        raise SpecError("tokenization", f"must be one of {sorted(TOKENIZATION_MODES)}")
    fail_mode = _str(spec.get("failMode"), "failMode", "closed") or "closed"
    if fail_mode not in FAIL_MODES:
        raise SpecError("failMode", f"must be one of {sorted(FAIL_MODES)}")
    rate = _mapping(spec.get("rateLimit"), "rateLimit")
    rps = _int(rate.get("rps"), "rateLimit.rps", 100, 1, 100_000)
    burst = _int(rate.get("burst"), "rateLimit.burst", max(200, rps), 1, 1_000_000)
    if burst < rps:
        raise SpecError("rateLimit.burst", "must be at least rateLimit.rps")
    redaction = spec.get("redactionMetadata", False)
    if not isinstance(redaction, bool):
        raise SpecError("redactionMetadata", "must be true or false")
    strip = _str_list(spec.get("stripFields"), "stripFields")
    protected = sorted(PROTECTED_FIELDS.intersection(strip))
    if protected:
        raise SpecError("stripFields", f"must not include {protected}: the proxy needs them")
    served_by = _str(spec.get("servedBy"), "servedBy", "both") or "both"
    if served_by not in SERVED_BY:
        raise SpecError("servedBy", f"must be one of {sorted(SERVED_BY)}")
    rotation = _mapping(spec.get("keyRotation"), "keyRotation")
    spec_token = _str(rotation.get("token"), "keyRotation.token", "") or ""
    annotation_token = (annotations or {}).get(ROTATE_ANNOTATION, "")
    rotation_token = "|".join(t for t in (spec_token, annotation_token) if t)
    vault = _mapping(spec.get("vault"), "vault")
    return AgentSpec(
        base_url=base_url,
        allowed_models=_str_list(upstream.get("allowedModels"), "upstream.allowedModels"),
        api_key_ref=_secret_ref(upstream.get("apiKeySecretRef"), "upstream.apiKeySecretRef", "apiKey"),
        policy=policy_name,
        policy_categories=_categories(policy.get("categories"), "policy.categories"),
        policy_default_action=default_action,
        tokenization=tokenization,
        fail_mode=fail_mode,
        rps=rps,
        burst=burst,
        vapi_secret_ref=_secret_ref(spec.get("vapiSecretRef"), "vapiSecretRef", "secret"),
        redaction_metadata=redaction,
        strip_fields=strip,
        rotation_token=rotation_token,
        served_by=served_by,
        vault_database_ref=_secret_ref(vault.get("databaseSecretRef"), "vault.databaseSecretRef", "url"),
    )
