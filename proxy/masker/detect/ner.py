"""Turning NER spans into findings: label mapping and the filters that keep spaCy's small model from
shredding clinical text ("Metformin" as ORG, "Will" as PERSON, "BP" as ORG, states as places)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from .clinical import drug_in_text, eponym_at, eponym_span
from .lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_FIRST_NAMES,
    COMMON_WORDS,
    COUNTRIES_AND_REGIONS,
    DOCUMENT_WORDS,
    DRUG_SUFFIXES,
    HONORIFICS,
    LABEL_AND_PAYER_WORDS,
    NAME_LIKE_WORDS,
    SERVICE_WORDS,
    STOP_WORDS,
    US_STATES,
    family_names,
    given_names,
)
from .recognizers.name_lexicon import person_shaped
from .types import Entity, Finding, NerSpan

_LABEL_MAP = {
    "PERSON": Entity.PERSON,
    "GPE": Entity.LOCATION,
    "LOC": Entity.LOCATION,
    "FAC": Entity.LOCATION,
    "ORG": Entity.ORGANIZATION,
}
_SCORE = {Entity.PERSON: 0.85, Entity.LOCATION: 0.8, Entity.ORGANIZATION: 0.6}
# A span never starts with an article, a title, or a verb of contacting someone ("Consult Radiology",
# "Call Maria Lopez"): the model sometimes takes a sentence-opening capitalised verb into the name.
# No "^": used with ``match(text, start)``, which anchors there (a "^" would only match at 0).
_LEADING = re.compile(
    r"(?:the|a|an|dr\.?|mr\.?|mrs\.?|ms\.?|doctor|nurse|"
    r"(?:call|consult|contact|page|notify|ask|tell|thank)(?:ed)?)\s+",
    re.I,
)
_TRAILING = re.compile(r"(?:'s|\u2019s|[.,;:!?'\"])+$")
# A device or product noun right after one capitalised word: the word is its maker, not a person.
_PRODUCT_AFTER = re.compile(
    r"[ \t]+(?:device|sensor|pump|monitor|pacemaker|defibrillator|stent|implant|catheter|glucometer|"
    r"inhaler|cartridge|valve)\b",
    re.I,
)
_TITLE_BEFORE = re.compile(r"(?:\b(?:dr|mr|mrs|ms|mx|prof|doctor|nurse|miss)\.?\s*|name\s+is\s+)$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
# Words that give an organisation its shape: a facility, a school, a company. ORGANIZATION is not a
# Safe Harbor identifier; an ORG span without one of these is a department, a brand, a form word or a
# misread name, and is not reported (see ``_organisation``).
_FACILITY_WORDS = re.compile(
    r"\b(?:hospital|hospitals|clinic|clinics|medical|health|healthcare|center|centre|pharmacy|university|"
    r"college|school|academy|elementary|church|bank|insurance|inc|llc|ltd|plc|corp|corporation|company|"
    r"co|group|associates|partners|care|labs?|laboratories|memorial|regional|infirmary|hospice|"
    r"institute|foundation|home|homes|practice|pediatrics|sons)\b",
    re.I,
)


# Where a sentence or a speaker's turn starts: "Caller: my card…" is speech, "Refund to bank…" is not.
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)(?=\S)[^\n.!?:;]*$")


def _cased_sentence(text: str, start: int) -> bool:
    """Whether the sentence holding ``start`` opens with a capital letter (cased writing, not speech
    transcribed in lower case)."""
    m = _SENTENCE_START.search(text, max(0, start - 200), start)
    if m is None:
        return False
    head = text[m.start() : start].lstrip(".!?:; \t\n")
    return bool(head) and head[0].isupper()


def _drop(text: str, entity: Entity, start: int, end: int) -> bool:
    value = text[start:end]
    low = value.lower()
    words = [w.lower() for w in _WORD.findall(value)]
    if not words or any(c.isdigit() for c in value):
        return True
    if all(w in _KNOWN or len(w) == 1 for w in words):
        return True  # "S. Aureus", "Wound Care Nurse"
    if len(words) == 1 and len(words[0]) >= 6 and words[0].endswith(DRUG_SUFFIXES):
        return True
    if len(words) <= 3 and words[0] in LABEL_AND_PAYER_WORDS:
        return True
    if _clinical_phrase(text, start, end, words):
        return True
    if entity is Entity.LOCATION:
        # All-caps short tokens in notes are abbreviations ("RLL", "LUQ", "ED"), not places.
        acronym = value.isupper() and len(value) <= 4
        if value.islower() and _cased_sentence(text, start):
            return True  # "Refund to bank account": a sentence written with capitals capitalises places
        return low in US_STATES or low in COUNTRIES_AND_REGIONS or len(low) < 3 or acronym
    if entity is Entity.ORGANIZATION:
        # Acronyms in notes are almost always clinical ("ED", "CBC", "PT"); real organisations in a
        # conversation come with a descriptive word.
        bare = value.replace(".", "")
        if len(words) == 1 and (bare.isupper() or not _FACILITY_WORDS.search(value)) and len(bare) <= 5:
            return True
        if len(words) == 1 and (words[0] in COMMON_WORDS or words[0] in LABEL_AND_PAYER_WORDS):
            return True
        return any(w in CLINICAL_WORDS for w in words) and not _FACILITY_WORDS.search(value)
    # PERSON
    if len(words) == 1:
        w = words[0]
        if w in COMMON_WORDS or w in LABEL_AND_PAYER_WORDS:
            return True
        if _PRODUCT_AFTER.match(text, end):
            return True  # "Medtronic device", "Dexcom sensor": a maker before its product
        if w in NAME_LIKE_WORDS or w in STOP_WORDS:
            # "Will you…", "May I…", "Grace period": a lone name-like word needs a title before it.
            return _TITLE_BEFORE.search(text, max(0, start - 12), start) is None
        if value.isupper() and len(value) <= 4:
            return True
    return bool(words[0] in CLINICAL_WORDS)


def _clinical_phrase(text: str, start: int, end: int, words: list[str]) -> bool:
    """A medical eponym ("Parkinson's disease", "Hunt and Hess grade", "Braden Scale" as one span) or
    a medication named by its context ("Zepbound 2.5 mg", "started Rinvoq"), whatever NER called it."""
    if _TITLE_BEFORE.search(text, max(0, start - 12), start):
        return False
    if eponym_span(words):
        return True
    if " " in text[start:end].strip():
        # "Known Meniere" + "'s disease": the last word is the eponym, the others are no names.
        last = text.rindex(" ", start, end) + 1
        given, family = given_names(), family_names()
        return eponym_at(text, start, end) or (
            eponym_at(text, last, end) and not any(w in given or w in family for w in words[:-1])
        )
    return eponym_at(text, start, end) or drug_in_text(text, start, end)


_LOWER_TAIL = re.compile(r"(?:\s+[a-z][\w'-]*)+$")


_LAST_LOWER_WORD = re.compile(r"\s+([a-z][\w'-]*)$")
# A word ending like an inflected verb or adverb ("needs", "called", "going", "really").
_INFLECTED = re.compile(r"(?:s|ed|ing|ly)$")


def _trim_lowercase_tail(text: str, start: int, end: int) -> int:
    """ "Maria Carter drove" -> "Maria Carter": in cased text a capitalised entity does not end in a
    lower-case word (the small model sometimes swallows the next verb). In lower-case text
    ("my daughter emily needs …") trailing words that are everyday words, or look like an inflected
    verb and are no known name, are dropped."""
    if text[start : start + 1].isupper():
        tail = _LOWER_TAIL.search(text, start, end)
        return tail.start() if tail else end
    while (last := _LAST_LOWER_WORD.search(text, start, end)) is not None:
        word = last.group(1).lower()
        named = word in given_names() or word in family_names()
        if word not in _KNOWN and (named or not _INFLECTED.search(word)):
            break
        end = last.start()
    return end


_KNOWN = (
    (STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS | LABEL_AND_PAYER_WORDS | CALENDAR_WORDS | HONORIFICS)
    | SERVICE_WORDS
    | DOCUMENT_WORDS
)
# Given names that are not also everyday words ("will", "grace", "bill" are left out).
_GIVEN_NAMES = COMMON_FIRST_NAMES - _KNOWN - NAME_LIKE_WORDS
# Digits are part of the word so that "SpO2", "HbA1c" or "B12" are seen whole: no name has digits.
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'\u2019]*")
Span = tuple[int, int]


def _candidates(text: str, cased: bool, start: int = 0, end: int | None = None) -> list[Span]:
    """Words of ``text[start:end]`` that could be (part of) a name, place or organisation: unknown
    words, and in cased text only capitalised ones (in cased writing names are capitalised)."""
    out: list[Span] = []
    for m in _TOKEN.finditer(text, start, len(text) if end is None else end):
        word = m.group()
        if len(word) > _MAX_WORD:
            continue
        # Lower-case words in cased text are not names, short capitals are abbreviations ("BP", "HTN",
        # "CBC") — unless the word is a given name: "spoke with alice", "PT ANNA ROE".
        unlikely = not word[0].isupper() or (word.isupper() and len(word) <= 5)
        if cased and unlikely and word.lower() not in _GIVEN_NAMES:
            continue
        if any(c.isdigit() for c in word):
            continue  # "SpO2", "HbA1c", "B12"
        low = word.lower().replace("\u2019", "'")
        if low.endswith("'s"):
            low = low[:-2]
        low = low.replace("'", "")
        if low not in _KNOWN:
            out.append(m.span())
    return out


def worth_ner(text: str, *, cased: bool | None = None) -> bool:
    """Could NER find a name, place or organisation here? False when it cannot: every word is
    everyday vocabulary ("yes that's right", "my number is four one five"), or, in cased text, no
    capitalised word is unknown. Skipping those is most of the NER cost of a voice turn and of a
    long note. ``cased`` describes the whole message."""
    if cased is None:
        cased = any(c.isupper() for c in text)
    return bool(_candidates(text, cased))


# A sentence ends at . ! ? ; before a space, or at a line break, but not after a title: "Dr. Ana
# Diaz" must reach NER in one piece. The lookahead comes first so that the title lookbehinds are
# tried only where a stop is, not at every character of the text.
_SENTENCE_END = re.compile(
    r"(?=[.!?;])(?<!\b(?:dr|mr|ms|mx|st|jr|sr))(?<!\b(?:mrs|rev|sgt|col|gen|gov|hon))(?<!\b(?:prof|capt))"
    r"[.!?;]+(?=\s|$)|\n",
    re.IGNORECASE,
)
SEGMENT_FROM = 240  # characters; shorter texts go to NER whole
# Words of context kept on each side of a candidate word in a long sentence. The small model's
# encoder sees four tokens each way and its parser a few more: eight words is the whole of what it
# can use, so cutting there changes what NER sees, not what it finds.
WINDOW_WORDS = 8
REACH = 160  # characters of context at most, each side of a candidate word
MAX_SEGMENT = 2000  # characters; far below spaCy's max_length, and a window is rarely this long
_MAX_WORD = 40  # a "word" longer than this is a code or an encoded blob, not part of a name
_SPACE_RUN = re.compile(r"\S+")


class _Claims:
    """Claimed spans, for "is this word inside one of them?" in O(log n): a word [a, b) lies inside
    some claimed span iff the furthest end among spans starting at or before a reaches b."""

    __slots__ = ("reach", "starts")

    def __init__(self, claimed: Sequence[Span]) -> None:
        spans = sorted(claimed)
        self.starts = [s for s, _ in spans]
        self.reach: list[int] = []
        best = -1
        for _, e in spans:
            best = max(best, e)
            self.reach.append(best)

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and self.reach[i] >= end


def _unclaimed(spans: list[Span], claims: _Claims | None) -> list[Span]:
    if claims is None:
        return spans
    return [w for w in spans if not claims.covers(*w)]


def ner_segments(text: str, claimed: Sequence[Span] = ()) -> list[tuple[int, str]]:
    """The parts of a text worth sending to NER, with their offsets.

    Only unknown words can be names NER adds, and only if no confident pattern finding already
    covers them (``claimed``: "this is Sarah Chen" was found by its cue). A short text goes whole
    when one such word is left; a long one sends, per sentence (or line) holding one, the words
    around it. No segment is longer than ``MAX_SEGMENT`` characters, whatever the input (a
    whitespace-free run of a million characters must not push the model past its ``max_length``),
    and the letters inside such a run (base64, a hex dump) are not words: the patterns read it."""
    return [(start, text[start:end]) for start, end, _ in ner_windows(text, claimed)]


def ner_windows(text: str, claimed: Sequence[Span] = ()) -> list[tuple[int, int, list[Span]]]:
    """``ner_segments`` as spans, each with the candidate words that put it there (what NER could
    add in it)."""
    cased = any(c.isupper() for c in text) and not text.isupper()
    claims = _Claims(claimed) if claimed else None
    if len(text) < SEGMENT_FROM:
        words = _unclaimed(_candidates(text, cased), claims)
        return [(0, len(text), words)] if words else []
    blobs = [m.span() for m in BLOB.finditer(text)]
    out: list[tuple[int, int, list[Span]]] = []
    for s_start, s_end in _sentences(text):
        words = _unclaimed(_candidates(text, cased, s_start, s_end), claims)
        if blobs:
            words = _outside(words, blobs)
        if not words:
            continue
        k = 0
        for start, end in _windows(text, s_start, s_end, words):
            first = k
            while k < len(words) and words[k][1] <= end:  # windows and words are both in order
                k += 1
            out.append((start, end, words[first:k]))
    return out


# A run this long with no space or list separator is an encoded blob or a code, not prose: no
# name for NER, no spoken number for the digit view (the patterns still read it).
BLOB = re.compile(r"(?<![^\s,;|])[^\s,;|]{257,}")  # tried at run starts only: linear


def _outside(words: list[Span], blobs: list[Span]) -> list[Span]:
    ends = [e for _, e in blobs]
    out: list[Span] = []
    for w in words:
        k = bisect.bisect_right(ends, w[0])  # the first blob ending after the word starts
        if k < len(blobs) and blobs[k][0] <= w[0]:
            continue
        out.append(w)
    return out


def _sentences(text: str) -> list[Span]:
    out: list[Span] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if text[start : m.end()].strip():
            out.append((start, m.end()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out


def _windows(text: str, start: int, end: int, words: list[Span]) -> list[Span]:
    """Spans of ``text[start:end]`` reaching ``WINDOW_WORDS`` words either side of each candidate,
    merged where they touch; the whole sentence when that is no shorter. Context is looked for at
    most ``REACH`` characters from the candidate and no window grows past ``MAX_SEGMENT``: a
    neighbouring "word" thousands of characters long (base64, a whitespace-free run) is cut off."""
    if end - start <= MAX_SEGMENT and _few_tokens(text, start, end):
        return [(start, end)]
    out: list[Span] = []
    for ws, we in words:
        lo_lim, hi_lim = max(start, ws - REACH), min(end, we + REACH)
        tokens = [m.span() for m in _SPACE_RUN.finditer(text, lo_lim, hi_lim)]
        # A token cut by the limit is a fragment of a longer one: not context.
        cut_before = lo_lim > start and not text[lo_lim - 1].isspace()
        if tokens and cut_before and tokens[0][0] == lo_lim and tokens[0][1] <= ws:
            tokens.pop(0)
        if tokens and tokens[-1][1] == hi_lim < end and tokens[-1][0] >= we and not text[hi_lim].isspace():
            tokens.pop()
        i = 0
        while i < len(tokens) - 1 and tokens[i][1] <= ws:
            i += 1
        j = i
        while j < len(tokens) - 1 and tokens[j][1] < we:
            j += 1
        lo = min(ws, tokens[max(0, i - WINDOW_WORDS)][0]) if tokens else ws
        hi = max(we, tokens[min(len(tokens) - 1, j + WINDOW_WORDS)][1]) if tokens else we
        if out and lo <= out[-1][1] and hi - out[-1][0] <= MAX_SEGMENT:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def _few_tokens(text: str, start: int, end: int) -> bool:
    for count, _ in enumerate(_SPACE_RUN.finditer(text, start, end), 1):
        if count > 2 * WINDOW_WORDS + 1:
            return False
    return True


_NAME_TOKEN = re.compile(r"[a-z][a-z'\u2019-]*")


def truecase(text: str) -> str:
    """For all-lower-case ASR text: capitalise known given names and an unknown word right after one
    (a likely surname), so the cased NER model can see them. Same length, so offsets are unchanged."""
    if any(c.isupper() for c in text):
        return text
    chars = list(text)
    after_name = False
    for m in _NAME_TOKEN.finditer(text):
        word = m.group()
        if word in COMMON_FIRST_NAMES or (after_name and word not in _KNOWN and len(word) > 1):
            chars[m.start()] = word[0].upper()
            after_name = word in COMMON_FIRST_NAMES
        else:
            after_name = False
    return "".join(chars)


def shift(spans: list[NerSpan], offset: int) -> list[NerSpan]:
    if not offset:
        return spans
    return [NerSpan(s.start + offset, s.end + offset, s.label, s.score) for s in spans]


def ner_findings(text: str, spans: list[NerSpan]) -> list[Finding]:
    out: list[Finding] = []
    for span in spans:
        entity = _LABEL_MAP.get(span.label)
        if entity is None:
            continue
        start, end = span.start, span.end
        newline = text.find("\n", start, end)  # a form's next line is not part of the name
        if newline >= 0:
            end = newline
        lead = _LEADING.match(text, start, end)
        if lead:
            start = lead.end()
        start = _skip_vocabulary(text, start, end)
        trail = _TRAILING.search(text[start:end])
        if trail:
            end = start + trail.start()
        end = _trim_lowercase_tail(text, start, end)
        if end - start < 2 or _drop(text, entity, start, end):
            continue
        score = min(span.score, 1.0) if span.score != 0.85 else _SCORE[entity]
        if entity is Entity.ORGANIZATION and not _organisation(text[start:end]):
            if _person_shaped(text[start:end]):
                entity, score = Entity.PERSON, 0.6  # "Kovács Zsófia" read as an organisation
            elif _PLACE_BEFORE.search(text, max(0, start - 16), start):
                entity, score = Entity.LOCATION, 0.6  # the small model reads unknown towns as ORG
            else:
                continue
        if entity is Entity.PERSON and (tail := _PARTICLE_TAIL.match(text, end)) is not None:
            end = tail.end()
        out.append(Finding(start, end, entity, score, f"ner:{span.label}"))
    return out


_VOCAB_WORD = re.compile(r"([A-Za-z][a-z]*)[ \t]+(?=[A-Z])")


def _skip_vocabulary(text: str, start: int, end: int) -> int:
    """ "Started Rinvoq" -> "Rinvoq", "Consult Palliative Care" -> "Palliative Care": a span's leading
    capitalised words that are everyday or clinical vocabulary (and no given name) are not part of it."""
    while (m := _VOCAB_WORD.match(text, start, end)) is not None:
        word = m.group(1).lower()
        if word not in _KNOWN or word in given_names() or word in NAME_LIKE_WORDS:
            break
        start = m.end()
    return start


def _organisation(value: str) -> bool:
    """An organisation by its shape: a facility or company word and at least one word that is not
    department or clinical vocabulary ("St. Mary's Hospital", "Mercy Health" — not "Palliative Care")."""
    if not _FACILITY_WORDS.search(value):
        return False
    return any(w.lower() not in _KNOWN for w in _WORD.findall(value))


# A place preposition right before a shapeless ORG span: "visiting from Steinfurt", "lives near
# Capelle aan den IJssel".
_PLACE_BEFORE = re.compile(
    r"\b(?:in|from|near|at|to|outside|around|toward|towards|via|across|into)[ \t]+$", re.I
)
_NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "la", "le", "du", "da", "di", "dos", "das", "bin"}
    | {"ibn", "bint", "al", "el", "ben", "ter", "ten", "zu", "af"}
)
_ANY_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


def _person_shaped(value: str) -> bool:
    """Could this shapeless ORG span be a person NER misread ("Kovács Zsófia", "Tecla Mulet")? Two or
    three capitalised words, none of them vocabulary: lexicon names, or words no list knows (recall
    first: a company of unknown words is rare in a note, a name read as an organisation is not)."""
    words = [w for w in _ANY_WORD.findall(value) if w.lower() not in _NAME_PARTICLES]
    if person_shaped(words):
        return True
    if not 2 <= len(words) <= 3 or not all(w[0].isupper() and not w.isupper() for w in words):
        return False
    return not any(w.lower() in _KNOWN or w.lower() in NAME_LIKE_WORDS for w in words)


# "Omar" + " al-Farouk", "Ludwig" + " van der Berg": NER often stops before a name's particles.
_PARTICLE_TAIL = re.compile(
    r"[ \t]+(?:(?:van|von|der|den|de|del|della|la|le|du|da|di|dos|das|bin|ibn|bint|ben|ter|ten|zu|af)[ \t]+)"
    r"{1,3}[A-Z][\w'\u2019-]*|[ \t]+(?:al|el|d|o)['\u2019-][A-Z][\w'\u2019-]*"
)
