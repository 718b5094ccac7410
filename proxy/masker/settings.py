"""Process settings, read once from ``MASKER_*`` environment variables and passed in explicitly.

Names follow the published configuration (MASKER_LISTEN_ADDR, MASKER_DATABASE_URL, ...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError


def _parse_api_keys(raw: str) -> dict[str, str]:
    """``key1:tenant1,key2:tenant2`` -> {key: tenant}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, tenant = item.partition(":")
        if not sep or not key or not tenant:
            raise ConfigError("MASKER_API_KEYS must look like key1:tenant1,key2:tenant2")
        keys[key] = tenant
    return keys


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


def _memory_budget(env: Mapping[str, str]) -> float:
    mb = _float(env, "MASKER_MEMORY_BUDGET_MB", 64.0)
    if mb <= 0:
        raise ConfigError("MASKER_MEMORY_BUDGET_MB must be positive")
    return mb


@dataclass(frozen=True)
class Settings:
    listen_addr: str = "127.0.0.1:8080"
    public_url: str | None = None
    data_dir: Path = Path(".data")
    database_url: str = ""  # "" = sqlite:///<data_dir>/masker.db
    openai_base_url: str | None = None  # None (and no key) = built-in echo upstream
    openai_api_key: str | None = None
    upstream_timeout: float = 60.0
    policies_dir: Path = Path("policies")
    api_keys: Mapping[str, str] = field(default_factory=dict)
    default_fail_mode: str = "closed"
    agents_file: Path | None = None
    secrets_dir: Path | None = None
    metrics_addr: str | None = None
    ner_addr: str | None = None
    redis_url: str | None = None
    audit_dir: Path | None = None
    audit_hmac_key: str | None = None
    vapi_webhook_secret: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    max_messages: int = 1000
    max_json_depth: int = 64
    workers: int = 1
    reload_interval: float = 1.0
    vault_ttl_seconds: float | None = None  # None = vault rows never expire
    # Bytes (in MiB) every cache of the process may hold together: findings, history memo, token
    # bodies, vault-written marks, scope keys — all agents and tenants (MASKER_MEMORY_BUDGET_MB).
    memory_budget_mb: float = 64.0
    # Longest an in-process NER call may wait in the model's queue before it is shed and the
    # policy's NER-failure outcome applies (MASKER_NER_MAX_WAIT_MS).
    ner_max_wait_ms: float = 250.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def echo_upstream(self) -> bool:
        return not self.openai_base_url and not self.openai_api_key

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'masker.db'}"

    @property
    def resolved_agents_file(self) -> Path:
        return self.agents_file or self.data_dir / "agents.yaml"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        fail_mode = env.get("MASKER_DEFAULT_FAIL_MODE", "closed").strip().lower()
        if fail_mode not in {"closed", "open"}:
            raise ConfigError("MASKER_DEFAULT_FAIL_MODE must be 'closed' or 'open'")
        data_dir = Path(env.get("MASKER_DATA_DIR", ".data"))

        def path(name: str) -> Path | None:
            raw = env.get(name)
            return Path(raw) if raw else None

        return cls(
            listen_addr=env.get("MASKER_LISTEN_ADDR", "127.0.0.1:8080"),
            public_url=env.get("MASKER_PUBLIC_URL") or None,
            data_dir=data_dir,
            database_url=env.get("MASKER_DATABASE_URL", ""),
            openai_base_url=(env.get("MASKER_OPENAI_BASE_URL") or env.get("MASKER_UPSTREAM_URL") or None),
            openai_api_key=env.get("MASKER_OPENAI_API_KEY") or None,
            upstream_timeout=_float(env, "MASKER_UPSTREAM_TIMEOUT", 60.0),
            policies_dir=Path(env.get("MASKER_POLICIES_DIR", "policies")),
            api_keys=_parse_api_keys(env.get("MASKER_API_KEYS", "")),
            default_fail_mode=fail_mode,
            agents_file=path("MASKER_AGENTS_FILE"),
            secrets_dir=path("MASKER_SECRETS_DIR"),
            metrics_addr=env.get("MASKER_METRICS_ADDR") or None,
            ner_addr=env.get("MASKER_NER_ADDR") or None,
            redis_url=env.get("MASKER_REDIS_URL") or None,
            audit_dir=path("MASKER_AUDIT_DIR"),
            audit_hmac_key=env.get("MASKER_AUDIT_HMAC_KEY") or None,
            vapi_webhook_secret=env.get("MASKER_VAPI_WEBHOOK_SECRET") or None,
            max_body_bytes=_int(env, "MASKER_MAX_BODY_BYTES", 4 * 1024 * 1024),
            max_messages=_int(env, "MASKER_MAX_MESSAGES", 1000),
            max_json_depth=_int(env, "MASKER_MAX_JSON_DEPTH", 64),
            workers=_int(env, "MASKER_WORKERS", 1),
            reload_interval=_float(env, "MASKER_RELOAD_INTERVAL", 1.0),
            vault_ttl_seconds=_float(env, "MASKER_VAULT_TTL_SECONDS", 0.0) or None,
            memory_budget_mb=_memory_budget(env),
            ner_max_wait_ms=_float(env, "MASKER_NER_MAX_WAIT_MS", 250.0),
            env=env,
        )
