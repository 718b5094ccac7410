"""Quart routes: everything but the chat endpoints, which ``chat_asgi`` serves without Quart."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from .. import __version__
from .responses import json_response
from .state import ProxyState

bp = Blueprint("masker", __name__)


@bp.get("/health")
async def health() -> Response:
    state: ProxyState = current_app.extensions["masker"]
    report: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "db": "ok",
        "vault": "ok",
        "upstream": "echo" if state.settings.echo_upstream else "ok",
    }
    try:
        await state.store.ping()
    except Exception:
        report["db"] = report["vault"] = "error"
        report["status"] = "degraded"
    return json_response(report, status=200 if report["status"] == "ok" else 503)
