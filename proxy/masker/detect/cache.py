"""Findings per message: a region of the process's memory budget, and optionally a shared tier.

Voice platforms resend the whole conversation every turn, so almost every text in a request has been
analysed before. Keys are a BLAKE2b digest of the text plus the options, so the cache never holds
raw text (no PHI at rest in memory beyond the request); values are findings (offsets and types).

Entries are stored flat — a tuple of ``(start, end, entity index, score, recognizer)`` tuples, the
options replaced by a small integer — so the cyclic collector stops tracking them (see ``memory``).

``SharedFindings`` is the second tier, for findings of messages another worker or replica has
already analysed: Redis, keyed by an HMAC of the text (a key from settings or the data dir, so the
key cannot be brute-forced from a guessed message without it), holding offsets, entity types,
scores and recognizer names only — never text. A shared tier that is down or slow costs one short
timeout and is then skipped for a while; detection just runs locally.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import struct
import time
from collections.abc import Hashable, Sequence
from typing import Any

from ..memory import MemoryBudget, Region
from .types import DetectOptions, Entity, Finding

log = logging.getLogger("masker.detect.cache")

_ENTITIES: tuple[Entity, ...] = tuple(Entity)
_ENTITY_INDEX: dict[Entity, int] = {e: i for i, e in enumerate(_ENTITIES)}
_FINDING_BYTES = 170  # a 5-tuple of atoms, its int and float objects (measured with tracemalloc)
_KEY_BYTES = 140  # digest bytes, the key tuple and the flat tuple (measured)
_MAX_OPTIONS = 4096  # distinct DetectOptions remembered before the side table starts over
_TTL = 3600.0  # seconds a findings entry lives without being used

FlatFinding = tuple[int, int, int, float, str]


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def flatten(findings: Sequence[Finding]) -> tuple[FlatFinding, ...]:
    # From a list: the outer tuple is then allocated after its items, and the collector's first
    # pass over it (which goes in allocation order) can already stop tracking it.
    return tuple([(f.start, f.end, _ENTITY_INDEX[f.entity], f.score, f.recognizer) for f in findings])


def unflatten(flat: tuple[FlatFinding, ...]) -> list[Finding]:
    return [Finding(s, e, _ENTITIES[k], score, rec) for s, e, k, score, rec in flat]


class FindingsCache:
    """LRU with a time to live, charged to a ``MemoryBudget`` (a private one unless given)."""

    def __init__(
        self,
        *,
        max_entries: int = 1_000_000,
        max_bytes: int = 32 * 1024 * 1024,
        budget: MemoryBudget | None = None,
        shared: SharedFindings | None = None,
    ) -> None:
        self.max_entries = max_entries
        self._budget = budget if budget is not None else MemoryBudget(max(max_bytes, 1))
        self._region: Region[tuple[FlatFinding, ...]] = self._budget.region("findings", _TTL)
        self._options: dict[Hashable, int] = {}
        self.shared = shared
        self._writes: set[asyncio.Task[None]] = set()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._region)

    @property
    def bytes_used(self) -> int:
        return self._region.bytes_used

    def _flat_key(self, key: Hashable) -> Hashable:
        """Atoms only: anything else in a key tuple (the options) becomes its small integer."""
        if type(key) is not tuple:
            return key
        return tuple(part if type(part) in (bytes, str, int) else self._option_id(part) for part in key)

    def _option_id(self, options: Hashable) -> int:
        number = self._options.get(options)
        if number is None:
            if len(self._options) >= _MAX_OPTIONS:  # policies churned a lot: start over
                self._options.clear()
                self._region.clear()
            number = self._options[options] = len(self._options)
        return number

    def get(self, key: Hashable) -> list[Finding] | None:
        flat = self._region.get(self._flat_key(key))
        if flat is None:
            self.misses += 1
            return None
        self.hits += 1
        return unflatten(flat) if flat else []

    def put(self, key: Hashable, findings: list[Finding]) -> None:
        if self.max_entries <= 0:
            return
        self._region.put(self._flat_key(key), flatten(findings), _KEY_BYTES + _FINDING_BYTES * len(findings))
        while len(self._region) > self.max_entries:
            self._region.evict_oldest()

    def clear(self) -> None:
        self._region.clear()

    # -- the shared tier ------------------------------------------------------------------
    async def recall(
        self, texts: Sequence[str], keys: Sequence[Hashable], options: DetectOptions
    ) -> dict[int, list[Finding]]:
        """Look ``texts`` up in the shared tier; hits are copied into this cache. Returns the
        findings found, by position."""
        if self.shared is None or not texts:
            return {}
        found = await self.shared.get_many(texts, options)
        hits: dict[int, list[Finding]] = {}
        for i, flat in enumerate(found):
            if flat is not None:
                self._region.put(self._flat_key(keys[i]), flat, _KEY_BYTES + _FINDING_BYTES * len(flat))
                hits[i] = unflatten(flat)
        self.shared.hits += len(hits)
        self.shared.misses += len(texts) - len(hits)
        return hits

    def publish(
        self, texts: Sequence[str], findings: Sequence[list[Finding]], options: DetectOptions
    ) -> None:
        """Hand fresh findings to the shared tier in the background (the request does not wait)."""
        if self.shared is None or not texts:
            return
        task = asyncio.get_running_loop().create_task(
            self.shared.put_many(list(texts), [flatten(f) for f in findings], options)
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


_TAG_BYTES = 16
_PACK = struct.Struct("<IIBd")  # start, end, entity index, score; then the recognizer name


def _encode(flat: tuple[FlatFinding, ...]) -> bytes:
    out = bytearray()
    for start, end, kind, score, recognizer in flat:
        name = recognizer.encode()
        out += _PACK.pack(start, end, kind, score) + bytes((len(name),)) + name
    return bytes(out)


def _decode(blob: bytes) -> tuple[FlatFinding, ...]:
    out: list[FlatFinding] = []
    pos = 0
    while pos < len(blob):
        start, end, kind, score = _PACK.unpack_from(blob, pos)
        pos += _PACK.size
        length = blob[pos]
        name = blob[pos + 1 : pos + 1 + length].decode()
        pos += 1 + length
        if kind >= len(_ENTITIES):
            raise ValueError("unknown entity index")
        out.append((start, end, kind, score, name))
    return tuple(out)  # (from a list: see ``flatten``)


class SharedFindings:
    """Findings shared by every worker and replica through Redis; no text ever leaves the process.

    The Redis key is ``prefix + HMAC-SHA256(key, generation, options, text)``: the generation names
    the detector build (a new recognizer set must not read an old one's answers), the options
    fingerprint the policy's detection knobs. The value is packed offsets, entity indexes, scores
    and recognizer names.
    """

    def __init__(
        self,
        client: Any,
        hmac_key: bytes,
        *,
        generation: str,
        prefix: str = "masker:f:",
        ttl_seconds: int = 3600,
        backoff: float = 5.0,
    ) -> None:
        if len(hmac_key) < 16:
            raise ValueError("the findings key must be at least 16 bytes")
        self._redis = client
        # Two subkeys: one names entries, one authenticates them. Whoever can write to Redis but
        # does not hold the key cannot swap in "no findings" for a message (and so unmask it): a
        # value whose tag does not match its key is a miss, and the message is detected again.
        self._key = hmac.new(hmac_key, b"masker/findings-id", hashlib.sha256).digest()
        self._mac_key = hmac.new(hmac_key, b"masker/findings-mac", hashlib.sha256).digest()
        self._generation = generation.encode()
        self._prefix = prefix.encode()
        self._ttl = ttl_seconds
        self._backoff = backoff
        self._retry_at = 0.0
        self._fingerprints: dict[DetectOptions, bytes] = {}
        self.hits = 0
        self.misses = 0
        self.errors = 0

    @classmethod
    def from_url(cls, url: str, hmac_key: bytes, *, generation: str, timeout: float = 0.05) -> SharedFindings:
        import redis.asyncio as redis_asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        pool = redis_asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=16,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )
        return cls(redis_asyncio.Redis.from_pool(pool), hmac_key, generation=generation)

    def _fingerprint(self, options: DetectOptions) -> bytes:
        fp = self._fingerprints.get(options)
        if fp is None:
            described = repr(
                (
                    sorted(options.allow),
                    sorted(options.deny),
                    options.use_ner,
                    sorted((str(e), t) for e, t in options.thresholds),
                    options.default_threshold,
                )
            )
            fp = hashlib.sha256(described.encode("utf-8", "surrogatepass")).digest()
            if len(self._fingerprints) > _MAX_OPTIONS:
                self._fingerprints.clear()
            self._fingerprints[options] = fp
        return fp

    def redis_key(self, text: str, options: DetectOptions) -> bytes:
        mac = hmac.new(self._key, self._generation + b"\x00" + self._fingerprint(options), hashlib.sha256)
        mac.update(text.encode("utf-8", "surrogatepass"))
        return self._prefix + mac.digest()

    def _tag(self, key: bytes, blob: bytes) -> bytes:
        return hmac.new(self._mac_key, key + b"\x00" + blob, hashlib.sha256).digest()[:_TAG_BYTES]

    def _seal(self, key: bytes, blob: bytes) -> bytes:
        return blob + self._tag(key, blob)

    def _open(self, key: bytes, sealed: bytes) -> bytes:
        blob, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
        if len(sealed) < _TAG_BYTES or not hmac.compare_digest(tag, self._tag(key, blob)):
            raise ValueError("findings entry failed authentication")
        return blob

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        self._retry_at = time.monotonic() + self._backoff
        log.warning("shared findings store skipped: %s", type(exc).__name__)

    async def get_many(
        self, texts: Sequence[str], options: DetectOptions
    ) -> list[tuple[FlatFinding, ...] | None]:
        if not self.available:
            return [None] * len(texts)
        try:
            keys = [self.redis_key(t, options) for t in texts]
            blobs = await self._redis.mget(keys)
        except Exception as exc:
            self._failed(exc)
            return [None] * len(texts)
        out: list[tuple[FlatFinding, ...] | None] = []
        for key, blob in zip(keys, blobs, strict=True):
            try:
                out.append(None if blob is None else _decode(self._open(key, blob)))
            except (ValueError, struct.error, IndexError, UnicodeDecodeError):
                out.append(None)  # a corrupt entry is a miss, never a wrong answer
        return out

    async def put_many(
        self, texts: Sequence[str], flats: Sequence[tuple[FlatFinding, ...]], options: DetectOptions
    ) -> None:
        if not self.available:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for text, flat in zip(texts, flats, strict=True):
                    key = self.redis_key(text, options)
                    pipe.set(key, self._seal(key, _encode(flat)), ex=self._ttl)
                await pipe.execute()
        except Exception as exc:
            self._failed(exc)

    async def close(self) -> None:
        await self._redis.aclose()


__all__ = ["FindingsCache", "SharedFindings", "digest", "flatten", "unflatten"]
