"""Thin Kopf handlers: fetch current state, call the pure builders, write, report status.

All decisions live in render.py / sidecar.py; this module only wires them to Kopf and the API
(kube.py). Outcomes map onto Kopf like this:

* SpecError        -> Ready=False/InvalidSpec, ``kopf.PermanentError`` (retried only on change)
* CredentialsNotAllowedError (a referenced Secret did not opt in) -> the same, InvalidSpec
* ApiNotFoundError -> Ready=False/SecretNotFound, ``kopf.TemporaryError`` (the user may add it)
* conflict/transient API errors -> Ready unchanged or ApiError, ``kopf.TemporaryError``

Create, update and resume reconcile the same way (and a change of the rotate annotation); a
timer repeats it to repair drift (someone edited or deleted the ConfigMap/Secret, or the
referenced upstream-key Secret changed). With a central proxy, each reconcile also hands the agent
to the aggregate publisher (publisher.py), which writes the proxy's shards in batches; deletion
takes it out again and turns the agent's own ConfigMap into a tombstone.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import kopf
import yaml
from ulid import ULID

from .aggregate import member
from .errors import (
    ApiConflictError,
    ApiNotFoundError,
    CredentialsNotAllowedError,
    OperatorError,
    SpecError,
)
from .kube import Kube
from .names import (
    AGENTS_KEY,
    CREDENTIALS_LABEL,
    DATABASE_URL_KEY,
    DELETED_ANNOTATION,
    ROTATE_ANNOTATION,
    ROTATION_TOKEN_ANNOTATION,
    owned_object_name,
)
from .policies import custom_policies, known_policy_names
from .publisher import Publisher
from .render import (
    AGENT_ID_RE,
    AgentRef,
    agent_entry,
    configmap_body,
    decode_secret_data,
    needs_update,
    new_agent_id,
    proxy_url,
    ready_condition,
    secret_body,
    sidecar_tokenization,
    tombstone_configmap_body,
)
from .settings import GROUP, PLURAL, VERSION, OperatorSettings
from .sidecar import inject, requested_agent, wants_base_url
from .spec import AgentSpec, SecretRef, parse_spec
from .tls import load_cert_dir, make_serving_cert, webhook_hostnames
from .webhook_config import (
    HANDLER_ID,
    ca_bundle_patch,
    mutating_webhook_configuration,
    owned_by_operator,
)

log = logging.getLogger("masker_operator")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _agent_id_from_configmap(cm: Mapping[str, Any] | None) -> str | None:
    """Recover the id if the status was lost (e.g. restored from a backup without status)."""
    raw = ((cm or {}).get("data") or {}).get(AGENTS_KEY)
    if not raw:
        return None
    try:
        agents = (yaml.safe_load(raw) or {}).get("agents") or []
    except yaml.YAMLError:
        return None
    agent_id = agents[0].get("id") if agents and isinstance(agents[0], dict) else None
    return agent_id if isinstance(agent_id, str) and AGENT_ID_RE.match(agent_id) else None


def _write(kube: Kube, kind: str, existing: Mapping[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Create or replace when drifted; keeps labels/annotations others put there. True if written."""
    if existing is None:
        (kube.create_configmap if kind == "ConfigMap" else kube.create_secret)(desired)
        return True
    if not needs_update(existing, desired):
        return False
    meta = existing.get("metadata") or {}
    body = dict(desired)
    annotations = {**(meta.get("annotations") or {}), **desired["metadata"].get("annotations", {})}
    annotations.pop(DELETED_ANNOTATION, None)  # a tombstone adopted by a re-created agent
    body["metadata"] = {
        **desired["metadata"],
        "labels": {**(meta.get("labels") or {}), **desired["metadata"].get("labels", {})},
        "annotations": annotations,
        "resourceVersion": meta.get("resourceVersion"),
    }
    (kube.replace_configmap if kind == "ConfigMap" else kube.replace_secret)(body)
    return True


def _credential(kube: Kube, namespace: str, ref: SecretRef | None) -> str | None:
    if ref is None:
        return None
    return kube.get_credential(namespace, ref.name, ref.key, opt_in_label=CREDENTIALS_LABEL)


def _vault_database_url(
    kube: Kube, settings: OperatorSettings, namespace: str, spec: AgentSpec
) -> str | None:
    """The agent's own database Secret, else the chart default where that Secret exists."""
    if spec.vault_database_ref is not None:
        return _credential(kube, namespace, spec.vault_database_ref)
    if spec.tokenization != "vault" or not settings.vault_database_secret:
        return None
    default = SecretRef(name=settings.vault_database_secret, key=settings.vault_database_key)
    try:
        return _credential(kube, namespace, default)
    except ApiNotFoundError:
        return None


def _set_status(patch: kopf.Patch, status: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    """Patch only what differs, so the drift timer's quiet rounds write nothing."""
    for key, value in fields.items():
        if status.get(key) != value:
            patch.status[key] = value


def _set_ready(
    patch: kopf.Patch, status: Mapping[str, Any], generation: int, *, ready: bool, reason: str, message: str
) -> None:
    conditions = ready_condition(
        ready=ready,
        reason=reason,
        message=message,
        generation=generation,
        now=_now(),
        previous=status.get("conditions") or [],
    )
    _set_status(patch, status, {"conditions": conditions, "observedGeneration": generation})


def reconcile(
    kube: Kube,
    settings: OperatorSettings,
    *,
    meta: Mapping[str, Any],
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    patch: kopf.Patch,
    from_timer: bool = False,
    publisher: Publisher | None = None,
) -> None:
    agent = AgentRef(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta["uid"],
        generation=int(meta.get("generation") or 1),
    )
    gen = agent.generation
    custom = custom_policies(settings.policies_dir)
    known = known_policy_names(custom)
    try:
        agent_spec = parse_spec(spec, meta.get("annotations") or {}, known_policies=known)
    except SpecError as exc:
        _set_ready(patch, status, gen, ready=False, reason="InvalidSpec", message=str(exc))
        if from_timer:
            return
        raise kopf.PermanentError(str(exc)) from exc

    name = owned_object_name(agent.name)
    try:
        existing_cm = kube.get_configmap(agent.namespace, name)
        agent_id = status.get("agentId") or _agent_id_from_configmap(existing_cm) or new_agent_id(str(ULID()))
        try:
            upstream_key = _credential(kube, agent.namespace, agent_spec.api_key_ref)
            vapi_secret = _credential(kube, agent.namespace, agent_spec.vapi_secret_ref)
            database_url = _vault_database_url(kube, settings, agent.namespace, agent_spec)
        except CredentialsNotAllowedError as exc:
            # The spec names a Secret it may not use: the user must label it or pick another.
            _set_ready(patch, status, gen, ready=False, reason="InvalidSpec", message=str(exc))
            _set_status(patch, status, {"agentId": agent_id})
            if from_timer:
                return
            raise kopf.PermanentError(str(exc)) from exc
        except ApiNotFoundError as exc:
            _set_ready(patch, status, gen, ready=False, reason="SecretNotFound", message=str(exc))
            _set_status(patch, status, {"agentId": agent_id})
            raise kopf.TemporaryError(str(exc), delay=10) from exc

        existing_secret = kube.get_secret(agent.namespace, name)
        secret_annotations = ((existing_secret or {}).get("metadata") or {}).get("annotations") or {}
        plan = secret_body(
            agent,
            agent_spec,
            existing_data=decode_secret_data((existing_secret or {}).get("data")),
            existing_rotation_token=(
                secret_annotations.get(ROTATION_TOKEN_ANNOTATION, "") if existing_secret is not None else None
            ),
            upstream_key=upstream_key,
            vapi_secret=vapi_secret,
            database_url=database_url,
        )
        # Secret before ConfigMap: the proxy must never see a key name whose material is missing.
        wrote_secret = _write(kube, "Secret", existing_secret, plan.body)
        # This ConfigMap is what injected sidecars mount (docs/operator.md).
        tokenization = sidecar_tokenization(agent_spec, has_database=database_url is not None)
        sidecar_spec = dataclasses.replace(agent_spec, tokenization=tokenization)
        wrote_cm = _write(
            kube,
            "ConfigMap",
            existing_cm,
            configmap_body(
                agent, sidecar_spec, agent_id, plan.key_names, custom_policy=custom.get(agent_spec.policy)
            ),
        )
    except ApiConflictError as exc:
        raise kopf.TemporaryError(f"{exc}; retrying with fresh state", delay=1) from exc
    except OperatorError as exc:
        _set_ready(patch, status, gen, ready=False, reason="ApiError", message=str(exc))
        raise kopf.TemporaryError(str(exc), delay=5) from exc

    central = publisher is not None and agent_spec.central
    if publisher is not None:
        if central:
            # The agent's own spec, not the sidecar's copy: the central proxy has its own vault, so
            # neither the sidecar's tokenization fallback nor its database URL belongs there.
            entry = agent_entry(
                agent, agent_spec, agent_id, plan.key_names, custom_policy=custom.get(agent_spec.policy)
            )
            secrets = decode_secret_data(plan.body["data"])
            secrets.pop(DATABASE_URL_KEY, None)
            publisher.put(member(agent, entry, secrets))
        else:
            publisher.remove((agent.namespace, agent.name))
    if from_timer and (wrote_secret or wrote_cm):
        log.info("repaired drift of %s/%s", agent.namespace, name)
    if plan.rotated:
        log.info(
            "rotated token key of %s/%s: now %s%s",
            agent.namespace,
            agent.name,
            plan.key_names[0],
            " (noticed by the drift timer)" if from_timer else "",
        )
    _set_status(
        patch,
        status,
        {
            "agentId": agent_id,
            "proxyUrl": proxy_url(settings.public_url, settings.sidecar.port, agent_id, central=central),
            "configMapName": name,
            "secretName": name,
            "keys": list(plan.key_names),
            "sidecarTokenization": tokenization,
        },
    )
    message = "ConfigMap and Secret are up to date"
    if tokenization != agent_spec.tokenization:
        message += "; sidecars use reversible-aead (no vault database given)"
    _set_ready(patch, status, gen, ready=True, reason="Reconciled", message=message)


def tombstone_agent_config(kube: Kube, namespace: str, agent_name: str) -> None:
    """Empty the deleted agent's ConfigMap so running sidecars stop serving it (render.py)."""
    name = owned_object_name(agent_name)
    try:
        existing = kube.get_configmap(namespace, name)
        if existing is None:
            return
        kube.replace_configmap(tombstone_configmap_body(existing))
    except ApiConflictError as exc:
        raise kopf.TemporaryError(f"{exc}; retrying with fresh state", delay=1) from exc
    except OperatorError as exc:
        raise kopf.TemporaryError(str(exc), delay=5) from exc
    log.info("agent %s/%s deleted: its sidecars now refuse it", namespace, agent_name)


class _ProgressStorage(kopf.AnnotationsProgressStorage):
    """Kopf's annotation progress storage, except the rotate annotation stays in the diff.

    ``clear`` drops every ``masker.dev/*`` annotation from the essences Kopf compares, since its
    own progress records live there; the rotate annotation shares the prefix and must survive.
    """

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        annotations = (essence.get("metadata") or {}).get("annotations") or {}
        rotate = annotations.get(ROTATE_ANNOTATION)
        cleared = super().clear(essence=essence)
        if rotate is not None:
            cleared.setdefault("metadata", {}).setdefault("annotations", {})[ROTATE_ANNOTATION] = rotate
        return cleared


class NamespaceFillingWebhookServer(kopf.WebhookServer):
    """Kopf's HTTPS webhook server, plus the request namespace copied into the object.

    Pods created by controllers reach admission without ``metadata.namespace``; the namespace is
    only in the AdmissionReview request, and the injector needs it to find the MaskerAgent.
    """

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        async def with_namespace(request: Any, **kwargs: Any) -> Any:
            payload = request.get("request") or {}
            obj = payload.get("object")
            if isinstance(obj, dict) and payload.get("namespace"):
                obj.setdefault("metadata", {}).setdefault("namespace", payload["namespace"])
            return await fn(request, **kwargs)

        async for client_config in super().__call__(with_namespace):
            yield client_config


def build_registry(settings: OperatorSettings, kube: Kube) -> kopf.OperatorRegistry:
    """All handlers, bound to explicit settings and an API wrapper (no module globals)."""
    registry = kopf.OperatorRegistry()
    resource = (GROUP, VERSION, PLURAL)
    operator_settings = settings
    publisher = (
        Publisher(kube, settings.aggregate, settings.namespaces, settings.drift_interval)
        if settings.aggregate.enabled
        else None
    )

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # A custom registry does not get Kopf's default login handlers; same credentials as kube.py.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="configure", registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Progress and diff-base in annotations under our domain, keeping .status ours alone.
        settings.persistence.progress_storage = _ProgressStorage(prefix="masker.dev")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="masker.dev", key="last-handled-configuration"
        )
        settings.peering.standalone = operator_settings.standalone
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 300
        if operator_settings.webhook.enabled:
            settings.admission.server = _webhook_server(operator_settings, kube)

    @kopf.on.create(*resource, id="reconcile", registry=registry)
    @kopf.on.update(*resource, id="reconcile", registry=registry)
    @kopf.on.resume(*resource, id="reconcile", registry=registry)
    def reconcile_agent(
        meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, **_: Any
    ) -> None:
        reconcile(
            kube, operator_settings, meta=meta, spec=spec, status=status, patch=patch, publisher=publisher
        )

    # Kopf leaves annotations under its storage prefix (masker.dev) out of the diff, so an update
    # handler never sees the rotate annotation change: a field handler puts it back in the diff
    # base, and _ProgressStorage keeps it when Kopf strips its progress annotations.
    @kopf.on.field(
        *resource, id="rotate-keys", field=("metadata", "annotations", ROTATE_ANNOTATION), registry=registry
    )
    def rotate_keys(
        meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, **_: Any
    ) -> None:
        reconcile(
            kube, operator_settings, meta=meta, spec=spec, status=status, patch=patch, publisher=publisher
        )

    @kopf.on.delete(*resource, id="tombstone", registry=registry)
    def tombstone(meta: kopf.Meta, **_: Any) -> None:
        tombstone_agent_config(kube, meta["namespace"], meta["name"])

    @kopf.timer(
        *resource,
        id="repair-drift",
        interval=settings.drift_interval,
        initial_delay=settings.drift_interval,
        registry=registry,
    )
    def repair_drift(
        meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, **_: Any
    ) -> None:
        reconcile(
            kube,
            operator_settings,
            meta=meta,
            spec=spec,
            status=status,
            patch=patch,
            from_timer=True,
            publisher=publisher,
        )

    if publisher is not None:
        central = publisher

        @kopf.on.startup(id="central-aggregate", registry=registry)
        def start_publisher(**_: Any) -> None:
            try:
                central.start()
            except OperatorError as exc:
                raise kopf.TemporaryError(f"central aggregate: {exc}", delay=5) from exc

        @kopf.on.cleanup(id="central-aggregate", registry=registry)
        def stop_publisher(**_: Any) -> None:
            central.stop()

        # Optional: no finalizer of its own. The publisher's resync also drops agents that are gone.
        @kopf.on.delete(*resource, id="central-removal", optional=True, registry=registry)
        def stop_serving_deleted(meta: kopf.Meta, **_: Any) -> None:
            central.remove((meta["namespace"], meta["name"]), meta.get("uid"))

    if settings.webhook.enabled:

        @kopf.on.mutate(
            "", "v1", "pods", id=HANDLER_ID, operations=["CREATE"], ignore_failures=True, registry=registry
        )
        def inject_sidecar(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
            pod = dict(body)
            agent_name = requested_agent(pod)
            if agent_name is None:
                return
            namespace = body.metadata.namespace
            if not namespace:
                raise kopf.AdmissionError("pod namespace unknown", code=400)
            try:
                agent = kube.get_agent(namespace, agent_name)
            except OperatorError as exc:
                raise kopf.AdmissionError(f"cannot read MaskerAgent {agent_name!r}: {exc}", code=503) from exc
            if agent is None:
                # Refuse rather than start an app that would talk to the LLM unprotected.
                raise kopf.AdmissionError(
                    f"MaskerAgent {agent_name!r} not found in namespace {namespace!r}", code=400
                )
            if (agent.get("spec") or {}).get("servedBy") == "central":
                raise kopf.AdmissionError(
                    f"MaskerAgent {agent_name!r} is served by the central proxy only (spec.servedBy)",
                    code=400,
                )
            agent_id = (agent.get("status") or {}).get("agentId")
            if agent_id is None and wants_base_url(pod, operator_settings.sidecar.base_url_env_default):
                raise kopf.AdmissionError(f"MaskerAgent {agent_name!r} is not ready yet", code=409)
            changes = inject(
                pod, agent_name=agent_name, agent_id=agent_id, settings=operator_settings.sidecar
            )
            patch.spec["containers"] = changes.containers
            patch.spec["volumes"] = changes.volumes
            for key, value in changes.annotations.items():
                patch.metadata.annotations[key] = value

    return registry


def _webhook_server(settings: OperatorSettings, kube: Kube) -> kopf.WebhookServer:
    """Certificates (provided or self-made), the webhook configuration, and Kopf's server."""
    hook = settings.webhook
    if hook.cert_dir:
        cert = load_cert_dir(Path(hook.cert_dir))
    else:
        extra = (hook.url_host,) if hook.url_host else ()
        cert = make_serving_cert(webhook_hostnames(hook.service_name, hook.service_namespace, extra))
    # Kopf's server loads certificates from files; a private temp dir (an emptyDir in-cluster).
    cert_dir = Path(tempfile.mkdtemp(prefix="masker-webhook-"))
    atexit.register(shutil.rmtree, cert_dir, True)
    ca_file, cert_file, key_file = cert.write(cert_dir)
    apply_webhook_configuration(kube, mutating_webhook_configuration(hook, cert.ca_pem), cert.ca_pem)
    return NamespaceFillingWebhookServer(
        addr=hook.listen_addr,
        port=hook.port,
        host=hook.url_host,
        certfile=cert_file,
        pkeyfile=key_file,
        cafile=ca_file,
    )


def apply_webhook_configuration(kube: Kube, desired: dict[str, Any], ca_pem: bytes) -> None:
    """Create it; keep ours current; of someone else's (Helm's) touch only the caBundle."""
    name = desired["metadata"]["name"]
    current = kube.get_mutating_webhook_configuration(name)
    if current is None:
        try:
            kube.create_mutating_webhook_configuration(desired)
            log.info("webhook configuration %s created", name)
            return
        except ApiConflictError:
            current = kube.get_mutating_webhook_configuration(name)
            if current is None:
                raise
    if owned_by_operator(current):
        resource_version = (current.get("metadata") or {}).get("resourceVersion")
        kube.replace_mutating_webhook_configuration(
            {**desired, "metadata": {**desired["metadata"], "resourceVersion": resource_version}}
        )
        log.info("webhook configuration %s updated", name)
        return
    ops = ca_bundle_patch(current, ca_pem)
    if ops:
        kube.json_patch_mutating_webhook_configuration(name, ops)
        log.info("webhook configuration %s: caBundle updated (the rest belongs to its owner)", name)
