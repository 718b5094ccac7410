"""Central serving against a real kube-apiserver: the aggregate the operator keeps for the chart's
proxy (operator/masker_operator/publisher.py), written in batches and kept apart per tenant.

The operator fixture runs with the aggregate in its own namespace (tests/operator/_cluster.py);
the publisher tests drive a ``Publisher`` directly with admin credentials (the operator fixture
only provides the CRD there) and count the writes the API server saw (a watch on the shard
objects), not the publisher's own counters.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from masker_operator.aggregate import AGENTS_JSON, Member
from masker_operator.kube import Kube
from masker_operator.publisher import Publisher
from masker_operator.settings import AggregateSettings
from tests.k8s_testbed import OPERATOR_SA_NAMESPACE, wait_for
from tests.operator._cluster import (
    BASE_SPEC,
    CENTRAL_NAME,
    CENTRAL_SHARDS,
    GROUP,
    PLURAL,
    PUBLIC_URL,
    VERSION,
    Operator,
    create_agent,
    custom,
    get_agent,
    make_upstream_secret,
    ready,
)
from tests.operator.test_aggregate import make_member

pytestmark = pytest.mark.k8s


def served(api: Any, namespace: str = OPERATOR_SA_NAMESPACE, name: str = CENTRAL_NAME) -> dict[str, Any]:
    """agent id -> (entry, decoded secret files) over every shard the proxy would mount."""
    core = client.CoreV1Api(api)
    out: dict[str, Any] = {}
    for index in range(CENTRAL_SHARDS):
        try:
            cm = core.read_namespaced_config_map(f"{name}-{index}", namespace)
            secret = core.read_namespaced_secret(f"{name}-{index}", namespace)
        except ApiException as exc:
            if exc.status == 404:
                continue
            raise
        files = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
        for entry in json.loads(cm.data[AGENTS_JSON])["agents"]:
            scope = entry["secrets_scope"]
            out[entry["id"]] = (entry, {k: v for k, v in files.items() if k.startswith(scope + ".")})
    return out


def ready_agent(api: Any, namespace: str, name: str) -> dict[str, Any]:
    return wait_for(
        lambda: (a := get_agent(api, namespace, name)) and (ready(a) or {}).get("status") == "True" and a,
        timeout=10,
        what=f"{namespace}/{name} Ready",
    )


@contextlib.contextmanager
def extra_namespace(api: Any) -> Iterator[str]:
    core = client.CoreV1Api(api)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with contextlib.suppress(ApiException):
            core.delete_namespace(name)


def test_agents_of_two_tenants_are_served_centrally_and_apart(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    with extra_namespace(k8s_api) as other:
        make_upstream_secret(k8s_api, k8s_namespace, "sk-test-tenant-a")
        make_upstream_secret(k8s_api, other, "sk-test-tenant-b")
        create_agent(k8s_api, k8s_namespace, "front-desk", BASE_SPEC)
        # Tenant b's sidecars share a vault database; that URL is theirs, not the central proxy's.
        client.CoreV1Api(k8s_api).create_namespaced_secret(
            other,
            client.V1Secret(
                metadata=client.V1ObjectMeta(
                    name="vault-db", labels={"masker.dev/upstream-credentials": "true"}
                ),
                string_data={"url": "postgresql://vault.clinic-b.test/masker"},
            ),
        )
        create_agent(
            k8s_api, other, "front-desk", {**BASE_SPEC, "vault": {"databaseSecretRef": {"name": "vault-db"}}}
        )
        a, b = ready_agent(k8s_api, k8s_namespace, "front-desk"), ready_agent(k8s_api, other, "front-desk")
        id_a, id_b = a["status"]["agentId"], b["status"]["agentId"]
        assert id_a != id_b
        for agent in (a, b):
            agent_id = agent["status"]["agentId"]
            assert agent["status"]["proxyUrl"] == f"{PUBLIC_URL}/proxy/{agent_id}/v1"

        table = wait_for(
            lambda: (t := served(k8s_api)) and {id_a, id_b} <= set(t) and t, timeout=10, what="both served"
        )
        (entry_a, files_a), (entry_b, files_b) = table[id_a], table[id_b]
        assert (entry_a["namespace"], entry_b["namespace"]) == (k8s_namespace, other)
        assert entry_a["keys"] == entry_b["keys"] == ["FRONT_DESK_1"]
        assert files_a[f"{id_a}.UPSTREAM_API_KEY_FRONT_DESK"] == "sk-test-tenant-a"
        assert files_b[f"{id_b}.UPSTREAM_API_KEY_FRONT_DESK"] == "sk-test-tenant-b"
        assert files_a[f"{id_a}.MASKER_KEY_K_FRONT_DESK_1"] != files_b[f"{id_b}.MASKER_KEY_K_FRONT_DESK_1"]
        # The central proxy has its own vault: the entry keeps the spec's tokenization (a's sidecar,
        # with no vault database, falls back to reversible-aead) and no tenant's database URL.
        assert a["status"]["sidecarTokenization"] == "reversible-aead"
        assert entry_a["tokenization"] == entry_b["tokenization"] == "vault"
        assert not [name for name in (*files_a, *files_b) if name.endswith("MASKER_DATABASE_URL")]
        # The same material the sidecar gets from the agent's own Secret.
        own = client.CoreV1Api(k8s_api).read_namespaced_secret("masker-agent-front-desk", k8s_namespace)
        assert (
            base64.b64decode(own.data["MASKER_KEY_K_FRONT_DESK_1"]).decode()
            == (files_a[f"{id_a}.MASKER_KEY_K_FRONT_DESK_1"])
        )

        # Deleting one agent stops serving it, promptly; the other tenant's agent stays.
        started = time.monotonic()
        custom(k8s_api).delete_namespaced_custom_object(GROUP, VERSION, other, PLURAL, "front-desk")
        wait_for(lambda: id_b not in served(k8s_api), timeout=10, what="deleted agent leaves the aggregate")
        print(f"delete -> out of the aggregate in {time.monotonic() - started:.2f}s")
        assert id_a in served(k8s_api)


def test_served_by_sidecar_stays_out_and_names_the_sidecar(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    make_upstream_secret(k8s_api, k8s_namespace, "sk-test-upstream")
    create_agent(k8s_api, k8s_namespace, "bedside", {**BASE_SPEC, "servedBy": "sidecar"})
    agent = ready_agent(k8s_api, k8s_namespace, "bedside")
    agent_id = agent["status"]["agentId"]
    assert agent["status"]["proxyUrl"] == f"http://127.0.0.1:8080/proxy/{agent_id}/v1"
    time.sleep(1.0)  # three batch windows
    assert agent_id not in served(k8s_api)

    custom(k8s_api).patch_namespaced_custom_object(
        GROUP, VERSION, k8s_namespace, PLURAL, "bedside", {"spec": {"servedBy": "both"}}
    )
    wait_for(lambda: agent_id in served(k8s_api), timeout=10, what="served centrally after the change")
    wait_for(
        lambda: get_agent(k8s_api, k8s_namespace, "bedside")["status"]["proxyUrl"].startswith(PUBLIC_URL),
        what="status URL names the central proxy",
    )


# ------------------------------------------------------------------------------ the publisher


class ShardWrites:
    """Counts the writes the API server applied to one aggregate, from a watch (its own view)."""

    def __init__(self, api: Any, namespace: str, name: str) -> None:
        self._core = client.CoreV1Api(api)
        self._namespace, self._name = namespace, name
        self.events: list[tuple[str, str, str]] = []
        self._watches = [watch.Watch(), watch.Watch()]
        self._threads = [
            threading.Thread(target=self._follow, args=(w, fn), daemon=True)
            for w, fn in zip(
                self._watches,
                (self._core.list_namespaced_config_map, self._core.list_namespaced_secret),
                strict=True,
            )
        ]

    def _follow(self, w: watch.Watch, list_fn: Any) -> None:
        # From the current version on: no synthetic ADDED events for objects already there.
        version = list_fn(self._namespace).metadata.resource_version
        with contextlib.suppress(Exception):
            for event in w.stream(list_fn, self._namespace, resource_version=version, timeout_seconds=120):
                obj = event["object"]
                if obj.metadata.name.startswith(self._name):
                    self.events.append((event["type"], obj.kind or "", obj.metadata.name))

    def writes(self) -> int:
        return sum(1 for kind, _, _ in self.events if kind in ("ADDED", "MODIFIED", "DELETED"))

    def __enter__(self) -> ShardWrites:
        for t in self._threads:
            t.start()
        time.sleep(0.5)  # the watches are established
        return self

    def __exit__(self, *exc: object) -> None:
        for w in self._watches:
            w.stop()


def _publisher(api: Any, namespace: str, batch: float = 0.5, shards: int = 2) -> Publisher:
    settings = AggregateSettings(namespace=namespace, name="central", shards=shards, batch_seconds=batch)
    return Publisher(Kube(api), settings, namespaces=(namespace,), resync_seconds=3600)


def test_a_burst_of_changes_is_one_write_per_shard_object(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    members = [make_member(f"tenant-{i % 5}", f"agent-{i}") for i in range(60)]
    publisher = _publisher(k8s_api, ns)
    with ShardWrites(k8s_api, ns, "central-") as seen:
        publisher.start()
        try:
            wait_for(lambda: publisher.flushes >= 1, timeout=10, what="the start-up pass (nothing yet)")
            for m in members:
                publisher.put(m)
            wait_for(lambda: publisher.flushes >= 2, timeout=10, what="the batch written")
            time.sleep(0.5)
            # 60 agents, 2 shards: one Secret and one ConfigMap each, created once.
            assert seen.writes() == 4, seen.events
            assert sorted(name for _, _, name in seen.events) == [
                "central-0",
                "central-0",
                "central-1",
                "central-1",
            ]

            # Ten removals and one change in one window: at most the two objects of each shard,
            # plus the Secret pruned after its ConfigMap where something left.
            for m in members[:10]:
                publisher.remove(m.key)
            changed = make_member("tenant-x", "agent-changed")
            publisher.put(changed)
            before = seen.writes()
            wait_for(lambda: publisher.flushes >= 3, timeout=10, what="second batch")
            time.sleep(0.5)
            assert seen.writes() - before <= 2 * 3
        finally:
            publisher.stop()
    table = {}
    core = client.CoreV1Api(k8s_api)
    for index in range(2):
        cm = core.read_namespaced_config_map(f"central-{index}", ns)
        table.update({e["id"]: e for e in json.loads(cm.data[AGENTS_JSON])["agents"]})
    assert set(table) == {m.agent_id for m in members[10:]} | {changed.agent_id}


def test_a_restarted_publisher_resumes_without_a_write_and_drops_the_deleted(
    operator: Operator, k8s_api: Any, k8s_namespace: str
) -> None:
    ns = k8s_namespace
    # Real MaskerAgents in the namespace: recovery keeps only agents that still exist.
    for name in ("kept", "gone"):
        create_agent(k8s_api, ns, name, {"upstream": {}})
    members: list[Member] = [make_member(ns, "kept"), make_member(ns, "gone")]
    first = _publisher(k8s_api, ns, batch=0.1)
    first.start()
    for m in members:
        first.put(m)
    wait_for(lambda: first.settled, timeout=10, what="written")
    first.stop()

    custom(k8s_api).delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "gone")
    wait_for(
        lambda: (ns, "gone") not in Kube(k8s_api).list_agent_keys((ns,)),
        timeout=30,
        what="MaskerAgent gone (finalizers)",
    )
    with ShardWrites(k8s_api, ns, "central-") as seen:
        second = _publisher(k8s_api, ns, batch=0.1)
        second.start()  # recovers before any handler could report
        try:
            assert [m.key for m in second.members()] == [(ns, "kept")]
            wait_for(lambda: second.flushes >= 1, timeout=10, what="first pass")
            time.sleep(0.3)
            second.put(members[0])  # Kopf resumes the live agent: same content, nothing to write
            time.sleep(0.5)
        finally:
            second.stop()
        # Only the deleted agent's removal: its shard's ConfigMap, then its Secret.
        assert seen.writes() == 2, seen.events
