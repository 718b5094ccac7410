"""Overlap resolution: one finding per stretch of text.

Same-type overlaps are merged (NER "John" + cue "John Smith" -> "John Smith"); across types the
higher score wins, then the longer span, then the more specific type. A redactor must not leak the
loser's uncovered part, so a partially overlapped loser is trimmed to what remains rather than
dropped when what remains is still a plausible value.
"""

from __future__ import annotations

from collections.abc import Iterable

from .types import Entity, Finding

# Generic catch-alls lose ties to specific types.
_GENERIC = {Entity.ID_NUMBER: 2, Entity.ORGANIZATION: 1, Entity.LOCATION: 1}


def _merge_same_type(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    by_entity: dict[Entity, list[Finding]] = {}
    for f in findings:
        by_entity.setdefault(f.entity, []).append(f)
    for group in by_entity.values():
        group.sort(key=lambda f: (f.start, -f.end))
        cur = group[0]
        for f in group[1:]:
            if f.start < cur.end:  # overlap: union, keep the stronger reason
                best = cur if cur.score >= f.score else f
                cur = Finding(
                    cur.start, max(cur.end, f.end), cur.entity, max(cur.score, f.score), best.recognizer
                )
            else:
                out.append(cur)
                cur = f
        out.append(cur)
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


def resolve(findings: Iterable[Finding], text: str) -> list[Finding]:
    items = list(findings)
    if len(items) <= 1:
        return items
    items = _merge_same_type(items)
    items.sort(key=lambda f: (-f.score, -(f.end - f.start), _GENERIC.get(f.entity, 0)))
    kept: list[Finding] = []
    for f in items:
        start, end = f.start, f.end
        for k in kept:
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
            if end - start < 2 or any(start < k.end and k.start < end for k in kept):
                continue
            kept.append(Finding(start, end, f.entity, f.score, f.recognizer))
        elif end - start >= 2:
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept
