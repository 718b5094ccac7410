"""``masker serve``: run the proxy under Hypercorn, print what a new user needs to try it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

import uvloop
from hypercorn.config import Config
from hypercorn.typing import ASGIFramework

from ..agents import AgentTable, ensure_demo_agent, load_agent_table
from ..errors import ConfigError
from ..policy import load_policies
from ..settings import Settings
from .observe import Observability
from .runtime import findings_key


def _banner(settings: Settings, demo_agent: str | None, table: AgentTable | None = None) -> str:
    server = settings.server
    base = server.public_url or f"http://{server.listen_addr}"
    lines = [f"Masker listening on http://{server.listen_addr}"]
    # Agents with their own base_url (every operator-rendered one with an upstream) never echo.
    agents = table.agents.values() if table is not None else ()
    if settings.upstream.echo and (not agents or any(a.base_url is None for a in agents)):
        lines.append(
            "No upstream configured (MASKER_OPENAI_BASE_URL / MASKER_OPENAI_API_KEY): using the built-in "
            "echo upstream. Its answer repeats your last message; 'echo_upstream.received' shows exactly "
            "what an LLM would have seen."
        )
    if demo_agent:
        lines += [
            f"Created a demo agent in {settings.agents_file}. Try:",
            "",
            f"  curl -s {base}/proxy/{demo_agent}/v1/chat/completions \\",
            "    -H 'Content-Type: application/json' \\",
            '    -d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", '
            '"content": "Hi, this is Sarah Chen, my number is 415-555-2671."}]}\'',
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="masker serve", description="Run the Masker proxy.")
    parser.add_argument("--listen", help="host:port (default MASKER_LISTEN_ADDR or 127.0.0.1:8080)")
    parser.add_argument("--workers", type=int, help="worker processes (default MASKER_WORKERS or 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    env = dict(os.environ)
    if args.listen:
        env["MASKER_LISTEN_ADDR"] = args.listen
    if args.workers:
        env["MASKER_WORKERS"] = str(args.workers)
    try:
        # Everything that can be checked is checked here, before binding: one clear line and exit
        # code 2, rather than a traceback from Hypercorn's lifespan after the banner.
        settings = Settings.from_env(env)
        demo = ensure_demo_agent(settings)
        table = load_agent_table(settings, load_policies(settings.policies_dir))
        Observability.check(settings)
        if settings.rate_limit.redis_url:
            # Generated (if missing) here, before the workers start, so they all share one key.
            findings_key(settings)
    except ConfigError as exc:
        print(f"masker: configuration error: {exc}", file=sys.stderr)
        return 2
    print(_banner(settings, demo, table), flush=True)

    config = hypercorn_config(settings)
    if settings.server.workers > 1:
        os.environ.update({k: v for k, v in env.items() if k.startswith("MASKER_")})
        return serve_workers(
            config, "masker.http.asgi:app", settings.server.workers, metrics_addr=settings.server.metrics_addr
        )

    from .app import create_app

    try:
        serve_forever(create_app(settings), config)
    except ConfigError as exc:
        print(f"masker: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [settings.server.listen_addr]
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = 20
    # Hypercorn's workers run uvloop, the same loop ``serve_forever`` uses: its socket handling costs
    # a fraction of asyncio's, and a proxy spends much of each request there.
    config.worker_class = "uvloop"
    return config


def serve_workers(
    config: Config, application_path: str, workers: int, *, metrics_addr: str | None = None
) -> int:
    """Hypercorn's own multi-process runner; each worker imports ``application_path``.

    With ``metrics_addr``, the workers write their metrics to a fresh ``PROMETHEUS_MULTIPROC_DIR``
    and this (parent) process serves them on that one port."""
    import shutil
    import tempfile

    from hypercorn.run import run

    from ..observability.metrics import start_multiprocess_metrics_server
    from .observe import MULTIPROC_EXPORTER_ENV

    config.application_path = application_path
    config.workers = workers
    if not metrics_addr:
        return run(config)
    directory = tempfile.mkdtemp(prefix="masker-metrics-")
    # Set before the workers are spawned: prometheus-client picks its value store at import.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.environ[MULTIPROC_EXPORTER_ENV] = "1"
    server = start_multiprocess_metrics_server(metrics_addr, directory)
    try:
        return run(config)
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def serve_forever(app: ASGIFramework, config: Config) -> None:
    """One process on uvloop until SIGINT/SIGTERM, then Hypercorn's graceful shutdown."""
    from hypercorn.asyncio import serve

    shutdown = asyncio.Event()

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, shutdown.set)
        await serve(app, config, shutdown_trigger=shutdown.wait)

    uvloop.run(runner())
