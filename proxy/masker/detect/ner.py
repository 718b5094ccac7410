"""Turning NER spans into findings: label mapping and the filters that keep spaCy's small model from
shredding clinical text ("Metformin" as ORG, "Will" as PERSON, "BP" as ORG, states as places)."""

from __future__ import annotations

import re

from .lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_FIRST_NAMES,
    COMMON_WORDS,
    COUNTRIES_AND_REGIONS,
    DRUG_SUFFIXES,
    LABEL_AND_PAYER_WORDS,
    NAME_LIKE_WORDS,
    STOP_WORDS,
    US_STATES,
)
from .types import Entity, Finding, NerSpan

_LABEL_MAP = {
    "PERSON": Entity.PERSON,
    "GPE": Entity.LOCATION,
    "LOC": Entity.LOCATION,
    "FAC": Entity.LOCATION,
    "ORG": Entity.ORGANIZATION,
}
_SCORE = {Entity.PERSON: 0.85, Entity.LOCATION: 0.8, Entity.ORGANIZATION: 0.6}
_LEADING = re.compile(r"^(?:the|a|an|dr\.?|mr\.?|mrs\.?|ms\.?|doctor|nurse)\s+", re.I)
_TRAILING = re.compile(r"(?:'s|\u2019s|[.,;:!?'\"])+$")
_TITLE_BEFORE = re.compile(r"(?:\b(?:dr|mr|mrs|ms|mx|prof|doctor|nurse|miss)\.?\s*|name\s+is\s+)$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
_FACILITY_WORDS = re.compile(
    r"\b(?:hospital|clinic|medical|health|center|centre|pharmacy|university|college|school|church|"
    r"bank|insurance|inc|llc|corp|company|group|associates|partners|care|labs?|memorial|regional)\b",
    re.I,
)


def _drop(text: str, entity: Entity, start: int, end: int) -> bool:
    value = text[start:end]
    low = value.lower()
    words = [w.lower() for w in _WORD.findall(value)]
    if not words or any(c.isdigit() for c in value):
        return True
    if all(w in _KNOWN for w in words):
        return True
    if len(words) == 1 and len(words[0]) >= 6 and words[0].endswith(DRUG_SUFFIXES):
        return True
    if len(words) <= 3 and words[0] in LABEL_AND_PAYER_WORDS:
        return True
    if entity is Entity.LOCATION:
        # All-caps short tokens in notes are abbreviations ("RLL", "LUQ", "ED"), not places.
        acronym = value.isupper() and len(value) <= 4
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
    # Eponyms: "Parkinson's disease", "Bell palsy", "Glasgow Coma Scale", "Foley catheter".
    if _EPONYM_AFTER.match(text, end):
        return True
    # PERSON
    if len(words) == 1:
        w = words[0]
        if w in COMMON_WORDS or w in LABEL_AND_PAYER_WORDS:
            return True
        if w in NAME_LIKE_WORDS or w in STOP_WORDS:
            # "Will you…", "May I…", "Grace period": a lone name-like word needs a title before it.
            return _TITLE_BEFORE.search(text, max(0, start - 12), start) is None
        if value.isupper() and len(value) <= 4:
            return True
    return bool(words[0] in CLINICAL_WORDS)


_EPONYM_AFTER = re.compile(
    r"(?:'s|\u2019s)?\s+(?:disease|syndrome|palsy|sign|test|maneuver|manoeuvre|criteria|score|scale|"
    r"classification|fracture|ulcer|lymphoma|sarcoma|tumou?r|procedure|operation|method|reflex|"
    r"catheter|monitor|node|nodes|phenomenon|triad|law|equation|formula|coma|position|repair|"
    r"diverticulum|esophagus|oesophagus|encephalopathy|disorder|anomaly|cyst|sarcoma|block|tube)\b",
    re.IGNORECASE,
)
_LOWER_TAIL = re.compile(r"(?:\s+[a-z][\w'-]*)+$")


def _trim_lowercase_tail(text: str, start: int, end: int) -> int:
    """ "Maria Carter drove" -> "Maria Carter": in cased text a capitalised entity does not end in a
    lower-case word (the small model sometimes swallows the next verb)."""
    if not text[start : start + 1].isupper():
        return end
    tail = _LOWER_TAIL.search(text, start, end)
    return tail.start() if tail else end


_KNOWN = STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS | LABEL_AND_PAYER_WORDS | CALENDAR_WORDS
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\u2019]*")


def worth_ner(text: str, *, cased: bool | None = None) -> bool:
    """Could NER find a name, place or organisation here? False when it cannot: every word is
    everyday vocabulary ("yes that's right", "my number is four one five"), or, in cased text, no
    capitalised word is unknown (in cased writing names are capitalised). Skipping those is most of
    the NER cost of a voice turn and of a long note. ``cased`` describes the whole message."""
    if cased is None:
        cased = any(c.isupper() for c in text)
    for m in _TOKEN.finditer(text):
        word = m.group()
        if cased and not word[0].isupper():
            continue  # lower-case words in cased text are not names
        if cased and word.isupper() and len(word) <= 5:
            continue  # abbreviations: "BP", "HTN", "CBC"
        low = word.lower().replace("\u2019", "'")
        if low.endswith("'s"):
            low = low[:-2]
        low = low.replace("'", "")
        if low not in _KNOWN:
            return True
    return False


_SENTENCE = re.compile(r"[^.!?;\n]+(?:[.!?;]+|\n|$)")
SEGMENT_FROM = 240  # characters; shorter texts go to NER whole


def ner_segments(text: str) -> list[tuple[int, str]]:
    """The parts of a text worth sending to NER, with their offsets: the whole text when it is short,
    else the sentences (or lines) that pass ``worth_ner``."""
    cased = any(c.isupper() for c in text) and not text.isupper()
    if len(text) < SEGMENT_FROM:
        return [(0, text)] if worth_ner(text, cased=cased) else []
    out: list[tuple[int, str]] = []
    for m in _SENTENCE.finditer(text):
        if m.group().strip() and worth_ner(m.group(), cased=cased):
            out.append((m.start(), m.group()))
    return out


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
        trail = _TRAILING.search(text[start:end])
        if trail:
            end = start + trail.start()
        end = _trim_lowercase_tail(text, start, end)
        if end - start < 2 or _drop(text, entity, start, end):
            continue
        # spaCy's "Mary's in" style spans: never let a place or org run into a stop word.
        out.append(
            Finding(
                start,
                end,
                entity,
                min(span.score, 1.0) if span.score != 0.85 else _SCORE[entity],
                f"ner:{span.label}",
            )
        )
    return out
