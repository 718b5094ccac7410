"""Values broken over a line: text pasted from a narrow column or a PDF wraps inside an identifier
("245.13.\\n139.47", "www.example.\\ncom", "TX 88051-\\n6853", "PM-7987-\\nC"). Patterns read the
line break as the value's end, so the part after it would go out raw.

``unwrapped_windows`` finds the wraps — a line break right after a hyphen, a slash or an "@",
between two pairs of digits, or after a dot between two digits or before a top-level domain (a
sentence's full stop is followed by the next sentence, lower-case in a transcript) — and gives,
around each, a window of the text with those line breaks removed and a map back. The engine runs
the recognizers over the windows and keeps only what crosses a wrap.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

# (a lookbehind on the separator's left side: "4.\n1" and "e.\nc" wrap, "stable.\nPlan" does not)
_WRAP = re.compile(
    r"(?:[-/@]|(?<=\d)\.(?=\r?\n\d)|(?<=[a-z])\.(?=\r?\n(?:com|org|net|edu|gov|io|co|us|uk|ca|de|fr|info|biz)\b)"
    # (a number cut between two digit pairs by a fixed-width column: "Rx 12\n34619", "07800 \n613532")
    r"|(?<=\d\d)[ \t]?(?=\r?\n\d\d))"
    r"(\r?\n)(?=[A-Za-z0-9])"
)
_BEFORE = 64  # characters of the value and its label before a wrap
_AFTER = 48
# Wraps read per text (a long text is read in chunks, each its own text here): a real document has
# a few; a body made of thousands would otherwise pay a second pass of every numeric recognizer.
MAX_WRAPS = 64


@dataclass(frozen=True, slots=True)
class Window:
    """``text``: the original from ``start`` on, with its wraps removed, and where they were."""

    start: int
    text: str
    at: list[int]  # where each removed line break was, in ``text`` (ascending)
    removed: list[int]  # characters removed before and at each of them, cumulated

    def crosses(self, s: int, e: int) -> bool:
        k = bisect.bisect_right(self.at, s)  # the first cut after ``s``
        return k < len(self.at) and self.at[k] < e

    def to_original(self, s: int, e: int) -> tuple[int, int]:
        return self._orig(s), self._orig(e)

    def _orig(self, p: int) -> int:
        k = bisect.bisect_left(self.at, p)  # cuts strictly before ``p``
        return self.start + p + (self.removed[k - 1] if k else 0)


def unwrapped_windows(text: str) -> Iterator[Window]:
    """One window per group of nearby wraps (none when the text has none)."""
    if "\n" not in text:
        return
    spans: list[tuple[int, int]] = []
    for m in _WRAP.finditer(text):
        spans.append(m.span(1))
        if len(spans) == MAX_WRAPS:
            break
    i = 0
    while i < len(spans):
        ws = max(0, spans[i][0] - _BEFORE)
        j = i
        while j + 1 < len(spans) and spans[j + 1][0] - spans[j][1] <= _AFTER:
            j += 1
        we = min(len(text), spans[j][1] + _AFTER)
        parts: list[str] = []
        at: list[int] = []
        removed: list[int] = []
        pos, length, total = ws, 0, 0
        for s, e in spans[i : j + 1]:
            parts.append(text[pos:s])
            length += s - pos
            total += e - s
            at.append(length)
            removed.append(total)
            pos = e
        parts.append(text[pos:we])
        yield Window(ws, "".join(parts), at, removed)
        i = j + 1
