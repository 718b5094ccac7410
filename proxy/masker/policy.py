"""Redaction policies: YAML files in ``MASKER_POLICIES_DIR``, validated whole at load time.

A policy says, per entity type, what to do with a finding (tokenize, mask, placeholder, hash, drop,
keep) and how sure the detector must be; plus allow/deny lists and the fail mode
(``masker.failmode``). An invalid file raises ``ConfigError`` and is never half-applied.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from .detect.types import DetectOptions, Entity
from .errors import ConfigError
from .failmode import FailMode


class Action(StrEnum):
    TOKENIZE = "tokenize"
    MASK = "mask"
    PLACEHOLDER = "placeholder"
    HASH = "hash"
    DROP = "drop"
    KEEP = "keep"


# Names from the published wiki (lower-case, short) mapped onto our entity vocabulary.
_ALIASES: dict[str, Entity] = {
    "email": Entity.EMAIL,
    "phone": Entity.PHONE,
    "card": Entity.CREDIT_CARD,
    "person": Entity.PERSON,
    "name": Entity.PERSON,
    "ssn": Entity.SSN,
    "address": Entity.ADDRESS,
    "location": Entity.LOCATION,
    "date": Entity.DATE,
    "ip": Entity.IP_ADDRESS,
    "url": Entity.URL,
    "secret": Entity.SECRET,
    "org": Entity.ORGANIZATION,
    "organization": Entity.ORGANIZATION,
}
_TOP_KEYS = {
    "version",
    "name",
    "description",
    "categories",
    "default_action",
    "thresholds",
    "default_threshold",
    "allow",
    "deny",
    "fail_mode",
    "ner_failure",
    "non_text_parts",
    "scan_response",
    "strip_fields",
}


def parse_entity(name: str) -> Entity:
    key = str(name).strip()
    if key.upper() in Entity.__members__:
        return Entity[key.upper()]
    if key.lower() in _ALIASES:
        return _ALIASES[key.lower()]
    raise ConfigError(
        f"unknown entity type {key!r}; use one of {sorted(Entity.__members__)} or {sorted(_ALIASES)}"
    )


@dataclass(frozen=True)
class Policy:
    name: str = "default"
    version: int = 1
    actions: Mapping[Entity, Action] = field(default_factory=dict)
    default_action: Action = Action.TOKENIZE
    thresholds: Mapping[Entity, float] = field(default_factory=dict)
    default_threshold: float = 0.5
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    fail_mode: FailMode | None = None  # None = the agent's, else MASKER_DEFAULT_FAIL_MODE
    non_text_parts: str = "reject"  # reject (422) | drop | forward
    scan_response: bool = False
    strip_fields: frozenset[str] = frozenset()

    def action_for(self, entity: Entity) -> Action:
        return self.actions.get(entity, self.default_action)

    def detect_options(self) -> DetectOptions:
        # One object per policy: the findings cache keys on it, and a dict lookup that finds the
        # very same object skips the field-by-field comparison (13 lookups per voice turn).
        return self._detect_options

    @functools.cached_property
    def _detect_options(self) -> DetectOptions:
        return DetectOptions(
            allow=self.allow,
            deny=self.deny,
            thresholds=tuple(sorted(self.thresholds.items())),
            default_threshold=self.default_threshold,
            on_ner_failure="degrade"
            if self.fail_mode is not None and self.fail_mode.degrades_on_ner_failure
            else "raise",
        )


def _choice(raw: Any, name: str, allowed: set[str], default: str) -> str:
    if raw is None:
        return default
    value = str(raw).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {sorted(allowed)}")
    return value


def _entity(key: Any, where: str) -> Entity:
    try:
        return parse_entity(key)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _threshold(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"{where}: threshold must be a number")
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: threshold must be a number") from exc
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: threshold must be between 0 and 1")
    return value


def _action(raw: Any, where: str) -> Action:
    try:
        return Action(str(raw).strip().lower())
    except ValueError as exc:
        raise ConfigError(f"{where}: unknown action {raw!r}; use one of {[a.value for a in Action]}") from exc


def _flag(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):  # YAML "no"/"off" are booleans already; "false" in quotes is not
        raise ConfigError(f"{where} must be true or false")
    return raw


def _strings(raw: Any, where: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(v, str | int) for v in raw):
        raise ConfigError(f"{where} must be a list of strings")
    return frozenset(str(v) for v in raw)


def policy_from_mapping(data: Any, *, name: str) -> Policy:
    if not isinstance(data, Mapping):
        raise ConfigError(f"policy {name!r}: top level must be a mapping")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"policy {name!r}: unknown keys {sorted(map(str, unknown))}")
    version = data.get("version", 1)
    if version != 1:
        raise ConfigError(f"policy {name!r}: unsupported version {version!r} (expected 1)")
    actions: dict[Entity, Action] = {}
    thresholds: dict[Entity, float] = {}
    default_action = _action(data.get("default_action", "tokenize"), f"policy {name!r} default_action")
    categories = data.get("categories") or {}
    if not isinstance(categories, Mapping):
        raise ConfigError(f"policy {name!r}: categories must be a mapping")
    for key, spec in categories.items():  # "default" first, wherever it is written
        if str(key).lower() == "default":
            default_action = _action(spec, f"policy {name!r} category 'default'")
    for key, spec in categories.items():
        where = f"policy {name!r} category {key!r}"
        if str(key).lower() == "default":
            continue
        entity = _entity(key, where)
        if isinstance(spec, Mapping):
            extra = set(spec) - {"action", "threshold"}
            if extra:
                raise ConfigError(f"{where}: unknown keys {sorted(map(str, extra))}")
            actions[entity] = _action(spec.get("action", default_action), where)
            if "threshold" in spec:
                thresholds[entity] = _threshold(spec["threshold"], where)
        else:
            actions[entity] = _action(spec, where)
    raw_thresholds = data.get("thresholds") or {}
    if not isinstance(raw_thresholds, Mapping):
        raise ConfigError(f"policy {name!r}: thresholds must be a mapping of entity to number")
    for key, raw in raw_thresholds.items():
        thresholds[_entity(key, f"policy {name!r} thresholds")] = _threshold(
            raw, f"policy {name!r} thresholds"
        )
    return Policy(
        name=str(data.get("name") or name),
        version=1,
        actions=actions,
        default_action=default_action,
        thresholds=thresholds,
        default_threshold=_threshold(data.get("default_threshold", 0.5), f"policy {name!r}"),
        allow=_strings(data.get("allow"), f"policy {name!r} allow"),
        deny=_strings(data.get("deny"), f"policy {name!r} deny"),
        fail_mode=_fail_mode(data, name),
        non_text_parts=_choice(
            data.get("non_text_parts"),
            f"policy {name!r} non_text_parts",
            {"reject", "drop", "forward"},
            "reject",
        ),
        scan_response=_flag(data.get("scan_response", False), f"policy {name!r} scan_response"),
        strip_fields=_strings(data.get("strip_fields"), f"policy {name!r} strip_fields"),
    )


def _fail_mode(data: Mapping[str, Any], name: str) -> FailMode | None:
    """``fail_mode: closed | degrade | open``; the older ``ner_failure: degrade`` raises a closed or
    unset fail mode to ``degrade`` (what it meant: patterns only while NER is down)."""
    raw = data.get("fail_mode")
    levels = {m.value for m in FailMode}
    mode = None if raw is None else FailMode(_choice(raw, f"policy {name!r} fail_mode", levels, "closed"))
    legacy = _choice(data.get("ner_failure"), f"policy {name!r} ner_failure", {"closed", "degrade"}, "closed")
    if legacy == "degrade" and mode in (None, FailMode.CLOSED):
        return FailMode.DEGRADE
    return mode


def load_policy_file(path: Path) -> Policy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"policy file {path.name}: cannot be read as YAML") from exc
    return policy_from_mapping(data, name=path.stem)


def load_policies(directory: Path | None) -> dict[str, Policy]:
    """All ``*.yaml``/``*.yml`` policies in a directory; always contains ``default``."""
    policies: dict[str, Policy] = {}
    if directory is not None and directory.is_dir():
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            policy = load_policy_file(path)
            if policy.name in policies:
                raise ConfigError(
                    f"policy file {path.name}: a policy named {policy.name!r} is already defined"
                )
            policies[policy.name] = policy
    policies.setdefault("default", Policy())
    return policies
