"""The proxy's runtime: every long-lived resource of one process, opened together, closed together.

``Runtime.open`` builds everything from ``Settings`` (policies and the agent table are validated
first, so a bad name never reaches a listening server); each resource registers its release on one
``AsyncExitStack`` as it opens, so ``close`` (or a failure half-way through ``open``) releases
exactly what was opened, in reverse order.
The app factory calls them from Quart's ``before_serving`` / ``after_serving``; the chat endpoints
and the Quart routes read the runtime from ``app.extensions["masker"]`` (``runtime_of``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from masker_contracts.heap import PauseWatch, freeze_startup_heap, probe_full_collections

from .. import __version__
from ..agents import Agent, AgentTable, file_fingerprint, load_agent_table
from ..answers import ResponseChains
from ..context import ContextResolver, Upstreams
from ..detect.types import DetectOptions, Detector
from ..errors import ConfigError
from ..input_limits import InputLimits
from ..memory import MemoryBudget
from ..pipeline import ChatPipeline, RequestRecord
from ..platforms import TurnLedger
from ..policy import Policy, load_policies
from ..redaction_memo import PrefixMemo
from ..settings import Settings, findings_key_bytes
from ..tokens.codec import Codec, codec_regions
from ..tokens.keys import local_secret
from ..tokens.store import VaultStore, store_from_url
from ..upstream.client import UpstreamClient
from ..upstream.echo import EchoTransport
from .observe import Observability, pause_observer, publish_memory

log = logging.getLogger("masker.config")
EXTENSION = "masker"


def default_detector(
    settings: Settings, on_ner_call: Callable[[float], None], budget: MemoryBudget | None = None
) -> Detector:
    """Patterns + NER (over gRPC when ``MASKER_NER_ADDR`` is set, else in-process), each NER call
    timed into ``on_ner_call``; findings cached within ``budget`` and, with ``MASKER_REDIS_URL``,
    shared with the other workers and replicas (the detector's ``close`` closes that store)."""
    from ..detect.cache import FindingsCache, SharedFindings
    from ..detect.engine import DetectionEngine
    from ..detect.timed import TimedNer
    from ..detect.types import NerBackend

    backend: NerBackend
    ner = settings.ner
    if ner.addr:
        from ..detect.ner_grpc import GrpcNer

        try:
            backend = GrpcNer(
                ner.addr,
                timeout_ms=ner.timeout_ms,
                timeout_per_kchar_ms=ner.timeout_per_kchar_ms,
                breaker_failures=ner.breaker_failures,
                breaker_cooldown_ms=ner.breaker_cooldown_ms,
                tls_ca=ner.tls_ca,
                tls_cert=ner.tls_cert,
                tls_key=ner.tls_key,
                tls_server_name=ner.tls_server_name,
            )
        except (OSError, ValueError) as exc:  # e.g. a certificate path that cannot be read
            raise ConfigError(f"NER client: {exc}") from exc
    else:
        from ..detect.inprocess import InProcessNer

        backend = InProcessNer(ner.model, max_wait_ms=ner.max_wait_ms)
    shared = None
    if settings.rate_limit.redis_url:
        shared = SharedFindings.from_url(
            settings.rate_limit.redis_url,
            findings_key(settings),
            generation=f"{__version__}:{backend_name(settings)}",
        )
    return DetectionEngine(
        ner=TimedNer(backend, on_ner_call),
        cache=FindingsCache(budget=budget, shared=shared),
        budget_seconds=settings.limits.detect_budget_seconds,
    )


def backend_name(settings: Settings) -> str:
    """Which model answered: findings from another detector build are not shared with this one."""
    if settings.ner.addr:
        return "grpc"
    return f"inprocess:{settings.ner.model}" if settings.ner.model else "inprocess"


def findings_key(settings: Settings) -> bytes:
    """The shared findings store's HMAC key: ``MASKER_FINDINGS_HMAC_KEY`` (checked by Settings), else
    one generated in the data dir (shared by the workers that share it)."""
    if settings.cache.findings_hmac_key is not None:
        return settings.cache.findings_hmac_key
    try:
        return findings_key_bytes(local_secret(settings.server.data_dir, "MASKER_FINDINGS_HMAC_KEY"))
    except ConfigError as exc:
        raise ConfigError(f"{exc} (the generated key in the data dir is damaged)") from None


@dataclass
class Runtime:
    settings: Settings
    detector: Detector
    store: VaultStore
    upstreams: Upstreams
    observability: Observability
    resolver: ContextResolver
    pipeline: ChatPipeline
    table: AgentTable
    limits: InputLimits
    observer: Callable[[RequestRecord], None]  # accounts for each finished request, a turn once
    budget: MemoryBudget  # one byte budget for every cache and codec of the process
    turns: TurnLedger = field(default_factory=TurnLedger)  # logical turns seen (retries, re-posts)
    chains: ResponseChains = field(default_factory=ResponseChains)  # previous_response_id links
    codecs: dict[tuple[str, str, tuple[str, ...]], Codec] = field(default_factory=dict)
    reload_failures: int = 0
    reloads: int = 0
    _resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def policies(self) -> Mapping[str, Policy]:
        return self.resolver.policies

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        upstream_transport: httpx.AsyncBaseTransport | None = None,
        detector: Detector | None = None,
    ) -> Runtime:
        policies = load_policies(settings.policies_dir)
        table = load_agent_table(settings, policies)
        async with contextlib.AsyncExitStack() as resources:
            store = store_from_url(settings.database_url)
            await store.open()
            resources.push_async_callback(store.close)
            observability = Observability.start(settings)
            resources.push_async_callback(observability.close)
            timeout = settings.upstream.timeout
            upstreams = Upstreams(
                real=UpstreamClient(upstream_transport, timeout=timeout),
                echo=UpstreamClient(EchoTransport(), timeout=timeout),
                default_base_url=settings.upstream.base_url,
                default_api_key=settings.upstream.api_key,
                echo_default=settings.upstream.echo,
            )
            resources.push_async_callback(upstreams.real.close)
            resources.push_async_callback(upstreams.echo.close)
            budget = MemoryBudget(int(settings.cache.memory_budget_mb * 1024 * 1024))
            codec_regions(budget)  # made now, so the start-up freeze takes them out of collections
            the_detector = detector or default_detector(
                settings, observability.metrics.ner_latency.observe, budget
            )
            resources.push_async_callback(the_detector.close)
            # Load the model now, not on the first caller's turn (~2 s for spaCy). A remote NER
            # service that is down must not stop the proxy from starting: requests then follow the
            # fail mode.
            with contextlib.suppress(Exception):
                await the_detector.detect(["Warm-up call from Masker at start."], DetectOptions())
            limits = settings.limits
            runtime = cls(
                settings=settings,
                detector=the_detector,
                store=store,
                upstreams=upstreams,
                observability=observability,
                resolver=ContextResolver(settings, policies, upstreams),
                pipeline=ChatPipeline(
                    tracing=observability.tracing,
                    detector=the_detector,
                    max_messages=limits.max_messages,
                    history=PrefixMemo(budget=budget),
                ),
                table=table,
                limits=InputLimits(limits.max_body_bytes, limits.max_messages, limits.max_json_depth),
                observer=observability.finish,
                budget=budget,
            )
            runtime.observer = runtime.turns.once(observability.finish)
            for work in (
                runtime.watch_config(),
                runtime.maintain_vault(),
                budget.sweep_forever(),  # entries expire by time, looked up again or not
                publish_memory(observability.metrics, budget, the_detector),
            ):
                resources.push_async_callback(_stop, asyncio.get_running_loop().create_task(work))
            runtime._resources = resources.pop_all()  # opened: from now on ``close`` owns them
        freeze_startup_heap()
        watch = PauseWatch(pause_observer(observability.metrics)).install()
        runtime._resources.callback(watch.remove)
        if settings.server.gc_probe_seconds > 0:
            probe = asyncio.get_running_loop().create_task(
                probe_full_collections(watch, settings.server.gc_probe_seconds)
            )
            runtime._resources.push_async_callback(_stop, probe)
        return runtime

    async def close(self) -> None:
        await self._resources.aclose()

    def codec_for(self, agent: Agent) -> Codec:
        key = (agent.id, agent.tokenization, tuple(k.name for k in agent.keyring.keys))
        codec = self.codecs.get(key)
        if codec is None or codec.keyring is not agent.keyring:
            codec = Codec(
                agent.id,
                agent.keyring,
                mode=agent.tokenization,
                store=self.store,
                ttl_seconds=self.settings.vault.ttl_seconds,
                budget=self.budget,
            )
            self.codecs[key] = codec
        return codec

    async def maintain_vault(self, interval: float = 60.0) -> None:
        """Drop expired vault rows and publish the vault's size, once a minute."""
        while True:
            try:
                if self.settings.vault.ttl_seconds:
                    await self.store.purge_expired()
                self.observability.metrics.vault_size_bytes.set(await self.store.size_bytes())
            except Exception as exc:  # the vault may be down; requests report that themselves
                log.warning("vault maintenance skipped: %s", type(exc).__name__)
            await asyncio.sleep(interval)

    async def watch_config(self) -> None:
        """Poll the agents file(s) and secrets; swap the table whole, or keep the old one.

        A change is loaded only once its stat has held still for one poll, and a read during which
        the files moved is thrown away: a file written in place is never seen half-written.
        """
        pending: tuple[Any, ...] | None = None
        while True:
            await asyncio.sleep(self.settings.server.reload_interval)
            try:
                current = file_fingerprint(self.settings)
                if current == self.table.fingerprint:
                    pending = None
                    continue
                if current != pending:
                    pending = current
                    continue
                table = load_agent_table(self.settings, self.policies)
                if table.fingerprint != current or file_fingerprint(self.settings) != current:
                    pending = None
                    continue
                self.table = table
                self.reloads += 1
                log.info("agents reloaded", extra={"agents": len(self.table.agents)})
            except ConfigError as exc:
                if file_fingerprint(self.settings) != pending:  # the files moved while being read
                    pending = None
                    continue
                self.reload_failures += 1
                log.error("agents file rejected; keeping the previous table: %s", exc)
                # Remember the bad fingerprint so the same broken file is not re-parsed every tick.
                self.table = AgentTable(
                    self.table.agents, self.table.tenants, file_fingerprint(self.settings)
                )
            except Exception:  # never let the watcher die
                self.reload_failures += 1
                log.exception("agents reload failed")


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def runtime_of(extensions: Mapping[str, Any]) -> Runtime | None:
    """The app's runtime, or None while the lifespan start-up has not finished."""
    runtime: Runtime | None = extensions.get(EXTENSION)
    return runtime
