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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .detect.types import DetectOptions, Entity
from .memory import MemoryBudget, Region
from .policy import Policy

Signature = bytes
_SLOT_BYTES = 200  # a SlotResult, its token tuples and their bodies

# What redaction did to one text, as one flat tuple of atoms: the redacted text (None when nothing
# was replaced), the entity type of every replacement (tokens or not) joined by commas, then four
# fields per token: start, end, entity index, body.
#
# The memo keeps a conversation's results for as long as the budget allows. CPython stops tracking
# a tuple in the cyclic collector once a collection finds nothing tracked in it, one level of
# nesting per collection, innermost first; an instance of a class (or a tuple holding an Entity
# member) stays tracked for life. Results as objects were most of what a full collection walked
# once the start-up heap was frozen; flat, a young collection untracks a result and the next one
# the entry's tuple of results.
SlotResult = tuple[Any, ...]

_ENTITIES: tuple[Entity, ...] = tuple(Entity)
_ENTITY_INDEX: dict[Entity, int] = {e: i for i, e in enumerate(_ENTITIES)}
_TOKEN_FIELDS = 4

UNCHANGED: SlotResult = (None, "")


def make_slot_result(
    text: str, tokens: Sequence[tuple[int, int, Entity, str]], entities: Sequence[str]
) -> SlotResult:
    fields: list[Any] = [text, ",".join(entities)]
    for start, end, entity, body in tokens:
        fields += (start, end, _ENTITY_INDEX[entity], body)
    return tuple(fields)


def slot_text(result: SlotResult) -> str | None:
    text: str | None = result[0]
    return text


def slot_entities(result: SlotResult) -> list[str]:
    joined: str = result[1]
    return joined.split(",") if joined else []


def slot_has_tokens(result: SlotResult) -> bool:
    return len(result) > 2


def slot_tokens(result: SlotResult) -> list[tuple[int, int, Entity, str]]:
    """(start, end, entity, body) of each token of a result."""
    return [
        (result[i], result[i + 1], _ENTITIES[result[i + 2]], result[i + 3])
        for i in range(2, len(result), _TOKEN_FIELDS)
    ]


def slot_spans(result: SlotResult) -> list[tuple[int, int]]:
    return [(result[i], result[i + 1]) for i in range(2, len(result), _TOKEN_FIELDS)]


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


_TTL = 1800.0  # seconds an unused history entry lives
_MAX_PINS = 1024  # distinct (policy, options) objects remembered before the memo starts over


class PrefixMemo:
    """LRU with a time to live, charged to the process's ``MemoryBudget`` (a private one unless
    given): (scope and key id, policy, options, signature of the first k texts) -> what redaction
    did to them.

    The policy and options objects are not held by the entries: their ids are part of the key, and
    ``_pins`` keeps each object alive under its id, so an id in a key can never belong to another
    object (a reloaded policy gets a new id). Entries are then plain tuples of the results, which
    the results of earlier turns share.
    """

    def __init__(self, capacity: int = 1_000_000, *, budget: MemoryBudget | None = None) -> None:
        self.capacity = capacity
        self._budget = budget if budget is not None else MemoryBudget()
        self._data: Region[tuple[SlotResult, ...]] = self._budget.region("history", _TTL)
        self._pins: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self._data)

    def _pinned(self, obj: object) -> bool:
        return self._pins.get(id(obj)) is obj

    def _pin(self, obj: object) -> None:
        if self._pins.get(id(obj)) is not obj:
            if len(self._pins) >= _MAX_PINS:  # policies churned a lot: start over
                self._pins.clear()
                self._data.clear()
            self._pins[id(obj)] = obj

    def _key(self, prefixes: Prefixes, k: int) -> tuple[str, int, int, Signature]:
        return (prefixes.namespace, id(prefixes.policy), id(prefixes.options), prefixes.sigs[k - 1])

    def longest(self, prefixes: Prefixes) -> tuple[SlotResult, ...]:
        """Results for the longest remembered prefix that can be reused (possibly empty)."""
        if not (self._pinned(prefixes.policy) and self._pinned(prefixes.options)):
            return ()
        for k in range(len(prefixes.sigs), 0, -1):
            if _joinable(prefixes.roles, k):
                continue
            slots = self._data.get(self._key(prefixes, k))
            if slots is not None:
                return slots
        return ()

    def remember(self, prefixes: Prefixes, slots: tuple[SlotResult, ...]) -> None:
        """Remember the results of the first ``len(slots)`` texts, unless the last of them was
        joined with the text after it (then its result depends on that text too)."""
        k = len(slots)
        if not k or _joinable(prefixes.roles, k) or self.capacity <= 0:
            return
        self._pin(prefixes.policy)
        self._pin(prefixes.options)
        # Results are shared with the entries of earlier turns; charge the references, and the
        # newest few results in full (they are usually the ones this entry adds).
        size = 250 + 8 * k + sum(_SLOT_BYTES + 2 * len(r[0]) for r in slots[-4:] if r[0] is not None)
        self._data.put(self._key(prefixes, k), slots, size)
        while len(self._data) > self.capacity:
            self._data.evict_oldest()
