"""OpenAI-shaped JSON and SSE responses."""

from __future__ import annotations

from typing import Any

from quart import Response

from .. import jsonfast
from ..errors import MaskerError


def json_response(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = jsonfast.dumps(data)
    return Response(body, status=status, headers=headers or {}, content_type="application/json")


def error_response(exc: MaskerError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)
