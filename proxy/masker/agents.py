"""Agents and tenants: who is calling, where their requests go, and under which policy and keys.

Agents come from the agents file (docs/agents-file.md) — hand-written, or rendered by the operator
into ConfigMaps — or from a directory of such files (the central proxy mounts one file per
operator shard), and are swapped atomically when a file or a referenced secret changes. A request
keeps the ``AgentTable`` it started with, so a reload never disturbs requests in flight. API-key
tenants (``MASKER_API_KEYS``) become agents with the process defaults.

Every policy name an agent refers to (``policy``, ``allowed_policies``) must exist: an unknown name
rejects the whole file (``ConfigError``), at start-up and on reload, instead of meaning ``default``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .failmode import FailMode
from .platforms import AUTO, PlatformSetting, platform_setting
from .policy import Policy, load_policies, policy_from_mapping
from .settings import Settings
from .tokens.codec import MODES, VAULT
from .tokens.keys import KeyRing, available_key_names, load_keyring, local_key, read_secret

AGENT_ID = re.compile(r"^agt_[0-9A-HJKMNP-TV-Z]{26}$")
SECRETS_SCOPE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
AGENTS_SUFFIXES = (".yaml", ".yml", ".json")
# The kubelet's atomic writer: every visible file is a link through this one, swapped on update.
KUBELET_DATA_LINK = "..data"


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
    fail_mode: FailMode | None = None
    allowed_policies: frozenset[str] = frozenset()  # what a caller may pick with ``policy_id``
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
    vault = settings.vault
    names = list(vault.default_keys) or available_key_names(vault.secrets_dir, vault.secret_env)
    if names:
        return load_keyring(names, vault.secrets_dir, vault.secret_env)
    return KeyRing((local_key(settings.server.data_dir),))


def _agent_from_mapping(raw: Any, settings: Settings, fallback_keys: KeyRing) -> Agent:
    secrets_dir, secret_env = settings.vault.secrets_dir, settings.vault.secret_env
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
    # A scoped agent's secrets are the files "<scope>.<name>" in the secrets dir and nothing
    # else: agents of different tenants may share names, never key material or credentials.
    scope = raw.get("secrets_scope")
    if scope is not None and not (isinstance(scope, str) and SECRETS_SCOPE.match(scope)):
        raise ConfigError(f"{where}: secrets_scope must be letters, digits, _ or -")
    file_prefix, secret_env = (f"{scope}.", {}) if scope else ("", secret_env)
    api_key = None
    if upstream.get("api_key_ref"):
        api_key = read_secret(file_prefix + str(upstream["api_key_ref"]), secrets_dir, secret_env)
        if api_key is None:
            raise ConfigError(f"{where}: upstream api_key_ref is not available")
    vapi_secret = None
    if raw.get("vapi_secret_ref"):
        vapi_secret = read_secret(file_prefix + str(raw["vapi_secret_ref"]), secrets_dir, secret_env)
        if vapi_secret is None:
            raise ConfigError(f"{where}: vapi_secret_ref is not available")
    tokenization = str(raw.get("tokenization", VAULT))
    if tokenization not in MODES:
        raise ConfigError(f"{where}: tokenization must be one of {list(MODES)}")
    fail_mode = None
    if raw.get("fail_mode") is not None:
        try:
            fail_mode = FailMode(str(raw["fail_mode"]).strip().lower())
        except ValueError:
            raise ConfigError(f"{where}: fail_mode must be one of {[m.value for m in FailMode]}") from None
    allowed = raw.get("allowed_policies") or []
    if not isinstance(allowed, list) or not all(isinstance(p, str) for p in allowed):
        raise ConfigError(f"{where}: allowed_policies must be a list of policy names")
    keys = raw.get("keys") or []
    if keys:
        keyring = load_keyring(
            [str(k) for k in keys], secrets_dir, secret_env, file_prefix=file_prefix
        )
    elif scope:
        raise ConfigError(f"{where}: an agent with secrets_scope needs its own keys")
    else:
        keyring = fallback_keys
    rate = raw.get("rate_limit") or {}
    inline = raw.get("policy_inline")
    try:
        rps = float(rate.get("rps", settings.rate_limit.agent_rps))
        burst = int(rate.get("burst", settings.rate_limit.agent_burst))
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
        allowed_policies=frozenset(allowed),
        rps=rps,
        burst=burst,
        vapi_secret=vapi_secret,
        redaction_metadata=bool(raw.get("redaction_metadata", False)),
        strip_fields=frozenset(str(f) for f in raw.get("strip_fields") or ()),
        tenant=str(raw["namespace"]) if raw.get("namespace") else None,
        platform=platform_setting(raw.get("platform"), where),
    )


def agents_files(path: Path) -> list[Path]:
    """The agents file, or every agents file in a directory (sorted; hidden entries skipped)."""
    if not path.is_dir():
        return [path] if path.exists() else []
    return sorted(
        p
        for p in path.iterdir()
        if not p.name.startswith(".") and p.suffix in AGENTS_SUFFIXES and p.is_file()
    )


def _stat(path: Path) -> tuple[Any, ...]:
    try:
        st = path.stat()
    except OSError:
        return (path.name, None)
    return (path.name, st.st_ino, st.st_mtime_ns, st.st_size)


def _dir_fingerprint(path: Path) -> tuple[Any, ...]:
    link = path / KUBELET_DATA_LINK
    if link.is_symlink():  # a kubelet volume: one readlink covers every file in it
        try:
            return (str(path), os.readlink(link))
        except OSError:
            return (str(path), None)
    try:
        children = sorted(path.iterdir())
    except OSError:
        return (str(path), None)
    return (str(path), *(_stat(child) for child in children))


def file_fingerprint(settings: Settings) -> tuple[Any, ...]:
    """Cheap change detector: stat of the agents file(s) (through symlinks) and the secrets dir."""
    parts: list[Any] = []
    for path in (settings.agents_file, settings.vault.secrets_dir):
        if path is None:
            continue
        parts.append(_dir_fingerprint(path) if path.is_dir() else (str(path), *_stat(path)))
    return tuple(parts)


def _read_agents_file(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"agents file {path.name}: cannot be parsed") from exc
    data = data or {}
    if not isinstance(data, Mapping) or data.get("version", 1) != 1:
        raise ConfigError(f"agents file {path.name}: expected a mapping with version: 1")
    agents = data.get("agents") or []
    if not isinstance(agents, list):
        raise ConfigError(f"agents file {path.name}: agents must be a list")
    return agents


def _snapshot(settings: Settings) -> Settings:
    """Read a kubelet volume through its current ``..data`` target, not the visible links: the
    kubelet adds links for new names only after the swap, and a pinned payload never changes."""
    view = settings
    secrets_dir = settings.vault.secrets_dir
    if secrets_dir is not None and (secrets_dir / KUBELET_DATA_LINK).is_symlink():
        vault = replace(settings.vault, secrets_dir=(secrets_dir / KUBELET_DATA_LINK).resolve())
        view = replace(view, vault=vault)
    if settings.agents_file.is_symlink():
        access = replace(settings.access, agents_file=settings.agents_file.resolve())
        view = replace(view, access=access)
    return view


def load_agent_table(settings: Settings, policies: Mapping[str, Policy] | None = None) -> AgentTable:
    """Parse and validate everything against ``policies`` (default: those in the policies dir);
    raise ``ConfigError`` rather than return a partial table."""
    if policies is None:
        policies = load_policies(settings.policies_dir)
    fingerprint = file_fingerprint(settings)
    view = _snapshot(settings)
    fallback = default_keyring(view)
    agents: dict[str, Agent] = {}
    for path in agents_files(view.agents_file):
        for raw in _read_agents_file(path):
            agent = _agent_from_mapping(raw, view, fallback)
            if agent.id in agents:
                raise ConfigError(f"agents file: duplicate agent {agent.name!r}")
            _check_policy_names(f"agents file: agent {agent.name!r}", agent, policies)
            agents[agent.id] = agent
    access, rate = settings.access, settings.rate_limit
    tenants = {
        key: Agent(
            id=f"tenant:{tenant}",
            name=tenant,
            keyring=fallback,
            policy=access.tenant_policy,
            allowed_policies=access.tenant_allowed_policies,
            rps=rate.tenant_rps,
            burst=rate.tenant_burst,
            redaction_metadata=True,
            forward_caller_auth=True,
            tenant=tenant,
        )
        for key, tenant in access.api_keys.items()
    }
    for tenant_agent in tenants.values():
        _check_policy_names("MASKER_TENANT_POLICY / MASKER_TENANT_ALLOWED_POLICIES", tenant_agent, policies)
        break  # every tenant has the same policy settings
    return AgentTable(agents, tenants, fingerprint)


def _check_policy_names(where: str, agent: Agent, policies: Mapping[str, Policy]) -> None:
    names = set(agent.allowed_policies)
    if agent.policy_inline is None:
        names.add(agent.policy)
    unknown = sorted(names - set(policies))
    if unknown:
        raise ConfigError(f"{where}: unknown policy {unknown[0]!r}; known: {sorted(policies)}")


def new_agent_id() -> str:
    from ulid import ULID

    return f"agt_{ULID()}"


def ensure_demo_agent(settings: Settings) -> str | None:
    """First run with no agents file: write one demo agent so the printed curl works at once."""
    path = settings.agents_file
    if path.exists() or settings.access.agents_file is not None:
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
