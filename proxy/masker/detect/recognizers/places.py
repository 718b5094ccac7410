"""Geography below the state: street addresses, PO boxes, ZIP codes, and the city of a written
address ("Springfield, IL 62704"). Free-standing city names are left to NER."""

from __future__ import annotations

import re

from ..lexicon import (
    CALENDAR_WORDS,
    CLINICAL_WORDS,
    COMMON_WORDS,
    COUNTRIES_AND_REGIONS,
    HONORIFICS,
    LABEL_AND_PAYER_WORDS,
    SERVICE_WORDS,
    STOP_WORDS,
    US_STATE_CODE_OF,
    US_STATE_CODES,
    US_STATES,
)
from ..recognizer import (
    Doc,
    Pattern,
    PatternRecognizer,
    Recognizer,
    finditer_at,
    fold_words,
    gate_regex,
    trie_alternation,
    word_alternation,
)
from ..types import Entity, Finding

IGNORE = re.IGNORECASE

# USPS Publication 28, appendix C1: primary street suffixes and their common abbreviations.
_USPS_SUFFIXES = """
    alley aly allee anex annex anx arcade arc avenue ave av bayou byu beach bch bend bnd bluff blf
    bluffs blfs bottom btm boulevard blvd branch br bridge brg brook brk brooks burg bg burgs bgs
    bypass byp camp cp canyon cyn cape cpe causeway cswy center ctr centers ctrs circle cir circles
    cirs cliff clf cliffs clfs club clb common cmn commons cmns corner cor corners cors course crse
    court ct courts cts cove cv coves cvs creek crk crescent cres crest crst crossing xing crossroad
    xrd crossroads xrds curve curv dale dl dam dm divide dv drive dr drives drs estate est estates
    ests expressway expy extension ext extensions exts falls fls fall ferry fry field fld fields
    flds flat flt flats flts ford frd fords frds forest frst forge frg forges frgs fork frk forks
    frks fort ft freeway fwy garden gdn gardens gdns gateway gtwy glen gln glens glns green grn
    greens grns grove grv groves grvs harbor hbr harbors hbrs haven hvn heights hts highway hwy hill
    hl hills hls hollow holw inlet inlt island is islands iss isle junction jct junctions jcts key
    ky keys kys knoll knl knolls knls lake lk lakes lks land landing lndg lane ln light lgt lights
    lgts loaf lf lock lck locks lcks lodge ldg loop mall manor mnr manors mnrs meadow mdw meadows
    mdws mews mill ml mills mls mission msn motorway mtwy mount mt mountain mtn mountains mtns neck
    nck orchard orch oval overpass opas park parks parkway pkwy parkways pkwys pass passage psge
    path pike pine pne pines pnes place pl plain pln plains plns plaza plz point pt points pts port
    prt ports prts prairie pr radial radl ramp ranch rnch rapid rpd rapids rpds rest rst ridge rdg
    ridges rdgs river riv road rd roads rds route rte row rue run shoal shl shoals shls shore shr
    shores shrs skyway skwy spring spg springs spgs spur spurs square sq squares sqs station sta
    stravenue stra stream strm street st streets sts summit smt terrace ter throughway trwy trace
    trce track trak trafficway trfy trail trl trailer trlr tunnel tunl turnpike tpke underpass upas
    union un unions uns valley vly valleys vlys viaduct via view vw views vws village vlg villages
    vlgs ville vl vista vis walk walks wall way ways well wl wells wls
"""
# Trie-shaped (see ``word_alternation``): ``\b`` follows, so at most one suffix can end a match at a
# given place and the order the engine tries them in does not matter; a trie tries each prefix once.
_SUFFIX = "(?:" + trie_alternation(_USPS_SUFFIXES.split()) + ")"
STREET_SUFFIX = _SUFFIX  # also ends an English-shaped street abroad (``intl_places``)
_NOT_NAME = (
    r"(?!(?:the|a|an|of|to|in|on|at|for|and|or|my|your|his|her|their|our|mg|mcg|ml|times|blocks?|"
    r"miles?|minutes?|hours?|days?|weeks?|months?|years?|tablets?|pills?|units?|puffs?|doses?|"
    r"more|less|other|same|next|last|this|that|is|was|are|be|by|from|with|per|mile|steps?|floors?|"
    r"people|patients?|kids|children|cups?|glasses|drinks|pounds?|lbs|kg|percent|am|pm)\b)"
)
_NAME_WORD = rf"{_NOT_NAME}(?:[A-Za-z][A-Za-z'.-]*|\d+(?:st|nd|rd|th))"
_UNIT = (
    r"(?:,?\s*(?:(?:apt|apartment|suite|ste|unit|room|rm|floor|fl|bldg|building|lot)\b\.?|\#)\s*\#?\s*"
    r"(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]+)"
)
_DIRECTION = (
    r"(?:(?:[NSEW]|north|south|east|west|northeast|northwest|southeast|southwest|ne|nw|se|sw)\.?[ \t]+)"
)

_STATE_NAMES = word_alternation(US_STATES)  # trie-shaped: scanned at every position
_STATE_CODES = "|".join(sorted(US_STATE_CODES))
_STATE_TITLES = "|".join(
    sorted((re.escape(s.title()).replace(r"\ ", r"\s+") for s in US_STATES), key=len, reverse=True)
)
_POST_DIRECTION = r"(?:[NSEW]|NE|NW|SE|SW)\b\.?"
# Prefilters (necessary, not sufficient): a state code right before a ZIP; the state after a city.
_CODE_ZIP = r"[A-Z]{2},?\s+\d{5}(?:-\d{4})?(?![\w-])"
# Every state code and title starts with a capital: the lookahead drops ", and" before the alternation.
_CITY_AFTER_COMMA = gate_regex(rf",\s*(?=[A-Z])(?:{_STATE_CODES}|{_STATE_TITLES})\b")
_CITY_BEFORE_ZIP = gate_regex(r"[A-Z]{2}\s+\d{5}")
# Where the city of a written address can start: a capital at the start or after whitespace (every
# look-behind of ``AddressCityRecognizer._rx`` ends in whitespace).
_CAP_AFTER_SPACE = re.compile(r"\s(?=[A-Z])")


_UNIT_WORDS = ("apt", "apartment", "suite", "ste", "unit")
_SUBDIVISION_WORDS = ("precinct", "tract", "district")


class StreetAddressRecognizer(PatternRecognizer):
    name = "street_address"
    ENTITY = Entity.ADDRESS
    needs_digits = True
    # The house number's last digit and the space after it, or a PO box number.
    requires = r"\d[a-z]?(?:-\d{1,4})?\s|box\s+\d|precinct\s|tract\s|district\s"
    requires_flags = IGNORE
    PATTERNS = (
        Pattern(
            "street",
            # The words of one street stay on one line: "…, 21720 Valencia.\nBrady Medical Center" is
            # a postcode and a city, then a letterhead.
            rf"(?<![\w/.-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?[ \t]+{_DIRECTION}?"
            rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}?"
            # (a capitalised second suffix belongs to the name before it: "Maple Grove Drive")
            rf"[ \t]+{_SUFFIX}\b\.?(?:[ \t]+(?-i:(?=[A-Z])){_SUFFIX}\b\.?)?"
            rf"(?:[ \t]+{_POST_DIRECTION})?{_UNIT}?",
            0.9,
            flags=IGNORE,
            run=1,
        ),
        # The unit written first ("Apt 11B, 1234 Maple Grove Drive"): part of the address.
        Pattern(
            "unit-first",
            r"\b(?:apt|apartment|suite|ste|unit)\b\.?\s*\#?\s*(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]+(?=,?\s+\d{1,6}[A-Za-z]?\s+[A-Z])",
            0.85,
            flags=IGNORE,
            words=_UNIT_WORDS,
            starts=_UNIT_WORDS,
        ),
        # A voting precinct or census tract: a geographic subdivision below the state.
        Pattern(
            "precinct",
            r"\b(?:voting\s+)?(?:precinct|census\s+tract|voting\s+district|election\s+district)\s+(?:no\.?\s*|\#\s*)?\d{1,6}(?:\.\d{1,2})?\b",
            0.85,
            flags=IGNORE,
            words=_SUBDIVISION_WORDS,
            starts=("voting", "precinct", "census", "election"),
        ),
        Pattern(
            "po-box",
            r"\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box)\s+\d{1,6}\b",
            0.85,
            flags=IGNORE,
            words=("box",),
            lowercase=True,
        ),
    )
    # Suffixes that are also everyday words: a lower-case, short match ending in one ("3 times a day
    # ... way", "2 tablets ... walk") needs a capitalised street name to count.
    _bad_tail = re.compile(
        r"\s+(?:dr|st|pt|pl|ct|ter|run|park|route|walk|point|way|ways|well|wells|key|keys|land|light|"
        r"lights|mall|pass|path|rest|row|spur|union|view|views|wall|fall|falls|lock|locks|camp|cape|"
        r"club|common|course|cove|curve|divide|field|fields|flat|flats|ford|fork|forks|fort|green|"
        r"hill|hills|island|isle|lake|lakes|landing|loop|mill|mills|mission|mount|neck|oval|park|parks|"
        r"pine|pines|place|plain|plains|point|points|port|radial|ramp|rapid|rapids|ridge|river|shore|"
        r"spring|springs|square|station|stream|summit|trace|track|trail|tunnel|valley|village|vista)\.?$",
        IGNORE,
    )

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for f in super().analyze(doc):
            value = doc.text[f.start : f.end]
            # "2 tablets by mouth ... walk", "3 times a day ... way": measurements ending in a suffix
            # word need a capitalised street name to count.
            if self._bad_tail.search(value) and value.islower() and not self._street_number_only(value):
                continue
            out.append(f)
        return out

    @staticmethod
    def _street_number_only(value: str) -> bool:
        """ "123 maple street": number, then only name-ish words (no verbs of measurement)."""
        words = value.split()
        return len(words) <= 4 and words[0].isdigit() and len(words[0]) >= 2


class ZipCodeRecognizer(PatternRecognizer):
    name = "zip"
    ENTITY = Entity.ZIP
    needs_digits = True

    def applies(self, doc: Doc) -> bool:
        # Every pattern holds five digits in a row; the longest run is known to the doc already.
        return doc.has_digit and doc.max_run >= 5

    CONTEXT = ("zip", "zip code", "zipcode", "postal code", "postcode", "postal")
    CONTEXT_BEFORE = 24
    CONTEXT_BOOST = 0.5
    PATTERNS = (
        Pattern(
            "after-state-code",
            rf"(?:\b(?:{_STATE_CODES}),?\s+)(?P<z>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.85,
            group="z",
            gate=_CODE_ZIP,
        ),
        # "…, Boise, ID 83702": a city before the state code makes the ZIP certain (and beats "ID 83702").
        Pattern(
            "city-state-zip",
            rf"[A-Z][a-z]+,?\s+(?:{_STATE_CODES}),?\s+(?P<z>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.95,
            group="z",
            gate=_CODE_ZIP,
        ),
        Pattern(
            "after-state",
            rf"\b(?:{_STATE_NAMES}),?\s+(?P<z>\d{{5}}(?:-\d{{4}})?)(?![\w-])",
            0.85,
            group="z",
            flags=IGNORE,
            gate=r"\s\d{5}(?:-\d{4})?(?![\w-])",
            lowercase=True,
        ),
        Pattern("zip", r"(?<![\w.-])\d{5}(?:-\d{4})?(?![\w-]|\.\d)", 0.2, needs_context=True, run=5),
    )


class AddressTailRecognizer(Recognizer):
    """The city and ZIP that end a street address with no state between them ("… Maple Grove
    Drive, Springfield 62704"): the (capitalised) street suffix before them says it is an address."""

    name = "address_tail"
    needs_digits = True
    _rx = re.compile(
        rf"\b(?=[A-Z])(?i:{_SUFFIX})\.?(?i:{_UNIT})?,\s*(?P<c>[A-Z][a-z]+(?:[ -][A-Z][a-z]+){{0,2}}),?\s+"
        r"(?P<z>\d{5}(?:-\d{4})?)(?![\w-])"
    )
    _gate = gate_regex(r"[A-Za-z0-9.],\s*[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2},?\s+\d{5}(?:-\d{4})?(?![\w-])")

    def applies(self, doc: Doc) -> bool:
        return doc.has_digit and doc.max_run >= 5 and (not doc.gated or doc.found(self._gate))

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for m in self._rx.finditer(doc.text):
            out.append(Finding(m.start("c"), m.end("c"), Entity.LOCATION, 0.85, self.name))
            out.append(Finding(m.start("z"), m.end("z"), Entity.ZIP, 0.9, self.name))
        return out


class AddressCityRecognizer(Recognizer):
    """The city of a written address: "…, Springfield, IL 62704" or "Austin, Texas"."""

    name = "address_city"
    _rx = re.compile(
        rf"(?:^|(?<=,\s)|(?<=\n)|(?<=[-\u2013\u2014|\u00b7\u2022]\s)|(?<=\bin\s)|(?<=\bof\s)|(?<=\bfrom\s)|(?<=\bto\s)|(?<=\bnear\s))"
        rf"(?P<city>[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|de|la|del)){{0,2}})"
        rf"(?:,\s*(?:(?P<code>{_STATE_CODES})\b(?!\.\w)|(?:{_STATE_TITLES})\b)"
        rf"|\s+(?:{_STATE_CODES})\s+\d{{5}}(?!\d))",
    )

    def prefilter(self, doc: Doc) -> bool:
        # The state after "City," or a state code and ZIP after "City".
        return doc.found(_CITY_AFTER_COMMA) or (bool(doc.run_starts(5)) and doc.found(_CITY_BEFORE_ZIP))

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        matches = self._rx.finditer(text)
        if doc.gated:
            starts = [m.end() for m in _CAP_AFTER_SPACE.finditer(text)]
            matches = finditer_at(self._rx, text, [0, *starts] if text[:1].isupper() else starts)
        for m in matches:
            city = m.group("city")
            # "Indiana, PA 15701": a city named like a state counts in a full "City, ST ZIP", or before
            # another state's code ("Washington, PA"); "New York, NY" alone may name the state.
            low = city.lower()
            if low in US_STATES and not _ZIP_AFTER.match(text, m.end()):
                code = m.group("code")
                if code is None or US_STATE_CODE_OF.get(low, code) == code:
                    continue
            out.append(Finding(m.start("city"), m.end("city"), Entity.LOCATION, 0.9, self.name))
        return out


_ZIP_AFTER = re.compile(r"(?<=\d{5})|,?\s*\d{5}(?!\d)")
_NOT_PLACE = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december", "the", "my", "our", "his", "her"}
)  # fmt: skip


class LocationCueRecognizer(Recognizer):
    """A capitalised place after a movement/residence cue: "I moved to Rachelfurt", "Lives in Lake
    Kristi", "originally from Bend", "sleeps near Five Points". The cue may open a sentence
    ("Grew up in …"); the place must be capitalised. States and countries are not identifiers and are
    skipped, and so are words that follow a cue without being places ("near Dr. Lee", "came from
    Cardiology")."""

    name = "location_cue"
    _rx = re.compile(
        r"\b(?i:moved\s+(?:back\s+)?to|move\s+to|moving\s+to|relocated\s+to|lives?\s+in|living\s+in|"
        r"resides?\s+in|residing\s+in|located\s+in|born\s+in|grew\s+up\s+in|raised\s+in|visiting|"
        r"stationed\s+in|based\s+in|(?:originally|am|comes?|came|hails?)\s+from|"
        r"drove\s+(?:in|up|down|over)\s+from|native\s+of|resident\s+of|"
        r"(?:lives?|living|staying|stays|sleeps?|sleeping|works?|working|shelter)\s+"
        r"(?:near|outside(?:\s+of)?)|"
        r"(?:lives?|living|staying)\s+(?:over|out|up|down|back)\s+(?:in|by|near))"
        r"\s+(?P<place>[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})"
    )
    _cues = fold_words((
        "move", "moving", "relocated", "live", "living", "reside", "residing", "located", "born", "grew",
        "raised", "visiting", "stationed", "based", "from", "native", "resident", "near", "outside",
    ))  # fmt: skip

    def prefilter(self, doc: Doc) -> bool:
        return doc.has_any(self._cues)

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for m in self._rx.finditer(doc.text):
            place = m.group("place")
            low = place.lower()
            if low in US_STATES or low in COUNTRIES_AND_REGIONS or low in _NOT_PLACE:
                continue
            if all(w in _NOT_PLACE_WORDS for w in low.replace("-", " ").split()):
                continue  # "came from Cardiology", "near Dr. Lee" ("Five Points" is a place)
            out.append(Finding(m.start("place"), m.end("place"), Entity.LOCATION, 0.7, self.name))
        return out


# Capitalised words after "from", "near", "resident of" in notes that are not places.
_NOT_PLACE_WORDS = (
    CLINICAL_WORDS
    | SERVICE_WORDS
    | COMMON_WORDS
    | STOP_WORDS
    | CALENDAR_WORDS
    | HONORIFICS
    | LABEL_AND_PAYER_WORDS
)


class CountyRecognizer(Recognizer):
    """Counties, parishes, boroughs and townships are geographic subdivisions below the state. Said
    in lower case ("we're out in marion county") the place is read after "in", "of" or "from"."""

    name = "county"
    triggers = ("county", "parish", "borough", "township", "city of", "town of", "village of")
    _rx = re.compile(
        r"\b(?:[A-Z][a-z]+[ -]){1,3}(?:County|Parish|Borough|Township)\b"
        # "Township of Millbrook", "City of Springfield"
        r"|\b(?:County|Parish|Borough|Township|City|Town|Village)\s+of\s+"
        r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}\b"
    )
    _lower = re.compile(r"\b(?:in|of|from|for)\s+(?P<place>(?:[a-z]+[ -]){1,2}(?:county|parish))\b")

    def analyze(self, doc: Doc) -> list[Finding]:
        out = [
            Finding(m.start(), m.end(), Entity.LOCATION, 0.85, self.name) for m in self._rx.finditer(doc.text)
        ]
        for m in self._lower.finditer(doc.text):
            words = list(_WORD_RX.finditer(doc.text, m.start("place"), m.end("place")))[:-1]
            # Only the words right before "county" name it: "in the same county", "of our county" do not.
            while words and words[0].group() in _NOT_PLACE_WORDS:
                words = words[1:]
            if not words or any(w.group() in _NOT_PLACE_WORDS for w in words):
                continue
            out.append(Finding(words[0].start(), m.end("place"), Entity.LOCATION, 0.8, self.name))
        return out


_WORD_RX = re.compile(r"[a-z]+")
