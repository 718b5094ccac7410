"""Overlap resolution: one finding per stretch of text.

Same-type overlaps are merged (NER "John" + cue "John Smith" -> "John Smith"); across types the
higher score wins, then the longer span, then the more specific type. A redactor must not leak the
loser's uncovered part, so a partially overlapped loser is trimmed to what remains rather than
dropped when what remains is still a plausible value.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from .types import Entity, Finding

# Generic catch-alls lose ties to specific types.
_GENERIC = {Entity.ID_NUMBER: 2, Entity.ORGANIZATION: 1, Entity.LOCATION: 1}


def _merge_same_type(findings: list[Finding], text: str) -> list[Finding]:
    out: list[Finding] = []
    by_entity: dict[Entity, list[Finding]] = {}
    for f in findings:
        by_entity.setdefault(f.entity, []).append(f)
    for entity, group in by_entity.items():
        group.sort(key=lambda f: (f.start, -f.end))
        cur = group[0]
        for f in group[1:]:
            # Overlap: union, keep the stronger reason. Two names with only a space between them
            # are one name found word by word ("Kestrel" + "Amundsen"): one token, so the words keep
            # the value the rest of the text gives them and the space between them is not left raw.
            if f.start < cur.end or (entity is Entity.PERSON and _space_only(text, cur.end, f.start)):
                best = cur if cur.score >= f.score else f
                cur = Finding(
                    cur.start, max(cur.end, f.end), cur.entity, max(cur.score, f.score), best.recognizer
                )
            else:
                out.append(cur)
                cur = f
        out.append(cur)
    return out


def _space_only(text: str, start: int, end: int) -> bool:
    return 0 < end - start <= 2 and text[start:end].strip(" \t") == ""


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


class _Disjoint:
    """Kept findings: disjoint spans in position order, so the ones a span overlaps are found by
    bisection instead of by comparing it with every finding kept so far (quadratic on a long text)."""

    __slots__ = ("ends", "items", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.items: list[Finding] = []

    def overlapping(self, start: int, end: int) -> list[Finding]:
        i = bisect.bisect_right(self.ends, start)
        out: list[Finding] = []
        while i < len(self.items) and self.starts[i] < end:
            out.append(self.items[i])
            i += 1
        return out

    def add(self, f: Finding) -> None:
        i = bisect.bisect_left(self.starts, f.start)
        self.starts.insert(i, f.start)
        self.ends.insert(i, f.end)
        self.items.insert(i, f)


def _clusters(items: list[Finding]) -> list[list[Finding]]:
    """Groups of findings linked by overlaps: no finding of one group can touch another group, so
    each is resolved on its own (most are a single finding). Within a group the findings keep their
    given order, which breaks ties in ``_resolve_cluster``'s sort."""
    order = {id(f): i for i, f in enumerate(items)}
    items = sorted(items, key=lambda f: f.start)
    out: list[list[Finding]] = []
    reach = -1
    for f in items:
        if f.start < reach:
            out[-1].append(f)
            reach = max(reach, f.end)
        else:
            out.append([f])
            reach = f.end
    for group in out:
        if len(group) > 1:
            group.sort(key=lambda f: order[id(f)])
    return out


def resolve(findings: Iterable[Finding], text: str) -> list[Finding]:
    items = list(findings)
    if len(items) <= 1:
        return items
    kept: list[Finding] = []
    for cluster in _clusters(_merge_same_type(items, text)):
        if len(cluster) == 1:
            kept.append(cluster[0])
        else:
            kept.extend(_resolve_cluster(cluster, text))
    return [f for f in kept if f.end - f.start >= 2]


def _resolve_cluster(items: list[Finding], text: str) -> list[Finding]:
    items.sort(key=lambda f: (-f.score, -(f.end - f.start), _GENERIC.get(f.entity, 0)))
    kept = _Disjoint()
    for f in items:
        start, end = f.start, f.end
        for k in kept.overlapping(start, end):
            if start < k.end and k.start < end:
                if k.start <= start and end <= k.end:
                    start = end  # swallowed
                    break
                if start < k.start:
                    end = min(end, k.start)
                else:
                    start = max(start, k.end)
        if end - start >= 2 and (start, end) != (f.start, f.end):
            start, end = _trim(text, start, end)
            # A fragment of a name or place left over from a boundary disagreement is noise; a
            # fragment of a number is still part of an identifier and must stay masked.
            if not any(c.isdigit() for c in text[start:end]):
                continue
            if end - start < 2 or kept.overlapping(start, end):
                continue
            kept.add(Finding(start, end, f.entity, f.score, f.recognizer))
        elif end - start >= 2:
            kept.add(f)
    return kept.items
