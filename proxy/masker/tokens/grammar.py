"""The token grammar, ``MSKV1.<LABEL>.<BODY>``: one place that writes tokens and one that finds them.

* ``LABEL`` is the entity label (``PHONE``, ``NAME``...), so the model can still reason about the
  value ("the patient's phone"). It is informational: resolution uses the body only, so a model
  that rewrites the label does not break restore.
* ``BODY`` is Crockford base32 (no I, L, O, U; case-insensitive): a key-id symbol, the payload, and
  one check symbol over the rest. Vault tokens have a fixed 10-symbol body; reversible-AEAD tokens
  carry the ciphertext and are longer (>= 20).

Finding is deliberately forgiving about what LLMs do to tokens: any case, ``.``/``_``/``-``/``:``
or spaces as separators (identifiers such as tool names need ``_``), spaces inside a vault body,
markdown emphasis, quotes and punctuation around it. The check symbol keeps random text that
happens to fit the pattern from ever being "rehydrated".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import regex

PREFIX = "MSKV1"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(CROCKFORD)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
VAULT_BODY_LEN = 10
MIN_AEAD_BODY_LEN = 20
# Longest text the streaming rehydrator may hold back while it could still be a token.
MAX_TOKEN_CHARS = 400

TOKEN_PATTERN = regex.compile(
    r"(?i)(?<![0-9a-z])MSKV1(?:\s*\\?[._:/-]\s*|\s+)([a-z]{2,12})(?:\s*\\?[._:/-]\s*|\s+)"
    # AEAD body | vault body (spaces tolerated) | anything else token-shaped, which then fails the
    # check and is replaced by a fallback phrase rather than passed through raw.
    r"([0-9a-z]{20,}|(?:[0-9a-z] ?){9}[0-9a-z]|[0-9a-z]+)(?![0-9a-z])"
)


def b32encode(data: bytes) -> str:
    bits = int.from_bytes(data, "big") if data else 0
    nbits = len(data) * 8
    out = []
    pad = (-nbits) % 5
    bits <<= pad
    for shift in range(nbits + pad - 5, -1, -5):
        out.append(CROCKFORD[(bits >> shift) & 31])
    return "".join(out)


def b32decode(text: str, nbytes: int) -> bytes:
    bits = 0
    for ch in text:
        bits = (bits << 5) | _DECODE[ch]
    extra = len(text) * 5 - nbytes * 8
    if extra < 0:
        raise ValueError("too short")
    return (bits >> extra).to_bytes(nbytes, "big")


def check_symbol(payload: str) -> str:
    return CROCKFORD[hashlib.sha256(payload.encode("ascii")).digest()[0] & 31]


def key_symbol(key_name: str) -> str:
    return CROCKFORD[hashlib.sha256(key_name.encode("utf-8")).digest()[0] & 31]


def format_token(label: str, body_without_check: str, *, identifier: bool = False) -> str:
    """Render a token. ``identifier=True`` uses ``_`` so it is a valid tool/function name."""
    sep = "_" if identifier else "."
    return f"{PREFIX}{sep}{label}{sep}{body_without_check}{check_symbol(body_without_check)}"


def normalize_body(raw: str) -> str | None:
    """Canonical body (upper case, no spaces, Crockford aliases folded) or None if invalid."""
    body = raw.replace(" ", "").upper()
    try:
        canonical = "".join(CROCKFORD[_DECODE[ch]] for ch in body)
    except KeyError:
        return None
    if len(canonical) != VAULT_BODY_LEN and len(canonical) < MIN_AEAD_BODY_LEN:
        return None
    if check_symbol(canonical[:-1]) != canonical[-1]:
        return None
    return canonical


@dataclass(frozen=True, slots=True)
class TokenMatch:
    start: int
    end: int
    label: str
    body: str | None  # canonical body, or None when the check symbol failed

    @property
    def is_vault(self) -> bool:
        return self.body is not None and len(self.body) == VAULT_BODY_LEN


def find_tokens(text: str) -> list[TokenMatch]:
    """Every token-shaped string in ``text`` (complete ones only)."""
    return [
        TokenMatch(m.start(), m.end(), m.group(1).upper(), normalize_body(m.group(2)))
        for m in TOKEN_PATTERN.finditer(text)
    ]


def could_contain_token(text: str) -> bool:
    """Cheap pre-check: no ``mskv1`` (any case) means nothing to rehydrate."""
    return "mskv1" in text.lower()
