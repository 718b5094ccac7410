"""Resent history, redacted once: the leading texts of a conversation's request, memoised per turn.

Voice and chat platforms send the whole conversation on every turn. Everything but the newest
messages was redacted on an earlier turn, and would be redacted identically again: findings depend
only on the texts, their roles and the policy, and tokens are deterministic per conversation and
key. ``PrefixMemo`` keeps, under a rolling signature of a request's leading texts, what redaction
did to each of them, so the next turn detects and tokenizes only what is new. Redaction work per
turn then stays flat as a call grows, instead of growing with its history.

What is kept is PHI-free: redacted texts (tokens in place of values), offsets, entity types and
token bodies. A hit takes the values from the request it is serving (the caller just sent them),
so the memo never holds one, just as the findings cache holds no text.

A prefix is stored and reused only where its last text cannot join the next one, at either time:
numbers split across two consecutive *user* turns are found across the boundary
(``DetectionEngine._add_cross_turn``), which changes the findings of the text before it.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from .detect.types import DetectOptions, Entity
from .policy import Policy

Signature = bytes


@dataclass(frozen=True, slots=True)
class SlotResult:
    """What redaction did to one text."""

    text: str | None  # the redacted text; None when nothing was replaced
    tokens: tuple[tuple[int, int, Entity, str], ...] = ()  # (start, end, entity, body) of each token
    entities: tuple[str, ...] = ()  # entity type of every replacement, tokens or not


UNCHANGED = SlotResult(None)


@dataclass(frozen=True, slots=True)
class _Entry:
    # Kept by reference: an identity check is exact and cheap, and while an entry holds the object
    # its id cannot be reused by a reloaded policy.
    policy: Policy
    options: DetectOptions
    slots: tuple[SlotResult, ...]


# Fixed-width lengths ahead of each item keep the encoding unambiguous. A struct header and
# OpenSSL's SHA-256 (truncated to 128 bits) sign a voice turn in ~11 us, ~15 with "%d" headers and
# blake2b. Signatures never leave the process, so the scheme can change freely.
_ITEM_HEADER = struct.Struct("<?QQ")  # identifier, role length, text length (bytes)


def signatures(scope: str, items: Sequence[tuple[str, bool, str]]) -> list[Signature]:
    """``out[k]`` signs the first ``k + 1`` (role, identifier, text) items of a conversation scope."""
    rolling = hashlib.sha256(scope.encode())
    out: list[Signature] = []
    for role, identifier, text in items:
        data = text.encode("utf-8", "surrogatepass")
        tag = role.encode("utf-8", "surrogatepass")
        rolling.update(_ITEM_HEADER.pack(identifier, len(tag), len(data)))
        rolling.update(tag)
        rolling.update(data)
        out.append(rolling.digest()[:16])
    return out


def _joinable(roles: Sequence[str], k: int) -> bool:
    """Could detection join text ``k - 1`` with text ``k``? (Only consecutive user texts join.)"""
    return 0 < k < len(roles) and roles[k - 1] == "user" and roles[k] == "user"


@dataclass(frozen=True, slots=True)
class Prefixes:
    """One request's conversation as the memo sees it: where its tokens live (tokenization mode,
    key id and scope), a signature per leading prefix of its texts, their roles, and the policy and
    detection options it is redacted under."""

    namespace: str
    sigs: Sequence[Signature]
    roles: Sequence[str]
    policy: Policy
    options: DetectOptions

    def key(self, k: int) -> tuple[str, int, Signature]:
        """The memo key of the first ``k`` texts."""
        return (self.namespace, id(self.policy), self.sigs[k - 1])


class PrefixMemo:
    """Bounded LRU: (scope and key id, policy, signature of the first k texts) -> what redaction did
    to them. The policy's id is part of the key so that two policies on one conversation do not
    evict each other; the entry's identity check makes a reused id harmless."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._data: OrderedDict[tuple[str, int, Signature], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def longest(self, prefixes: Prefixes) -> tuple[SlotResult, ...]:
        """Results for the longest remembered prefix that can be reused (possibly empty)."""
        for k in range(len(prefixes.sigs), 0, -1):
            key = prefixes.key(k)
            entry = self._data.get(key)
            if entry is None or entry.policy is not prefixes.policy or entry.options is not prefixes.options:
                continue
            if _joinable(prefixes.roles, k):
                continue
            self._data.move_to_end(key)
            return entry.slots
        return ()

    def remember(self, prefixes: Prefixes, slots: tuple[SlotResult, ...]) -> None:
        """Remember the results of the first ``len(slots)`` texts, unless the last of them was
        joined with the text after it (then its result depends on that text too)."""
        k = len(slots)
        if not k or _joinable(prefixes.roles, k):
            return
        key = prefixes.key(k)
        self._data[key] = _Entry(prefixes.policy, prefixes.options, slots)
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)
