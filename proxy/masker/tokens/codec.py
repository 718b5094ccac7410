"""Anonymize and deanonymize as mirror operations over the MSKV1 grammar.

Two modes, as published:

* ``vault`` (default): a short token whose id is an HMAC of (scope, entity, value) under the
  agent's current key, so the same value in the same agent/conversation always gets the same
  token, on every replica, without coordination. The value is stored AES-GCM-encrypted in the
  vault so a token can be resolved later even when the text that produced it is gone. Rows are
  sealed with a per-scope data key that is itself wrapped with the agent key: ``Codec.shred``
  deletes that key (crypto-shredding) and the rows; ``ttl_seconds`` bounds retention.
* ``reversible-aead``: the value itself, encrypted with deterministic AES-SIV under the agent's
  key, is the token body. Stateless: replicas share nothing — and so nothing can be shredded per
  conversation; such tokens are erased by retiring the key (see docs/tokens.md).

A ``TokenSession`` lives for one request: it remembers every token it issued (so rehydration of
this request's answer never touches the database), batches vault writes, and resolves unknown
tokens from the vault or by decryption.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from ..detect.types import LABELS, Entity
from ..memory import MemoryBudget, Region
from .grammar import CROCKFORD, VAULT_BODY_LEN, b32decode, b32encode, check_symbol, format_token
from .keys import KeyRing
from .store import ScopeKey, VaultRow, VaultStore, VaultUnavailable

_DEK_TTL = 30.0  # seconds a scope's data key stays cached in this process
_WRITTEN_TTL = 300.0  # seconds a row is taken to be in the vault without asking it
_BODY_TTL = 3600.0  # seconds an unused token body stays memoised
# Bytes charged to the memory budget per entry (besides the region's own overhead).
_WRITTEN_BYTES = 120  # a 40-char str key
_SLICE = 1024  # vault rows sealed between two returns to the event loop
_BODY_BYTES = 150  # a ~60-byte bytes key and a ~10-char str body
_DEK_BYTES = 500  # the data key, its AESGCM context and fingerprint
VAULT = "vault"
AEAD = "reversible-aead"
MODES = (VAULT, AEAD)
_ID_BYTES = 5  # 40 bits -> 8 Crockford symbols
_PAD = 16  # AEAD plaintexts are padded to a multiple of this so token length leaks less


class ShredUnsupported(Exception):
    """``reversible-aead`` tokens carry their value; there is no per-conversation state to shred."""


def _scope_aad(scope_id: str) -> bytes:
    return b"masker/scope-key/" + scope_id.encode()


@dataclass(frozen=True, slots=True)
class DataKey:
    """A scope's data key with its cipher and fingerprint, cached together (built on every flush,
    they cost ~3.5 us per voice turn)."""

    dek: bytes
    aead: AESGCM
    dek_id: str  # stored with each row: tells a row sealed under another key apart

    @classmethod
    def of(cls, dek: bytes) -> DataKey:
        return cls(dek, AESGCM(dek), hmac.new(dek, b"masker/dek-id", hashlib.sha256).hexdigest()[:16])


def codec_regions(budget: MemoryBudget) -> tuple[Region[bool], Region[str], Region[DataKey]]:
    """The regions every codec keeps its caches in (shared by name): "already in the vault" marks,
    token bodies and scope data keys. The server makes them at start-up, before the start-up heap
    is frozen (``heap``): a frozen dict is never walked by a full collection, however many entries
    it holds, where a region first made by a request would be walked entry by entry."""
    return (
        budget.region("vault-written", _WRITTEN_TTL, refresh_on_hit=False),
        budget.region("token-bodies", _BODY_TTL),
        budget.region("scope-keys", _DEK_TTL, refresh_on_hit=False),
    )


@dataclass
class Codec:
    """Per-agent token codec (one per agent, shared by its requests)."""

    agent_id: str
    keyring: KeyRing
    mode: str = VAULT
    store: VaultStore | None = None
    ttl_seconds: float | None = None
    # Shared with every other codec of the process when the server passes its budget in.
    budget: MemoryBudget = field(default_factory=MemoryBudget)
    # False from a failed vault write until one succeeds. ``ChatPipeline`` writes a turn's rows while
    # its upstream call is in flight only while this is True; otherwise it writes them first.
    vault_answering: bool = True

    def scope_id(self, conversation: str | None) -> str:
        # Independent of key rotation (old tokens must still be found); the agent id is itself a
        # high-entropy secret, so the raw conversation id is not recoverable from this.
        scope = f"{self.agent_id}\x00{conversation or ''}"
        return hashlib.sha256(scope.encode()).hexdigest()[:32]

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown tokenization mode {self.mode!r}")
        if self.ttl_seconds is not None and self.ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        # Rows already in the vault, so resent history costs no database write: ``scope_id +
        # token_id``. Forgotten after a while even when used (never refreshed by a hit): another
        # replica may have shredded the scope, or the row may have expired, and the next use must
        # then write it again.
        self._written, self._bodies, self._deks = codec_regions(self.budget)
        if self.ttl_seconds is not None:
            self._written.ttl = min(self._written.ttl, self.ttl_seconds)
        # memo key -> vault body. A conversation resends its history every turn; its tokens are
        # deterministic, so they are computed once. Keyed by a digest so this memory holds no values.
        self._body_space: dict[str, bytes] = {}  # key id -> digest of this agent's token-id subkey

    def session(self, conversation: str | None) -> TokenSession:
        return TokenSession(self, conversation, self.scope_id(conversation))

    def hash_value(self, value: str) -> str:
        """Keyed hash for the ``hash`` action: brute-forcing a phone number needs the key."""
        key = self.keyring.current.derive("hash", self.agent_id)
        return "[" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12] + "]"

    # -- scope data keys ------------------------------------------------------------------
    def _wrap(self, scope_id: str, dek: bytes) -> tuple[str, bytes]:
        key = self.keyring.current
        nonce = os.urandom(12)
        sealed = AESGCM(key.derive("scope-key", self.agent_id)).encrypt(nonce, dek, _scope_aad(scope_id))
        return key.kid, nonce + sealed

    def _unwrap(self, scope_key: ScopeKey) -> bytes | None:
        for key in self.keyring.by_kid(scope_key.kid):
            nonce, sealed = scope_key.wrapped[:12], scope_key.wrapped[12:]
            try:
                return AESGCM(key.derive("scope-key", self.agent_id)).decrypt(
                    nonce, sealed, _scope_aad(scope_key.scope_id)
                )
            except InvalidTag:
                continue
        return None

    async def scope_data_key(self, store: VaultStore, scope_id: str, expires_at: float | None) -> DataKey:
        """The scope's data key, created on first use (one atomic upsert: concurrent first writers
        agree on the winner), re-wrapped with the newest agent key after a rotation.

        Kept in memory for ``_DEK_TTL`` seconds: a voice conversation writes on most turns, and a
        database round trip plus an unwrap per turn showed up in the hot-path profile. A shred on
        another replica is honoured within that window (rows written meanwhile are sealed under a
        key that no longer exists, so they are unreadable — shredded all the same)."""
        cached = self._deks.get(scope_id)
        if cached is not None:
            return cached
        key = DataKey.of(await self._scope_data_key(store, scope_id, expires_at))
        self._deks.put(scope_id, key, _DEK_BYTES)
        return key

    async def _scope_data_key(self, store: VaultStore, scope_id: str, expires_at: float | None) -> bytes:
        kid, wrapped = self._wrap(scope_id, os.urandom(32))
        scope_key = await store.ensure_scope_key(ScopeKey(scope_id, kid, wrapped, time.time(), expires_at))
        dek = self._unwrap(scope_key)
        if dek is None:
            # Wrapped with a key this agent no longer holds: the old rows are lost anyway, so
            # start the scope over with a fresh data key rather than failing every request.
            dek = os.urandom(32)
            kid, wrapped = self._wrap(scope_id, dek)
            if not await store.rewrap_scope_key(scope_id, scope_key.wrapped, kid, wrapped):
                raise VaultUnavailable("scope key changed concurrently")
        elif scope_key.kid != self.keyring.current.kid:
            kid, wrapped = self._wrap(scope_id, dek)
            await store.rewrap_scope_key(scope_id, scope_key.wrapped, kid, wrapped)
        return dek

    # -- retention, shredding, size -------------------------------------------------------
    async def shred(self, conversation: str | None) -> int:
        """Crypto-shred one conversation: its data key and rows are deleted, so every copy of
        those rows (replicas, backups without the key table) becomes undecryptable. Returns the
        number of rows deleted. Tokens already handed out resolve to fallback phrases afterwards."""
        if self.mode == AEAD:
            raise ShredUnsupported("reversible-aead tokens are self-contained; retire the key instead")
        scope_id = self.scope_id(conversation)
        self._written.discard_where(lambda key: isinstance(key, str) and key.startswith(scope_id))
        self._deks.pop(scope_id)
        if self.store is None:
            return 0
        return await self.store.shred_scope(scope_id)

    async def purge_expired(self, now: float | None = None) -> int:
        """Delete rows past their retention (and data keys no row needs any more)."""
        return 0 if self.store is None else await self.store.purge_expired(now)

    async def size_bytes(self) -> int:
        """Bytes the vault holds, for the ``masker_vault_size_bytes`` gauge."""
        return 0 if self.store is None else await self.store.size_bytes()


class TokenSession:
    def __init__(self, codec: Codec, conversation: str | None, scope_id: str) -> None:
        self.codec = codec
        self.conversation = conversation
        self.scope_id = scope_id
        # Canonical body (with check) -> value of every token this session issued: what its
        # request's answer may resolve (``AnswerTokens``).
        self.issued: dict[str, str] = {}
        self._resolved: dict[str, str] = {}  # looked up by ``resolve``, issued or not
        self._by_value: dict[tuple[Entity, str], str] = {}  # (entity, value) -> body
        # New (entity, token id, value) triples, sealed at flush once the scope's data key is known.
        self._pending: list[tuple[Entity, str, str]] = []
        self._dek: bytes | None = None

    # -- anonymize -------------------------------------------------------------------------
    def tokenize(self, entity: Entity, value: str, *, identifier: bool = False) -> str:
        return format_token(LABELS[entity], self.token_body(entity, value), identifier=identifier)

    def token_body(self, entity: Entity, value: str) -> str:
        """The canonical body (id and check symbol) of ``value``'s token, issued in this session."""
        body = self._by_value.get((entity, value))
        if body is None:
            body = self._vault_body(entity, value) if self.codec.mode == VAULT else self._aead_body(value)
            self._by_value[(entity, value)] = body
            self.issued[body] = value
        return body

    def adopt(self, entity: Entity, value: str, body: str) -> None:
        """Issue a token this conversation was given on an earlier turn (same key): remembered for
        rehydration, and written again if the vault may no longer hold it."""
        if (entity, value) in self._by_value:
            return
        self._by_value[(entity, value)] = body
        self.issued[body] = value
        if self.codec.mode == VAULT:
            self._write_unless_stored(entity, body, value)

    def _write_unless_stored(self, entity: Entity, body: str, value: str) -> None:
        token_id = body[:-1]
        if self.codec.store is not None and self.codec._written.get(self.scope_id + token_id) is None:
            self._pending.append((entity, token_id, value))

    def _vault_body(self, entity: Entity, value: str) -> str:
        codec = self.codec
        key = codec.keyring.current
        space = codec._body_space.get(key.kid)
        if space is None:
            # The key's material is part of the memo key: a reloaded keyring may reuse a key id.
            space = hashlib.blake2b(key.derive("token-id", codec.agent_id), digest_size=8).digest()
            codec._body_space[key.kid] = space
        memo = b"\x00".join(
            (
                space,
                self.scope_id.encode(),
                entity.value.encode(),
                hashlib.blake2b(value.encode(), digest_size=16).digest(),
            )
        )
        body = codec._bodies.get(memo)
        if body is None:
            id_key = key.derive("token-id", codec.agent_id)
            # ``join`` takes the StrEnum's own text, which is what an f-string would format.
            message = "\x00".join((self.scope_id, entity, value)).encode()
            token_id = key.kid + b32encode(hmac.digest(id_key, message, "sha256")[:_ID_BYTES])
            body = token_id + check_symbol(token_id)
            codec._bodies.put(memo, body, _BODY_BYTES)
        self._write_unless_stored(entity, body, value)
        return body

    def _aead_body(self, value: str) -> str:
        key = self.codec.keyring.current
        raw = value.encode()
        padded = raw + b"\x80" + b"\x00" * ((-len(raw) - 1) % _PAD)
        sealed = AESSIV(key.derive("aead", self.codec.agent_id, 64)).encrypt(padded, [self.scope_id.encode()])
        token_id = key.kid + b32encode(sealed)
        return token_id + check_symbol(token_id)

    @property
    def has_pending(self) -> bool:
        """New vault rows wait for ``flush``."""
        return bool(self._pending) and self.codec.store is not None

    async def flush(self) -> None:
        """Write new vault rows (one batch). Raises ``VaultUnavailable`` if the store is down."""
        store = self.codec.store
        if not self._pending or store is None:
            return
        pending, self._pending = self._pending, []
        now = time.time()
        ttl = self.codec.ttl_seconds
        expires = now + ttl if ttl else None
        try:
            key = await self.codec.scope_data_key(store, self.scope_id, expires)
            rows = []
            for k, (entity, token_id, value) in enumerate(pending, 1):
                if k % _SLICE == 0:
                    await asyncio.sleep(0)  # a large body's rows: let other requests in between
                nonce = os.urandom(12)
                aad = f"{self.scope_id}:{token_id}".encode()
                sealed = nonce + key.aead.encrypt(nonce, value.encode(), aad)
                rows.append(VaultRow(self.scope_id, token_id, entity.value, sealed, now, expires, key.dek_id))
            await store.put_many(rows)
        except BaseException as exc:
            self._pending = pending + self._pending  # a retry writes them again
            if isinstance(exc, Exception):
                self.codec.vault_answering = False
            raise
        self.codec.vault_answering = True
        self._dek = key.dek
        written = self.codec._written
        for k, row in enumerate(rows, 1):
            if k % _SLICE == 0:
                await asyncio.sleep(0)
            written.put(row.scope_id + row.token_id, True, _WRITTEN_BYTES)

    # -- deanonymize -----------------------------------------------------------------------
    async def resolve(self, body: str) -> str | None:
        """Value for a canonical body, or None (unknown, expired, shredded, or foreign key)."""
        value = self.issued.get(body) or self._resolved.get(body)
        if value is not None:
            return value
        if len(body) == VAULT_BODY_LEN:
            try:
                value = await self._resolve_vault(body)
            except VaultUnavailable:
                # The answer is already streaming: a vault outage costs this one value (a neutral
                # phrase, counted as unresolved), never the response or a raw token.
                return None
        else:
            value = self._resolve_aead(body)
        if value is not None:
            self._resolved[body] = value  # not ``issued``: resolving a token does not issue it
        return value

    async def _resolve_vault(self, body: str) -> str | None:
        store = self.codec.store
        if store is None:
            return None
        token_id = body[:-1]
        row = await store.get(self.scope_id, token_id)
        if row is None:
            return None
        if self._dek is None:
            scope_key = await store.get_scope_key(self.scope_id)
            if scope_key is None:
                return None  # shredded
            self._dek = self.codec._unwrap(scope_key)
            if self._dek is None:
                return None
        return _open_vault(self._dek, row)

    def _resolve_aead(self, body: str) -> str | None:
        payload = body[1:-1]
        nbytes = len(payload) * 5 // 8
        try:
            sealed = b32decode(payload, nbytes)
        except (KeyError, ValueError):
            return None
        for key in self.codec.keyring.by_kid(body[0]):
            try:
                padded = AESSIV(key.derive("aead", self.codec.agent_id, 64)).decrypt(
                    sealed, [self.scope_id.encode()]
                )
            except InvalidTag:
                continue
            end = padded.rfind(b"\x80")
            if end >= 0:
                try:
                    return padded[:end].decode()
                except UnicodeDecodeError:
                    return None
        return None


def _open_vault(dek: bytes, row: VaultRow) -> str | None:
    nonce, sealed = row.ciphertext[:12], row.ciphertext[12:]
    try:
        plain = AESGCM(dek).decrypt(nonce, sealed, f"{row.scope_id}:{row.token_id}".encode())
    except InvalidTag:
        return None
    return plain.decode()


__all__ = ["AEAD", "CROCKFORD", "MODES", "VAULT", "Codec", "ShredUnsupported", "TokenSession"]
