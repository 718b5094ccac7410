"""Request-body parsing with limits: each problem is a clear 4xx, never a 500 or a hang."""

from __future__ import annotations

import json
from typing import Any

from ..errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_JSON_TYPES = ("application/json", "text/json", "application/json-patch+json")


def _depth_ok(node: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return True


def parse_body(raw: bytes, content_type: str | None, *, max_bytes: int, max_depth: int) -> dict[str, Any]:
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media and media not in _JSON_TYPES and not media.endswith("+json"):
            raise UnsupportedMediaType("Content-Type must be application/json.")
    if len(raw) > max_bytes:
        raise PayloadTooLarge("Request body is too large.")
    if not raw.strip():
        raise BadRequest("Request body is empty; expected a JSON object.", code="invalid_json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("Request body is not valid UTF-8.", code="invalid_encoding") from exc
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise BadRequest("Request JSON is nested too deeply.", code="json_too_deep") from exc
    except ValueError as exc:
        raise BadRequest("Request body is not valid JSON.", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object.", code="invalid_json")
    if not _depth_ok(data, max_depth):
        raise BadRequest("Request JSON is nested too deeply.", code="json_too_deep")
    return data
