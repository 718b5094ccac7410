"""``masker ner <command>``: the NER service's command line (dispatched from ``masker.cli``).

Commands: ``serve`` runs the gRPC server; ``check`` asks a running server's health service
(used as the container's exec probe, no grpc_health_probe binary needed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

USAGE = """usage: masker ner <command> [options]

commands:
  serve    serve the NER model over gRPC (`masker ner serve --help`)
  check    exit 0 if the server at --addr reports SERVING"""


def _serve(argv: Sequence[str]) -> int:
    from .server import serve
    from .settings import SettingsError, parse_serve_args

    try:
        settings = parse_serve_args(argv)
    except SettingsError as exc:
        print(f"masker ner serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(settings))
    except (OSError, RuntimeError) as exc:  # bind failure, unreadable TLS files, model load error
        logging.getLogger("masker_ner").error("NER server failed: %s", exc)
        return 1
    return 0


def _check(argv: Sequence[str]) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    p = argparse.ArgumentParser(prog="masker ner check")
    p.add_argument("--addr", default="127.0.0.1:50051")
    p.add_argument("--service", default="", help="health service name ('' = whole server)")
    p.add_argument("--timeout", type=float, default=2.0)
    ns = p.parse_args(list(argv))
    with grpc.insecure_channel(ns.addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=ns.service), timeout=ns.timeout
            )
        except grpc.RpcError as exc:
            print(f"masker ner check: {exc.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(status)
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        return _serve(rest)
    if command == "check":
        return _check(rest)
    print(f"masker ner: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
