"""Addresses outside the US shape, and the city in a letterhead.

Continental streets put the number after the street ("Hauptstraße 12", "Rue de Rivoli 45", "Váci utca
10") and the postcode before the city ("10115 Berlin", "111 35 Stockholm"); the UK, Canada and
Australia have postcodes with letters or a state code before four digits. A letterhead names the
city right after the facility ("Lakeview Family Clinic, Duluth"). Each piece is reported with its own
type: the street as ADDRESS, the postcode as ZIP, the city as LOCATION.
"""

from __future__ import annotations

import re

from ..lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_WORDS,
    COUNTRIES_AND_REGIONS,
    EPONYM_HEADS,
    HONORIFICS,
    LABEL_AND_PAYER_WORDS,
    SERVICE_WORDS,
    STOP_WORDS,
    US_STATES,
)
from ..recognizer import Doc, Recognizer, finditer_at, finditer_from, fold_words, gate_regex, text_words
from ..types import Entity, Finding
from .places import STREET_SUFFIX

_L = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_CAP = rf"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f][{_L}'\u2019.-]*"
_NUM = r"\d{1,5}[a-zA-Z]?(?:[-/]\d{1,4}[a-zA-Z]?)?"
# Street word glued to the name ("Hauptstraße", "Kungsgatan", "Nørrevej").
_GLUED_SUFFIX = (
    r"(?i:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|gatan|gata|vägen|väg|"
    r"vagen|vag|vej|gade|veien|vegen|straat|laan|gracht|plein|kade|singel|katu)"
)
# Street word standing alone after the name ("Váci utca", "Unter den Linden" has none); detection
# reads accent-folded text, so "út" also arrives as "ut".
_SEPARATE_SUFFIX = (
    r"(?i:utca|út|útja|tér|körút|ut|utja|ter|korut|Straße|Strasse|Weg|Platz|Allee|Gasse|ulica|ul\.)"
)
# Street word before the name ("Rue de Rivoli", "Calle Mayor", "Via Roma").
_PREFIX = (
    r"(?i:Rue|Avenue|Av\.|Avda\.?|Boulevard|Bd|Bvd|Place|Chemin|All[ée]e|Impasse|Quai|Calle|Avenida|"
    r"Plaza|Paseo|Carrer|Carretera|Camino|Via|Viale|Piazza|Corso|Vicolo|Largo|Rua|Travessa|Pra[çc]a|"
    r"Estrada|Rodovia|Ulica|Aleja)"
)
_ANY_CAP = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0386-\u03ab\u0400-\u042f][\w'\u2019.]*"
_CITY_WORD = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0386-\u03ab\u0400-\u042f][\w'\u2019]*"
# Sweden/Czechia "111 35", Portugal "1100-053", Brazil "01310-100", Poland "00-950", most of Europe
# 4-5 digits, Romania/India 6, the Netherlands "1012 AB", the UK "SW1A 1AA".
_POSTCODE = (
    r"(?:\d{3}[ \t]\d{2}|\d{4}-\d{3}|\d{5}-\d{3}|\d{2}-\d{3}|\d{4}[ \t]?[A-Z]{2}(?![\w])|\d{4,6}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})"
)
_FRENCH = r"(?i:rue|avenue|boulevard|bd|place|chemin|all[ée]e|impasse|quai)"
_PARTICLE = r"(?i:de|del|della|delle|dei|di|da|do|dos|das|du|des|la|le|les|los|las|y|e|l'|d')"
_SUFFIX_STREET = re.compile(
    rf"(?<![{_L}])(?:(?P<a>{_CAP}{_GLUED_SUFFIX}[ \t]+{_NUM})"
    rf"|(?P<b>{_CAP}(?:[ \t]+{_CAP})?[ \t]+{_SEPARATE_SUFFIX}[ \t]+{_NUM}))(?![{_L}\d])"
)
# What every suffix-street match in an ASCII text holds: an ASCII street word of ``_GLUED_SUFFIX`` or
# ``_SEPARATE_SUFFIX``, blanks, a digit. The street words are also common word parts ("ut", "ter"),
# so the word prefilter alone lets most English text through.
_SUFFIX_GATE = gate_regex(
    r"(?:strasse|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|gatan|gata|vagen|vag|vej|gade|veien|"
    r"vegen|straat|laan|gracht|plein|kade|singel|katu|utca|utja|ut|ter|korut|ulica|ul\.)[ \t]+\d",
    re.IGNORECASE,
)
_PREFIX_STREET = re.compile(
    rf"(?<![{_L}])(?P<c>{_PREFIX}[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}"
    rf"(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}){{0,2}},?[ \t]+{_NUM})(?![{_L}\d])"
)
_NUMBER_FIRST = re.compile(
    rf"(?<![{_L}\d])(?P<d>{_NUM},?[ \t]+{_FRENCH}[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}(?:[ \t]+{_CAP}){{0,2}})"
    rf"(?![{_L}\d])"
)
# Any street name with its number, when a postcode and a city follow ("Furustigen 88, 21587 …") or
# stand on the next line of an address block ("Ektorget 328\n10129 Göteborg"): found from the number,
# then the name is read backwards.
_CITY_LINE = (
    rf"{_CITY_WORD}(?:[ \t-](?:{_PARTICLE}|am|an|im|der|sur|sous|les)?[ \t]*{_CITY_WORD}){{0,3}}"
    r"[ \t]*(?:\r?\n|$)"
)
_TAIL = re.compile(
    rf"(?<![\w-]){_NUM}(?=,[ \t]*{_POSTCODE}[ \t]+{_ANY_CAP}"
    rf"|[ \t]*\r?\n[ \t]*(?P<line>(?:[A-Z]{{1,2}}-)?{_POSTCODE}[ \t]+{_CITY_LINE}))"
)
_TAIL_GATE = gate_regex(
    r"\d(?:,|[ \t]*\r?\n)[ \t]*(?:[A-Z]{1,2}-)?"
    r"(?:\d{3}[ \t]\d{2}|\d{4,5}-\d{3}|\d{2}-\d{3}|\d{4,6}|\d{4}[ \t]?[A-Z]{2}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})[ \t]+[A-Z]"
)
_NAME_BEFORE = re.compile(rf"(?<![\w-]){_ANY_CAP}(?:[ \t-]{_ANY_CAP}){{0,3}}[ \t]+$")
# A line that opens with the street (an address block), or a label before it ("Address: ").
_LINE_START = re.compile(r"(?:^|\n|:)[ \t]*$")
# The street words each shape needs (prefilters; lower-case, looked for in ``Doc.fold``).
# ASCII ones are answered by the multi-pattern scan; the others can only occur in a non-ASCII text.
_SUFFIX_WORDS = fold_words(
    ("strasse", "str.", "weg", "gasse", "platz", "allee", "damm", "ufer", "chaussee", "gata", "vej", "gade",
     "veien", "vegen", "straat", "laan", "gracht", "plein", "kade", "singel", "katu", "utca", "ulica", "ul.",
     "ut", "utja", "ter", "korut", "vag")
)  # fmt: skip
_SUFFIX_WORDS_NON_ASCII = ("stra\u00dfe", "v\u00e4g", "\u00fat", "t\u00e9r")
_PREFIX_WORDS = fold_words(
    ("rue", "avenue", "av.", "avda", "boulevard", "bd", "bvd", "place", "chemin", "allee", "impasse", "quai",
     "calle", "avenida", "plaza", "paseo", "carrer", "carretera", "camino", "via", "viale", "piazza", "corso",
     "vicolo", "largo", "rua", "travessa", "praca", "estrada", "rodovia", "ulica", "aleja")
)  # fmt: skip
_PREFIX_WORDS_NON_ASCII = ("all\u00e9e", "pra\u00e7a")
_FRENCH_WORDS = fold_words(
    ("rue", "avenue", "boulevard", "bd", "place", "chemin", "allee", "impasse", "quai")
)
# After a street: ", 10115 Berlin", "150., H-2982 Kunhátváros", ", 1100-053 Lisboa", ", 111 35 Stockholm",
# "TK 116 91 Veria" (Greek T.K., in Greek letters too), or the same on the next line of an address block.
_POSTCODE_CITY = re.compile(
    rf"\.?,?[ \t]*(?:\r?\n[ \t]*)?(?:(?:\u03a4\u039a|TK)[ \t]+)?(?P<zip>(?:[A-Z]{{1,2}}-)?{_POSTCODE})[ \t]+"
    rf"(?P<city>{_CITY_WORD}(?:[ \t-]{_CITY_WORD})?)"
)
# A street written the English way whose postcode comes before the city ("825 Piir Prairie, 09089
# Tallinn", "4 Guard Street\n9387 Mount Hadfield"): the postcode and city after its suffix.
_AFTER_SUFFIX = re.compile(
    rf"(?<=[a-z.])(?:,[ \t]*|[ \t]*\r?\n[ \t]*)(?P<zip>{_POSTCODE})[ \t]+"
    rf"(?P<city>{_CITY_WORD}(?:[ \t-]{_CITY_WORD})?)"
)
_AFTER_SUFFIX_GATE = gate_regex(
    r"[a-z.](?:,|[ \t]*\r?\n)[ \t]*(?:\d{3}[ \t]\d{2}|\d{4,5}-\d{3}|\d{2}-\d{3}|\d{4,6})[ \t]+[A-Z]"
)
# A house number, a name and a USPS street suffix ending right there ("825 Piir Prairie").
_US_STREET_END = re.compile(
    rf"(?<![\w-])\d{{1,6}}[A-Za-z]?[ \t]+(?:{_CAP}[ \t]+){{1,3}}(?i:{STREET_SUFFIX})\.?$"
)
# The city before the postcode, as Spain and Mexico write it: "Calle Mayor 5, Alicante, 06632".
_CITY_POSTCODE = re.compile(
    rf"\.?,[ \t]*(?P<city>{_CITY_WORD}(?:[ \t-]{_CITY_WORD})?),?[ \t]+(?P<zip>\d{{5}})(?![\w-])"
)
_UK_POSTCODE = gate_regex(
    r"(?<![A-Za-z0-9])(?:[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])"
)
# "London NW1 6XE": the post town right before a UK postcode.
_CITY_BEFORE = re.compile(rf"(?P<city>{_CAP}(?:[ \t]{_CAP})?),?[ \t]+$")
_CA_POSTCODE = gate_regex(
    r"(?<![A-Za-z0-9])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][ \t]?\d[ABCEGHJ-NPRSTV-Z]\d(?![A-Za-z0-9])"
)
_CA_CITY = re.compile(
    rf"(?P<city>{_CAP}(?:[ \t]{_CAP})?),?[ \t]+(?:ON|QC|BC|AB|MB|SK|NS|NB|NL|PE|YT|NT|NU)[ \t]+"
    r"(?=[ABCEGHJ-NPRSTVXY]\d[A-Z][ \t]?\d[A-Z]\d)"
)
_AU = re.compile(
    rf"(?P<city>{_CAP}(?:[ \t]{_CAP})?),?[ \t]+(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+(?P<zip>\d{{4}})(?!\d)"
)
# "Lakeview Family Clinic, Duluth" / "St. Mary's Hospital - Rochester, MN" / "Mercy Medical Center |
# Cedar Rapids" / "Summit Dermatology (Bend)": a facility, a separator, then the city, then the end of
# the line, a comma or the closing parenthesis.
_FACILITY_KINDS = (
    "Clinic", "Clinics", "Hospital", "Medical Center", "Medical Centre", "Health Center", "Health System",
    "Health", "Healthcare", "Medical Group", "Practice", "Pharmacy", "Associates", "Pediatrics", "Care",
    "Center", "Centre", "Institute", "Dermatology", "Cardiology", "Oncology", "Orthopedics",
    "Orthopaedics", "Radiology", "Imaging", "Urology", "Neurology", "Gastroenterology", "Dentistry",
    "Dental", "Surgery", "Therapy", "Rehabilitation", "Rehab", "Hospice", "Infirmary", "Physicians",
    "Specialists", "Laboratory", "Laboratories", "Medicine", "Wellness", "Obstetrics", "Gynecology",
    "Psychiatry", "Nephrology", "Pulmonology", "Ophthalmology", "Optometry", "Audiology", "Podiatry",
)  # fmt: skip
_LETTERHEAD = re.compile(
    r"(?:" + "|".join(k.replace(" ", r"\s+") for k in sorted(_FACILITY_KINDS, key=len, reverse=True)) + r")\b"
    r"(?:[ \t]*(?:,|-|\u2013|\u2014|\||\u00b7|\u2022)[ \t]*|[ \t]+\([ \t]*)"
    r"(?P<city>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2})(?=[ \t]*(?:,|\r?\n|$|\(|\)|\u00b7|\||-))",
    re.MULTILINE,
)
_FACILITY_WORDS = text_words(tuple(dict.fromkeys(k.split()[0] for k in _FACILITY_KINDS)))
# After a facility, words that name a department, a day or a status, not a city ("Cardiology, Neurology",
# "Radiology - Pending", "Clinic (Tuesday)").
_NOT_LETTERHEAD_CITY = CLINICAL_WORDS | SERVICE_WORDS | CALENDAR_WORDS | LABEL_AND_PAYER_WORDS | HONORIFICS
# Words of a "Name 12" line that is a dose or a score, not a street ("Metformin 500", "Glasgow 14").
_NOT_STREET = _NOT_LETTERHEAD_CITY | COMMON_WORDS | STOP_WORDS | EPONYM_HEADS
_AU_GATE = gate_regex(r"\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+\d{4}")
_NOT_CITY = STOP_WORDS | COMMON_WORDS | US_STATES | COUNTRIES_AND_REGIONS


def _city_ok(city: str) -> bool:
    return city.lower() not in _NOT_CITY and city.split()[0].lower() not in STOP_WORDS


class InternationalAddressRecognizer(Recognizer):
    name = "intl_address"

    @staticmethod
    def _streets(doc: Doc) -> list[tuple[int, int]]:
        """Street spans of every shape, each regex tried only where its street word or number is."""
        text = doc.text
        spans: list[tuple[int, int]] = []
        other = not doc.ascii
        suffix_words = doc.has_any(_SUFFIX_WORDS) or (other and doc.has_any(_SUFFIX_WORDS_NON_ASCII))
        if suffix_words and (other or doc.found(_SUFFIX_GATE)):
            spans += [m.span("a") if m.group("a") else m.span("b") for m in _SUFFIX_STREET.finditer(text)]
        prefixes = doc.has_any(_PREFIX_WORDS)
        if prefixes or (other and doc.has_any(_PREFIX_WORDS_NON_ASCII)):
            starts = doc.word_starts(_PREFIX_WORDS) if prefixes and not other else None
            spans += [m.span("c") for m in finditer_from(_PREFIX_STREET, text, starts)]
        if doc.has_any(_FRENCH_WORDS) or (other and doc.has_any(_PREFIX_WORDS_NON_ASCII)):
            spans += [m.span("d") for m in finditer_at(_NUMBER_FIRST, text, doc.run_starts(1))]
        if other or doc.found(_TAIL_GATE):
            for m in finditer_at(_TAIL, text, doc.run_starts(1)):
                name = _NAME_BEFORE.search(text, max(0, m.start() - 80), m.start())
                if name is None or name.group().split()[0].lower() in CALENDAR_WORDS:
                    continue  # not "March 3, 2019 Smith": a date
                if m.group("line") is not None and not (
                    _LINE_START.search(text, max(0, name.start() - 40), name.start())
                    and _city_ok(m.group("line").split()[-1])
                    and not all(w.lower() in _NOT_STREET for w in name.group().split())
                ):
                    continue  # a line break only joins a street line to its postcode line
                spans.append((name.start(), m.end()))
        spans.sort()
        kept: list[tuple[int, int]] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        return kept

    def analyze(self, doc: Doc) -> list[Finding]:
        text = doc.text
        out: list[Finding] = []
        if doc.has_digit:
            for span in self._streets(doc):
                out.append(Finding(*span, Entity.ADDRESS, 0.85, self.name))
                tail = _POSTCODE_CITY.match(text, span[1]) or _CITY_POSTCODE.match(text, span[1])
                if tail is not None:
                    out.append(Finding(*tail.span("zip"), Entity.ZIP, 0.85, self.name))
                    if _city_ok(tail.group("city")):
                        out.append(Finding(*tail.span("city"), Entity.LOCATION, 0.85, self.name))
            if doc.found(_AFTER_SUFFIX_GATE):
                for m in _AFTER_SUFFIX.finditer(text):
                    if _US_STREET_END.search(text, max(0, m.start() - 40), m.start()) and _city_ok(
                        m.group("city")
                    ):
                        out.append(Finding(*m.span("zip"), Entity.ZIP, 0.85, self.name))
                        out.append(Finding(*m.span("city"), Entity.LOCATION, 0.85, self.name))
            if doc.found(_UK_POSTCODE):
                for m in _UK_POSTCODE.finditer(text):
                    out.append(Finding(*m.span(), Entity.ZIP, 0.8, self.name))
                    city = _CITY_BEFORE.search(text, max(0, m.start() - 40), m.start())
                    if city is not None and _city_ok(city.group("city")):
                        out.append(Finding(*city.span("city"), Entity.LOCATION, 0.8, self.name))
            if doc.found(_CA_POSTCODE):
                for m in _CA_POSTCODE.finditer(text):
                    out.append(Finding(*m.span(), Entity.ZIP, 0.85, self.name))
                for m in _CA_CITY.finditer(text):
                    if _city_ok(m.group("city")):
                        out.append(Finding(*m.span("city"), Entity.LOCATION, 0.85, self.name))
            for m in _AU.finditer(text) if doc.found(_AU_GATE) else ():
                out.append(Finding(*m.span("zip"), Entity.ZIP, 0.85, self.name))
                if _city_ok(m.group("city")):
                    out.append(Finding(*m.span("city"), Entity.LOCATION, 0.85, self.name))
        if doc.text_has_any(_FACILITY_WORDS):
            # Tried only where a facility word starts (each alternative begins with one).
            for head in finditer_at(_LETTERHEAD, text, doc.text_word_starts(_FACILITY_WORDS)):
                name = head.group("city")
                if _city_ok(name) and not any(w.lower() in _NOT_LETTERHEAD_CITY for w in name.split()):
                    out.append(Finding(*head.span("city"), Entity.LOCATION, 0.8, self.name))
        return out
