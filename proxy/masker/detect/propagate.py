"""Propagation: a value found anywhere in a request is replaced wherever it recurs.

Recognizers need cues, and a cue is usually next to one mention only: "patient Derek Olsen" in the
system prompt, then "derek olsen called again" typed in lower case three turns later, or the name
again in another field of the body. Every value found in any text of a ``detect`` call (and every
*known* value the caller seeded, e.g. a voice platform's ``patient_name`` variable) is looked for in
every text, case-, space- and punctuation-insensitively: "Derek Olsen", "derek  olsen", "OLSEN,
Derek" is not the same sequence and is not matched, "derek_olsen", "DerekOlsen" and
"512 44 7781" for "512-44-7781" are.

Matching is one pass over each text's words with a dictionary keyed by a value's first word, so the
cost is linear in the text whatever the number of values; the values are bounded in number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_WORDS,
    HONORIFICS,
    LABEL_AND_PAYER_WORDS,
    NAME_LIKE_WORDS,
    STOP_WORDS,
)
from .normalize import normalize
from .types import Entity, Finding

MAX_VALUES = 20_000  # distinct values looked for per request
MAX_WORDS = 8  # a longer value (an address line) is matched by its recognizer, not repeated
_MAX_GAP = 3  # characters between two words of a value: ", ", " - ", "_"
_PER_WORD = 32  # values sharing a first word
_WORD = re.compile(r"[^\W_]+")
# The next word of a value: at most _MAX_GAP characters of spaces or punctuation, then the word.
_NEXT_WORD = re.compile(rf"([\W_]{{0,{_MAX_GAP}}})([^\W_]+)")
_REGEX_FIRSTS = 256  # up to this many distinct first words, one regex finds them
_KNOWN_WORDS = (
    STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS | LABEL_AND_PAYER_WORDS | CALENDAR_WORDS | HONORIFICS
)
# An age or a year on its own is no identifier; repeating it everywhere would only cost the LLM words.
_NOT_PROPAGATED = frozenset({Entity.AGE})
RECOGNIZER = "propagated"


@dataclass(frozen=True, slots=True)
class _Value:
    words: tuple[str, ...]
    entity: Entity
    score: float
    recognizer: str
    # One word of letters ("olsen"): in cased text only a capitalised occurrence is the name ("Mark
    # Price" found; "the price is right" is not about him).
    word: bool


class Values:
    """The values of one request, indexed by first word."""

    __slots__ = ("_by_first", "_count", "_first_rx")

    def __init__(self) -> None:
        self._by_first: dict[str, list[_Value]] = {}
        self._count = 0
        self._first_rx: re.Pattern[str] | None = None

    def __len__(self) -> int:
        return self._count

    def add(self, value: str, entity: Entity, score: float, recognizer: str) -> None:
        if entity in _NOT_PROPAGATED or self._count >= MAX_VALUES:
            return
        for words, word in _keys(value, entity):
            self._add(words, entity, score, recognizer, word)

    def _add(self, words: tuple[str, ...], entity: Entity, score: float, recognizer: str, word: bool) -> None:
        bucket = self._by_first.setdefault(words[0], [])
        for i, v in enumerate(bucket):
            if v.words == words:
                if score > v.score:
                    bucket[i] = _Value(words, entity, score, recognizer, word)
                return
        if len(bucket) < _PER_WORD:
            bucket.append(_Value(words, entity, score, recognizer, word))
            self._count += 1
            self._first_rx = None

    def find(self, text: str) -> list[Finding]:
        """Every occurrence of a value in ``text`` (offsets of ``text``)."""
        if not self._by_first:
            return []
        norm = normalize(text)
        folded = norm.text
        out: list[Finding] = []
        cased: bool | None = None
        for start, first_end, word in self._first_words(folded):
            for v in self._by_first.get(word, ()):
                if v.word and not folded[start].isupper():
                    if cased is None:
                        cased = folded != folded.lower()
                    if cased:
                        continue
                end = first_end
                for expected in v.words[1:]:
                    m = _NEXT_WORD.match(folded, end)
                    if m is None or "\n" in m.group(1) or m.group(2).lower() != expected:
                        break
                    end = m.end()
                else:
                    o_start, o_end = norm.to_original(start, end)
                    out.append(Finding(o_start, o_end, v.entity, v.score, v.recognizer))
        return out

    def _first_words(self, folded: str) -> Iterator[tuple[int, int, str]]:
        """The words of ``folded`` that begin some value: found by one regex of the first words
        when they are few (a conversation's handful: the scan stays in C), else word by word."""
        if self._first_rx is None and len(self._by_first) <= _REGEX_FIRSTS:
            alternatives = "|".join(re.escape(w) for w in sorted(self._by_first, key=len, reverse=True))
            self._first_rx = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
        if self._first_rx is not None:
            for m in self._first_rx.finditer(folded):
                yield m.start(), m.end(), m.group().lower()
            return
        for m in _WORD.finditer(folded):
            word = m.group().lower()
            if word in self._by_first:
                yield m.start(), m.end(), word


@functools.lru_cache(maxsize=4096)
def _keys(value: str, entity: Entity) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The word sequences ``value`` is looked for as, each with whether it is a single word of
    letters. A conversation repeats its values turn after turn: computed once per value."""
    words = tuple(w.lower() for w in _WORD.findall(normalize(value).text))
    keys = [words]
    if entity in (Entity.PHONE, Entity.FAX) and len(words) > 1 and words[0] in ("1", "001", "+1"):
        words = words[1:]  # "+1 415 555 2671" is written "(415) 555-2671" too
        keys.append(words)
    if len(words) > 1:
        keys.append(("".join(words),))  # "DerekOlsen", "512447781"
        if entity is Entity.PERSON:  # "Olsen" alone later in the conversation
            keys.extend((w,) for w in words)
    out: list[tuple[tuple[str, ...], bool]] = []
    for key in keys:
        if not key or len(key) > MAX_WORDS or not _distinctive(key):
            continue
        word = len(key) == 1 and key[0].isalpha()
        if word and key[0] in NAME_LIKE_WORDS:
            continue  # "Will", "Grace", "Bill": alone, the everyday word is the likelier reading
        out.append((key, word))
    return tuple(out)


def _distinctive(words: tuple[str, ...]) -> bool:
    """Worth replacing wherever it recurs: not an everyday word, not a short number."""
    chars = sum(len(w) for w in words)
    if all(w.isdigit() for w in words):
        return chars >= 5
    if chars < 3:
        return False
    return not all(w in _KNOWN_WORDS or w.isdigit() for w in words)


def collect(
    texts: Sequence[str],
    findings: Sequence[Sequence[Finding]],
    known: Iterable[tuple[Entity, str]] = (),
) -> Values:
    """The request's values: the caller's known ones first, then what was found, strongest first."""
    values = Values()
    for entity, value in known:
        values.add(value, entity, 1.0, "known")
    found = [
        (f.score, text[f.start : f.end], f.entity)
        for text, fs in zip(texts, findings, strict=True)
        for f in fs
    ]
    found.sort(key=lambda item: -item[0])
    for score, value, entity in found:
        values.add(value, entity, score, RECOGNIZER)
    return values
