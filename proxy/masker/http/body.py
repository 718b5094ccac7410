"""Request-body checks for the routes: the limits live in ``masker.input_limits``; this maps a
``LimitViolation`` onto the error tree so one handler renders every error."""

from __future__ import annotations

from typing import Any

from ..errors import BadRequest, MaskerError
from ..input_limits import InputLimits, LimitViolation, check_content_length, check_content_type, parse_body


def _raise(violation: LimitViolation) -> None:
    raise BadRequest(violation.message, code=violation.code, param=violation.param, status=violation.status)


def check_headers(content_type: str | None, content_length: str | None, limits: InputLimits) -> None:
    """Cheap checks before the body is read: media type and declared size."""
    for violation in (
        check_content_type(content_type, allow_missing=True),
        check_content_length(content_length, limits),
    ):
        if violation is not None:
            _raise(violation)


def parse_request_body(raw: bytes, limits: InputLimits) -> dict[str, Any]:
    result = parse_body(raw, limits)
    if isinstance(result, LimitViolation):
        _raise(result)
        raise MaskerError("unreachable")  # pragma: no cover
    return result
