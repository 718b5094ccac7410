"""Hostile-input limits for the chat-completions body, checked before any detection work.

Each violation is data (:class:`LimitViolation`: HTTP status, error code, fixed message) so the
HTTP layer maps it to an OpenAI-shaped error in one place and the messages can never quote the
request. Order of checks, cheapest first:

    check_content_type(header)            415 unsupported_media_type
    check_content_length(header, limits)  413 body_too_large   (before reading the body)
    parse_body(raw, limits)               413 body_too_large, 400 invalid_encoding,
                                          400 invalid_json, 400 json_too_deep,
                                          400 invalid_request (not an object / messages not a list),
                                          413 too_many_messages

``parse_body`` never raises for any input bytes: it returns the parsed object or a violation
(tested with hypothesis). Config: ``MASKER_MAX_BODY_BYTES`` (4 MiB), ``MASKER_MAX_MESSAGES``
(1000), ``MASKER_MAX_JSON_DEPTH`` (64).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from . import jsonfast

__all__ = [
    "BAD_CONTENT_LENGTH",
    "BODY_TOO_LARGE",
    "INVALID_ENCODING",
    "INVALID_JSON",
    "JSON_TOO_DEEP",
    "MESSAGES_NOT_A_LIST",
    "NOT_AN_OBJECT",
    "TOO_MANY_MESSAGES",
    "UNSUPPORTED_MEDIA_TYPE",
    "InputLimits",
    "LimitViolation",
    "check_content_length",
    "check_content_type",
    "parse_body",
]


@dataclass(frozen=True, slots=True)
class LimitViolation:
    """A refused request: ``status`` and ``code`` for the response, ``message`` is fixed text."""

    status: int
    code: str
    message: str
    param: str | None = None

    def body(self) -> dict[str, Any]:
        """OpenAI-shaped error body."""
        return {
            "error": {
                "message": self.message,
                "type": "invalid_request_error",
                "param": self.param,
                "code": self.code,
            }
        }


UNSUPPORTED_MEDIA_TYPE: Final = LimitViolation(
    415, "unsupported_media_type", "Content-Type must be application/json (UTF-8)."
)
BODY_TOO_LARGE: Final = LimitViolation(
    413, "body_too_large", "Request body exceeds the configured size limit."
)
INVALID_ENCODING: Final = LimitViolation(400, "invalid_encoding", "Request body is not valid UTF-8.")
INVALID_JSON: Final = LimitViolation(400, "invalid_json", "Request body is not valid JSON.")
JSON_TOO_DEEP: Final = LimitViolation(400, "json_too_deep", "Request JSON is nested deeper than allowed.")
NOT_AN_OBJECT: Final = LimitViolation(400, "invalid_request", "Request body must be a JSON object.")
MESSAGES_NOT_A_LIST: Final = LimitViolation(
    400, "invalid_request", "'messages' must be an array.", "messages"
)
TOO_MANY_MESSAGES: Final = LimitViolation(
    413, "too_many_messages", "Request has more messages than allowed.", "messages"
)


_CONTAINERS: Final = (dict, list)
# A JSON escape of a UTF-16 surrogate (high or low), the only way a valid UTF-8 body can hold one.
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_DEFAULT_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_DEFAULT_MAX_MESSAGES: Final = 1000
_DEFAULT_MAX_JSON_DEPTH: Final = 64
BAD_CONTENT_LENGTH: Final = LimitViolation(400, "invalid_request", "Bad Content-Length header.")


@dataclass(frozen=True, slots=True)
class InputLimits:
    max_body_bytes: int = _DEFAULT_MAX_BODY_BYTES
    max_messages: int = _DEFAULT_MAX_MESSAGES
    max_json_depth: int = _DEFAULT_MAX_JSON_DEPTH


def check_content_type(header: str | None, *, allow_missing: bool = False) -> LimitViolation | None:
    """Accept ``application/json`` (any case, optional ``charset=utf-8``); refuse the rest.

    ``allow_missing`` lets a request without ``Content-Type`` through (some SDKs omit it); the
    body is then still parsed strictly as JSON.
    """
    if not header:
        return None if allow_missing else UNSUPPORTED_MEDIA_TYPE
    media, _, params = header.partition(";")
    if media.strip().lower() != "application/json":
        return UNSUPPORTED_MEDIA_TYPE
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            return UNSUPPORTED_MEDIA_TYPE
    return None


def check_content_length(header: str | None, limits: InputLimits) -> LimitViolation | None:
    """Refuse early when the declared length is over the limit (the body is then never read)."""
    if header is None:
        return None
    try:
        length = int(header.strip())
    except ValueError:
        return BAD_CONTENT_LENGTH
    if length < 0:
        return BAD_CONTENT_LENGTH
    return BODY_TOO_LARGE if length > limits.max_body_bytes else None


def _depth_and_strings_ok(root: Any, max_depth: int) -> LimitViolation | None:
    """Iterative walk: nesting depth and strings encodable as UTF-8 (no lone surrogates)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                return JSON_TOO_DEEP
            for key, value in node.items():
                if not _utf8_ok(key):
                    return INVALID_ENCODING
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                return JSON_TOO_DEEP
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str) and not _utf8_ok(node):
            return INVALID_ENCODING
    return None


def _depth_ok(root: Any, max_depth: int) -> LimitViolation | None:
    # Containers only: a voice turn's ~40 strings are most of its nodes.
    if not isinstance(root, _CONTAINERS):
        return None
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return JSON_TOO_DEEP
        for value in node.values() if isinstance(node, dict) else node:
            if isinstance(value, _CONTAINERS):
                stack.append((value, depth + 1))
    return None


def _utf8_ok(text: str) -> bool:
    # "\ud800" is valid JSON but not encodable; it would fail later when re-encoding upstream.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_body(raw: bytes, limits: InputLimits) -> dict[str, Any] | LimitViolation:
    """Parse a chat-completions body under ``limits``; returns the object or the first violation."""
    if len(raw) > limits.max_body_bytes:
        return BODY_TOO_LARGE
    try:
        raw.decode("utf-8")  # orjson would also refuse bad UTF-8, but the caller gets its own error
    except UnicodeDecodeError:
        return INVALID_ENCODING
    try:
        obj = jsonfast.loads(raw)
    except RecursionError:
        return JSON_TOO_DEEP
    except ValueError:
        return INVALID_JSON
    if not isinstance(obj, dict):
        return NOT_AN_OBJECT
    # The raw body is valid UTF-8 (checked above), so a lone surrogate can only come from a
    # "\\uD800"-style escape; without one, no string needs checking.
    walk = _depth_and_strings_ok if _SURROGATE_ESCAPE.search(raw) else _depth_ok
    violation = walk(obj, limits.max_json_depth)
    if violation is not None:
        return violation
    messages = obj.get("messages")
    if messages is not None and not isinstance(messages, list):
        return MESSAGES_NOT_A_LIST
    if isinstance(messages, list) and len(messages) > limits.max_messages:
        return TOO_MANY_MESSAGES
    return obj
