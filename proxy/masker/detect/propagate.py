"""Propagation: a value found anywhere in a request is replaced wherever it recurs.

Recognizers need cues, and a cue is usually next to one mention only: "patient Derek Olsen" in the
system prompt, then "derek olsen called again" typed in lower case three turns later, or the name
again in another field of the body. Every value found in any text of a ``detect`` call (and every
*known* value the caller seeded, e.g. a voice platform's ``patient_name`` variable) is looked for in
every text, case-, space- and punctuation-insensitively: "Derek Olsen", "derek  olsen", "OLSEN,
Derek" is not the same sequence and is not matched, "derek_olsen", "DerekOlsen" and
"512 44 7781" for "512-44-7781" are.

A value that is a number (a phone number, a date, an SSN: six digits or more and little else) is
also looked for as its digits whatever their grouping: "+1 555 555 0148", "(555) 555-0148",
"5555550148" and "555-5550148" are one number. A known value is the caller's word that it is PHI, so
it is matched more loosely than a found one: the whole value however common its words, its words
across a line break, and each part of a name in any case unless the part is an everyday word.

Matching is one pass over each text's words with a dictionary keyed by a value's first word (and one
pass over its digit runs), so the cost is linear in the text whatever the number of values; the
values are bounded in number.
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
# Between the words of a known value: any run of spaces, a line break included ("DEREK\n  OLSEN").
_SPACE_GAP = re.compile(r"(\s{1,16})([^\W_]+)")
# Digits and the separators a number is written with; a run is cut into values at its digit groups.
_DIGIT_RUN = re.compile(r"\d+(?:[\s\-.()/]{1,3}\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D")
_NUMBER_SEPARATORS = re.compile(r"[\s\-+().:/]")
# Letters whose lower case depends on their neighbours (a final sigma) or is longer than they are
# ("İ"): a text holding one is lower-cased word by word, as each word is matched.
_CONTEXT_CASED = re.compile("[\u03a3\u0130]")
_MIN_NUMBER_DIGITS = 6
_MAX_NUMBER_DIGITS = 20
# Parts of a known name that are not the name on their own ("van", "Dr").
_NAME_PARTICLES = HONORIFICS | frozenset(
    {"the", "and", "van", "von", "de", "der", "den", "del", "della", "la", "le", "da", "di", "du"}
    | {"dos", "das", "bin", "ibn", "al", "el", "st"}
)
_KNOWN_MAX_WORDS = 24  # a known address line is matched whole
_REGEX_FIRSTS = 256  # up to this many distinct first words, one regex finds them
# Compiling that regex costs about as much as looking up a few thousand words one by one, and a
# voice turn's values are new on every turn: only a long text pays for it.
_REGEX_FROM_CHARS = 8192
_KNOWN_WORDS = (
    STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS | LABEL_AND_PAYER_WORDS | CALENDAR_WORDS | HONORIFICS
)
# An age or a year on its own is no identifier; repeating it everywhere would only cost the LLM words.
_NOT_PROPAGATED = frozenset({Entity.AGE})
RECOGNIZER = "propagated"
KNOWN = "known"  # the recognizer of a known value's occurrences


@dataclass(frozen=True, slots=True)
class _Value:
    words: tuple[str, ...]
    entity: Entity
    score: float
    recognizer: str
    # One word of letters ("olsen"): in cased text only a capitalised occurrence is the name ("Mark
    # Price" found; "the price is right" is not about him).
    word: bool
    known: bool = False  # seeded by the caller: its words may also be split by a line break


class Values:
    """The values of one request, indexed by first word."""

    __slots__ = ("_by_digits", "_by_first", "_count", "_first_rx", "_longest_number")

    def __init__(self) -> None:
        self._by_first: dict[str, list[_Value]] = {}
        self._by_digits: dict[str, _Value] = {}
        self._longest_number = 0
        self._count = 0
        self._first_rx: re.Pattern[str] | None = None

    def __len__(self) -> int:
        return self._count

    def add(self, value: str, entity: Entity, score: float, recognizer: str, *, known: bool = False) -> None:
        if (entity in _NOT_PROPAGATED and not known) or self._count >= MAX_VALUES:
            return
        for words, word in _keys(value, entity.value, known):
            self._add(_Value(words, entity, score, recognizer, word, known))
        for digits in _numbers(value, entity.value):
            current = self._by_digits.get(digits)
            if current is None:
                self._count += 1
                self._longest_number = max(self._longest_number, len(digits))
            if current is None or score > current.score:
                self._by_digits[digits] = _Value((digits,), entity, score, recognizer, False, known)

    def _add(self, value: _Value) -> None:
        bucket = self._by_first.setdefault(value.words[0], [])
        for i, v in enumerate(bucket):
            if v.words == value.words:
                if value.score > v.score:
                    bucket[i] = value
                return
        if len(bucket) < _PER_WORD:
            bucket.append(value)
            self._count += 1
            self._first_rx = None

    def find(self, text: str) -> list[Finding]:
        """Every occurrence of a value in ``text`` (offsets of ``text``)."""
        if not self._by_first and not self._by_digits:
            return []
        norm = normalize(text)
        folded = norm.text
        out: list[Finding] = []
        if self._by_digits:
            seen: set[tuple[int, int]] = set()
            for start, end, v in self._numbers_in(folded):
                if (start, end) not in seen:
                    seen.add((start, end))
                    out.append(Finding(*norm.to_original(start, end), v.entity, v.score, v.recognizer))
        if not self._by_first:
            return out
        cased: bool | None = None
        for start, first_end, word in self._first_words(folded):
            # The words after this one, read once for all the values sharing its first word (a
            # common first name starts dozens): offset -> (next word lower-cased, its end, whether a
            # line break is in the gap), or None where no word follows closely enough.
            after: dict[int, tuple[str, int, bool] | None] = {}
            for v in self._by_first.get(word, ()):
                if v.word and not folded[start].isupper():
                    if cased is None:
                        cased = folded != folded.lower()
                    if cased:
                        continue
                end = first_end
                for expected in v.words[1:]:
                    if end in after:
                        nxt = after[end]
                    else:
                        m = _NEXT_WORD.match(folded, end)
                        nxt = after[end] = (
                            None if m is None else (m.group(2).lower(), m.end(), "\n" in m.group(1))
                        )
                    if (nxt is None or nxt[2]) and v.known:
                        m = _SPACE_GAP.match(folded, end)
                        nxt = None if m is None else (m.group(2).lower(), m.end(), False)
                    if nxt is None or nxt[2] or nxt[0] != expected:
                        break
                    end = nxt[1]
                else:
                    o_start, o_end = norm.to_original(start, end)
                    out.append(Finding(o_start, o_end, v.entity, v.score, v.recognizer))
        return out

    def _numbers_in(self, folded: str) -> Iterator[tuple[int, int, _Value]]:
        """Numeric values in ``folded``: within each run of digits and separators, every sequence
        of whole digit groups whose digits are a value's ("555 555 0148" in "call 555 555 0148 2x")."""
        for run in _DIGIT_RUN.finditer(folded):
            if run.end() - run.start() < _MIN_NUMBER_DIGITS:
                continue
            groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(run.group())]
            base = run.start()
            for i, (first, _) in enumerate(groups):
                if i == 0 and base > 0 and _is_word(folded[base - 1]):
                    continue
                digits = ""
                for j in range(i, len(groups)):
                    g_start, g_end = groups[j]
                    digits += run.group()[g_start:g_end]
                    if len(digits) > self._longest_number:
                        break
                    v = self._by_digits.get(digits)
                    end = base + g_end
                    if v is not None and not (end < len(folded) and _is_word(folded[end])):
                        start = base + first
                        if start > 0 and folded[start - 1] in "(+":
                            start -= 1  # "(555) 555-0148" is replaced whole
                        yield start, end, v

    def _first_words(self, folded: str) -> Iterator[tuple[int, int, str]]:
        """The words of ``folded`` that begin some value: found by one regex of the first words
        when they are few and the text is long (the scan stays in C), else word by word."""
        if (
            self._first_rx is None
            and len(folded) >= _REGEX_FROM_CHARS
            and len(self._by_first) <= _REGEX_FIRSTS
        ):
            alternatives = "|".join(re.escape(w) for w in sorted(self._by_first, key=len, reverse=True))
            self._first_rx = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)
        if self._first_rx is not None:
            for m in self._first_rx.finditer(folded):
                yield m.start(), m.end(), m.group().lower()
            return
        lowered = folded.lower()
        if (
            len(self._by_first) > _REGEX_FIRSTS
            or len(lowered) != len(folded)
            or _CONTEXT_CASED.search(folded)
        ):
            for m in _WORD.finditer(folded):
                word = m.group().lower()
                if word in self._by_first:
                    yield m.start(), m.end(), word
            return
        # Lower-casing kept every offset: each first word (a few hundred at most) is looked for as a
        # substring (in C), and only its whole-word occurrences count. A note holds hundreds of
        # words and a few dozen values, most of them nowhere else in it.
        hits: list[tuple[int, int, str]] = []
        for word in self._by_first:
            at = lowered.find(word)
            while at >= 0:
                end = at + len(word)
                if (at == 0 or not folded[at - 1].isalnum()) and (
                    end == len(folded) or not folded[end].isalnum()
                ):
                    hits.append((at, end, word))
                at = lowered.find(word, end)
        hits.sort()
        yield from hits


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


# The two caches below are keyed by the entity's plain string, never the ``Entity`` member: an enum
# member is an object the cyclic collector tracks, so a key tuple holding one (and the result beside
# it) would be walked by every full collection for as long as it is cached. Keys and results of
# strings, booleans and tuples of them leave the collector's way in the collections that pass over
# them (one level of nesting per pass).
@functools.lru_cache(maxsize=4096)
def _keys(value: str, entity: str, known: bool = False) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The word sequences ``value`` (of the entity type named ``entity``) is looked for as, each
    with whether only a capitalised occurrence counts in cased text. A conversation repeats its
    values turn after turn: computed once per value.

    A found single word of letters counts only capitalised, and not at all when it is an everyday
    word. A known value is looked for whole however common its words; a known single word counts
    in any case, and capitalised only when it is an everyday word ("Will", "Grace", "Price")."""
    words = tuple(w.lower() for w in _WORD.findall(normalize(value).text))
    whole = words
    keys = [words]
    if entity in (Entity.PHONE, Entity.FAX) and len(words) > 1 and words[0] in ("1", "001", "+1"):
        words = words[1:]  # "+1 415 555 2671" is written "(415) 555-2671" too
        keys.append(words)
    if len(words) > 1:
        keys.append(("".join(words),))  # "DerekOlsen", "512447781"
        if entity == Entity.PERSON:  # "Olsen" alone later in the conversation
            keys.extend((w,) for w in words if not (known and (len(w) < 3 or w in _NAME_PARTICLES)))
    out: list[tuple[tuple[str, ...], bool]] = []
    for key in keys:
        if not key or len(key) > (_KNOWN_MAX_WORDS if known else MAX_WORDS):
            continue
        letters = len(key) == 1 and key[0].isalpha()
        everyday = not _distinctive(key) or (letters and key[0] in NAME_LIKE_WORDS)
        if known:
            if everyday and key != whole and not letters:
                continue  # a short number inside a known value is no identifier on its own
            out.append((key, letters and everyday))
        elif not everyday:
            out.append((key, letters))
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _numbers(value: str, entity: str) -> tuple[str, ...]:
    """The digit strings a numeric ``value`` is looked for as, whatever its grouping: a value of
    six digits or more and at most one other character; a North American phone number also without
    its country code."""
    folded = normalize(value).text
    digits = _NON_DIGIT.sub("", folded)
    if not _MIN_NUMBER_DIGITS <= len(digits) <= _MAX_NUMBER_DIGITS:
        return ()
    if len(digits) < len(_NUMBER_SEPARATORS.sub("", folded)) - 1:
        return ()
    if entity in (Entity.PHONE, Entity.FAX) and len(digits) == 11 and digits.startswith("1"):
        return (digits, digits[1:])
    return (digits,)


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
        values.add(value, entity, 1.0, KNOWN, known=True)
    found = [
        (f.score, text[f.start : f.end], f.entity)
        for text, fs in zip(texts, findings, strict=True)
        for f in fs
    ]
    found.sort(key=lambda item: -item[0])
    for score, value, entity in found:
        values.add(value, entity, score, RECOGNIZER)
    return values
