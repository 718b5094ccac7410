"""Anonymize and deanonymize as mirror operations over the MSKV1 grammar.

Two modes, as published:

* ``vault`` (default): a short token whose id is an HMAC of (scope, entity, value) under the
  agent's current key, so the same value in the same agent/conversation always gets the same
  token, on every replica, without coordination. The value is stored AES-GCM-encrypted in the
  vault so a token can be resolved later even when the text that produced it is gone.
* ``reversible-aead``: the value itself, encrypted with deterministic AES-SIV under the agent's
  key, is the token body. Stateless: replicas share nothing.

A ``TokenSession`` lives for one request: it remembers every token it issued (so rehydration of
this request's answer never touches the database), batches vault writes, and resolves unknown
tokens from the vault or by decryption.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from ..detect.types import LABELS, Entity
from .grammar import CROCKFORD, VAULT_BODY_LEN, b32decode, b32encode, check_symbol, format_token
from .keys import Key, KeyRing
from .store import VaultRow, VaultStore

VAULT = "vault"
AEAD = "reversible-aead"
MODES = (VAULT, AEAD)
_ID_BYTES = 5  # 40 bits -> 8 Crockford symbols
_PAD = 16  # AEAD plaintexts are padded to a multiple of this so token length leaks less


class _WrittenCache:
    """Bounded memory of rows already in the vault, so resent history costs no database write."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._items: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, key: tuple[str, str]) -> bool:
        if key in self._items:
            self._items.move_to_end(key)
            return True
        return False

    def add(self, key: tuple[str, str]) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


@dataclass
class Codec:
    """Per-agent token codec (one per agent, shared by its requests)."""

    agent_id: str
    keyring: KeyRing
    mode: str = VAULT
    store: VaultStore | None = None
    ttl_seconds: float | None = None
    _written: _WrittenCache = field(default_factory=_WrittenCache)

    def scope_id(self, conversation: str | None) -> str:
        # Independent of key rotation (old tokens must still be found); the agent id is itself a
        # high-entropy secret, so the raw conversation id is not recoverable from this.
        scope = f"{self.agent_id}\x00{conversation or ''}"
        return hashlib.sha256(scope.encode()).hexdigest()[:32]

    def session(self, conversation: str | None) -> TokenSession:
        return TokenSession(self, conversation, self.scope_id(conversation))

    def hash_value(self, value: str) -> str:
        """Keyed hash for the ``hash`` action: brute-forcing a phone number needs the key."""
        key = self.keyring.current.derive("hash", self.agent_id)
        return "[" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:12] + "]"


class TokenSession:
    def __init__(self, codec: Codec, conversation: str | None, scope_id: str) -> None:
        self.codec = codec
        self.conversation = conversation
        self.scope_id = scope_id
        self.issued: dict[str, str] = {}  # canonical body (with check) -> value
        self._by_value: dict[tuple[Entity, str], str] = {}  # (entity, value) -> body
        self._pending: list[VaultRow] = []

    # -- anonymize -------------------------------------------------------------------------
    def tokenize(self, entity: Entity, value: str, *, identifier: bool = False) -> str:
        body = self._by_value.get((entity, value))
        if body is None:
            body = self._vault_body(entity, value) if self.codec.mode == VAULT else self._aead_body(value)
            self._by_value[(entity, value)] = body
            self.issued[body] = value
        return format_token(LABELS[entity], body[:-1], identifier=identifier)

    def _vault_body(self, entity: Entity, value: str) -> str:
        key = self.codec.keyring.current
        id_key = key.derive("token-id", self.codec.agent_id)
        digest = hmac.new(id_key, f"{self.scope_id}\x00{entity}\x00{value}".encode(), hashlib.sha256).digest()
        token_id = key.kid + b32encode(digest[:_ID_BYTES])
        body = token_id + check_symbol(token_id)
        if (self.scope_id, token_id) not in self.codec._written and self.codec.store is not None:
            nonce = os.urandom(12)
            aead = AESGCM(key.derive("vault", self.codec.agent_id))
            sealed = nonce + aead.encrypt(nonce, value.encode(), f"{self.scope_id}:{token_id}".encode())
            now = time.time()
            expires = now + self.codec.ttl_seconds if self.codec.ttl_seconds else None
            self._pending.append(VaultRow(self.scope_id, token_id, entity.value, sealed, now, expires))
        return body

    def _aead_body(self, value: str) -> str:
        key = self.codec.keyring.current
        raw = value.encode()
        padded = raw + b"\x80" + b"\x00" * ((-len(raw) - 1) % _PAD)
        sealed = AESSIV(key.derive("aead", self.codec.agent_id, 64)).encrypt(padded, [self.scope_id.encode()])
        token_id = key.kid + b32encode(sealed)
        return token_id + check_symbol(token_id)

    async def flush(self) -> None:
        """Write new vault rows (one batch). Raises ``VaultUnavailable`` if the store is down."""
        if not self._pending or self.codec.store is None:
            return
        rows, self._pending = self._pending, []
        await self.codec.store.put_many(rows)
        for row in rows:
            self.codec._written.add((row.scope_id, row.token_id))

    # -- deanonymize -----------------------------------------------------------------------
    async def resolve(self, body: str) -> str | None:
        """Value for a canonical body, or None (unknown, expired, shredded, or foreign key)."""
        value = self.issued.get(body)
        if value is not None:
            return value
        if len(body) == VAULT_BODY_LEN:
            value = await self._resolve_vault(body)
        else:
            value = self._resolve_aead(body)
        if value is not None:
            self.issued[body] = value
        return value

    async def _resolve_vault(self, body: str) -> str | None:
        store = self.codec.store
        if store is None:
            return None
        token_id = body[:-1]
        row = await store.get(self.scope_id, token_id)
        if row is None:
            return None
        for key in self.codec.keyring.by_kid(token_id[0]):
            value = _open_vault(key, self.codec.agent_id, row)
            if value is not None:
                return value
        return None

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


def _open_vault(key: Key, agent_id: str, row: VaultRow) -> str | None:
    nonce, sealed = row.ciphertext[:12], row.ciphertext[12:]
    try:
        plain = AESGCM(key.derive("vault", agent_id)).decrypt(
            nonce, sealed, f"{row.scope_id}:{row.token_id}".encode()
        )
    except InvalidTag:
        return None
    return plain.decode()


__all__ = ["AEAD", "CROCKFORD", "MODES", "VAULT", "Codec", "TokenSession"]
