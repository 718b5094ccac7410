"""Bounded LRU of findings per message.

Voice platforms resend the whole conversation every turn, so almost every text in a request has been
analysed before. Keys are a BLAKE2b digest of the text plus the options, so the cache never holds
raw text (no PHI at rest in memory beyond the request); values are findings (offsets and types).
Memory is bounded both by entry count and by an estimate of bytes held.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable

from .types import Finding

_ENTRY_OVERHEAD = 200  # key tuple, digest bytes, OrderedDict node, list header
_FINDING_BYTES = 120  # frozen slotted dataclass + the interned recognizer name reference


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class FindingsCache:
    def __init__(self, *, max_entries: int = 50_000, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[list[Finding], int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> list[Finding] | None:
        item = self._data.get(key)
        if item is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return item[0]

    def put(self, key: Hashable, findings: list[Finding]) -> None:
        size = _ENTRY_OVERHEAD + _FINDING_BYTES * len(findings)
        if size > self.max_bytes or self.max_entries <= 0:
            return
        old = self._data.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._data[key] = (findings, size)
        self._bytes += size
        while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted) = self._data.popitem(last=False)
            self._bytes -= evicted

    def clear(self) -> None:
        self._data.clear()
        self._bytes = 0
