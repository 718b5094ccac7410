"""Operator settings: a frozen dataclass read once from ``MASKER_OPERATOR_*`` variables.

Passed explicitly to the builders and handlers; nothing deeper reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import OperatorError

GROUP = "masker.dev"
VERSION = "v1alpha1"
PLURAL = "maskeragents"
KIND = "MaskerAgent"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise OperatorError(f"{name} must be an integer") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise OperatorError(f"{name} must be a number") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise OperatorError(f"{name} must be true or false")


@dataclass(frozen=True)
class SidecarSettings:
    """What the injected proxy container looks like."""

    image: str = "ghcr.io/masker-dev/masker:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    port: int = 8080
    cpu_request: str = "50m"
    memory_request: str = "128Mi"
    cpu_limit: str = "1"
    memory_limit: str = "512Mi"
    run_as_user: int = 10001  # the "masker" user of Dockerfile.proxy
    health_path: str = "/health"
    ready_path: str = "/health"
    base_url_env_default: bool = False


@dataclass(frozen=True)
class WebhookSettings:
    """How the sidecar-injection webhook is served and registered."""

    enabled: bool = True
    listen_addr: str = "0.0.0.0"
    port: int = 9443
    # URL mode (tests, out-of-cluster): the API server calls https://<url_host>:<port>/<path>.
    url_host: str | None = None
    # Service mode (in-cluster): the API server calls the operator's Service.
    service_name: str = "masker-webhook"  # the Service the chart creates for release "masker"
    service_namespace: str = "masker-system"
    service_port: int = 443
    configuration_name: str = "masker-sidecar-injector"
    # Fail: a pod that asked for a sidecar (the objectSelector's label) is never admitted without
    # one; every other pod never reaches the webhook, so a down operator blocks only those.
    failure_policy: str = "Fail"
    timeout_seconds: int = 5
    cert_dir: str | None = None  # tls.crt/tls.key/ca.crt from outside (e.g. cert-manager)


@dataclass(frozen=True)
class AggregateSettings:
    """Central serving: where the operator writes the agents the chart's proxy Deployment mounts.

    ``namespace`` None = no central proxy: agents are rendered for sidecars only, and
    ``status.proxyUrl`` names the sidecar.
    """

    namespace: str | None = None
    # Objects <name>-<i>, i < shards: a ConfigMap (agents.json) and a Secret each.
    name: str = "masker-central-agents"
    shards: int = 4
    # Changes within this window go out together: one write per shard object, not per agent.
    batch_seconds: float = 1.0
    # Per object, below the API server's 1 MiB limit; an agent that does not fit is not served.
    shard_budget_bytes: int = 900 * 1024

    @property
    def enabled(self) -> bool:
        return self.namespace is not None


@dataclass(frozen=True)
class OperatorSettings:
    """Everything the operator needs, read once at start-up."""

    public_url: str | None = None
    namespaces: tuple[str, ...] = ()  # empty = all namespaces
    drift_interval: float = 30.0
    standalone: bool = True
    # Custom policy YAMLs (the chart's policies ConfigMap, mounted as a directory); their names
    # are valid MaskerAgent policy names next to the built-in ones, and sidecars get them inline.
    policies_dir: str | None = None
    # Default vault database for sidecars of agents without vault.databaseSecretRef: a Secret of
    # this name (and key) in the agent's namespace. None = sidecars fall back to reversible-aead.
    vault_database_secret: str | None = None
    vault_database_key: str = "url"
    sidecar: SidecarSettings = SidecarSettings()
    webhook: WebhookSettings = WebhookSettings()
    aggregate: AggregateSettings = AggregateSettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if environ is None else environ)
        p = "MASKER_OPERATOR_"
        public_url = (env.get(p + "PUBLIC_URL") or env.get("MASKER_PUBLIC_URL") or "").strip() or None
        if public_url and not public_url.startswith(("http://", "https://")):
            raise OperatorError(f"{p}PUBLIC_URL must be an http(s) URL")
        namespaces = tuple(n.strip() for n in env.get(p + "NAMESPACES", "").split(",") if n.strip())
        failure_policy = env.get(p + "WEBHOOK_FAILURE_POLICY", "Fail").strip() or "Fail"
        if failure_policy not in {"Ignore", "Fail"}:
            raise OperatorError(f"{p}WEBHOOK_FAILURE_POLICY must be Ignore or Fail")
        sidecar = SidecarSettings(
            image=env.get(p + "PROXY_IMAGE", SidecarSettings.image),
            image_pull_policy=env.get(p + "PROXY_IMAGE_PULL_POLICY", SidecarSettings.image_pull_policy),
            port=_int(env, p + "PROXY_PORT", SidecarSettings.port),
            cpu_request=env.get(p + "PROXY_CPU_REQUEST", SidecarSettings.cpu_request),
            memory_request=env.get(p + "PROXY_MEMORY_REQUEST", SidecarSettings.memory_request),
            cpu_limit=env.get(p + "PROXY_CPU_LIMIT", SidecarSettings.cpu_limit),
            memory_limit=env.get(p + "PROXY_MEMORY_LIMIT", SidecarSettings.memory_limit),
            run_as_user=_int(env, p + "PROXY_RUN_AS_USER", SidecarSettings.run_as_user),
            base_url_env_default=_bool(env, p + "INJECT_BASE_URL", SidecarSettings.base_url_env_default),
        )
        webhook = WebhookSettings(
            enabled=_bool(env, p + "WEBHOOK_ENABLED", True),
            listen_addr=env.get(p + "WEBHOOK_LISTEN_ADDR", WebhookSettings.listen_addr),
            port=_int(env, p + "WEBHOOK_PORT", WebhookSettings.port),
            url_host=env.get(p + "WEBHOOK_URL_HOST") or None,
            service_name=env.get(p + "WEBHOOK_SERVICE_NAME", WebhookSettings.service_name),
            service_namespace=env.get(
                p + "WEBHOOK_SERVICE_NAMESPACE", env.get("POD_NAMESPACE", WebhookSettings.service_namespace)
            ),
            service_port=_int(env, p + "WEBHOOK_SERVICE_PORT", WebhookSettings.service_port),
            configuration_name=env.get(p + "WEBHOOK_CONFIGURATION_NAME", WebhookSettings.configuration_name),
            failure_policy=failure_policy,
            timeout_seconds=_int(env, p + "WEBHOOK_TIMEOUT_SECONDS", WebhookSettings.timeout_seconds),
            cert_dir=env.get(p + "WEBHOOK_CERT_DIR") or None,
        )
        shards = _int(env, p + "AGGREGATE_SHARDS", AggregateSettings.shards)
        if not 1 <= shards <= 64:
            raise OperatorError(f"{p}AGGREGATE_SHARDS must be between 1 and 64")
        batch = _float(env, p + "AGGREGATE_BATCH_SECONDS", AggregateSettings.batch_seconds)
        if not 0 <= batch <= 60:
            raise OperatorError(f"{p}AGGREGATE_BATCH_SECONDS must be between 0 and 60")
        aggregate = AggregateSettings(
            namespace=env.get(p + "AGGREGATE_NAMESPACE", "").strip() or None,
            name=env.get(p + "AGGREGATE_NAME", "").strip() or AggregateSettings.name,
            shards=shards,
            batch_seconds=batch,
        )
        return cls(
            public_url=public_url.rstrip("/") if public_url else None,
            namespaces=namespaces,
            drift_interval=_float(env, p + "DRIFT_INTERVAL", 30.0),
            standalone=_bool(env, p + "STANDALONE", True),
            policies_dir=env.get(p + "POLICIES_DIR", "").strip() or None,
            vault_database_secret=env.get(p + "VAULT_DATABASE_SECRET", "").strip() or None,
            vault_database_key=env.get(p + "VAULT_DATABASE_SECRET_KEY", "").strip() or "url",
            sidecar=sidecar,
            webhook=webhook,
            aggregate=aggregate,
        )
