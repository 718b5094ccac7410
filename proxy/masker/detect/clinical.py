"""Clinical context around a capitalised word: is it a medical eponym or a drug, not a person?

Shared by the NER post-filter and the name-lexicon recognizer. A surname before a disease, sign,
scale or device word ("Parkinson's disease", "Foley catheter", "Glasgow Coma Scale", "Hunt and Hess
grade") names a condition, not a patient; an unknown word before a dose or after a medication verb
("Zepbound 2.5 mg", "started Rinvoq") is a drug. Both are decided by the words around the span, so
they hold for eponyms and brands no list has.
"""

from __future__ import annotations

import re

from .lexicon import CLINICAL_WORDS, DRUG_SUFFIXES, EPONYM_HEADS, given_names

# Heads that measure (a scale, a score): one or two words may stand between the eponym and the head
# ("Glasgow Coma Scale", "Morse Fall Scale", "Bristol stool scale").
_MEASURES = frozenset(
    {"scale", "scales", "score", "scores", "class", "classification", "grade", "grading", "criteria", "index",
     "stage", "staging"}
)  # fmt: skip
_CAP = r"[A-Z][\w\u2019'-]*"
# What follows the word: a possessive, other eponyms of the same phrase ("Hunt and Hess grade",
# "Cullen and Grey Turner signs"), then up to three words, looked up in the head sets (a set lookup is
# cheaper than a regex alternation of every head).
_EPONYM_TAIL = re.compile(
    r"(?P<poss>['\u2019]s?)?"
    rf"(?:[ \t]*(?:,|and|&|/)[ \t]*{_CAP}(?:[ \t]+{_CAP})?(?:['\u2019]s?)?){{0,3}}"
    r"[ \t]+(?P<w1>[A-Za-z][A-Za-z-]*)(?:[ \t]+(?P<w2>[A-Za-z][a-z-]*))?(?:[ \t]+(?P<w3>[A-Za-z][a-z-]*))?"
)
# A title or a name cue before the word makes it a person whatever follows ("Dr. Foley's catheter").
_TITLE_BEFORE = re.compile(r"\b(?:dr|mr|mrs|ms|mx|prof|miss|nurse|doctor)\.?[ \t]*$", re.IGNORECASE)
# Possessive heads that are things a patient has ("Emily's catheter", "Maria's test") do not make an
# eponym; a possessive eponym is a condition or a sign.
_POSSESSIVE_THINGS = frozenset(
    {
        "test", "tests", "score", "scores", "scale", "scales", "class", "grade", "stage", "catheter",
        "catheters", "drain", "drains", "lift", "tube", "tubes", "monitor", "dressing", "splint", "brace",
        "boot", "collar", "mask", "bag", "line", "lines", "hose", "wrap", "bandage", "lens", "needle",
        "procedure", "operation", "repair", "regimen", "position", "approach", "incision",
    }
)  # fmt: skip


def eponym_at(text: str, start: int, end: int) -> bool:
    """Is ``text[start:end]`` (one word, possibly hyphenated: "Cheyne-Stokes") the name part of a
    medical eponym? Judged by what follows it, never when a title precedes it."""
    m = _EPONYM_TAIL.match(text, end)
    if m is None:
        return False
    head = m.group("w1").lower()
    immediate = head in EPONYM_HEADS
    measured = any((w or "").lower() in _MEASURES for w in (m.group("w2"), m.group("w3")))
    if not (immediate or measured):
        return False
    if _TITLE_BEFORE.search(text, max(0, start - 12), start):
        return False
    if " " in text[start:end] and (m.group("poss") or not immediate):
        return False  # "Maria Lopez's catheter": a person's; multi-word eponyms are not possessive
    return not (m.group("poss") and immediate and head in _POSSESSIVE_THINGS)


_DOSE_AFTER = re.compile(
    r"[ \t]*(?:\d+(?:[.,]\d+)?[ \t]*(?:mg|mcg|\u00b5g|ug|g|ml|units?|iu|meq|%|puffs?|tabs?|caps?|sprays?)\b|"
    r"\d+(?:[.,]\d+)?(?:/\d+(?:[.,]\d+)?)+(?![/\d])|"  # a combination strength: "250/50"
    r"(?:ER|XR|XL|SR|CR|DR|ODT|HCT|tablets?|capsules?|injections?|infusions?|inhaler|pens?|patch|"
    r"patches|cream|ointment|gel|drops|suspension|syrup|daily|weekly|monthly|nightly|twice|once|bid|"
    r"tid|qid|qd|qhs|qam|qpm|prn|po|iv|im|subq|sq|sl)\b)",
    re.IGNORECASE,
)
_DRUG_VERB_BEFORE = re.compile(
    r"\b(?:start|started|starting|began|begin|begun|initiated|initiate|continue|continued|continues|continuing|resume|resumed|restart|"
    r"restarted|on|taking|take|takes|took|prescribe|prescribed|discontinue|discontinued|stop|stopped|"
    r"stopping|hold|held|increase|increased|decrease|decreased|titrate|titrated|"
    r"switch(?:ed)?(?:[ \t]+(?:her|him|them|patient|pt))?[ \t]+(?:to|from)|changed?[ \t]+to|"
    r"trial[ \t]+of|dose[ \t]+of|course[ \t]+of|refill[ \t]+(?:of|for|on)|allerg(?:ic|y)[ \t]+to|"
    r"intolerant[ \t]+(?:of|to)|tolerating|failed|injects?|injected|discussed|offered|declined|refused|"
    r"recommended)[ \t]+$",
    re.IGNORECASE,
)
# After the word: what is done to a medication ("Biktarvy continued", "Eliquis was held").
_DRUG_VERB_AFTER = re.compile(
    r"[ \t]+(?:(?:was|were|is|has[ \t]+been)[ \t]+)?(?:continued|started|stopped|discontinued|held|"
    r"restarted|resumed|increased|decreased|titrated|refilled|prescribed|tolerated|dispensed)\b",
    re.IGNORECASE,
)
_COORDINATED_BEFORE = re.compile(r"([A-Za-z][\w-]*)[ \t]*(?:,|and|or|/|\+)[ \t]*$", re.IGNORECASE)
_COORDINATED_AFTER = re.compile(r"[ \t]*(?:,|and|or|/|\+)[ \t]*([A-Za-z][\w-]*)", re.IGNORECASE)


def drug_in_text(text: str, start: int, end: int) -> bool:
    """``drug_at`` here or at another occurrence of the same word in the text (at most a few looked
    at): "Started Rexulti 15 mg daily. Discussed Rexulti and side effects." names one drug twice."""
    if drug_at(text, start, end):
        return True
    word = text[start:end]
    i, seen = text.find(word), 0
    while i >= 0 and seen < 8:
        j = i + len(word)
        whole = (i == 0 or not text[i - 1].isalnum()) and (j == len(text) or not text[j].isalnum())
        if i != start and whole and drug_at(text, i, j):
            return True
        i, seen = text.find(word, j), seen + 1
    return False


def _is_drug_word(word: str) -> bool:
    """A drug's name beside the word. Not a short all-caps token: "Hartford, CT 06101" is a state code,
    not a CT scan."""
    w = word.lower()
    if word.isupper() and len(word) <= 4:
        return False
    return w in CLINICAL_WORDS or (len(w) >= 6 and w.endswith(DRUG_SUFFIXES))


# Head nouns that end a whole span NER returned ("Braden Scale", "Mallampati class", "Bence Jones
# protein"). Head nouns that also end place names ("Hunters Point", "Grand Canal") are left out.
_SPAN_HEADS = EPONYM_HEADS - frozenset(
    {"point", "canal", "line", "lines", "ring", "bodies", "approach", "block", "index", "rule", "rules",
     "bag", "boot", "collar", "wrap", "hose", "lens", "knot", "position", "method", "law", "membrane"}
)  # fmt: skip


def eponym_span(words: list[str]) -> bool:
    """Does a span of two or more words end in an eponym's head noun ("Braden Scale")?"""
    return len(words) >= 2 and words[-1].lower() in _SPAN_HEADS


def drug_at(text: str, start: int, end: int, *, depth: int = 1) -> bool:
    """Is the single word ``text[start:end]`` a medication by its context: a dose, form or frequency
    right after it, a medication verb before or after it (unless it is a known given name: "started
    Maria on insulin"), or a drug beside it ("Lipitor and Zetia", "started Rinvoq and Skyrizi")?"""
    if _DOSE_AFTER.match(text, end):
        return True
    lo = max(0, start - 40)
    before = text[lo:start]
    person_like = text.startswith(("'s", "\u2019s"), end) or text[start:end].lower() in given_names()
    if not person_like and (_DRUG_VERB_BEFORE.search(before) or _DRUG_VERB_AFTER.match(text, end)):
        return True
    if depth == 0:
        return False
    neighbours = []
    if (m := _COORDINATED_BEFORE.search(before)) is not None:
        neighbours.append((lo + m.start(1), lo + m.end(1)))
    if (m := _COORDINATED_AFTER.match(text, end)) is not None:
        neighbours.append(m.span(1))
    return any(
        _is_drug_word(text[a:b]) or (text[a].isupper() and drug_at(text, a, b, depth=depth - 1))
        for a, b in neighbours
    )
