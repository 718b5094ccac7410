# ruff: noqa: RUF001, RUF002, RUF003  (this module is about look-alike characters)
"""Unicode normalisation before detection, with a map back to the original offsets.

Text pasted from web pages and EHRs, and text written to slip past a filter, spells identifiers with
characters the recognizers do not expect: non-breaking hyphens and en dashes (``512‑44‑7781``),
fullwidth or Arabic-Indic digits, zero-width spaces inside a name, Cyrillic or Greek look-alike
letters (``Јоhn``), combining marks on digits or letters. Detection runs on a folded copy:

* NFKC-style compatibility folding (fullwidth forms, ligatures, super/subscripts), done per character
  through NFKD, with combining marks dropped after a Latin letter or digit and the rest recomposed;
* format characters (category Cf: zero-width space/joiners, soft hyphen, bidi controls, BOM, tags)
  removed;
* every dash and minus sign to ``-``, every space separator to `` ``, line/paragraph separators to a
  line break, curly quotes to straight ones, any decimal digit to its ASCII digit;
* Cyrillic and Greek letters that look like Latin ones folded to Latin, inside words that already
  hold a Latin letter or are made only of look-alikes (a Russian sentence stays Russian);
* letters an OCR'd fax or a typist puts for digits (``O``/``o`` for 0, ``l``/``I`` for 1, ``S`` for 5)
  read as digits inside a number: only in a group of digit-bearing tokens with at least five real
  digits (``(O2) 2l82 9239``, ``O7l63 222O8S``), never in a word (``SpO2``, ``ICD I10``).

Only characters whose folded form has a different length move offsets; ``Normalized.to_original``
maps a span of the folded text to the exact span of the original, which is what gets replaced.
ASCII text (the common case) is returned as is, after one ``str.isascii()``.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass, field

# Look-alikes of Latin letters (Unicode's confusables for the two scripts an attacker reaches for).
_CONFUSABLES = {
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y",
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ү": "y", "һ": "h", "ӏ": "l", "Ӏ": "I", "ɡ": "g",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "κ": "k",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "α": "a",
}  # fmt: skip
_FOLD_TABLE = str.maketrans(_CONFUSABLES)
_CONFUSABLE_RX = re.compile("[" + "".join(_CONFUSABLES) + "]")
# A word (letters only) holding a look-alike; folded when it also holds a Latin letter or is made
# only of look-alikes.
_WORD_WITH_CONFUSABLE = re.compile(r"[^\W\d_]*[" + "".join(_CONFUSABLES) + r"][^\W\d_]*")
_ALL_CONFUSABLE = re.compile("[" + "".join(_CONFUSABLES) + "]+")
_LATIN = re.compile(r"[A-Za-z]")
# Cyrillic and Greek letters that are not look-alikes.
_GENUINE = re.compile("(?![" + "".join(_CONFUSABLES) + "])[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Latin letters with no decomposition to an ASCII base ("Tromsø", "Łódź", "Straße"): without these
# a pattern reading ASCII letters would stop inside the word and leave its tail outside the span.
_LATIN_LETTERS = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
                  "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss",
                  "ı": "i", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ĸ": "k"}  # fmt: skip
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"'}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    """The folded form of one non-ASCII character, context aside ("" = removed)."""
    if c in _QUOTES:
        return _QUOTES[c]
    cat = unicodedata.category(c)
    if cat == "Cf":
        return ""
    if cat == "Pd" or c == "\u2212":  # every dash, and the minus sign
        return "-"
    if cat == "Zs":
        return " "
    if cat in ("Zl", "Zp"):
        return "\n"
    if cat == "Nd":
        return str(unicodedata.digit(c))
    if cat in ("Mn", "Me"):
        return c  # a lone mark: dropped or kept by the caller, which sees what precedes it
    if c in _LATIN_LETTERS:
        return _LATIN_LETTERS[c]
    decomposed = unicodedata.normalize("NFKD", c)
    base = [ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me")]
    # "é" -> "e", "ﬁ" -> "fi", fullwidth "５" -> "5"; other scripts: NFKC.
    ascii_base = base and all(ch.isascii() for ch in base)
    folded = "".join(base) if ascii_base else unicodedata.normalize("NFKC", c)
    # Compatibility forms can decompose into dashes or spaces ("﹣", "\u2007"): fold those too.
    return "".join(_fold_char(ch) if not ch.isascii() and ch != c else ch for ch in folded)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Folded text and, where lengths changed, the edits that map it back to the original."""

    text: str
    # One entry per edit, in order: folded start, original start, folded length, original length.
    edits: list[tuple[int, int, int, int]] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list)  # folded end of each edit, for bisection

    @property
    def identity(self) -> bool:
        return not self.edits

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)``. A span touching an expanded
        character ("ﬁ" -> "fi") covers the whole of it; removed characters (a zero-width space, a
        combining mark) inside the span or right after it are covered, those before it are not."""
        if not self.edits:
            return start, end
        return self._start(start), self._end(end)

    def _start(self, p: int) -> int:
        k = bisect.bisect_right(self._ends, p) - 1  # edits wholly before p (removals at p included)
        if k + 1 < len(self.edits):
            n0, o0, nl, _ = self.edits[k + 1]
            if n0 <= p < n0 + nl:
                return o0
        if k < 0:
            return p
        n0, o0, nl, ol = self.edits[k]
        return p + (o0 + ol) - (n0 + nl)

    def _end(self, p: int) -> int:
        k = bisect.bisect_right(self._ends, p) - 1  # edits wholly before p (removals at p included)
        if k + 1 < len(self.edits):
            n0, o0, nl, ol = self.edits[k + 1]
            if n0 < p < n0 + nl:
                return o0 + ol
        if k < 0:
            return p
        n0, o0, nl, ol = self.edits[k]
        return p + (o0 + ol) - (n0 + nl)


# A group of tokens made of digits and digit look-alikes, joined by one or two separators.
_OCR_GATE = re.compile(r"[OolIS]\d|\d[OolIS]")  # (this order scans faster than the reverse)
_OCR_GROUP = re.compile(r"(?<![A-Za-z0-9])[0-9OolIS]+(?:[-. /()]{1,2}[0-9OolIS]+)*(?![A-Za-z0-9])")
_OCR_TOKEN = re.compile(r"[0-9OolIS]*\d[0-9OolIS]*")
_OCR_TABLE = str.maketrans("OolIS", "00115")
_OCR_MIN_DIGITS = 5


def _fold_ocr(text: str) -> str:
    """Digit look-alikes read as digits inside numbers (same length: offsets do not move)."""
    if _OCR_GATE.search(text) is None:
        return text
    return _OCR_GROUP.sub(_fold_ocr_group, text)


def _fold_ocr_group(m: re.Match[str]) -> str:
    group = m.group()
    if sum(c.isdigit() for c in group) < _OCR_MIN_DIGITS:
        return group
    return _OCR_TOKEN.sub(lambda t: t.group().translate(_OCR_TABLE), group)


def normalize(text: str) -> Normalized:
    if text.isascii():
        return Normalized(_fold_ocr(text))
    out: list[str] = []
    edits: list[tuple[int, int, int, int]] = []
    npos = 0  # length of the folded text so far
    opos = 0
    for m in _NON_ASCII.finditer(text):
        if m.start() > opos:
            out.append(text[opos : m.start()])
            npos += m.start() - opos
        opos = m.start()
        for c in m.group():
            folded = _fold_char(c)
            if folded == c and unicodedata.category(c) in ("Mn", "Me"):
                prev = out[-1][-1:] if out else ""
                # A mark on a Latin letter or a digit ("5̲", "e\u0301"): decoration, dropped.
                folded = "" if prev.isascii() and prev.isalnum() else c
            if len(folded) != 1:
                edits.append((npos, opos, len(folded), 1))
            if folded:
                out.append(folded)
                npos += len(folded)
            opos += 1
    if opos < len(text):
        out.append(text[opos:])
    folded_text = "".join(out)
    if _CONFUSABLE_RX.search(folded_text):
        # Text with letters of its own script (д, л, ж, λ, ...) is written in that script: only
        # words that mix in Latin letters are disguises there.
        fold = _fold_mixed if _GENUINE.search(folded_text) else _fold_word
        folded_text = _WORD_WITH_CONFUSABLE.sub(fold, folded_text)
    folded_text = _fold_ocr(folded_text)
    return Normalized(folded_text, edits, [n0 + nl for n0, _, nl, _ in edits])


def _fold_mixed(m: re.Match[str]) -> str:
    word = m.group()
    return word.translate(_FOLD_TABLE) if _LATIN.search(word) else word


def _fold_word(m: re.Match[str]) -> str:
    word = m.group()
    if _LATIN.search(word) or _ALL_CONFUSABLE.fullmatch(word):
        return word.translate(_FOLD_TABLE)  # same length: offsets do not move
    return word
