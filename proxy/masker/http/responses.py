"""OpenAI-shaped JSON and SSE responses."""

from __future__ import annotations

import logging
from typing import Any

from quart import Response

from .. import jsonfast
from ..errors import BadRequest, MaskerError, PayloadTooLarge

log = logging.getLogger("masker")


def json_response(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = jsonfast.dumps(data)
    return Response(body, status=status, headers=headers or {}, content_type="application/json")


def error_response(exc: MaskerError) -> Response:
    return json_response(exc.body(), exc.status, exc.headers)


def internal_error(exc: BaseException) -> MaskerError:
    """The 500 for an exception nothing else handled. Logs the type name only: an exception
    message may carry request text."""
    log.error("unhandled error: %s", type(exc).__name__)
    return MaskerError("Internal error.")


def status_error(status: int) -> MaskerError:
    """The OpenAI-shaped error for a bare HTTP status (404, 405, 408, 413...), whether Quart raised
    it or the chat endpoints did: one mapping, so both paths answer alike."""
    if status == 413:
        return PayloadTooLarge("Request body is too large.")
    return BadRequest(
        "Not found." if status == 404 else "Request could not be handled.",
        code="not_found" if status == 404 else "invalid_request",
        status=status,
    )
