"""Central serving at scale: 1,000 MaskerAgents across 50 namespaces on the real kube-apiserver.

A fresh test bed (tests/k8s_testbed.py) with an API-server audit log; the operator as a subprocess
with the least-privilege RBAC of operator/masker_operator/rbac.yaml and central serving on (4
shards, 1 s batch window, as the chart runs it); the proxy (`masker serve`) reading the projected
agents volume, which tests/kubelet_volumes.py keeps in step with the API server like the kubelet.

Prints: time until every agent is Ready and until every one is served by the proxy (its table
loaded from the mounted files); operator CPU seconds; API writes made by the operator (counted in
the audit log by user), per agent created and per change afterwards, split into per-agent objects,
status/Kopf bookkeeping and the central aggregate; bytes the proxy mounts; the proxy's reload time.

Usage: nice python -m bench.operator_scale [--agents 1000] [--namespaces 50]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client

from masker.agents import load_agent_table
from masker.settings import Settings
from tests.k8s_testbed import (
    OPERATOR_SA_NAMESPACE,
    OPERATOR_USER,
    api_client,
    apply_manifest,
    free_port,
    install_crd,
    start_testbed,
    stop_process,
    wait_for,
)
from tests.kubelet_volumes import VolumeSync, api_lookups
from tests.proxy_process import start_proxy

ROOT = Path(__file__).resolve().parents[1]
CRD = ROOT / "charts" / "masker" / "crds" / "maskeragents.yaml"
RBAC = ROOT / "operator" / "masker_operator" / "rbac.yaml"
GROUP, VERSION, PLURAL = "masker.dev", "v1alpha1", "maskeragents"
CENTRAL, SHARDS = "masker-central-agents", 4
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
"""


def chart_volume(shards: int) -> dict[str, Any]:
    """The proxy Deployment's agents volume, as charts/masker renders it (operator shards only)."""
    sources: list[dict[str, Any]] = []
    for i in range(shards):
        sources.append(
            {
                "configMap": {
                    "name": f"{CENTRAL}-{i}",
                    "optional": True,
                    "items": [{"key": "agents.json", "path": f"agents.d/operator-{i}.json"}],
                }
            }
        )
        sources.append({"secret": {"name": f"{CENTRAL}-{i}", "optional": True}})
    return {"name": "agents", "projected": {"defaultMode": 0o440, "sources": sources}}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Audit:
    """Writes per user from the API server's audit log (JSON lines, stage ResponseComplete)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def writes(self, user: str) -> collections.Counter[str]:
        """Operator writes since the last call, keyed "<verb> <resource>[/sub] [aggregate]"."""
        counts: collections.Counter[str] = collections.Counter()
        with self.path.open() as fh:
            fh.seek(self.offset)
            for line in fh:
                event = json.loads(line)
                if event.get("stage") != "ResponseComplete" or event["user"].get("username") != user:
                    continue
                ref = event.get("objectRef") or {}
                resource = ref.get("resource", "?") + (
                    f"/{ref['subresource']}" if ref.get("subresource") else ""
                )
                central = ref.get("namespace") == OPERATOR_SA_NAMESPACE and resource in (
                    "configmaps",
                    "secrets",
                )
                counts[f"{event['verb']} {resource}{' (aggregate)' if central else ''}"] += 1
            self.offset = fh.tell()
        return counts


def show(counts: collections.Counter[str], per: int, label: str) -> None:
    total = sum(counts.values())
    aggregate = sum(v for k, v in counts.items() if "(aggregate)" in k)
    print(f"  {label}: {total} operator writes = {total / per:.2f} per change; aggregate {aggregate}")
    for key, value in sorted(counts.items()):
        print(f"    {value:6d}  {key}")


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="masker-operator-scale-"))
    (work / "audit-policy.yaml").write_text(AUDIT_POLICY)
    audit_path = work / "audit.log"
    flags = (
        f"--audit-policy-file={work / 'audit-policy.yaml'}",
        f"--audit-log-path={audit_path}",
        "--audit-log-format=json",
        "--audit-log-maxsize=1000",
    )
    with start_testbed(work / "k8s", apiserver_args=flags) as bed:
        api = api_client(bed)
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        install_crd(api, CRD)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=OPERATOR_SA_NAMESPACE)))
        apply_manifest(api, RBAC)
        namespaces = [f"tenant-{i:02d}" for i in range(args.namespaces)]
        for ns in namespaces:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            core.create_namespaced_secret(
                ns,
                client.V1Secret(
                    metadata=client.V1ObjectMeta(
                        name="openai", labels={"masker.dev/upstream-credentials": "true"}
                    ),
                    string_data={"apiKey": "sk-test"},
                ),
            )

        liveness = free_port()
        env = {
            **bed.env(bed.operator_kubeconfig),
            "MASKER_OPERATOR_PUBLIC_URL": "https://masker.example.test",
            "MASKER_OPERATOR_WEBHOOK_ENABLED": "false",
            "MASKER_OPERATOR_AGGREGATE_NAMESPACE": OPERATOR_SA_NAMESPACE,
            "MASKER_OPERATOR_AGGREGATE_NAME": CENTRAL,
            "MASKER_OPERATOR_AGGREGATE_SHARDS": str(SHARDS),
        }
        log = (work / "operator.log").open("wb")
        operator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "masker_operator",
                "-q",
                f"--liveness=http://127.0.0.1:{liveness}/healthz",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        volume_dir = work / "proxy-agents"
        proxy = None
        try:

            def operator_up() -> bool:
                if operator.poll() is not None:
                    sys.exit(f"operator exited:\n{(work / 'operator.log').read_text()[-3000:]}")
                try:
                    return httpx.get(f"http://127.0.0.1:{liveness}/healthz", timeout=1).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(operator_up, timeout=60, what="operator up", interval=0.2)
            audit = Audit(audit_path)
            audit.writes(OPERATOR_USER)  # start-up writes are not part of the figures
            with VolumeSync(volume_dir, chart_volume(SHARDS), *api_lookups(core, OPERATOR_SA_NAMESPACE), 1.0):
                mounted_env = {
                    "MASKER_AGENTS_FILE": str(volume_dir / "agents.d"),
                    "MASKER_SECRETS_DIR": str(volume_dir),
                    "MASKER_DATA_DIR": str(work / "data"),
                }
                proxy = start_proxy({**mounted_env, "MASKER_RELOAD_INTERVAL": "1.0"}, work)
                cpu_before = cpu_seconds(operator.pid)
                started = time.monotonic()
                spec = {"upstream": {"apiKeySecretRef": {"name": "openai"}, "allowedModels": ["gpt-4o-mini"]}}

                def create(i: int) -> None:
                    body = {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "MaskerAgent",
                        "metadata": {"name": f"agent-{i:04d}"},
                        "spec": spec,
                    }
                    custom.create_namespaced_custom_object(
                        GROUP, VERSION, namespaces[i % len(namespaces)], PLURAL, body
                    )

                with ThreadPoolExecutor(4) as pool:
                    list(pool.map(create, range(args.agents)))
                created = time.monotonic() - started

                ids: dict[tuple[str, str], str] = {}

                def all_ready() -> bool:
                    items = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]
                    for item in items:
                        conds = (item.get("status") or {}).get("conditions") or []
                        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                            ids[(item["metadata"]["namespace"], item["metadata"]["name"])] = item["status"][
                                "agentId"
                            ]
                    return len(ids) == args.agents

                wait_for(all_ready, timeout=1800, what="all Ready", interval=1.0)
                t_ready = time.monotonic() - started
                pending = set(ids.values())
                http = httpx.Client(timeout=10)

                def all_served() -> bool:
                    for agent_id in list(pending):
                        url = f"{proxy.url}/proxy/{agent_id}/v1/chat/completions"
                        if http.post(url, json={}).status_code != 404:
                            pending.discard(agent_id)
                        else:
                            return False
                    return True

                wait_for(all_served, timeout=1800, what="all served", interval=0.5)
                t_served = time.monotonic() - started
                cpu_create = cpu_seconds(operator.pid) - cpu_before
                time.sleep(3)  # the last batch and its Secret prune
                creation_writes = audit.writes(OPERATOR_USER)

                print(
                    f"\n{args.agents} MaskerAgents in {args.namespaces}"
                    f" namespaces (created in {created:.1f}s)"
                )
                print(
                    f"  all Ready after {t_ready:.1f}s; all served by the central proxy after {t_served:.1f}s"
                )
                print(
                    f"  operator CPU while creating: {cpu_create:.1f}s"
                    f" ({cpu_create / args.agents * 1000:.1f} ms/agent)"
                )
                show(creation_writes, args.agents, "creation")

                # Size of what the proxy mounts, and of the objects behind it.
                files = [p for p in volume_dir.rglob("*") if p.is_file()]
                mounted = sum(p.stat().st_size for p in files)
                print(f"  proxy mounts {len(files)} files, {mounted / 1024:.0f} KiB; per shard object:")
                for i in range(SHARDS):
                    cm = core.read_namespaced_config_map(f"{CENTRAL}-{i}", OPERATOR_SA_NAMESPACE)
                    secret = core.read_namespaced_secret(f"{CENTRAL}-{i}", OPERATOR_SA_NAMESPACE)
                    cm_bytes = sum(len(v) for v in cm.data.values())
                    secret_bytes = sum(len(v) * 3 // 4 for v in secret.data.values())
                    agents = len(json.loads(cm.data["agents.json"])["agents"])
                    print(
                        f"    shard {i}: {agents} agents, ConfigMap"
                        f" {cm_bytes / 1024:.0f} KiB, Secret {secret_bytes / 1024:.0f} KiB"
                    )

                # Proxy reload: the whole table from the mounted files, in this process.
                settings = Settings.from_env(mounted_env)
                loads = [timed(lambda: load_agent_table(settings)) for _ in range(5)]
                print(
                    f"  proxy table load ({args.agents} agents):"
                    f" median {statistics.median(loads) * 1000:.0f} ms"
                )

                # One change, then a burst of 100 changes: writes per change, time until served.
                for label, count in (("1 change", 1), ("100 changes", 100)):
                    cpu_before = cpu_seconds(operator.pid)
                    targets = list(ids)[:count]
                    started = time.monotonic()
                    for ns, name in targets:
                        custom.patch_namespaced_custom_object(
                            GROUP,
                            VERSION,
                            ns,
                            PLURAL,
                            name,
                            {"spec": {"upstream": {"allowedModels": ["gpt-4o"]}}},
                        )

                    def changed(targets: list[tuple[str, str]] = targets) -> bool:
                        for key in targets:
                            url = f"{proxy.url}/proxy/{ids[key]}/v1/chat/completions"
                            body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
                            # 422 model_not_allowed until the proxy has the new allowedModels.
                            if http.post(url, json=body).status_code == 422:
                                return False
                        return True

                    wait_for(changed, timeout=600, what=label, interval=0.2)
                    print(f"\n  {label}: served by the proxy after {time.monotonic() - started:.1f}s, "
                          f"operator CPU {cpu_seconds(operator.pid) - cpu_before:.2f}s")  # fmt: skip
                    time.sleep(3)
                    show(audit.writes(OPERATOR_USER), count, label)

                # Delete one agent: time until the proxy answers 404.
                ns, name = next(iter(ids))
                started = time.monotonic()
                custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
                url = f"{proxy.url}/proxy/{ids[(ns, name)]}/v1/chat/completions"
                wait_for(
                    lambda: http.post(url, json={}).status_code == 404, timeout=120, what="404", interval=0.1
                )
                print(f"\n  delete: 404 from the proxy after {time.monotonic() - started:.1f}s")
                time.sleep(3)
                show(audit.writes(OPERATOR_USER), 1, "delete")

                # Idle: one drift interval (30 s) with nothing changing.
                cpu_before = cpu_seconds(operator.pid)
                time.sleep(31)
                print(
                    f"\n  idle 31 s (one drift round over all agents): operator"
                    f" CPU {cpu_seconds(operator.pid) - cpu_before:.1f}s"
                )
                show(audit.writes(OPERATOR_USER), 1, "idle (per round)")
                reloads = proxy.log().count("agents reloaded")
                print(
                    f"  proxy reloads over the whole run: {reloads};"
                    f" rejected: {proxy.log().count('rejected')}"
                )
        finally:
            if proxy is not None:
                proxy.stop()
            stop_process(operator)
            log.close()
    print(f"\n(work dir {work})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
