"""Agents and tenants: who is calling, where their requests go, and under which policy and keys.

Agents come from the agents file (docs/agents-file.md) — hand-written, or rendered by the operator
into a ConfigMap — and are swapped atomically when the file or a referenced secret changes. A
request keeps the ``AgentTable`` it started with, so a reload never disturbs requests in flight.
API-key tenants (``MASKER_API_KEYS``) become agents with the process defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError
from .platforms import AUTO, PlatformSetting, platform_setting
from .policy import Policy, policy_from_mapping
from .settings import Settings
from .tokens.codec import MODES, VAULT
from .tokens.keys import KeyRing, available_key_names, load_keyring, local_key, read_secret

AGENT_ID = re.compile(r"^agt_[0-9A-HJKMNP-TV-Z]{26}$")


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    keyring: KeyRing
    base_url: str | None = None  # None = process default upstream
    api_key: str | None = field(default=None, repr=False)
    allowed_models: frozenset[str] = frozenset()
    policy: str = "default"
    policy_inline: Policy | None = None
    tokenization: str = VAULT
    fail_mode: str | None = None
    rps: float = 100.0
    burst: int = 200
    vapi_secret: str | None = field(default=None, repr=False)
    redaction_metadata: bool = False
    strip_fields: frozenset[str] = frozenset()
    forward_caller_auth: bool = False  # the /v1 route forwards the caller's Authorization
    tenant: str | None = None  # namespace (operator) or API-key tenant, for audit records
    platform: PlatformSetting = AUTO  # which voice platform calls (docs/platforms.md)


@dataclass(frozen=True)
class AgentTable:
    agents: Mapping[str, Agent]
    tenants: Mapping[str, Agent]  # api key -> tenant agent
    fingerprint: tuple[Any, ...] = ()


def default_keyring(settings: Settings) -> KeyRing:
    names = [n for n in settings.env.get("MASKER_DEFAULT_KEYS", "").split(",") if n.strip()]
    names = [n.strip() for n in names] or available_key_names(settings.secrets_dir, settings.env)
    if names:
        return load_keyring(names, settings.secrets_dir, settings.env)
    return KeyRing((local_key(settings.data_dir),))


def _agent_from_mapping(raw: Any, settings: Settings, fallback_keys: KeyRing) -> Agent:
    if not isinstance(raw, Mapping):
        raise ConfigError("agents file: each agent must be a mapping")
    agent_id = str(raw.get("id", ""))
    if not AGENT_ID.match(agent_id):
        raise ConfigError("agents file: an agent id is not of the form agt_<ULID>")
    name = str(raw.get("name") or agent_id[:8])
    where = f"agents file: agent {name!r}"
    upstream = raw.get("upstream") or {}
    if not isinstance(upstream, Mapping):
        raise ConfigError(f"{where}: upstream must be a mapping")
    api_key = None
    if upstream.get("api_key_ref"):
        api_key = read_secret(str(upstream["api_key_ref"]), settings.secrets_dir, settings.env)
        if api_key is None:
            raise ConfigError(f"{where}: upstream api_key_ref is not available")
    vapi_secret = None
    if raw.get("vapi_secret_ref"):
        vapi_secret = read_secret(str(raw["vapi_secret_ref"]), settings.secrets_dir, settings.env)
        if vapi_secret is None:
            raise ConfigError(f"{where}: vapi_secret_ref is not available")
    tokenization = str(raw.get("tokenization", VAULT))
    if tokenization not in MODES:
        raise ConfigError(f"{where}: tokenization must be one of {list(MODES)}")
    fail_mode = raw.get("fail_mode")
    if fail_mode is not None and fail_mode not in ("closed", "open"):
        raise ConfigError(f"{where}: fail_mode must be closed or open")
    keys = raw.get("keys") or []
    keyring = (
        load_keyring([str(k) for k in keys], settings.secrets_dir, settings.env) if keys else fallback_keys
    )
    rate = raw.get("rate_limit") or {}
    inline = raw.get("policy_inline")
    try:
        rps, burst = float(rate.get("rps", 100)), int(rate.get("burst", 200))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: rate_limit must have numeric rps and burst") from exc
    if rps <= 0 or burst <= 0:
        raise ConfigError(f"{where}: rate_limit rps and burst must be positive")
    return Agent(
        id=agent_id,
        name=name,
        keyring=keyring,
        base_url=upstream.get("base_url") or None,
        api_key=api_key,
        allowed_models=frozenset(str(m) for m in upstream.get("allowed_models") or ()),
        policy=str(raw.get("policy") or "default"),
        policy_inline=policy_from_mapping(inline, name=f"{name}-inline") if inline else None,
        tokenization=tokenization,
        fail_mode=fail_mode,
        rps=rps,
        burst=burst,
        vapi_secret=vapi_secret,
        redaction_metadata=bool(raw.get("redaction_metadata", False)),
        strip_fields=frozenset(str(f) for f in raw.get("strip_fields") or ()),
        tenant=str(raw["namespace"]) if raw.get("namespace") else None,
        platform=platform_setting(raw.get("platform"), where),
    )


def file_fingerprint(settings: Settings) -> tuple[Any, ...]:
    """Cheap change detector: stat of the agents file (through symlinks) and the secrets dir."""
    parts: list[Any] = []
    for path in (settings.resolved_agents_file, settings.secrets_dir):
        if path is None:
            continue
        try:
            st = path.stat()
            parts.append((str(path), st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            parts.append((str(path), None))
        if path.is_dir():
            for child in sorted(path.iterdir()):
                try:
                    st = child.stat()
                    parts.append((child.name, st.st_ino, st.st_mtime_ns, st.st_size))
                except OSError:
                    continue
    return tuple(parts)


def load_agent_table(settings: Settings) -> AgentTable:
    """Parse and validate everything; raise ``ConfigError`` rather than return a partial table."""
    fingerprint = file_fingerprint(settings)
    fallback = default_keyring(settings)
    agents: dict[str, Agent] = {}
    path = settings.resolved_agents_file
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError("agents file: cannot be parsed") from exc
        data = data or {}
        if not isinstance(data, Mapping) or data.get("version", 1) != 1:
            raise ConfigError("agents file: expected a mapping with version: 1")
        for raw in data.get("agents") or []:
            agent = _agent_from_mapping(raw, settings, fallback)
            if agent.id in agents:
                raise ConfigError(f"agents file: duplicate agent {agent.name!r}")
            agents[agent.id] = agent
    tenants = {
        key: Agent(
            id=f"tenant:{tenant}",
            name=tenant,
            keyring=fallback,
            redaction_metadata=True,
            forward_caller_auth=True,
            tenant=tenant,
        )
        for key, tenant in settings.api_keys.items()
    }
    return AgentTable(agents, tenants, fingerprint)


def new_agent_id() -> str:
    from ulid import ULID

    return f"agt_{ULID()}"


def ensure_demo_agent(settings: Settings) -> str | None:
    """First run with no agents file: write one demo agent so the printed curl works at once."""
    path = settings.resolved_agents_file
    if path.exists() or settings.agents_file is not None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    agent_id = new_agent_id()
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "agents": [
                    {"id": agent_id, "name": "demo", "policy": "default", "redaction_metadata": True},
                ],
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return agent_id
