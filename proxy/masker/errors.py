"""Masker's exception tree; one handler in the HTTP layer maps it to OpenAI-shaped JSON.

    MaskerError (status, code, type)
    ├── BadRequest                400  invalid_request_error / <code>
    │   └── PayloadTooLarge       413  body_too_large
    ├── Unauthorized              401  invalid_api_key | bad_signature | missing_upstream_key
    ├── Forbidden                 403  policy_not_allowed
    ├── AgentNotFound             404  agent_not_found
    ├── Unprocessable             422  model_not_allowed | unsupported_content | ...
    ├── RateLimited               429  rate_limited (+ Retry-After)
    ├── UpstreamError             502  upstream_error (upstream's error body passed through)
    │   └── UpstreamRefused       4xx  the upstream refused the request itself (400, 404, 409, 413,
    │                                  415, 422): relayed with its status, so no caller retries it
    ├── RedactionFailed           503  redaction_failed (fail-closed)
    └── UpstreamTimeout           504  upstream_timeout

Messages are fixed strings chosen here: they never contain request text.
"""

from __future__ import annotations

from typing import Any


class MaskerError(Exception):
    status = 500
    code = "internal_error"
    type = "server_error"

    def __init__(
        self, message: str, *, code: str | None = None, param: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:  # a 4xx of the request-validation family other than 400 (413, 415, ...)
            self.status = status
        self.param = param
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class BadRequest(MaskerError):
    status = 400
    code = "invalid_request"
    type = "invalid_request_error"


class PayloadTooLarge(BadRequest):
    status = 413
    code = "body_too_large"


class UnsupportedMediaType(BadRequest):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(MaskerError):
    status = 401
    code = "invalid_api_key"
    type = "authentication_error"


class Forbidden(MaskerError):
    status = 403
    code = "forbidden"
    type = "permission_error"


class AgentNotFound(MaskerError):
    status = 404
    code = "agent_not_found"
    type = "invalid_request_error"


class Unprocessable(MaskerError):
    status = 422
    code = "unprocessable"
    type = "invalid_request_error"


class RateLimited(MaskerError):
    status = 429
    code = "rate_limited"
    type = "rate_limit_error"

    def __init__(self, retry_after: float) -> None:
        super().__init__("Rate limit exceeded for this agent; retry later.")
        self.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))


class UpstreamError(MaskerError):
    status = 502
    code = "upstream_error"
    type = "upstream_error"

    def __init__(
        self, message: str, *, upstream_status: int | None = None, upstream_body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.upstream_body = upstream_body

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.upstream_status is not None:
            body["error"]["upstream_status"] = self.upstream_status
        if self.upstream_body is not None:
            body["error"]["upstream_error"] = self.upstream_body
        return body


# Upstream statuses that mean "this request is wrong" (an unknown field, a model it does not
# serve): the caller's error, not a gateway fault. As a 502 every OpenAI SDK and voice platform
# would retry it; 401/403 (the operator's key) and 429 stay 502s of ours.
REFUSALS = frozenset({400, 404, 409, 413, 415, 422})


class UpstreamRefused(UpstreamError):
    """The upstream refused the request as invalid: the caller gets the upstream's status, an
    ``invalid_request_error`` with the upstream's ``param`` and ``code``, and its error body."""

    type = "invalid_request_error"

    def __init__(self, upstream_status: int, upstream_body: dict[str, Any] | None) -> None:
        super().__init__(
            f"The upstream LLM refused the request (HTTP {upstream_status}); see upstream_error.",
            upstream_status=upstream_status,
            upstream_body=upstream_body,
        )
        self.status = upstream_status
        self.code = "upstream_invalid_request"
        upstream = upstream_body or {}
        param, code = upstream.get("param"), upstream.get("code")
        self.param = param if isinstance(param, str) else None
        if isinstance(code, str) and code:
            self.code = code


class RedactionFailed(MaskerError):
    status = 503
    code = "redaction_failed"
    type = "server_error"


class UpstreamTimeout(MaskerError):
    status = 504
    code = "upstream_timeout"
    type = "timeout_error"


class ConfigError(Exception):
    """Invalid configuration (policy, agents file, keys). Raised at load time, never half-applied."""
