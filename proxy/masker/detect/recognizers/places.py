"""Geography below the state: street addresses, PO boxes, ZIP codes, and the city of a written
address ("Springfield, IL 62704"). Free-standing city names are left to NER."""

from __future__ import annotations

import re

from ..lexicon import US_STATE_CODES, US_STATES
from ..recognizer import Doc, Pattern, PatternRecognizer, Recognizer
from ..types import Entity, Finding

IGNORE = re.IGNORECASE

_SUFFIX = (
    r"(?:street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|circle|cir|way|"
    r"place|pl|terrace|ter|parkway|pkwy|highway|hwy|trail|trl|square|sq|loop|row|pike|alley|"
    r"crescent|cres|close|plaza|plz|point|pt|ridge|run|crossing|xing|commons|grove|heights|hts|"
    r"hollow|manor|meadows?|park|path|walk|turnpike|tpke|expressway|expy|freeway|fwy|route|rte)"
)
_NOT_NAME = (
    r"(?!(?:the|a|an|of|to|in|on|at|for|and|or|my|your|his|her|their|our|mg|mcg|ml|times|blocks?|"
    r"miles?|minutes?|hours?|days?|weeks?|months?|years?|tablets?|pills?|units?|puffs?|doses?|"
    r"more|less|other|same|next|last|this|that|is|was|are|be|by|from|with|per|mile|steps?|floors?|"
    r"people|patients?|kids|children|cups?|glasses|drinks|pounds?|lbs|kg|percent|am|pm)\b)"
)
_NAME_WORD = rf"{_NOT_NAME}(?:[A-Za-z][A-Za-z'.-]*|\d+(?:st|nd|rd|th))"
_UNIT = (
    r"(?:,?\s*(?:apt|apartment|suite|ste|unit|#|room|rm|floor|fl|bldg|building|lot)\.?\s*#?\s*[A-Za-z0-9-]+)"
)
_DIRECTION = r"(?:(?:[NSEW]|north|south|east|west|northeast|northwest|southeast|southwest|ne|nw|se|sw)\.?\s+)"

_STATE_NAMES = "|".join(
    sorted((re.escape(s).replace(r"\ ", r"\s+") for s in US_STATES), key=len, reverse=True)
)
_STATE_CODES = "|".join(sorted(US_STATE_CODES))
_STATE_TITLES = "|".join(
    sorted((re.escape(s.title()).replace(r"\ ", r"\s+") for s in US_STATES), key=len, reverse=True)
)
_POST_DIRECTION = r"(?:[NSEW]|NE|NW|SE|SW)\b\.?"


class StreetAddressRecognizer(PatternRecognizer):
    name = "street_address"
    ENTITY = Entity.ADDRESS
    needs_digits = True
    PATTERNS = (
        Pattern(
            "street",
            rf"(?<![\w/.-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?\s+{_DIRECTION}?{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}?"
            rf"\s+{_SUFFIX}\b\.?(?:\s+{_POST_DIRECTION})?{_UNIT}?",
            0.9,
            flags=IGNORE,
        ),
        Pattern("po-box", r"\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box)\s+\d{1,6}\b", 0.85, flags=IGNORE),
    )
    _bad_tail = re.compile(r"\s+(?:dr|st|pt|pl|ct|ter|run|park|route|walk|point|way)\.?$", IGNORE)

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for f in super().analyze(doc):
            value = doc.text[f.start : f.end]
            # "2 tablets by mouth ... walk", "3 times a day ... way": measurements ending in a suffix
            # word need a capitalised street name to count.
            if self._bad_tail.search(value) and value.islower() and len(value.split()) < 3:
                continue
            out.append(f)
        return out


class ZipCodeRecognizer(PatternRecognizer):
    name = "zip"
    ENTITY = Entity.ZIP
    needs_digits = True
    CONTEXT = ("zip", "zip code", "zipcode", "postal code", "postcode", "postal")
    CONTEXT_BEFORE = 24
    CONTEXT_BOOST = 0.5
    PATTERNS = (
        Pattern(
            "after-state-code",
            rf"(?:\b(?:{_STATE_CODES}),?\s+)(?P<z>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.85,
            group="z",
        ),
        Pattern(
            "after-state",
            rf"\b(?:{_STATE_NAMES}),?\s+(?P<z>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.85,
            group="z",
            flags=IGNORE,
        ),
        Pattern("zip", r"(?<![\w.-])\d{5}(?:-\d{4})?(?![\w-]|\.\d)", 0.2, needs_context=True),
    )


class AddressCityRecognizer(Recognizer):
    """The city of a written address: "…, Springfield, IL 62704" or "Austin, Texas"."""

    name = "address_city"
    _rx = re.compile(
        rf"(?:(?<=,\s)|(?<=\n)|(?<=\bin\s)|(?<=\bof\s)|(?<=\bfrom\s)|(?<=\bto\s)|(?<=\bnear\s))"
        rf"(?P<city>[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|de|la|del)){{0,2}}),?\s+"
        rf"(?:(?:{_STATE_CODES})\b(?!\.\w)|(?:{_STATE_TITLES})\b)",
    )

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for m in self._rx.finditer(doc.text):
            city = m.group("city")
            if city.lower() in US_STATES:
                continue
            out.append(Finding(m.start("city"), m.end("city"), Entity.LOCATION, 0.8, self.name))
        return out
