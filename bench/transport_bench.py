"""Upstream-client transport micro-benchmark (issue 2): which transport should the proxy use?

One minimal pass-through ASGI app under Hypercorn (the server the proxy runs on): read the body,
POST it upstream through ``masker.upstream.client.UpstreamClient`` (one pooled client, as the proxy
keeps), return the bytes. Only the transport changes between runs:

* ``httpx``   — ``httpx.AsyncHTTPTransport`` (httpcore), httpx's default;
* ``aiohttp`` — ``httpx_aiohttp.AiohttpTransport``, what ``UpstreamClient`` builds by default;
* ``aiohttp-native`` — ``aiohttp.ClientSession`` directly (no httpx API), for reference.

Each server is a separate process; ``bench/loadgen.py`` measures added p50/p99 at concurrency 1 and
req/s at concurrency 32 against ``bench/fake_llm.py``. Prints one JSON object.

Server mode (internal): ``python bench/transport_bench.py --serve <transport> --port P --upstream U``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
TRANSPORTS = ("httpx", "aiohttp", "aiohttp-native")


def make_app(transport: str, upstream: str) -> Any:
    import httpx

    from masker.upstream.client import UpstreamClient

    state: dict[str, Any] = {}

    async def startup() -> None:
        if transport == "httpx":
            limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
            state["client"] = UpstreamClient(httpx.AsyncHTTPTransport(limits=limits), timeout=60)
        elif transport == "aiohttp":
            state["client"] = UpstreamClient(None, timeout=60)
        else:
            import aiohttp

            state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512))

    async def forward(body: bytes) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"}
        if transport == "aiohttp-native":
            async with state["session"].post(upstream + "/chat/completions", data=body,
                                             headers=headers) as resp:
                return resp.status, await resp.read()
        response = await state["client"].post_chat(upstream, body, headers)
        try:
            raw = await response.response.aread()
        finally:
            await response.response.aclose()
        return response.status, raw

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await startup()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, raw = await forward(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": raw})

    return app


def serve(transport: str, port: int, upstream: str) -> None:
    from hypercorn.asyncio import serve as hserve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.keep_alive_timeout = 75
    stop = asyncio.Event()

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hserve(make_app(transport, upstream), config, shutdown_trigger=stop.wait)

    asyncio.run(runner())


def measure(ns: argparse.Namespace) -> dict[str, Any]:
    from run import PY, free_port, loadgen, log, spawn, start_fake, wait_http

    workdir = Path(tempfile.mkdtemp(prefix="masker-transport-"))
    fake, upstream_port = start_fake(workdir, argparse.Namespace(upstream_delay_ms=0.0))
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    lg = argparse.Namespace(n=ns.n, warmup=30, latency_seconds=30.0, seconds=ns.seconds,
                            concurrency=ns.concurrency, pool=4000)
    out: dict[str, Any] = {"n": ns.n, "concurrency": ns.concurrency, "seconds": ns.seconds, "transports": []}
    try:
        direct = loadgen(upstream + "/chat/completions", "latency", "voice", lg)["latency_ms"]
        out["direct_p50_ms"] = direct["p50"]
        for name in TRANSPORTS:
            port = free_port()
            argv = [PY, str(BENCH / "transport_bench.py"), "--serve", name, "--port", str(port),
                    "--upstream", upstream]
            proc = spawn(f"transport-{name}", argv, dict(os.environ), workdir)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_http_post(proc, url, wait_http)
                log(f"transport {name}")
                lat = loadgen(url + "/", "latency", "voice", lg)["latency_ms"]
                tp = loadgen(url + "/", "throughput", "voice", lg)
                out["transports"].append({
                    "name": name, "added_p50_ms": lat["p50"] - direct["p50"],
                    "added_p99_ms": lat["p99"] - direct["p99"], "rps": tp["rps"],
                    "errors": tp["error_count"],
                })
            finally:
                proc.stop()
    finally:
        fake.stop()
    return out


def wait_http_post(proc: Any, url: str, wait_http: Any) -> None:
    # The pass-through app answers any path (by forwarding); a GET with no body is fine for readiness.
    wait_http(proc, url + "/", timeout=60)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", choices=TRANSPORTS)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--upstream", default="")
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--concurrency", type=int, default=32)
    ns = p.parse_args()
    if ns.serve:
        serve(ns.serve, ns.port, ns.upstream)
        return
    print(json.dumps(measure(ns)), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
