"""Quart routes: everything but the chat endpoints, which ``chat_asgi`` serves without Quart."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from .. import __version__
from .responses import json_response
from .runtime import runtime_of

bp = Blueprint("masker", __name__)


@bp.get("/health")
async def health() -> Response:
    runtime = runtime_of(current_app.extensions)
    if runtime is None:  # lifespan start-up has not finished
        return json_response({"status": "starting", "version": __version__}, status=503)
    report: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "db": "ok",
        "vault": "ok",
        "upstream": "echo" if runtime.settings.upstream.echo else "ok",
    }
    try:
        await runtime.store.ping()
    except Exception:
        report["db"] = report["vault"] = "error"
        report["status"] = "degraded"
    return json_response(report, status=200 if report["status"] == "ok" else 503)
