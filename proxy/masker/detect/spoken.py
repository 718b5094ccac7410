"""Spoken-form normalisation: ASR transcripts say numbers as words; recognizers expect digits.

``digit_view(text)`` rewrites runs of number words ("four one five", "oh", "double five", "nineteen
eighty", "one hundred twenty three", ordinals "third") into digits and keeps an offset map, so the
numeric recognizers run unchanged over the view and their spans map back onto the original text.
Separators inside a run that sound like a pause (comma, period, "dash") become ``-`` in the view so
grouped numbers ("four one five, five five five, ...") keep their shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

_UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_SEPARATOR_WORDS = frozenset({"dash", "hyphen", "slash"})
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}

_NUMBER_WORDS = (
    set(_UNITS) | set(_TEENS) | set(_TENS) | set(_ORDINALS) | set(_REPEAT) | {"hundred", "thousand"}
)
# Quick rejection: a text with none of these substrings has nothing to normalise.
_WORD_PREFILTER = re.compile(
    r"(?<!\d)\d[ \t-]\d[ \t-]\d[ \t-]\d(?!\d)|"
    r"(?<![a-z])(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirt|fourt|fift|sixt|sevent|eight|ninet|twent|fort|hundred|thousand|double|triple|"
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|twelfth)",
)
_TOKEN = re.compile(r"[A-Za-z]+|\d+")
# ``_view_possible``: what ``_runs`` could turn into a changed view, decided without tokenising
# (most texts have no spoken number, and building a token per word of a note costs far more).
# Letter classes are spelled out, never IGNORECASE: they must mean exactly what ``_TOKEN`` calls
# a letter (IGNORECASE also matches U+212A with "k"). ``\d`` is Unicode, like ``_TOKEN``'s.
_LETTERS = re.compile(r"[A-Za-z]+")
_ANY_DIGIT = re.compile(r"\d")
_WORDS_NOT_OH = frozenset(_NUMBER_WORDS - {"o", "oh"})
_BETWEEN = r"[^A-Za-z\d]*"  # what separates two consecutive tokens
# Each alternative starts with a character class, so the regex engine scans for it quickly.
_OH = r"[Oo](?<![A-Za-z][Oo])[Hh]?(?![A-Za-z])"
_SEPARATED = rf"{_BETWEEN}(?:(?i:dash|hyphen|slash){_BETWEEN})?"
_OH_THEN_DIGIT = re.compile(rf"{_OH}{_SEPARATED}\d")
_DIGIT_THEN_OH = re.compile(rf"\d{_SEPARATED}{_OH}")
_SPELLED = r"[A-Za-z](?<![A-Za-z0-9'\u2019][A-Za-z])(?![A-Za-z0-9'\u2019])"
_LETTER_THEN_DIGIT = re.compile(rf"{_SPELLED}{_SEPARATED}\d")
_DIGIT_THEN_LETTER = re.compile(rf"\d{_SEPARATED}{_SPELLED}")
_SPELLABLE = frozenset("bcdefghjklmnpqrstuvwxyz")  # "a"/"i" need one of these beside them
# One letter standing alone as ``_SPELLED`` wants it, per letter: both regexes above need one. Most
# one-letter words are the tails of contractions ("it's", "I'm"), which these rule out with a quick
# scan for that letter alone instead of trying the lookarounds at every letter of the text.
_ALONE = {
    c: re.compile(rf"[{c}{c.upper()}](?<![A-Za-z0-9'\u2019][{c}{c.upper()}])(?![A-Za-z0-9'\u2019])")
    for c in "abcdefghijklmnopqrstuvwxyz"
}
_SPACED_DIGITS = re.compile(rf"\d(?<!\d\d)(?:{_SEPARATED}(?<!\d)\d(?!\d)){{3}}")
# Tokens that can join or shape a run; any other word of two or more letters ends the run at once.
_RUN_WORDS = _NUMBER_WORDS | _SEPARATOR_WORDS | {"and", "then", "um", "umm", "uh", "uhh", "er", "erm"}
_MONTHS = frozenset(
    {
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
        "sept", "oct", "nov", "dec",
    }
)  # fmt: skip
_MONTH_BEFORE = re.compile(r"\b([a-z]+)\.?[ \t]+(?:the[ \t]+)?$", re.IGNORECASE)
_MONTH_REACH = 40  # characters: "september.   the   " and then some
# What may sit between two tokens of one run: spaces, or a pause mark (comma, period, hyphen).
# Callers also pause with an ellipsis or a filler ("five one two ... four four seven", "one two
# three and then four five"): between two number words these are part of the run too.
_FILLERS = _RUN_WORDS - _NUMBER_WORDS - _SEPARATOR_WORDS
_GAP = re.compile(
    r"[ \t]*(?:(?:[,.\-/]|\.\.\.)[ \t]*)?(?:(?:and|then|um+|uh+|erm?)[ \t]*(?:(?:[,.]|\.\.\.)[ \t]*)?)*"
    r"|[ \t]+(?:dash|hyphen|slash)[ \t]+",
    re.IGNORECASE,
)
# A pause between groups: comma, period, slash, a spaced dash or the word "dash", an ellipsis or a
# filler. A hyphen glued to both words ("nine-two-seven") is spelling, not a pause.
_PAUSE = re.compile(r"[,./]|\s-|-\s|dash|hyphen|slash|\b(?:and|then|um+|uh+|erm?)\b", re.IGNORECASE)


class _Tok(NamedTuple):  # one per word: a tuple is built at half a frozen dataclass's cost
    start: int
    end: int
    word: str  # lower-case


@dataclass(slots=True)
class DigitView:
    """The normalised text and, for each of its characters, the original span it came from."""

    text: str
    starts: list[int]
    ends: list[int]
    changed: list[tuple[int, int]]  # view spans that were rewritten

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]

    def touches_change(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self.changed)


def _is_letter_token(tok: _Tok) -> bool:
    return len(tok.word) == 1 and tok.word.isalpha() and tok.word not in _UNITS


def _is_number_token(tok: _Tok) -> bool:
    return tok.word.isdigit() or tok.word in _NUMBER_WORDS


def _convert(run: list[_Tok]) -> list[tuple[str, int, int]]:
    """Turn a run of number tokens into digit segments ``(digits, first_token, last_token)``."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(run)
    while i < n:
        w = run[i].word
        if w.isdigit():
            out.append((w, i, i))
            i += 1
        elif _is_letter_token(run[i]) and not (
            w == "a" and i + 1 < n and run[i + 1].word in ("hundred", "thousand")
        ):
            out.append((w.upper(), i, i))
            i += 1
        elif w in _REPEAT and i + 1 < n and (run[i + 1].word in _UNITS or run[i + 1].word.isdigit()):
            nxt = run[i + 1].word
            digit = nxt if nxt.isdigit() else str(_UNITS[nxt])
            out.append((digit * _REPEAT[w], i, i + 1))
            i += 2
        elif w in _ORDINALS:
            value = _ORDINALS[w]
            out.append((f"{value}{_SUFFIX.get(value % 10 if value > 20 else value, 'th')}", i, i))
            i += 1
        elif w in _TENS:
            value = _TENS[w]
            j = i + 1
            if j < n and run[j].word in _UNITS and _UNITS[run[j].word] > 0 and run[j].word not in ("o", "oh"):
                value += _UNITS[run[j].word]
                j += 1
            elif j < n and run[j].word in _ORDINALS and _ORDINALS[run[j].word] < 10:
                value += _ORDINALS[run[j].word]
                out.append((f"{value}{_SUFFIX.get(value % 10, 'th')}", i, j))
                i = j + 1
                continue
            out.append((str(value), i, j - 1))
            i = j
        elif w in _UNITS or w in _TEENS or w == "a":
            value = _UNITS.get(w, _TEENS.get(w, 1))  # "a" only reaches here before hundred/thousand
            j = i + 1
            if j < n and run[j].word == "thousand" and w not in ("o", "oh"):
                total, j = _after_thousand(run, value * 1000, j + 1)
                out.append((str(total), i, j - 1))
                i = j
            elif j < n and run[j].word == "hundred" and w not in ("o", "oh"):
                total, j = _tail_under_hundred(run, value * 100, j + 1)
                out.append((str(total), i, j - 1))
                i = j
            else:
                out.append((str(value), i, i))
                i += 1
        else:  # a stray "hundred"/"thousand"/"double" with nothing to attach to
            i += 1
    return out


def _tail_under_hundred(run: list[_Tok], base: int, j: int) -> tuple[int, int]:
    n = len(run)
    if j + 1 < n and run[j].word == "and":
        j += 1
    if j < n and run[j].word in _TEENS:
        return base + _TEENS[run[j].word], j + 1
    if j < n and run[j].word in _TENS:
        value = base + _TENS[run[j].word]
        j += 1
        if j < n and run[j].word in _UNITS and _UNITS[run[j].word] > 0:
            value += _UNITS[run[j].word]
            j += 1
        return value, j
    if j < n and run[j].word in _UNITS and _UNITS[run[j].word] > 0 and run[j].word not in ("o", "oh"):
        # "eight hundred five five five one two one two" is 800-555-1212 (digits follow one by one),
        # "eight hundred five main street" is 805.
        if j + 1 < n and (run[j + 1].word in _UNITS or run[j + 1].word in _REPEAT):
            return base, j
        return base + _UNITS[run[j].word], j + 1
    return base, j


def _after_thousand(run: list[_Tok], base: int, j: int) -> tuple[int, int]:
    n = len(run)
    if j + 1 < n and run[j].word == "and":
        j += 1
    if j + 1 < n and run[j].word in _UNITS and run[j + 1].word == "hundred":
        return _tail_under_hundred(run, base + _UNITS[run[j].word] * 100, j + 2)
    return _tail_under_hundred(run, base, j)


def _is_letter(text: str, toks: list[_Tok], k: int) -> bool:
    """A spelled letter ("x j h four four ...") that may join a number run. "a"/"i" only count
    inside a chain of spelled letters; letters glued to other characters ("a1c") never do."""
    tok = toks[k]
    w = tok.word
    if len(w) != 1 or not w.isalpha():
        return False
    before = text[tok.start - 1] if tok.start > 0 else " "
    after = text[tok.end] if tok.end < len(text) else " "
    if before.isalnum() or after.isalnum() or before in "'\u2019" or after in "'\u2019":
        return False
    if w in ("a", "i"):
        for j in (k - 1, k + 1):
            w2 = toks[j].word if 0 <= j < len(toks) else ""
            if len(w2) == 1 and w2.isalpha() and w2 not in ("a", "i", "o"):
                return True
        return False
    return True


def _letters_lead_to_number(text: str, toks: list[_Tok], k: int) -> bool:
    j = k
    while j < len(toks) and _is_letter(text, toks, j):
        if j > k and not _GAP.fullmatch(text, toks[j - 1].end, toks[j].start):
            return False
        j += 1
    if j < len(toks) and toks[j].word in _SEPARATOR_WORDS:  # "c l m dash two oh two four"
        j += 1
    return (
        j < len(toks)
        and _GAP.fullmatch(text, toks[j - 1].end, toks[j].start) is not None
        and _is_number_token(toks[j])
        and toks[j].word not in ("o", "oh")
    )


def _islands(text: str) -> list[list[_Tok]]:
    """The tokens that can be part of a run, in groups of consecutive ones. An ordinary word (two or
    more letters, not a number word, "and" or a separator) is never part of a run and ends any run,
    and to every check on a neighbour (a spelled letter's, an "oh"'s, a separator's) it looks like
    the end of the text, so each group can be read on its own — without a token for each word."""
    ascii_text = text.isascii()  # then tokens of the lower-cased copy sit at the same offsets
    src = text.lower() if ascii_text else text
    islands: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for m in _TOKEN.finditer(src):
        w = m.group() if ascii_text else m.group().lower()
        if len(w) > 1 and w not in _RUN_WORDS and not w.isdigit():
            if cur:
                islands.append(cur)
                cur = []
        else:
            cur.append(_Tok(m.start(), m.end(), w))
    if cur:
        islands.append(cur)
    return islands


def _runs(text: str) -> list[list[_Tok]]:
    runs: list[list[_Tok]] = []
    for toks in _islands(text):
        _island_runs(text, toks, runs)
    for run in runs:
        while run and run[-1].word == "and":
            run.pop()
    return [run for run in runs if run]


def _island_runs(text: str, toks: list[_Tok], runs: list[list[_Tok]]) -> None:
    cur: list[_Tok] = []
    for k, tok in enumerate(toks):
        # "one two three dash four five": the spoken separator belongs to the gap, not the words.
        if tok.word in _SEPARATOR_WORDS and cur and k + 1 < len(toks) and _is_number_token(toks[k + 1]):
            continue
        # "… seven and then four …": a filler between number words is a pause ("hundred and two" is
        # the number itself, below).
        if (
            tok.word in _FILLERS
            and cur
            and not (tok.word == "and" and cur[-1].word in ("hundred", "thousand"))
        ):
            j = k + 1
            while j < len(toks) and toks[j].word in _FILLERS:
                j += 1
            if j < len(toks) and _is_number_token(toks[j]) and toks[j].word not in ("o", "oh", "a"):
                continue
        ok = (
            _is_number_token(tok)
            or (tok.word == "and" and bool(cur) and cur[-1].word in ("hundred", "thousand"))
            # "a hundred and two"
            or (tok.word == "a" and k + 1 < len(toks) and toks[k + 1].word in ("hundred", "thousand"))
        )
        if ok and tok.word in ("o", "oh"):
            # "oh" is zero only next to other number tokens ("five oh two", "oh oh one"), not "oh, I
            # see": look past any further "oh"s for a real number.
            prev_num = bool(cur)
            j = k + 1
            while j < len(toks) and toks[j].word in ("o", "oh"):
                j += 1
            next_num = j < len(toks) and _is_number_token(toks[j])
            ok = prev_num or next_num
        elif not ok and _is_letter(text, toks, k):
            ok = bool(cur) or _letters_lead_to_number(text, toks, k)
        if ok and cur and not _GAP.fullmatch(text, cur[-1].end, tok.start):
            runs.append(cur)
            cur = []
        if ok:
            cur.append(tok)
        else:
            if cur:
                runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)


def _view_possible(text: str) -> bool:
    """A necessary condition for ``digit_view`` to change anything. A run needs a number word; "oh"
    counts only next to a digit (nothing else could make it a number here); a spelled letter only
    next to a digit (possibly across "dash"), "a"/"i" only beside another spelled letter; a run of
    bare digits only when they are four single digits in a row."""
    # On ASCII text, the tokens of the lower-cased copy are the lower-cased tokens.
    words = (
        set(_LETTERS.findall(text.lower())) if text.isascii() else {w.lower() for w in _LETTERS.findall(text)}
    )
    if not words.isdisjoint(_WORDS_NOT_OH):
        return True
    if _ANY_DIGIT.search(text) is None:
        return False
    if ("o" in words or "oh" in words) and (_OH_THEN_DIGIT.search(text) or _DIGIT_THEN_OH.search(text)):
        return True
    if (
        not words.isdisjoint(_SPELLABLE)
        and any(_ALONE[w].search(text) for w in words if len(w) == 1)
        and (_LETTER_THEN_DIGIT.search(text) or _DIGIT_THEN_LETTER.search(text))
    ):
        return True
    return _SPACED_DIGITS.search(text) is not None


def _is_ordinal(segment: str) -> bool:
    return segment[-2:] in ("st", "nd", "rd", "th") and segment[:-2].isdigit()


def digit_view(text: str, *, gated: bool = True) -> DigitView | None:
    """The text with spoken numbers as digits, or ``None`` when nothing would change.

    ``gated=False`` skips the ``_view_possible`` shortcut (tests compare both ways)."""
    if gated and not _view_possible(text):
        return None
    if _WORD_PREFILTER.search(text.lower()) is None:
        return None
    pieces: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    for run in _runs(text):
        words = [t for t in run if not t.word.isdigit()]
        # Digits typed one by one ("4 1 5 5 5 5 2 6 7 1") are a number too.
        spaced_digits = len(run) >= 4 and all(len(t.word) == 1 and t.word.isdigit() for t in run)
        if not words and not spaced_digits:
            continue
        # A lone cardinal word ("two kids") carries no identifier; ordinals do ("march third").
        if len(run) == 1 and run[0].word not in _ORDINALS and run[0].word not in _TENS:
            continue
        segs = _convert(run)
        if not segs:
            continue
        # After a month name the first number is the day: "july three nineteen fifty" is 3 1950,
        # not 31950.
        day_split = False
        whole = "".join(seg[0] for seg in segs)
        is_year = len(whole) == 4 and whole[:2] in ("19", "20")  # "july nineteen sixty two"
        if len(segs) >= 2 and segs[0][0].isdigit() and 1 <= int(segs[0][0]) <= 31 and not is_year:
            # A bounded look-back: searching from 0 made every run rescan the text before it.
            m = _MONTH_BEFORE.search(text, max(0, run[0].start - _MONTH_REACH), run[0].start)
            day_split = m is not None and m.group(1).lower() in _MONTHS
        rendered: list[str] = []
        spans: list[tuple[int, int]] = []
        prev_last = -1
        for digits, first, last in segs:
            if prev_last >= 0:
                gap = text[run[prev_last].end : run[first].start]
                ordinal_edge = _is_ordinal(rendered[-1]) or _is_ordinal(digits)
                if ordinal_edge or (day_split and prev_last == segs[0][2]):
                    rendered.append(" ")
                    spans.append((run[prev_last].end, run[first].start))
                elif _PAUSE.search(gap):
                    rendered.append("-")
                    spans.append((run[prev_last].end, run[first].start))
            rendered.append(digits)
            spans.extend([(run[first].start, run[last].end)] * len(digits))
            prev_last = last
        pieces.append((run[0].start, run[-1].end, "".join(rendered), spans))
    if not pieces:
        return None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed: list[tuple[int, int]] = []
    pos = 0
    for start, end, rendered_text, spans in pieces:
        out.append(text[pos:start])
        starts.extend(range(pos, start))
        ends.extend(range(pos + 1, start + 1))
        view_start = len(starts)
        out.append(rendered_text)
        for s, e in spans:
            starts.append(s)
            ends.append(e)
        changed.append((view_start, len(starts)))
        pos = end
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return DigitView("".join(out), starts, ends, changed)
