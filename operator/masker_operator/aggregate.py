"""Pure builders for central serving: every centrally served MaskerAgent, in the objects the chart's
proxy Deployment mounts.

The per-agent ConfigMap/Secret (render.py) serve sidecars in the agent's own namespace. The
central proxy runs in the release namespace and cannot mount objects of other namespaces, so the
operator also keeps an aggregate there: ``<name>-<i>`` for shard ``i``, a ConfigMap whose key
``agents.json`` is an agents file (docs/agents-file.md) and a Secret with the matching secret
files. An agent's shard follows from its id alone, so a change rewrites one shard, not all.

Tenants stay apart: an entry carries ``secrets_scope: <agent id>`` and its secret files are named
``<agent id>.<name>``, so two agents called ``front-desk`` in two namespaces share neither key
material nor upstream credentials (key *names*, and so token key ids, stay what the sidecar uses).
The agent id is the key of the proxy's table: when two agents claim one id, the one already
served keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .names import MANAGED_BY
from .render import AgentRef

AGENTS_JSON = "agents.json"  # ConfigMap key; the proxy parses .json files with json.loads
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "central-agents"
# Bytes of an object beyond its data (metadata, keys, JSON framing), kept off the budget.
_OVERHEAD = 4096

Key = tuple[str, str]  # (namespace, name) of a MaskerAgent


@dataclass(frozen=True)
class Member:
    """One agent's part of the aggregate: its agents-file entry and its secret files."""

    key: Key
    agent_id: str
    entry: Mapping[str, Any] = field(hash=False)
    secrets: Mapping[str, str] = field(hash=False, repr=False)  # scoped file name -> value
    uid: str | None = None  # None when recovered from the aggregate itself (operator restart)

    @property
    def sizes(self) -> tuple[int, int]:
        """Bytes this member adds to its shard's ConfigMap and to its Secret."""
        entry = len(json.dumps(self.entry, separators=(",", ":"), sort_keys=True)) + 1
        return entry, sum(len(k) + len(v) for k, v in self.secrets.items())

    def same_content(self, other: Member) -> bool:
        return (self.key, self.entry, self.secrets) == (other.key, other.entry, other.secrets)


@dataclass(frozen=True)
class Shard:
    index: int
    agents_json: str
    secrets: Mapping[str, str] = field(repr=False)  # decoded values
    members: tuple[Key, ...]


@dataclass(frozen=True)
class AggregatePlan:
    shards: tuple[Shard, ...]
    overflow: tuple[Key, ...] = ()  # not served: their shard is full
    duplicates: tuple[Key, ...] = ()  # not served: an earlier agent holds the same id


def member(agent: AgentRef, entry: Mapping[str, Any], secret_data: Mapping[str, str]) -> Member:
    """The aggregate's copy of one agent: the entry and decoded Secret data the sidecar gets."""
    agent_id = str(entry["id"])
    return Member(
        key=(agent.namespace, agent.name),
        agent_id=agent_id,
        entry={**entry, "secrets_scope": agent_id},
        secrets={f"{agent_id}.{name}": value for name, value in sorted(secret_data.items())},
        uid=agent.uid,
    )


def shard_of(agent_id: str, shards: int) -> int:
    """Stable across processes and restarts (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(agent_id.encode()).digest()[:8], "big") % shards


def agents_json(entries: Sequence[Mapping[str, Any]]) -> str:
    """One shard's agents file, sorted by tenant and name so equal sets give equal bytes."""
    ordered = sorted(entries, key=lambda e: (str(e.get("namespace", "")), str(e.get("name", ""))))
    return json.dumps({"version": 1, "agents": ordered}, separators=(",", ":"), sort_keys=True)


def plan_aggregate(members: Sequence[Member], shards: int, budget: int) -> AggregatePlan:
    """Shard the members. ``members`` is in incumbency order (served longest first): a later
    member loses an id clash, and a full shard drops its latest members, never earlier ones."""
    taken: set[str] = set()
    duplicates: list[Key] = []
    overflow: list[Key] = []
    buckets: list[list[Member]] = [[] for _ in range(shards)]
    used = [(0, 0)] * shards
    for m in members:
        if m.agent_id in taken:
            duplicates.append(m.key)
            continue
        taken.add(m.agent_id)
        index = shard_of(m.agent_id, shards)
        config, secret = used[index][0] + m.sizes[0], used[index][1] + m.sizes[1]
        if max(config, secret) > budget - _OVERHEAD:
            overflow.append(m.key)
            continue
        used[index] = (config, secret)
        buckets[index].append(m)
    built = tuple(
        Shard(
            index=i,
            agents_json=agents_json([m.entry for m in bucket]),
            secrets={k: v for m in bucket for k, v in m.secrets.items()},
            members=tuple(sorted(m.key for m in bucket)),
        )
        for i, bucket in enumerate(buckets)
    )
    return AggregatePlan(shards=built, overflow=tuple(overflow), duplicates=tuple(duplicates))


def shard_object_name(name: str, index: int) -> str:
    return f"{name}-{index}"


def _metadata(name: str, namespace: str, index: int) -> dict[str, Any]:
    return {
        "name": shard_object_name(name, index),
        "namespace": namespace,
        "labels": {**MANAGED_BY, COMPONENT_LABEL: COMPONENT},
    }


def shard_configmap(name: str, namespace: str, index: int, agents: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(name, namespace, index),
        "data": {AGENTS_JSON: agents},
    }


def shard_secret(name: str, namespace: str, index: int, secrets: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _metadata(name, namespace, index),
        "data": {k: base64.b64encode(v.encode()).decode("ascii") for k, v in sorted(secrets.items())},
    }


def members_from_shard(agents: str | None, secret_data: Mapping[str, str]) -> list[Member]:
    """Read back a written shard (decoded Secret data), to resume without a gap after a restart."""
    if not agents:
        return []
    try:
        entries = json.loads(agents).get("agents") or []
    except (ValueError, AttributeError):
        return []  # not ours to interpret; the next write replaces it
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        agent_id = entry["id"]
        prefix = f"{agent_id}."
        found.append(
            Member(
                key=(str(entry.get("namespace", "")), str(entry.get("name", ""))),
                agent_id=agent_id,
                entry=entry,
                secrets={k: v for k, v in secret_data.items() if k.startswith(prefix)},
            )
        )
    return found


def secret_writes(
    current: Mapping[str, str], desired: Mapping[str, str]
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The Secret contents to write before and after the ConfigMap (None = no write).

    Before: everything desired plus what the mounted ConfigMap may still reference, so a proxy
    never reads an entry whose secret files are gone; after: only what is desired.
    """
    before = {**current, **desired}
    first = before if before != dict(current) else None
    second = dict(desired) if dict(desired) != before else None
    return first, second
