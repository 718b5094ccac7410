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

import re
from collections.abc import Iterable, Sequence
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

    __slots__ = ("_by_first", "_count")

    def __init__(self) -> None:
        self._by_first: dict[str, list[_Value]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, value: str, entity: Entity, score: float, recognizer: str) -> None:
        if entity in _NOT_PROPAGATED or self._count >= MAX_VALUES:
            return
        words = tuple(w.lower() for w in _WORD.findall(normalize(value).text))
        self._add(words, entity, score, recognizer)
        if entity in (Entity.PHONE, Entity.FAX) and len(words) > 1 and words[0] in ("1", "001", "+1"):
            words = words[1:]  # "+1 415 555 2671" is written "(415) 555-2671" too
            self._add(words, entity, score, recognizer)
        if len(words) > 1:
            self._add(("".join(words),), entity, score, recognizer)  # "DerekOlsen", "512447781"
            if entity is Entity.PERSON:  # "Olsen" alone later in the conversation
                for word in words:
                    self._add((word,), entity, score, recognizer)

    def _add(self, words: tuple[str, ...], entity: Entity, score: float, recognizer: str) -> None:
        if not words or len(words) > MAX_WORDS or not _distinctive(words):
            return
        word = len(words) == 1 and words[0].isalpha()
        if word and words[0] in NAME_LIKE_WORDS:
            return  # "Will", "Grace", "Bill": alone, the everyday word is the likelier reading
        bucket = self._by_first.setdefault(words[0], [])
        for i, v in enumerate(bucket):
            if v.words == words:
                if score > v.score:
                    bucket[i] = _Value(words, entity, score, recognizer, word)
                return
        if len(bucket) < _PER_WORD:
            bucket.append(_Value(words, entity, score, recognizer, word))
            self._count += 1

    def find(self, text: str) -> list[Finding]:
        """Every occurrence of a value in ``text`` (offsets of ``text``)."""
        if not self._by_first:
            return []
        norm = normalize(text)
        folded = norm.text
        if folded.isascii():
            low = folded.lower()  # same offsets on ASCII
            if len(self._by_first) <= 64 and not any(first in low for first in self._by_first):
                return []
            words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(low)]
        else:
            words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(folded)]
        out: list[Finding] = []
        by_first = self._by_first
        cased = any(c.isupper() for c in folded)
        for i, (start, _, word) in enumerate(words):
            bucket = by_first.get(word)
            if bucket is None:
                continue
            for v in bucket:
                if v.word and cased and not folded[start].isupper():
                    continue
                n = len(v.words)
                if i + n > len(words):
                    continue
                j = 1
                while (
                    j < n
                    and words[i + j][2] == v.words[j]
                    and _joined(folded, words[i + j - 1][1], words[i + j][0])
                ):
                    j += 1
                if j < n:
                    continue
                end = words[i + n - 1][1]
                o_start, o_end = norm.to_original(start, end)
                out.append(Finding(o_start, o_end, v.entity, v.score, v.recognizer))
        return out


def _joined(text: str, end: int, start: int) -> bool:
    return start - end <= _MAX_GAP and "\n" not in text[end:start]


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
