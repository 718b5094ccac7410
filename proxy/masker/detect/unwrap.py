"""Values broken over a line: text pasted from a narrow column or a PDF wraps inside an identifier
("245.13.\\n139.47", "www.example.\\ncom", "TX 88051-\\n6853", "PM-7987-\\nC"). Patterns read the
line break as the value's end, so the part after it would go out raw.

``unwrapped_windows`` finds the wraps — a line break right after a hyphen, a slash or an "@", or
after a dot between two digits or before a top-level domain (a sentence's full stop is followed by
the next sentence, lower-case in a transcript) — and gives, around each, a window of the text with
those line breaks removed and a map back. The engine runs the recognizers over the windows and
keeps only what crosses a wrap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# (a lookbehind on the separator's left side: "4.\n1" and "e.\nc" wrap, "stable.\nPlan" does not)
_WRAP = re.compile(
    r"(?:[-/@]|(?<=\d)\.(?=\r?\n\d)|(?<=[a-z])\.(?=\r?\n(?:com|org|net|edu|gov|io|co|us|uk|ca|de|fr|info|biz)\b))"
    r"(\r?\n)(?=[A-Za-z0-9])"
)
_BEFORE = 64  # characters of the value and its label before a wrap
_AFTER = 48


@dataclass(frozen=True, slots=True)
class Window:
    """``text``: the original ``[start, end)`` with its wraps removed; ``cuts``: where (in ``text``)
    each removed line break was, and how long it was."""

    start: int
    text: str
    cuts: tuple[tuple[int, int], ...]

    def crosses(self, s: int, e: int) -> bool:
        return any(s < at < e for at, _ in self.cuts)

    def to_original(self, s: int, e: int) -> tuple[int, int]:
        return self._orig(s), self._orig(e)

    def _orig(self, p: int) -> int:
        shift = sum(n for at, n in self.cuts if at < p)
        return self.start + p + shift


def unwrapped_windows(text: str) -> Iterator[Window]:
    """One window per group of nearby wraps (none when the text has none)."""
    if "\n" not in text:
        return
    spans: list[tuple[int, int]] = [m.span(1) for m in _WRAP.finditer(text)]
    i = 0
    while i < len(spans):
        ws = max(0, spans[i][0] - _BEFORE)
        j = i
        while j + 1 < len(spans) and spans[j + 1][0] - spans[j][1] <= _AFTER:
            j += 1
        we = min(len(text), spans[j][1] + _AFTER)
        parts: list[str] = []
        cuts: list[tuple[int, int]] = []
        pos, length = ws, 0
        for s, e in spans[i : j + 1]:
            parts.append(text[pos:s])
            length += s - pos
            cuts.append((length, e - s))
            pos = e
        parts.append(text[pos:we])
        yield Window(ws, "".join(parts), tuple(cuts))
        i = j + 1
