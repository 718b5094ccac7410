"""Long-lived objects of one proxy process, opened at start and closed at shutdown."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from ..agents import Agent, AgentTable, file_fingerprint, load_agent_table
from ..detect.types import Detector
from ..errors import ConfigError
from ..input_limits import InputLimits
from ..memory import MemoryBudget
from ..pipeline import ChatPipeline
from ..policy import Policy
from ..settings import Settings
from ..tokens.codec import Codec
from ..tokens.store import VaultStore
from .observe import Observability

log = logging.getLogger("masker.config")


@dataclass
class ProxyState:
    settings: Settings
    detector: Detector
    store: VaultStore
    pipeline: ChatPipeline
    policies: dict[str, Policy]
    table: AgentTable
    budget: MemoryBudget = field(default_factory=MemoryBudget)
    codecs: dict[tuple[str, str, tuple[str, ...]], Codec] = field(default_factory=dict)
    reload_failures: int = 0
    reloads: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    observability: Observability | None = None

    @functools.cached_property  # settings never change in a running process
    def limits(self) -> InputLimits:
        return InputLimits(
            self.settings.max_body_bytes, self.settings.max_messages, self.settings.max_json_depth
        )

    def codec_for(self, agent: Agent) -> Codec:
        key = (agent.id, agent.tokenization, tuple(k.name for k in agent.keyring.keys))
        codec = self.codecs.get(key)
        if codec is None or codec.keyring is not agent.keyring:
            codec = Codec(
                agent.id,
                agent.keyring,
                mode=agent.tokenization,
                store=self.store,
                ttl_seconds=self.settings.vault_ttl_seconds,
                budget=self.budget,
            )
            self.codecs[key] = codec
        return codec

    def policy_for(self, agent: Agent, requested: str | None) -> Policy:
        if requested:
            policy = self.policies.get(requested)
            if policy is None:
                from ..errors import BadRequest

                raise BadRequest("Unknown policy_id.", param="policy_id", code="unknown_policy")
            return policy
        if agent.policy_inline is not None:
            return agent.policy_inline
        return self.policies.get(agent.policy) or self.policies["default"]

    async def maintain_vault(self, interval: float = 60.0) -> None:
        """Drop expired vault rows and publish the vault's size, once a minute."""
        while True:
            try:
                if self.settings.vault_ttl_seconds:
                    await self.store.purge_expired()
                if self.observability is not None:
                    self.observability.metrics.vault_size_bytes.set(await self.store.size_bytes())
            except Exception as exc:  # the vault may be down; requests report that themselves
                log.warning("vault maintenance skipped: %s", type(exc).__name__)
            await asyncio.sleep(interval)

    async def watch_config(self) -> None:
        """Poll the agents file and secrets; swap the table whole, or keep the old one."""
        while True:
            await asyncio.sleep(self.settings.reload_interval)
            try:
                if file_fingerprint(self.settings) == self.table.fingerprint:
                    continue
                self.table = load_agent_table(self.settings)
                self.reloads += 1
                log.info("agents reloaded", extra={"agents": len(self.table.agents)})
            except ConfigError as exc:
                self.reload_failures += 1
                log.error("agents file rejected; keeping the previous table: %s", exc)
                # Remember the bad fingerprint so the same broken file is not re-parsed every tick.
                self.table = AgentTable(
                    self.table.agents, self.table.tenants, file_fingerprint(self.settings)
                )
            except Exception:  # never let the watcher die
                self.reload_failures += 1
                log.exception("agents reload failed")
