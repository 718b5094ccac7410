"""JSON on the request path: orjson where it can, the standard library where orjson differs.

orjson parses and serialises 3-10x faster, which is a visible share of a voice turn's budget. It
differs from ``json`` in two corners: it refuses to write integers beyond 64 bits, and it *reads*
them as floats, which would silently change a caller's value. So long digit runs go to the
standard library, as does anything orjson refuses: what was accepted before is still accepted and
becomes the same object.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# A number of 19+ digits can exceed 64 bits; shorter ones cannot. Any run of 19 digits sends the
# document to the standard library: one inside a string only costs the slower parser, never a
# different result. Found by mapping every digit to "0" and everything else to " " (C speed:
# ~2 us for a 1.5 KB voice turn where a regex took ~13 us, and ~8x less on large bodies).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"0" * 19


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``ValueError`` (or ``RecursionError`` for absurd nesting) like ``json``."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_RUN in raw.translate(_DIGITS_ONLY):
        return json.loads(data, parse_constant=_reject_constant)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Maybe valid JSON that orjson refuses (big ints, escaped lone surrogates); the stdlib decides.
        return json.loads(data, parse_constant=_reject_constant)


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _reject_constant(_name: str) -> Any:
    # orjson refuses NaN/Infinity too, so the fallback must not quietly accept them.
    raise ValueError("NaN/Infinity are not JSON")
