"""The recognizer domain model: a ``Recognizer`` base and the declarative ``PatternRecognizer``.

Presidio's idea, with strict typing: a pattern recognizer declares ``PATTERNS`` (precompiled once, at
class creation), ``CONTEXT`` words that raise confidence when they appear just before a match, and a
``validate()`` hook for checksums. Recognizers emit *candidates* with a score; thresholds, allow/deny
lists and overlap resolution happen later, in the engine, so the cache can hold candidates.

Prefilters: scanning a text with a regex costs ~20 ns per character per pattern in CPython whether it
matches or not, and most recognizers find nothing in most texts. So each recognizer (``prefilter``,
``min_digits``) and each pattern (``Pattern.gate``/``words``, context words for ``needs_context``)
may state a cheap *necessary* condition for any match; when it fails the scan is skipped. A pattern
may also say where its matches can start (``Pattern.run``: at a run of digits; ``Pattern.starts``: at
one of a few words): then the regex is only tried at those places, which is what ``finditer`` would
find, minus the scan of everything in between. None of this changes a finding:
``Doc(text, gated=False)`` turns all of it off, and the tests compare both.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from .multiscan import MultiScan
from .types import Entity, Finding

_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
# The only non-ASCII characters a case-insensitive regex matches with an ASCII letter (checked over
# all of Unicode in the tests). ``str.lower`` alone maps some elsewhere (U+0130 -> "i" + U+0307).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_CLAUSE_END = re.compile(r"[\n;:]|[.!?](?:\s|$)|\s{2,}")


class Doc:
    """One text as recognizers see it: the text, its lower-case copy, and cheap prefilter facts.

    ``fold`` is the copy to look for the literal words of an IGNORECASE regex in: any such match is
    a substring of it. ``gated=False`` disables every prefilter (to prove they hide nothing)."""

    __slots__ = (
        "_any",
        "_any_lower",
        "_any_text",
        "_fold",
        "_gates",
        "_lower_gates",
        "_max_run",
        "_n_digits",
        "_run_starts",
        "_runs",
        "_starts",
        "_text_starts",
        "ascii",
        "gated",
        "has_digit",
        "lower",
        "text",
    )

    def __init__(self, text: str, *, gated: bool = True) -> None:
        self.text = text
        self.lower = text.lower()
        self.has_digit = _DIGIT.search(text) is not None
        self.gated = gated
        self.ascii = text.isascii()
        self._n_digits = -1
        self._max_run = -1
        self._fold: str | None = None
        # Memos: recognizers share words and gates, and a check costs more than a dict lookup. With
        # a multi-pattern scan (``multiscan``) they start filled in for every registered condition.
        facts = _SCAN.facts(text) if gated and self.ascii and _SCAN is not None else None
        if facts is None:
            self._gates: dict[re.Pattern[str], bool] = {}
            self._lower_gates: dict[re.Pattern[str], bool] = {}
            self._any: dict[tuple[str, ...], bool] = {}
            self._any_text: dict[tuple[str, ...], bool] = {}
        else:
            self._gates, self._lower_gates, self._any, self._any_text = facts
        self._any_lower: dict[tuple[str, ...], bool] = {}
        self._runs: list[tuple[int, int]] | None = None
        self._run_starts: dict[int, list[int]] = {}
        self._starts: dict[tuple[str, ...], list[int] | None] = {}
        self._text_starts: dict[tuple[str, ...], list[int]] = {}

    @property
    def fold(self) -> str:
        if self._fold is None:
            self._fold = self.lower if self.ascii else self.text.translate(_FOLD).lower()
        return self._fold

    @property
    def n_digits(self) -> int:
        """How many ``\\d`` characters the text has (counted on first use)."""
        if self._n_digits < 0:
            if not self.has_digit:
                self._n_digits = 0
            elif self.ascii:  # then ``\\d`` is 0-9, and ``str.count`` is far cheaper than a regex
                self._n_digits = sum(map(self.text.count, "0123456789"))
            else:
                self._n_digits = len(_DIGIT.findall(self.text))
        return self._n_digits

    def found(self, gate: re.Pattern[str]) -> bool:
        """``gate.search(text)``, once per text: recognizers share gates ("a digit, a slash, a digit")."""
        hit = self._gates.get(gate)
        if hit is None:
            hit = self._gates[gate] = gate.search(self.text) is not None
        return hit

    def lower_found(self, gate: re.Pattern[str]) -> bool:
        """``gate.search(lower)``, once per text (a gate made by ``lower_gate_regex``)."""
        hit = self._lower_gates.get(gate)
        if hit is None:
            hit = self._lower_gates[gate] = gate.search(self.lower) is not None
        return hit

    def text_has_any(self, words: tuple[str, ...]) -> bool:
        """Whether any of the words occurs in ``text`` (case-sensitive)."""
        hit = self._any_text.get(words)
        if hit is None:
            hit = self._any_text[words] = contains_any(self.text, words)
        return hit

    def has_any(self, words: tuple[str, ...]) -> bool:
        """Whether any of the (lower-case) words occurs in ``fold``."""
        hit = self._any.get(words)
        if hit is None:
            hit = self._any[words] = contains_any(self.fold, words)
        return hit

    def lower_has_any(self, words: tuple[str, ...]) -> bool:
        """Whether any of the (lower-case) words occurs in ``lower``."""
        if self.ascii:  # then ``fold`` is ``lower``
            return self.has_any(words)
        hit = self._any_lower.get(words)
        if hit is None:
            hit = self._any_lower[words] = contains_any(self.lower, words)
        return hit

    @property
    def max_run(self) -> int:
        """The length of the longest run of ``\\d`` characters."""
        if self._max_run < 0:
            if self._runs is None:
                self._runs = [m.span() for m in _DIGITS.finditer(self.text)] if self.has_digit else []
            self._max_run = max((e - s for s, e in self._runs), default=0)
        return self._max_run

    def run_starts(self, length: int) -> list[int]:
        """Where each maximal run of at least ``length`` ``\\d`` characters starts."""
        out = self._run_starts.get(length)
        if out is None:
            if self._runs is None:
                self._runs = [m.span() for m in _DIGITS.finditer(self.text)] if self.has_digit else []
            out = self._run_starts[length] = [s for s, e in self._runs if e - s >= length]
        return out

    def word_starts(self, words: tuple[str, ...]) -> list[int] | None:
        """Sorted offsets of every occurrence of the (lower-case) words, for an ASCII text; ``None``
        otherwise (lower-casing can move offsets outside ASCII, so the caller scans instead)."""
        if words in self._starts:
            return self._starts[words]
        out = _occurrences(self.lower, words) if self.ascii else None
        self._starts[words] = out
        return out

    def text_word_starts(self, words: tuple[str, ...]) -> list[int]:
        """Sorted offsets of every occurrence of the words in ``text`` (case-sensitive)."""
        out = self._text_starts.get(words)
        if out is None:
            out = self._text_starts[words] = _occurrences(self.text, words)
        return out


def _occurrences(haystack: str, words: tuple[str, ...]) -> list[int]:
    found: set[int] = set()
    for w in words:
        i = haystack.find(w)
        while i >= 0:
            found.add(i)
            i = haystack.find(w, i + 1)
    return sorted(found)


def contains_any(text: str, words: Iterable[str]) -> bool:
    """``any(w in text for w in words)`` without a generator's cost (it runs thousands of times)."""
    for w in words:  # noqa: SIM110 - the loop is the point
        if w in text:
            return True
    return False


def lowercase_variant(rx: re.Pattern[str]) -> re.Pattern[str]:
    """``rx`` without IGNORECASE, for the lower-cased copy of an ASCII text: it matches there at
    exactly the spans where ``rx`` matches the text, provided every letter in ``rx`` is lower-case
    (classes included: ``[a-z]``, ``[A-Za-z]``, never ``[A-Z]`` alone) — about four times faster."""
    return re.compile(rx.pattern, rx.flags & ~re.IGNORECASE)


def word_alternation(words: Iterable[str]) -> str:
    """A regex matching any of the literal phrases (spaces match any whitespace), bounded so "dl"
    never matches "handle". Built as a trie so the engine tries each prefix once instead of every
    phrase at every position (labels and context lists run to a hundred phrases)."""
    return rf"(?<![a-z0-9])(?:{trie_alternation(words)})(?![a-z0-9])"


def trie_alternation(words: Iterable[str]) -> str:
    """The (lower-cased) phrases as one trie-shaped alternation, longest match first, unbounded."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in {w.lower() for w in words}:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_regex(trie)


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


# Every registered prefilter condition, for the multi-pattern scan (``install_multiscan``).
_GATES: dict[tuple[str, int], re.Pattern[str]] = {}
_LOWER_GATES: dict[tuple[str, int], re.Pattern[str]] = {}
_FOLD_WORDS: set[tuple[str, ...]] = set()
_TEXT_WORDS: set[tuple[str, ...]] = set()
_SCAN: MultiScan | None = None


def _registered(table: dict[tuple[str, int], re.Pattern[str]], regex: str, flags: int) -> re.Pattern[str]:
    rx = table.get((regex, flags))
    if rx is None:
        rx = table[(regex, flags)] = re.compile(regex, flags)
    return rx


def gate_regex(regex: str, flags: int = 0) -> re.Pattern[str]:
    """One compiled object per distinct gate (searched in ``Doc.text`` by ``Doc.found``), so it
    runs once per text; registered for the multi-pattern scan."""
    return _registered(_GATES, regex, flags)


def lower_gate_regex(regex: str, flags: int = 0) -> re.Pattern[str]:
    """``gate_regex`` for a gate searched in ``Doc.lower`` (``Doc.lower_found``)."""
    return _registered(_LOWER_GATES, regex, flags)


def fold_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """Register lower-case words looked for with ``Doc.has_any``/``lower_has_any``; returns them."""
    _FOLD_WORDS.add(words)
    return words


def text_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """Register words looked for as written (``Doc.text_has_any``); returns them."""
    _TEXT_WORDS.add(words)
    return words


def install_multiscan() -> MultiScan | None:
    """Build the scan of every condition registered so far (once per process; ``None`` without
    Hyperscan). Conditions registered later are simply answered by ``re``."""
    global _SCAN
    if _SCAN is None:
        try:
            _SCAN = MultiScan(_GATES.values(), _LOWER_GATES.values(), _FOLD_WORDS, _TEXT_WORDS)
        except RuntimeError:
            return None
    return _SCAN


@dataclass(frozen=True, slots=True)
class Pattern:
    """One regex of a pattern recognizer. ``group`` selects the reported span inside the match.

    ``gate`` (a regex, compiled with ``flags``) and ``words`` (lower-case literals looked for in
    ``Doc.fold``) are optional prefilters: every match of ``regex`` must contain a match of ``gate``
    and one of ``words``. A ``needs_context`` pattern is also skipped when no CONTEXT word occurs."""

    name: str
    regex: str
    score: float
    group: int | str = 0
    flags: int = 0
    needs_context: bool = False  # below threshold unless a CONTEXT word is near
    gate: str = ""
    words: tuple[str, ...] = ()
    # Where a match can start (neither = anywhere; both = either). ``run``: at the first digit of a
    # run of at least that many digits (the regex must begin with a digit and look behind for ``\\w``
    # or ``\\b``). ``starts``: at an occurrence of one of these lower-case words or characters (in an
    # IGNORECASE regex, or one whose first characters have no case).
    run: int = 0
    starts: tuple[str, ...] = ()
    # With ``starts``: a match may begin up to this many characters before the occurrence (a key
    # name "client_secret" found by "secret", inside a longer identifier).
    lead: int = 0
    # IGNORECASE regexes whose letters are all lower-case (see ``lowercase_variant``).
    lowercase: bool = False
    # Prefilter: the text has a run of at least this many digits (the match needs one).
    min_run: int = 0


_Plan = tuple[Pattern, re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None, bool]


class Recognizer(ABC):
    """Finds candidate spans of one or more entity types in a ``Doc``."""

    name: ClassVar[str] = "recognizer"
    # Fast path: most identifiers contain a digit; skip those recognizers on digit-free text.
    needs_digits: ClassVar[bool] = False
    # Fast path: if set, at least one of these lower-case substrings must occur in the text.
    triggers: ClassVar[tuple[str, ...]] = ()
    # Prefilter: no finding is possible with fewer ``\d`` characters in the whole text.
    min_digits: ClassVar[int] = 0
    # Prefilter, checked first: a regex (compiled with ``requires_flags``) that every finding's text
    # holds a match of — usually the union of the patterns' gates, so that a recognizer none of whose
    # patterns can match costs one memoised search instead of a check per pattern.
    requires: ClassVar[str] = ""
    requires_flags: ClassVar[int] = 0
    _requires: ClassVar[re.Pattern[str] | None] = None

    # Many triggers (secrets have 47) are looked for with one trie-shaped regex rather than a loop;
    # a space in one matches any whitespace, so it finds a superset of the texts the loop would.
    _triggers_re: ClassVar[re.Pattern[str] | None] = None
    _own_prefilter: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._requires = gate_regex(cls.requires, cls.requires_flags) if cls.requires else None
        many = len(cls.triggers) > 8
        cls._triggers_re = lower_gate_regex(trie_alternation(cls.triggers)) if many else None
        if cls.triggers and not many:
            fold_words(cls.triggers)
        # Most recognizers keep the default ``prefilter``: ``applies`` then skips the call.
        cls._own_prefilter = cls.prefilter is not Recognizer.prefilter

    def applies(self, doc: Doc) -> bool:
        if self.needs_digits and not doc.has_digit:
            return False
        if self.triggers:
            if self._triggers_re is not None:
                if not doc.lower_found(self._triggers_re):
                    return False
            elif not doc.lower_has_any(self.triggers):
                return False
        if not doc.gated:
            return True
        if self.min_digits and doc.n_digits < self.min_digits:
            return False
        if self._requires is not None and not doc.found(self._requires):
            return False
        return not self._own_prefilter or self.prefilter(doc)

    def prefilter(self, doc: Doc) -> bool:
        """A cheap necessary condition for any finding: ``False`` skips ``analyze``."""
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
    _lowered: ClassVar[tuple[re.Pattern[str] | None, ...]] = ()
    _gates: ClassVar[tuple[re.Pattern[str] | None, ...]] = ()
    _context_re: ClassVar[re.Pattern[str] | None] = None
    _context_words: ClassVar[tuple[str, ...]] = ()
    # Per pattern: (pattern, regex, lower-case variant, gate, whether any prefilter applies).
    _plans: ClassVar[tuple[_Plan, ...]] = ()
    # Plan selection: which patterns can match a text depends only on whether a context word occurs,
    # on its longest run of digits (capped at ``_run_cap``) and on which of the patterns' distinct
    # (words, gate) prefilters pass (``_keys``). Each combination's plans are worked out once and
    # kept in ``_selected``, so a text checks each distinct condition once, not each pattern. The
    # context words are looked for last, and only when a ``needs_context`` plan is still in the
    # running: the other conditions usually rule those out, and the look costs ~1 µs (24 date words).
    _run_cap: ClassVar[int] = 0
    _keys: ClassVar[tuple[tuple[tuple[str, ...], re.Pattern[str] | None], ...]] = ()
    # (longest run, prefilter bits) -> (plans without context, plans with it; the same object when
    # context changes nothing)
    _selected: ClassVar[dict[tuple[int, tuple[bool, ...]], tuple[tuple[_Plan, ...], tuple[_Plan, ...]]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Compile once per class, never per call: regex construction dominates small-text latency.
        cls._compiled = tuple((p, re.compile(p.regex, p.flags)) for p in cls.PATTERNS)
        cls._lowered = tuple(lowercase_variant(rx) if p.lowercase else None for p, rx in cls._compiled)
        cls._gates = tuple(gate_regex(p.gate, p.flags) if p.gate else None for p in cls.PATTERNS)
        cls._context_re = re.compile(word_alternation(cls.CONTEXT)) if cls.CONTEXT else None
        # ``has_context`` only ever matches inside ``doc.lower``: each phrase's first word must be there.
        cls._context_words = fold_words(tuple(sorted({w.lower().split()[0] for w in cls.CONTEXT})))
        for p in cls.PATTERNS:
            if p.words:
                fold_words(p.words)
        cls._plans = tuple(
            (
                p,
                rx,
                lowered,
                gate,
                bool(p.needs_context or p.words or gate or lowered or p.run or p.starts or p.min_run),
            )
            for (p, rx), lowered, gate in zip(cls._compiled, cls._lowered, cls._gates, strict=True)
        )
        cls._run_cap = max((max(p.min_run, p.run) for p in cls.PATTERNS), default=0)
        keys: list[tuple[tuple[str, ...], re.Pattern[str] | None]] = []
        for p, gate in zip(cls.PATTERNS, cls._gates, strict=True):
            if (p.words or gate is not None) and (p.words, gate) not in keys:
                keys.append((p.words, gate))
        cls._keys = tuple(keys)
        cls._selected = {}

    def _select(self, doc: Doc) -> tuple[_Plan, ...]:
        """The plans whose prefilters pass on ``doc`` (gated docs only)."""
        longest = min(doc.max_run, self._run_cap)
        bits = tuple(
            [
                (not words or doc.has_any(words)) and (gate is None or doc.found(gate))
                for words, gate in self._keys
            ]
        )
        entry = self._selected.get((longest, bits))
        if entry is None:
            without = self._viable(longest, bits, context=False)
            with_context = self._viable(longest, bits, context=True)
            entry = (without, without if with_context == without else with_context)
            self._selected[(longest, bits)] = entry
        without, with_context = entry
        if with_context is without or not doc.lower_has_any(self._context_words):
            return without
        return with_context

    def _viable(self, longest: int, bits: tuple[bool, ...], *, context: bool) -> tuple[_Plan, ...]:
        passed = {key for key, bit in zip(self._keys, bits, strict=True) if bit}
        return tuple(
            plan
            for plan in self._plans
            if (context or not plan[0].needs_context)
            and plan[0].min_run <= longest
            and (plan[0].run <= longest or bool(plan[0].starts))
            and (not (plan[0].words or plan[3] is not None) or (plan[0].words, plan[3]) in passed)
        )

    def _matches(
        self,
        doc: Doc,
        pattern: Pattern,
        rx: re.Pattern[str],
        lowered: re.Pattern[str] | None,
        gate: re.Pattern[str] | None,
    ) -> Iterable[re.Match[str]]:
        """``rx.finditer(doc.text)``, or nothing when a prefilter rules a match out, trying only
        where a match can start when the pattern says where."""
        if pattern.needs_context and not doc.lower_has_any(self._context_words):
            return ()
        if pattern.words and not doc.has_any(pattern.words):
            return ()
        if gate is not None and not doc.found(gate):
            return ()
        if pattern.min_run and not doc.run_starts(pattern.min_run):
            return ()
        return self._placed(doc, pattern, rx, lowered)

    @staticmethod
    def _placed(
        doc: Doc, pattern: Pattern, rx: re.Pattern[str], lowered: re.Pattern[str] | None
    ) -> Iterable[re.Match[str]]:
        """``rx.finditer(doc.text)`` where the prefilters passed, tried only where a match can start
        when the pattern says where."""
        text = doc.text
        if lowered is not None and doc.ascii:
            rx, text = lowered, doc.lower  # same offsets: ASCII lower-casing keeps the length
        if pattern.run and pattern.starts:  # either
            words = doc.word_starts(pattern.starts)
            starts = None if words is None else sorted({*doc.run_starts(pattern.run), *words})
        elif pattern.run:
            starts = doc.run_starts(pattern.run)
        elif pattern.starts:
            starts = doc.word_starts(pattern.starts)
            if pattern.lead and starts:
                starts = _led(starts, pattern.lead)
        else:
            return rx.finditer(text)
        return finditer_from(rx, text, starts)

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
        gated = doc.gated
        for pattern, rx, lowered, _, prefiltered in self._select(doc) if gated else self._plans:
            matches = self._placed(doc, pattern, rx, lowered) if gated and prefiltered else rx.finditer(text)
            for m in matches:
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


def _led(starts: list[int], lead: int) -> list[int]:
    """Every offset at most ``lead`` characters before one of ``starts`` (sorted), in order."""
    out: list[int] = []
    for pos in starts:
        first = max(pos - lead, out[-1] + 1 if out else 0)
        out.extend(range(first, pos + 1))
    return out


def finditer_from(rx: re.Pattern[str], text: str, starts: list[int] | None) -> Iterable[re.Match[str]]:
    """``rx.finditer(text)``, given (if not ``None``) every offset where a match can start: tried only
    there unless there are so many that scanning is as cheap."""
    if starts is None or len(starts) * 16 > len(text):
        return rx.finditer(text)
    return finditer_at(rx, text, starts) if starts else ()


def finditer_at(rx: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """What ``rx.finditer(text)`` yields when every match starts at one of ``starts`` (sorted) and
    none is empty: the leftmost match at or after the end of the previous one, each time.
    ``rx.match(text, pos)`` tries exactly position ``pos`` and still sees the text before it."""
    end = 0
    for pos in starts:
        if pos < end:
            continue
        m = rx.match(text, pos)
        if m is not None:
            yield m
            end = m.end()
