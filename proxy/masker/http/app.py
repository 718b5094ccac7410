"""The app factory: ``create_app(settings, *, upstream_transport=None, detector=None)``.

The ASGI app it returns serves the chat endpoints itself (``chat_asgi``) and hands the rest to Quart.

Pools, clients, the vault and the detector are opened in ``before_serving`` and closed in
``after_serving``; they live on ``app.extensions["masker"]`` (a ``ProxyState``), never in globals.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import httpx
from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from .. import __version__
from ..agents import load_agent_table
from ..detect.types import DetectOptions, Detector
from ..errors import ConfigError, MaskerError
from ..heap import PauseWatch, freeze_startup_heap
from ..memory import MemoryBudget
from ..pipeline import ChatPipeline, Upstreams
from ..policy import load_policies
from ..redaction_memo import PrefixMemo
from ..settings import Settings
from ..tokens.keys import local_secret
from ..tokens.store import store_from_url
from ..upstream.client import UpstreamClient
from ..upstream.echo import EchoTransport
from .chat_asgi import BODY_TIMEOUT_SECONDS, ChatEndpoints
from .observe import Observability, publish_memory
from .responses import error_response, internal_error, status_error
from .routes import bp
from .state import ProxyState


def default_detector(
    settings: Settings, on_ner_call: Callable[[float], None], budget: MemoryBudget | None = None
) -> Detector:
    """Patterns + NER (over gRPC when ``MASKER_NER_ADDR`` is set, else in-process), each NER call
    timed into ``on_ner_call``; findings cached within ``budget`` and, with ``MASKER_REDIS_URL``,
    shared with the other workers and replicas."""
    from ..detect.cache import FindingsCache, SharedFindings
    from ..detect.engine import DetectionEngine
    from ..detect.timed import TimedNer
    from ..detect.types import NerBackend

    backend: NerBackend
    if settings.ner_addr:
        from ..detect.ner_grpc import GrpcNer

        backend = GrpcNer.from_env(settings.env)
    else:
        from ..detect.inprocess import InProcessNer

        backend = InProcessNer(max_wait_ms=settings.ner_max_wait_ms)
    shared = None
    if settings.redis_url:
        shared = SharedFindings.from_url(
            settings.redis_url, findings_key(settings), generation=f"{__version__}:{backend_name(settings)}"
        )
    cache = FindingsCache(budget=budget, shared=shared)
    return DetectionEngine(ner=TimedNer(backend, on_ner_call), cache=cache)


def backend_name(settings: Settings) -> str:
    """Which model answered: findings from another detector build are not shared with this one."""
    return "grpc" if settings.ner_addr else "inprocess"


def findings_key(settings: Settings) -> bytes:
    """The HMAC key of the shared findings store: ``MASKER_FINDINGS_HMAC_KEY`` (base64 or text, from
    the secret), else one generated in the data dir (shared by workers that share it)."""
    import base64
    import binascii

    name = "MASKER_FINDINGS_HMAC_KEY"
    raw = settings.env.get(name) or local_secret(settings.data_dir, name)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        key = raw.encode()
    if len(key) < 16:
        raise ConfigError("MASKER_FINDINGS_HMAC_KEY must hold at least 16 bytes")
    return key


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    detector: Detector | None = None,
) -> ChatEndpoints:
    app = Quart("masker")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RESPONSE_TIMEOUT=None,  # streams last as long as the model talks
        BODY_TIMEOUT=BODY_TIMEOUT_SECONDS,
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.register_blueprint(bp)

    @app.before_serving
    async def open_state() -> None:
        policies = load_policies(settings.policies_dir)
        table = load_agent_table(settings)
        store = store_from_url(settings.resolved_database_url)
        await store.open()
        upstreams = Upstreams(
            real=UpstreamClient(upstream_transport, timeout=settings.upstream_timeout),
            echo=UpstreamClient(EchoTransport(), timeout=settings.upstream_timeout),
            default_base_url=settings.openai_base_url,
            default_api_key=settings.openai_api_key,
            echo_default=settings.echo_upstream,
        )
        observability = Observability.start(settings)
        budget = MemoryBudget(int(settings.memory_budget_mb * 1024 * 1024))
        the_detector = detector or default_detector(
            settings, observability.metrics.ner_latency.observe, budget
        )
        # Load the model now, not on the first caller's turn (~2 s for spaCy). A remote NER service
        # that is down must not stop the proxy from starting: requests then follow the policy.
        with contextlib.suppress(Exception):
            await the_detector.detect(["Warm-up call from Masker at start."], DetectOptions())
        pipeline = ChatPipeline(
            tracing=observability.tracing,
            detector=the_detector,
            upstreams=upstreams,
            default_fail_mode=settings.default_fail_mode,
            max_messages=settings.max_messages,
            history=PrefixMemo(budget=budget),
        )
        state = ProxyState(
            settings=settings,
            detector=the_detector,
            store=store,
            pipeline=pipeline,
            policies=policies,
            table=table,
            budget=budget,
        )
        state.extras["upstreams"] = upstreams
        state.observability = observability
        app.extensions["masker_observer"] = observability.finish
        loop = asyncio.get_running_loop()
        state.extras["watcher"] = loop.create_task(state.watch_config())
        state.extras["vault-maintenance"] = loop.create_task(state.maintain_vault())
        state.extras["memory-sweep"] = loop.create_task(budget.sweep_forever())
        state.extras["memory-books"] = loop.create_task(
            publish_memory(observability.metrics, budget, the_detector)
        )
        app.extensions["masker"] = state
        freeze_startup_heap()
        gc_pause = observability.metrics.gc_pause
        pauses = [gc_pause.labels(generation=str(g)) for g in range(3)]
        state.extras["gc-pauses"] = PauseWatch(lambda g, s: pauses[g].observe(s)).install()

    @app.after_serving
    async def close_state() -> None:
        state: ProxyState | None = app.extensions.get("masker")
        if state is None:
            return
        for name in ("watcher", "vault-maintenance", "memory-sweep", "memory-books"):
            task = state.extras.pop(name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        watch: PauseWatch | None = state.extras.pop("gc-pauses", None)
        if watch is not None:
            watch.remove()
        upstreams: Upstreams = state.extras["upstreams"]
        await upstreams.real.close()
        await upstreams.echo.close()
        await state.detector.close()
        await state.store.close()
        if state.observability is not None:
            await state.observability.close()

    @app.errorhandler(MaskerError)
    async def masker_error(exc: MaskerError) -> Response:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        return error_response(status_error(exc.code or 500))

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        return error_response(internal_error(exc))

    return ChatEndpoints(app)
