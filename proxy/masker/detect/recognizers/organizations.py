"""Organisations by their shape: care facilities ("North Kara Regional Medical Center", "St. Jude
Clinic") and company names after an employment cue ("works at Nelson and Sons", "at Allen-Thomas").
NER finds many of these too; the patterns catch the ones spaCy's small model splits or mislabels."""

from __future__ import annotations

import re

from ..recognizer import Doc, Recognizer, gate_regex, text_words
from ..types import Entity, Finding

_CAP = r"[A-Z][a-zA-Z'\u2019]+"
_FACILITY = re.compile(
    rf"\b(?:(?:St\.?|Saint|Mount|Mt\.?)[ \t]+)?(?:{_CAP}[ \t-]){{1,4}}"
    r"(?:General[ \t]+Hospital|Memorial[ \t]+Hospital|Children's[ \t]+Hospital|Community[ \t]+Hospital|"
    r"Hospital|Medical[ \t]+Cent(?:er|re)|Health[ \t]+Cent(?:er|re)|Health[ \t]+System|Healthcare|"
    r"Medical[ \t]+Group|Clinic|Pediatrics|Family[ \t]+Practice|Urgent[ \t]+Care|Pharmacy|"
    r"Rehabilitation[ \t]+Cent(?:er|re)|Nursing[ \t]+Home|Hospice|Cancer[ \t]+Cent(?:er|re)|"
    r"Surgery[ \t]+Cent(?:er|re)|Surgical[ \t]+Cent(?:er|re)|Infirmary|Laboratories|"
    r"Dialysis[ \t]+Cent(?:er|re))\b"
)
_COMPANY_SUFFIX = re.compile(
    rf"\b{_CAP}(?:[ \t]{_CAP}){{0,2}},?[ \t]+(?:Inc|LLC|Ltd|PLC|Corp|Corporation|Group|Company|Co|Partners|"
    r"Associates|and[ \t]+Sons|& Sons)\b\.?"
)
# "works at Allen-Thomas", "employed by King, Burns and Spencer"
_EMPLOYER = re.compile(
    r"\b(?:works?[ \t]+(?:at|for)|working[ \t]+(?:at|for)|employed[ \t]+(?:at|by)|employer[ \t]*(?:is|:)|"
    r"job[ \t]+at|accountant[ \t]+at|(?:an?|the)[ \t]+[a-z]+[ \t]+at)[ \t]+"
    rf"(?P<org>{_CAP}(?:-{_CAP}|(?:,[ \t]{_CAP})*,?[ \t]+and[ \t]+{_CAP}|[ \t]{_CAP}){{0,3}})"
)
# Prefilters (case-sensitive, like the regexes): the word each facility/company shape ends in, and
# for an employer either the verb or " at " before a capital.
_FACILITY_WORDS = text_words((
    "Hospital", "Cent", "Health", "Group", "Clinic", "Pediatrics", "Practice", "Care", "Pharmacy",
    "Home", "Hospice", "Infirmary", "Laboratories",
))  # fmt: skip
_COMPANY_WORDS = text_words(("Inc", "LLC", "Ltd", "PLC", "Co", "Group", "Partners", "Associates", "Sons"))
_EMPLOYER_WORDS = text_words(("work", "employ"))
_AT_CAPITAL = gate_regex(r"at(?<=[ \t]at)[ \t]+[A-Z]")  # led by the literal: a fast scan
_LEADING_ARTICLE = re.compile(r"^(?:The|A|An|At|In|To|From)[ \t]+")
_SENTENCE_WORDS = frozenset(
    {"Patient", "Pt", "Seen", "Admitted", "Discharged", "Caller", "Agent", "Referred"}
)


class OrganizationRecognizer(Recognizer):
    name = "organization"

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        for rx, words in ((_FACILITY, _FACILITY_WORDS), (_COMPANY_SUFFIX, _COMPANY_WORDS)):
            if doc.gated and not doc.text_has_any(words):
                continue
            for m in rx.finditer(text):
                start, end = m.span()
                lead = _LEADING_ARTICLE.match(text, start, end)
                if lead:
                    start = lead.end()
                first = text[start:end].split(" ", 1)[0]
                if first in _SENTENCE_WORDS:
                    start += len(first) + 1
                if end - start >= 4:
                    out.append(Finding(start, end, Entity.ORGANIZATION, 0.88, self.name))
        if doc.gated and not (doc.text_has_any(_EMPLOYER_WORDS) or doc.found(_AT_CAPITAL)):
            return out
        for m in _EMPLOYER.finditer(text):
            start, end = m.span("org")
            out.append(Finding(start, end, Entity.ORGANIZATION, 0.88, self.name))
        return out
