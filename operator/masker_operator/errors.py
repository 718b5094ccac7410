"""One root error for the operator, so handlers can map failures to Kopf outcomes in one place.

    OperatorError
    ├── SpecError            the MaskerAgent spec is invalid: a permanent failure until it changes
    ├── ApiNotFoundError     a referenced object (e.g. the upstream-key Secret) does not exist (yet)
    ├── CredentialsNotAllowedError  a referenced Secret did not opt in to being read for agents
    ├── ApiConflictError     optimistic-concurrency clash (409); retry with fresh state
    └── TransientApiError    any other API failure worth retrying (5xx, timeouts, connection)

Messages name fields and objects, never secret values.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Root of every error raised by masker_operator."""


class SpecError(OperatorError):
    """The MaskerAgent spec cannot be rendered; ``field`` names the offending path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"spec.{field}: {message}")
        self.field = field


class ApiNotFoundError(OperatorError):
    """A referenced Kubernetes object does not exist."""


class CredentialsNotAllowedError(OperatorError):
    """A MaskerAgent names a Secret that does not carry the opt-in label (confused-deputy guard)."""


class ApiConflictError(OperatorError):
    """The object changed (or appeared) under us; the caller retries from fresh state."""


class TransientApiError(OperatorError):
    """The API server failed in a way that is worth retrying."""
