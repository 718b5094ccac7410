"""Keeps the central proxy's aggregate (aggregate.py) current: members in memory, written in batches.

Handlers report each agent's rendered state (``put``/``remove``) from Kopf's worker threads; one
thread writes the aggregate at most once per batch window. Each write reads the shard objects
first and writes only what differs, so quiet rounds cost reads only, and the same pass repairs
objects someone edited or deleted (on the drift interval when nothing else changes).

On start the aggregate is read back, so a restarted operator keeps serving every agent it served
before while Kopf resumes them one by one; agents deleted meanwhile are dropped (one list call).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from .aggregate import (
    AGENTS_JSON,
    AggregatePlan,
    Key,
    Member,
    Shard,
    members_from_shard,
    plan_aggregate,
    secret_writes,
    shard_configmap,
    shard_object_name,
    shard_secret,
)
from .errors import OperatorError
from .kube import Kube
from .render import decode_secret_data, needs_update
from .settings import AggregateSettings

log = logging.getLogger("masker_operator.aggregate")
RETRY_SECONDS = 2.0


class Publisher:
    """The aggregate's single writer (the operator runs one replica)."""

    def __init__(
        self,
        kube: Kube,
        settings: AggregateSettings,
        namespaces: tuple[str, ...],
        resync_seconds: float,
    ) -> None:
        if settings.namespace is None:
            raise ValueError("central serving is off (no aggregate namespace)")
        self._kube = kube
        self._settings = settings
        self._namespace: str = settings.namespace
        self._watched = namespaces
        self._resync = resync_seconds
        self._lock = threading.Lock()
        self._members: dict[Key, Member] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._excluded: tuple[tuple[Key, ...], tuple[Key, ...]] = ((), ())
        self._changes = 0  # bumped by every change of the members
        self._written = -1  # the change count the last successful write covered
        self.flushes = 0
        self.writes = 0

    # --- called from handlers (any thread) ----------------------------------------------

    def put(self, member: Member) -> None:
        with self._lock:
            old = self._members.get(member.key)
            self._members[member.key] = member  # an update keeps its place: incumbency order
            if old is not None and old.same_content(member):
                return
            self._changes += 1
        self._wake.set()

    def remove(self, key: Key, uid: str | None = None) -> None:
        with self._lock:
            old = self._members.get(key)
            if old is None or (uid and old.uid and old.uid != uid):
                return  # already gone, or a re-created agent of the same name now holds the key
            del self._members[key]
            self._changes += 1
        self._wake.set()

    def members(self) -> list[Member]:
        with self._lock:
            return list(self._members.values())

    @property
    def settled(self) -> bool:
        """Every change so far is written (what the proxy mounts is current)."""
        with self._lock:
            return self._written == self._changes

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Recover the written aggregate, then write in the background."""
        self._recover()
        self._thread = threading.Thread(target=self._run, name="masker-aggregate", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _recover(self) -> None:
        recovered: list[Member] = []
        for index in range(self._settings.shards):
            name = shard_object_name(self._settings.name, index)
            cm = self._kube.get_configmap(self._namespace, name)
            secret = self._kube.get_secret(self._namespace, name)
            agents = ((cm or {}).get("data") or {}).get(AGENTS_JSON)
            recovered += members_from_shard(agents, decode_secret_data((secret or {}).get("data")))
        live = self._kube.list_agent_keys(self._watched)
        with self._lock:
            for m in recovered:
                if m.key in live and m.key not in self._members:
                    self._members[m.key] = m
        gone = len({m.key for m in recovered} - live)
        log.info("central aggregate: %d agents recovered, %d deleted meanwhile", len(recovered) - gone, gone)
        self._wake.set()  # one pass at start: repairs drift and drops the deleted

    def _drop_gone(self) -> None:
        """Resync: forget agents that no longer exist (a deletion the handlers did not see)."""
        live = self._kube.list_agent_keys(self._watched)
        with self._lock:
            gone = [key for key in self._members if key not in live]
            for key in gone:
                del self._members[key]
            self._changes += bool(gone)

    def _run(self) -> None:
        next_resync = time.monotonic() + self._resync
        while True:
            woke = self._wake.wait(timeout=max(0.0, next_resync - time.monotonic()))
            if woke and not self._stopping.is_set():
                # Let the rest of a burst arrive: one write per object per window.
                self._stopping.wait(self._settings.batch_seconds)
            self._wake.clear()
            resync = time.monotonic() >= next_resync
            try:
                if resync:  # also under constant churn, once per interval
                    self._drop_gone()
                self.flush()
                if resync:
                    next_resync = time.monotonic() + self._resync
            except OperatorError as exc:
                log.warning("central aggregate not written, retrying: %s", exc)
                if not self._stopping.wait(RETRY_SECONDS):
                    self._wake.set()
                    continue
            if self._stopping.is_set():
                return

    # --- the write ------------------------------------------------------------------------

    def flush(self) -> AggregatePlan:
        """Write every shard that differs from what the members give; returns the plan."""
        with self._lock:
            members, changes = list(self._members.values()), self._changes
        plan = plan_aggregate(members, self._settings.shards, self._settings.shard_budget_bytes)
        for shard in plan.shards:
            self._write_shard(shard)
        with self._lock:
            self._written = changes
        self.flushes += 1
        excluded = (plan.overflow, plan.duplicates)
        if excluded != self._excluded:
            self._excluded = excluded
            for ns, name in plan.overflow:
                log.error(
                    "MaskerAgent %s/%s is not served centrally: its shard is full (raise the shard count)",
                    ns,
                    name,
                )
            for ns, name in plan.duplicates:
                log.error("MaskerAgent %s/%s is not served centrally: its agent id is taken", ns, name)
        return plan

    def _write_shard(self, shard: Shard) -> None:
        ns, name = self._namespace, shard_object_name(self._settings.name, shard.index)
        cm = self._kube.get_configmap(ns, name)
        secret = self._kube.get_secret(ns, name)
        if cm is None and secret is None and not shard.members:
            return  # never needed yet: the proxy mounts missing shards as empty
        current = decode_secret_data((secret or {}).get("data"))
        before, after = secret_writes(current, shard.secrets)
        # Secret first (new material), ConfigMap, then the Secret without what left: a proxy
        # never reads an entry whose secret files are not there.
        self._write(
            secret, shard_secret(self._settings.name, ns, shard.index, current if before is None else before)
        )
        self._write(cm, shard_configmap(self._settings.name, ns, shard.index, shard.agents_json))
        if after is not None:
            fresh = self._kube.get_secret(ns, name)
            self._write(fresh, shard_secret(self._settings.name, ns, shard.index, after))

    def _write(self, existing: Mapping[str, Any] | None, desired: dict[str, Any]) -> None:
        """Create, or replace when it differs (optimistic concurrency: a race is a 409, retried)."""
        kind = desired["kind"]
        meta = desired["metadata"]
        if existing is None:
            (self._kube.create_configmap if kind == "ConfigMap" else self._kube.create_secret)(desired)
        elif needs_update(existing, desired):
            old = existing.get("metadata") or {}
            body = {
                **desired,
                "metadata": {
                    **meta,
                    "labels": {**(old.get("labels") or {}), **meta["labels"]},
                    "annotations": old.get("annotations") or {},
                    "resourceVersion": old.get("resourceVersion"),
                },
            }
            (self._kube.replace_configmap if kind == "ConfigMap" else self._kube.replace_secret)(body)
        else:
            return
        self.writes += 1
