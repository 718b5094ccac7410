"""Date elements (everything but a bare year) and ages over 89.

Times ("3:30 pm"), vitals ("120/80"), lab values and years alone must not match; month names that are
also words ("may", "march") only count next to a day or a year.
"""

from __future__ import annotations

import re

from ..recognizer import Doc, Pattern, PatternRecognizer
from ..types import Entity, Finding

IGNORE = re.IGNORECASE

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DAY_ORD = rf"{_DAY}(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d{2}|20\d{2})"
_MM = r"(?:0?[1-9]|1[0-2])"
# The time of a timestamp goes with its date ("10/12/2004 8:12PM", "26/12/1978 20:18"): the pair
# dates an event to the minute.
_TIME_AFTER = r"(?:[ \t]+(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:[ \t]?[AaPp]\.?[Mm]\b\.?)?(?![\w:]))?"
# Prefilters: a numeric date has digits, a separator, 1-2 digits, a separator and digits (or, for
# "8/14" and "03/1980", a digit, a slash and a digit); every month name starts so.
_SEPARATED = r"\d\n?[/.-]\n?\d{1,2}\n?[/.-]\n?\d"
_SLASHED = r"\d/\d"
_SLASH = ("/",)  # looked for first: a substring test is far cheaper than the regex, and mostly fails
_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_CONTEXT = (
    "dob", "d.o.b", "born", "birth", "birthday", "birthdate", "date", "admitted", "admission",
    "discharged", "discharge", "died", "death", "deceased", "expired", "seen", "visit", "on",
    "since", "surgery", "procedure", "appointment", "scheduled", "dos", "date of service", "dt",
)  # fmt: skip


# The person's own events a day of the month alone may follow ("seen on the 18th").
_EVENT_WORDS = (
    "born", "birth", "dob", "admitted", "discharged", "died", "passed", "seen", "visited", "injured",
    "fell", "delivered", "operated", "surgery", "procedure",
)  # fmt: skip


class DateRecognizer(PatternRecognizer):
    name = "date"
    ENTITY = Entity.DATE
    needs_digits = True
    CONTEXT = _DATE_CONTEXT
    CONTEXT_BEFORE = 24
    CONTEXT_BOOST = 0.2
    PATTERNS = (
        # 03/14/1980, 3-14-80, 3.14.1980 (separators must agree)
        Pattern(
            "mdy",
            # (a line break may sit next to a separator: "02-21-\n2020", from a wrapped column)
            rf"(?<![\d_/-])(?<!\d\.){_MM}\n?([/-])\n?{_DAY}\n?\1\n?(?:{_YEAR}|\d{{2}}){_TIME_AFTER}(?![\w/-]|\.\d)",
            0.85,
            gate=_SEPARATED,
            run=1,
        ),
        Pattern(
            "mdy-dot", rf"(?<![\w/.-]){_MM}\.{_DAY}\.{_YEAR}(?![\w/-]|\.\d)", 0.8, gate=_SEPARATED, run=1
        ),
        # 14/03/1980 (day first, unambiguous because day > 12)
        Pattern(
            "dmy",
            rf"(?<![\d_/-])(?<!\d\.)(?:1[3-9]|2\d|3[01])([/.-])(?:0?[1-9]|1[0-2])\1{_YEAR}{_TIME_AFTER}(?![\w/-])",
            0.85,
            gate=_SEPARATED,
            run=2,
        ),
        # 1985.03.14 (a dotted ISO date)
        Pattern(
            "iso-dot",
            rf"(?<![\w/.-]){_YEAR}\.(?:0[1-9]|1[0-2])\.(?:0[1-9]|[12]\d|3[01])(?![\w/-]|\.\d)",
            0.85,
            gate=_SEPARATED,
            run=4,
        ),
        # 3.14.85 after a date word (alone it could be a version number)
        Pattern(
            "mdy-dot-short",
            rf"(?<![\w/.-]){_MM}\.{_DAY}\.\d{{2}}(?![\w/-]|\.\d)",
            0.4,
            needs_context=True,
            gate=_SEPARATED,
            run=1,
        ),
        # 1980-03-14
        Pattern(
            "iso",
            rf"(?<![\d_/.-]){_YEAR}([/-])(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])"
            # (a timestamp's time goes with its date: "1961-03-04T10:00", "… 14:32:07Z")
            r"(?:[Tt ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
            r"(?:[Zz]|[+-][01]\d:?[0-5]\d)?(?![\d:]))?"
            r"(?![/-]|(?![Tt]\d)\w)",
            0.9,
            gate=_SEPARATED,
            run=4,
        ),
        # 8/14 or 08/14 only with a date word before it ("seen on 8/14"); otherwise a ratio.
        Pattern(
            "md",
            rf"(?<![\w/.-]){_MM}/{_DAY}(?![\w/.-])",
            0.35,
            needs_context=True,
            gate=_SLASHED,
            words=_SLASH,
            run=1,
        ),
        # March 14, 1980 / Mar. 14th / March the 14th
        Pattern(
            "month-day",
            rf"\b{_MONTH}\.?\s+(?:the\s+)?{_DAY_ORD}(?:,?\s+(?:of\s+)?{_YEAR}|,?\s+'\d\d(?!\d))?(?![\w:])",
            0.75,
            flags=IGNORE,
            words=_MONTH_WORDS,
            starts=_MONTH_WORDS,
            lowercase=True,
        ),
        # 14 March 1980 / 14th of March / the 3rd of march
        Pattern(
            "day-month",
            rf"\b{_DAY_ORD}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+{_YEAR}|,?\s+'\d\d(?!\d))?",
            0.75,
            flags=IGNORE,
            words=_MONTH_WORDS,
            run=1,
            lowercase=True,
        ),
        # March 1980 (month + year is a date element too)
        Pattern(
            "month-year",
            rf"\b{_MONTH}\.?,?\s+(?:of\s+)?{_YEAR}\b",
            0.7,
            flags=IGNORE,
            words=_MONTH_WORDS,
            starts=_MONTH_WORDS,
            lowercase=True,
        ),
        # 03/1980
        Pattern(
            "my",
            rf"(?<![\w/.-])(?:0?[1-9]|1[0-2])/{_YEAR}(?![\w/-])",
            0.6,
            gate=_SLASHED,
            words=_SLASH,
            run=1,
        ),
        # 20-Dec-1937, 20 Dec 1937, 20/Dec/1937, Dec-20-1937
        Pattern(
            "d-mon-y",
            rf"\b{_DAY}([-/ ]){_MONTH}\1(?:{_YEAR}|\d{{2}})\b",
            0.85,
            flags=IGNORE,
            words=_MONTH_WORDS,
            run=1,
            lowercase=True,
        ),
        Pattern(
            "mon-d-y",
            rf"\b{_MONTH}-{_DAY}-(?:{_YEAR}|\d{{2}})\b",
            0.85,
            flags=IGNORE,
            words=_MONTH_WORDS,
            starts=_MONTH_WORDS,
            lowercase=True,
        ),
        # "seen on the 18th", "born on the fourth" (the digit view reads "fourth" as "4th"): a day
        # of the month alone, after an event of the person's own (birth, admission, a visit; an
        # offered appointment slot is not one), where nothing that it could count follows.
        Pattern(
            "the-nth",
            r"\b(?:born|birthday|birth|dob|admitted|discharged|died|passed\s+away|seen|visited|injured|"
            r"fell|delivered|operated|surgery|procedure)\b[^.\n\d]{0,16}?"
            r"\bthe\s+(?P<d>(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th))"
            r"(?=\s*(?:[.,;:!?)]|$)|\s+(?:at|and|or|in|when|so|but|please|for|then|because|around|"
            r"morning|afternoon|evening|night)\b)",
            0.45,
            group="d",
            flags=IGNORE,
            words=_EVENT_WORDS,
            starts=_EVENT_WORDS,
            lowercase=True,
        ),
        # A date read as bare digits after "date of birth"/"born" ("oh five fourteen nineteen sixty
        # one" -> 05141961, "eight four nineteen fifty nine" -> 841959).
        Pattern(
            "compact-mdy",
            r"(?<![\w-])(?:0?[1-9]|1[0-2])(?:0?[1-9]|[12]\d|3[01])(?:19|20)\d{2}(?![\w-])",
            0.4,
            needs_context=True,
            run=6,
        ),
    )
    _may_word = re.compile(r"^(?:may|mar|jun|jan|dec|oct|aug|sep)\b", IGNORE)
    _time_after = re.compile(
        r"\s*(?:am|pm|a\.m\.|p\.m\.|o'clock|hours?|hrs?|mins?|minutes?|times|tabs?|mg|patients?|people|"
        r"persons?|tablets?|pills?|doses?|units?|days?|weeks?|months?|years?|kids|children|visits?|"
        r"of\s+them|or\s+(?:so|\d+))\b",
        IGNORE,
    )
    _modal_may = re.compile(r"(?<!of )\bmay$")
    _has_year = re.compile(r"(?:1[89]|20)\d{2}")
    _value_word = re.compile(r"(?:may|mar)\s+(?:the\s+)?\d{1,2}\b(?!(?:st|nd|rd|th))", IGNORE)

    def analyze(self, doc: Doc) -> list[Finding]:
        if not doc.has_digit:
            return []
        out: list[Finding] = []
        for f in super().analyze(doc):
            value = doc.text[f.start : f.end]
            # "may 3 of them" / "at 3 pm": a modal verb or a clock time, not a date.
            if self._time_after.match(doc.text, f.end):
                continue
            if self._value_word.fullmatch(value) and value[0].islower():
                continue
            # "… 4 may i ask": the modal verb, not the month, unless a year or "of" pins it down.
            if self._modal_may.search(value) and not self._has_year.search(value):
                continue
            out.append(f)
        return out


_AGE_DIGITS = r"9\d|1[0-2]\d"  # every pattern below reports 90-129


class AgeOver89Recognizer(PatternRecognizer):
    """Ages 90+ are identifiers under Safe Harbor; younger ages are not reported."""

    name = "age"
    ENTITY = Entity.AGE
    needs_digits = True
    requires = _AGE_DIGITS  # in every pattern
    PATTERNS = (
        Pattern(
            "n-years-old",
            r"\b(?:9\d|1[0-2]\d)(?=[\s-]*(?:(?:years?|yrs?|y/o|yo|year-old|y)\b|y\.o\.))"
            r"(?:[\s-]*(?:years?|yrs?)[\s-]*old|[\s-]*(?:y/o|y\.o\.|yo|y\b)|[\s-]*year-old)?",
            0.85,
            flags=IGNORE,
            gate=r"(?:9\d|1[0-2]\d)[\s-]*y",
            run=2,
            lowercase=True,
        ),
        # "my mom is ninety four", "she's 97": an age without units after a person and "is".
        Pattern(
            "person-is-n",
            r"\b(?:mom|mother|dad|father|grandma|grandmother|grandpa|grandfather|wife|husband|aunt|uncle|"
            r"she|he|patient|pt|i)(?:'s|\s+is|\s+am|'m|\s+turned|\s+will\s+be)\s+(?:now\s+|about\s+)?"
            r"(?P<n>9\d|1[0-2]\d)\b(?!\s*(?:mg|%|kg|lbs?|pounds|dollars|minutes|degrees|percent|over|/))",
            0.7,
            group="n",
            flags=IGNORE,
            # The age after a space, whole, and not a dose or a weight: as the regex wants it.
            gate=r"\s(?:9\d|1[0-2]\d)\b(?!\s*(?:mg|%|kg|lbs?|pounds|dollars|minutes|degrees|percent|over|/))",
            lowercase=True,
        ),
        # "F/91", "m/102": sex and age, the shorthand of a clinical header line.
        Pattern(
            "sex-slash-n",
            r"(?<![\w/])[mf]/(?P<n>9\d|1[0-2]\d)(?![\w/.])",
            0.85,
            group="n",
            flags=IGNORE,
            gate=r"[mf]/(?:9\d|1[0-2]\d)",
            lowercase=True,
        ),
        Pattern(
            "aged-n",
            r"\b(?:age[ds]?|aged|age:)\s*(?P<n>9\d|1[0-2]\d)\b(?!\s*(?:mg|%|kg|lbs?))",
            0.85,
            group="n",
            flags=IGNORE,
            gate=_AGE_DIGITS,
            words=("age",),
            starts=("age",),
            lowercase=True,
        ),
    )
