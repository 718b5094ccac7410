"""Addresses outside the US shape, and the city in a letterhead.

Continental streets put the number after the street ("Hauptstraße 12", "Rue de Rivoli 45", "Váci utca
10") and the postcode before the city ("10115 Berlin", "111 35 Stockholm"); the UK, Canada and
Australia have postcodes with letters or a state code before four digits. A letterhead names the
city right after the facility ("Lakeview Family Clinic, Duluth"). Each piece is reported with its own
type: the street as ADDRESS, the postcode as ZIP, the city as LOCATION.
"""

from __future__ import annotations

import re

from ..lexicon import CALENDAR_WORDS, COMMON_WORDS, COUNTRIES_AND_REGIONS, STOP_WORDS, US_STATES
from ..recognizer import Doc, Recognizer, gate_regex, text_words
from ..types import Entity, Finding

_L = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_CAP = rf"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f][{_L}'\u2019.-]*"
_NUM = r"\d{1,5}[a-zA-Z]?(?:[-/]\d{1,4}[a-zA-Z]?)?"
# Street word glued to the name ("Hauptstraße", "Kungsgatan", "Nørrevej").
_GLUED_SUFFIX = (
    r"(?i:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|damm|ufer|chaussee|gatan|gata|vägen|väg|"
    r"vej|gade|veien|vegen|straat|laan|gracht|plein|kade|singel|katu)"
)
# Street word standing alone after the name ("Váci utca", "Unter den Linden" has none).
_SEPARATE_SUFFIX = r"(?i:utca|út|útja|tér|körút|Straße|Strasse|Weg|Platz|Allee|Gasse|ulica|ul\.)"
# Street word before the name ("Rue de Rivoli", "Calle Mayor", "Via Roma").
_PREFIX = (
    r"(?i:Rue|Avenue|Av\.|Avda\.?|Boulevard|Bd|Bvd|Place|Chemin|All[ée]e|Impasse|Quai|Calle|Avenida|"
    r"Plaza|Paseo|Carrer|Carretera|Camino|Via|Viale|Piazza|Corso|Vicolo|Largo|Rua|Travessa|Pra[çc]a|"
    r"Estrada|Rodovia|Ulica|Aleja)"
)
_ANY_CAP = r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u024f\u0386-\u03ab\u0400-\u042f][\w'\u2019.]*"
_POSTCODE = r"(?:\d{3}[ \t]\d{2}|\d{4}-\d{3}|\d{2}-\d{3}|\d{4,5}|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})"
_FRENCH = r"(?i:rue|avenue|boulevard|bd|place|chemin|all[ée]e|impasse|quai)"
_PARTICLE = r"(?i:de|del|della|delle|dei|di|da|do|dos|das|du|des|la|le|les|los|las|y|e|l'|d')"
_STREET = re.compile(
    rf"(?<![{_L}])(?:"
    rf"(?P<a>{_CAP}{_GLUED_SUFFIX}[ \t]+{_NUM})"
    rf"|(?P<b>{_CAP}(?:[ \t]+{_CAP})?[ \t]+{_SEPARATE_SUFFIX}[ \t]+{_NUM})"
    rf"|(?P<c>{_PREFIX}[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}){{0,2}}"
    rf",?[ \t]+{_NUM})"
    rf"|(?P<d>{_NUM},?[ \t]+{_FRENCH}[ \t]+(?:{_PARTICLE}[ \t]+)*{_CAP}(?:[ \t]+{_CAP}){{0,2}})"
    # Any street name with its number, when a postcode and a city follow ("Furustigen 88, 21587 …").
    rf"|(?P<e>(?<![\w-]){_ANY_CAP}(?:[ \t-]{_ANY_CAP}){{0,3}}[ \t]+{_NUM}(?=,[ \t]*{_POSTCODE}[ \t]+{_ANY_CAP}))"
    rf")(?![{_L}\d])",
)
# Necessary for any street match: its street word, next to a number or a space.
_STREET_GATE = gate_regex(
    rf"\d,[ \t]*{_POSTCODE}[ \t]+[^\W\d_]|{_GLUED_SUFFIX}[ \t]+\d|{_SEPARATE_SUFFIX}[ \t]+\d|(?<![{_L}]){_PREFIX}[ \t]|\d,?[ \t]+{_FRENCH}[ \t]"
)
# After a street: ", 10115 Berlin", ", 1100-053 Lisboa", ", 00-950 Warszawa", ", 111 35 Stockholm".
_POSTCODE_CITY = re.compile(
    rf",?[ \t]*(?:[A-Z]{{1,2}}-)?(?P<zip>{_POSTCODE})[ \t]+(?P<city>{_ANY_CAP}(?:[ \t-]{_ANY_CAP})?)"
)
_UK_POSTCODE = re.compile(
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
# Cedar Rapids": a facility, a separator, then the city, then the end of the line or a comma.
_LETTERHEAD = re.compile(
    r"\b(?:Clinic|Hospital|Medical\s+Center|Medical\s+Centre|Health\s+Center|Health\s+System|Health|"
    r"Healthcare|Medical\s+Group|Practice|Pharmacy|Associates|Pediatrics|Care|Center|Centre|Institute)"
    r"[ \t]*(?:,|-|\u2013|\u2014|\||\u00b7|\u2022)[ \t]*"
    r"(?P<city>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2})(?=[ \t]*(?:,|\r?\n|$|\(|\u00b7|\||-))",
    re.MULTILINE,
)
_FACILITY_WORDS = text_words(
    ("Clinic", "Hospital", "Center", "Centre", "Health", "Practice", "Pharmacy", "Associates", "Pediatrics",
     "Care", "Institute")
)  # fmt: skip
_AU_GATE = gate_regex(r"\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+\d{4}")
_NOT_CITY = STOP_WORDS | COMMON_WORDS | US_STATES | COUNTRIES_AND_REGIONS


def _city_ok(city: str) -> bool:
    return city.lower() not in _NOT_CITY and city.split()[0].lower() not in STOP_WORDS


class InternationalAddressRecognizer(Recognizer):
    name = "intl_address"

    def analyze(self, doc: Doc) -> list[Finding]:
        text = doc.text
        out: list[Finding] = []
        if doc.has_digit:
            for m in _STREET.finditer(text) if doc.found(_STREET_GATE) else ():
                group = next(g for g in "abcde" if m.group(g))
                if group == "e" and m.group(group).split()[0].lower() in CALENDAR_WORDS:
                    continue  # "March 3, 2019 Smith …" is a date
                out.append(Finding(*m.span(group), Entity.ADDRESS, 0.85, self.name))
                tail = _POSTCODE_CITY.match(text, m.end())
                if tail is not None:
                    out.append(Finding(*tail.span("zip"), Entity.ZIP, 0.85, self.name))
                    if _city_ok(tail.group("city")):
                        out.append(Finding(*tail.span("city"), Entity.LOCATION, 0.85, self.name))
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
        for m in _LETTERHEAD.finditer(text) if doc.text_has_any(_FACILITY_WORDS) else ():
            if _city_ok(m.group("city")):
                out.append(Finding(*m.span("city"), Entity.LOCATION, 0.8, self.name))
        return out
