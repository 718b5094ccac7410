"""The recognizer domain model: a ``Recognizer`` base and the declarative ``PatternRecognizer``.

Presidio's idea, with strict typing: a pattern recognizer declares ``PATTERNS`` (precompiled once, at
class creation), ``CONTEXT`` words that raise confidence when they appear just before a match, and a
``validate()`` hook for checksums. Recognizers emit *candidates* with a score; thresholds, allow/deny
lists and overlap resolution happen later, in the engine, so the cache can hold candidates.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from .types import Entity, Finding

_DIGIT = re.compile(r"\d")
_CLAUSE_END = re.compile(r"[\n;:]|[.!?](?:\s|$)|\s{2,}")


class Doc:
    """One text as recognizers see it: the text, its lower-case copy, and cheap prefilter facts."""

    __slots__ = ("has_digit", "lower", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()
        self.has_digit = _DIGIT.search(text) is not None


def word_alternation(words: Iterable[str]) -> str:
    """A regex matching any of the literal phrases (spaces match any whitespace), bounded so "dl"
    never matches "handle". Built as a trie so the engine tries each prefix once instead of every
    phrase at every position (labels and context lists run to a hundred phrases)."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in {w.lower() for w in words}:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}
    return rf"(?<![a-z0-9])(?:{_trie_regex(trie)})(?![a-z0-9])"


def _trie_regex(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    ends = "" in node
    branches = [(_char(ch) + _trie_regex(child)) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        # Longest match first: try to continue before accepting the shorter phrase.
        return f"(?:{body})?" if len(branches) > 1 or len(branches[0]) > 1 else f"{body}?"
    return body


def _char(ch: str) -> str:
    return r"\s+" if ch == " " else re.escape(ch)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One regex of a pattern recognizer. ``group`` selects the reported span inside the match."""

    name: str
    regex: str
    score: float
    group: int | str = 0
    flags: int = 0
    needs_context: bool = False  # below threshold unless a CONTEXT word is near


class Recognizer(ABC):
    """Finds candidate spans of one or more entity types in a ``Doc``."""

    name: ClassVar[str] = "recognizer"
    # Fast path: most identifiers contain a digit; skip those recognizers on digit-free text.
    needs_digits: ClassVar[bool] = False
    # Fast path: if set, at least one of these lower-case substrings must occur in the text.
    triggers: ClassVar[tuple[str, ...]] = ()

    def applies(self, doc: Doc) -> bool:
        if self.needs_digits and not doc.has_digit:
            return False
        if self.triggers:
            lower = doc.lower
            return any(t in lower for t in self.triggers)
        return True

    @abstractmethod
    def analyze(self, doc: Doc) -> list[Finding]: ...


class PatternRecognizer(Recognizer):
    """Regexes + context words + a validation hook. Subclasses only declare class attributes."""

    ENTITY: ClassVar[Entity]
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    CONTEXT_BOOST: ClassVar[float] = 0.35
    CONTEXT_BEFORE: ClassVar[int] = 48  # characters of look-behind for context words
    CONTEXT_AFTER: ClassVar[int] = 0

    _compiled: ClassVar[tuple[tuple[Pattern, re.Pattern[str]], ...]] = ()
    _context_re: ClassVar[re.Pattern[str] | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Compile once per class, never per call: regex construction dominates small-text latency.
        cls._compiled = tuple((p, re.compile(p.regex, p.flags)) for p in cls.PATTERNS)
        cls._context_re = re.compile(word_alternation(cls.CONTEXT)) if cls.CONTEXT else None

    def has_context(self, doc: Doc, start: int, end: int) -> bool:
        if self._context_re is None:
            return False
        before = doc.lower[max(0, start - self.CONTEXT_BEFORE) : start]
        if self._context_re.search(before):
            return True
        if self.CONTEXT_AFTER:
            # After the value, context only counts within the same clause ("… is my social").
            after = _CLAUSE_END.split(doc.lower[end : end + self.CONTEXT_AFTER], maxsplit=1)[0]
            return self._context_re.search(after) is not None
        return False

    def validate(self, value: str, *, context: bool) -> bool:
        """Checksum / issuing-rule hook: ``False`` drops the candidate."""
        return True

    def entity_for(self, doc: Doc, start: int, end: int) -> Entity:
        """Hook for recognizers whose type depends on surroundings (phone vs fax)."""
        return self.ENTITY

    def adjust(self, value: str, score: float, *, context: bool) -> float:
        """Hook to reshape the score after validation (e.g. a VIN failing its check digit)."""
        return score

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        for pattern, rx in self._compiled:
            for m in rx.finditer(text):
                start, end = m.span(pattern.group)
                if start < 0 or start == end:
                    continue
                value = text[start:end]
                context = self.has_context(doc, start, end)
                if pattern.needs_context and not context:
                    continue
                if not self.validate(value, context=context):
                    continue
                score = pattern.score + (self.CONTEXT_BOOST if context else 0.0)
                score = min(1.0, self.adjust(value, score, context=context))
                out.append(Finding(start, end, self.entity_for(doc, start, end), score, self.name))
        return out
