"""``X-Vapi-Signature`` verification: HMAC-SHA256 of the raw request body, compared in constant time.

The signature is computed over the exact bytes received (before any JSON parsing), hex-encoded,
optionally prefixed ``sha256=``. The secret is ``MASKER_VAPI_WEBHOOK_SECRET`` or the agent's own
(``vapi_secret_ref``); during a secret rotation both old and new may be passed and either matches.
A missing or malformed header is simply ``False``: the caller answers ``401 bad_signature`` and
says nothing about why (no oracle for an attacker).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Final

__all__ = ["HEADER", "sign", "verify_signature"]

HEADER: Final = "X-Vapi-Signature"
_PREFIX: Final = "sha256="
_HEXDIGITS: Final = frozenset("0123456789abcdef")


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(body: bytes, secret: str | bytes) -> str:
    """The hex signature a sender puts in ``X-Vapi-Signature`` for ``body`` (tests, clients)."""
    return hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: Iterable[str | bytes | None]) -> bool:
    """True if ``header`` is a valid signature of ``body`` under any of ``secrets``.

    Empty/None secrets are ignored; with no usable secret the answer is ``False`` (the caller
    decides whether signing is required for the agent at all).
    """
    if not header:
        return False
    given = header.strip()
    if given[: len(_PREFIX)].lower() == _PREFIX:
        given = given[len(_PREFIX) :]
    given = given.lower()
    if len(given) != 64 or not _HEXDIGITS.issuperset(given):
        return False
    given_bytes = given.encode("ascii")
    ok = False
    for secret in secrets:
        if not secret:
            continue
        expected = sign(body, secret).encode("ascii")
        # No early exit: every configured secret is tried, so timing does not reveal which matched.
        ok |= hmac.compare_digest(expected, given_bytes)
    return ok
