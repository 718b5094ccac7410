"""Values in structured text, where the field's label is the evidence: a pasted JSON object
(``"city": "Vechta"``), a CSV export (a header row, then data rows), an EHR print-out
(``Age ........ 106``, ``Vehicle:<TAB>M-EY 1222``, ``PLZ=62971``).

Alone, "Vechta", "106" or "62971" say little; under "city", "Age" or "PLZ" they are identifiers.
``field_pairs`` finds (label, value) pairs in one text with offsets; ``typed_value`` types a whole
value by its label where the value has no shape of its own (a place, a person, a postcode, a
street line); the engine reads the other pairs as "<label>: <value>" (see ``keyed``), as it does a
JSON key and its value walked as two texts.

Every pass is one linear regex scan (CSV: one split per line) and the number of pairs read per text
is capped, so a large body costs no more than its size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .lexicon import CLINICAL_WORDS, COMMON_WORDS, STOP_WORDS
from .types import Entity

MAX_PAIRS = 256  # per text
_MAX_TYPED_WORDS = 5  # spaces in a value a label can type whole (a name, a place, a street line)
_MAX_VALUE = 96

# "key": "value" in JSON written out as text (the value a plain string, no escapes).
_JSON_PAIR = re.compile(r'"(?P<k>[A-Za-z][A-Za-z0-9 _.#/-]{0,47})"[ \t]*:[ \t]*"(?P<v>[^"\\\n]{1,96})"')
# A label at the start of a line, then dot leaders, a tab, "=", or a colon (the value to the end of
# the line). ``sep`` tells a colon (which the recognizers read themselves) from the others.
_LINE_PAIR = re.compile(
    r"^[ \t]*(?P<k>[A-Za-z][A-Za-z0-9 _./#()-]{0,47}?)[ \t]*(?P<sep>\.{2,}|:?\t+|=|:)"
    r"[ \t]*(?P<v>[^\n]{1,120})",
    re.MULTILINE,
)
_SPACED_OUT = re.compile(r"\S(?: \S){3,}")
_CSV_CELL = re.compile(r'[ \t]*(?:"(?P<q>[^"]*)"|(?P<u>[^,\n]*))[ \t]*(?:,|$)')
_LABEL_CELL = re.compile(r"[A-Za-z][A-Za-z0-9 _./#()-]{0,47}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\s_.\-/#:()]+")


@dataclass(frozen=True, slots=True)
class Pair:
    label: str
    start: int  # the value's span in the text
    end: int
    colon: bool  # "Label: value" on a line: the recognizers already read the label before the value


def field_pairs(text: str) -> list[Pair]:
    """The (label, value) pairs of ``text``, at most ``MAX_PAIRS``."""
    out: list[Pair] = []
    if '":' in text or '" :' in text:
        for m in _JSON_PAIR.finditer(text):
            out.append(Pair(m.group("k"), *_trimmed(text, *m.span("v")), colon=False))
            if len(out) >= MAX_PAIRS:
                return out
    if ":" in text or "\t" in text or "=" in text or ".." in text:
        # (a one-line text can only hold a pair at its start: no scan of every position)
        lines = _LINE_PAIR.finditer(text) if "\n" in text else filter(None, [_LINE_PAIR.match(text)])
        for m in lines:
            if m.group("sep") == ":" and text.startswith('"', m.start("v")):
                continue  # a JSON member, read above
            start, end = _trimmed(text, *m.span("v"))
            if end - start > _MAX_VALUE or start == end:
                continue
            colon = m.group("sep") == ":"
            # "Label: value" lines are common in notes and transcripts ("Caller: my mother is …") and
            # the recognizers read them already: only a short value under a label that types it, or
            # a value spelled out letter by letter, adds anything.
            untyped = text.count(" ", start, end) > _MAX_TYPED_WORDS or not _TYPED_HINT.search(m.group("k"))
            if colon and untyped and not _SPACED_OUT.fullmatch(text, start, end):
                continue
            out.append(Pair(m.group("k"), start, end, colon=colon))
            if len(out) >= MAX_PAIRS:
                return out
    if "," in text and "\n" in text:
        out.extend(_csv_pairs(text, MAX_PAIRS - len(out)))
    return out


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t":
        start += 1
    while end > start and text[end - 1] in " \t\r.,;":
        end -= 1
    return start, end


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The cells of one CSV line ``text[start:end]`` (quoted cells without their quotes)."""
    out: list[tuple[int, int]] = []
    pos = start
    while pos <= end:
        m = _CSV_CELL.match(text, pos, end)
        if m is None:
            break
        group = "q" if m.group("q") is not None else "u"
        out.append(m.span(group))
        if m.end() == pos or m.end() >= end:
            break
        pos = m.end()
    return out


def _csv_pairs(text: str, limit: int) -> Iterator[Pair]:
    """Header cells that are all labels, then each data row's cells under them."""
    first = text.find("\n")
    header = _cells(text, 0, first)
    if len(header) < 2 or not all(_LABEL_CELL.fullmatch(text[s:e]) for s, e in header):
        return
    labels = [text[s:e] for s, e in header]
    pos, n = first + 1, 0
    while pos < len(text) and n < limit:
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        row = _cells(text, pos, end)
        if len(row) == len(labels):
            for label, (s, e) in zip(labels, row, strict=True):
                s, e = _trimmed(text, s, e)
                if s < e and e - s <= _MAX_VALUE:
                    yield Pair(label, s, e, colon=False)
                    n += 1
        pos = end + 1


# -------------------------------------------------------------------------------- HL7 v2 names

# A person's name in an HL7 v2 message: two to four letter-only components joined by "^" in a field
# ("MATHIESEN^Karla", "hickey^kevin^J"), the XPN/XCN shape of PID-5, NK1-2, PV1-7 and the like.
_HL7_SEGMENT = re.compile(r"(?:^|[\r\n])[A-Z][A-Z0-9]{2}\|")
_HL7_NAME = re.compile(r"(?<=[|~])[^\W\d_][^\W\d_'-]*(?:\^[^\W\d_][^\W\d_'-]*){1,3}(?=[|~\r\n^]|$)")
_HL7_PART = re.compile(r"[^\W\d_][^\W\d_'-]*")


def hl7_name_parts(text: str, is_name: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Spans of the components of HL7 name fields, where one component at least ``is_name``."""
    if "^" not in text or "|" not in text or _HL7_SEGMENT.search(text) is None:
        return []
    out: list[tuple[int, int]] = []
    for m in _HL7_NAME.finditer(text):
        parts = list(_HL7_PART.finditer(m.group()))
        words = [p.group() for p in parts]
        if any(w.lower() in _EVERYDAY for w in words) or not any(is_name(w) for w in words):
            continue
        out.extend((m.start() + p.start(), m.start() + p.end()) for p in parts if len(p.group()) > 1)
        if len(out) >= MAX_PAIRS:
            break
    return out


# -------------------------------------------------------------------------------- typed by label

# A field's label words (camelCase, snake_case, spaces) that make its whole value a place, a
# person, a postcode or a street line. Checked against the words of the label; a label with a word
# of ``_NOT_PERSON`` is a product, a file or an organisation, not a person ("drugName", "file name").
_PLACE_LABELS = frozenset(
    {
        "city", "town", "suburb", "village", "locality", "municipality", "hometown", "birthplace", "ort",
        "wohnort", "stadt", "ville", "ciudad", "citta", "cidade", "gemeinde", "borough", "district",
    }
)  # fmt: skip
_ZIP_LABELS = frozenset({"zip", "zipcode", "postcode", "postal", "plz", "pincode"})
_ADDRESS_LABELS = frozenset(
    {"address", "addr", "addr1", "addr2", "street", "anschrift", "adresse", "strasse", "line1", "line2"}
)
_PERSON_LABELS = frozenset(
    {
        "name", "surname", "firstname", "lastname", "forename", "givenname", "familyname", "nok", "kin",
        "guardian", "caller", "attn", "signed", "physician", "doctor", "referrer", "nurse", "spouse",
        "mother", "father",
    }
)  # fmt: skip
_NOT_PERSON = frozenset(
    {
        "file", "filename", "user", "username", "host", "domain", "product", "drug", "medication",
        "facility", "hospital", "clinic", "practice", "org", "organization", "organisation", "company",
        "plan", "insurer", "payer", "pharmacy", "test", "street", "city", "device", "app", "model", "brand",
        "group", "unit", "ward", "department", "dept", "service", "display", "code", "system",
    }
)  # fmt: skip
_TYPED_HINT = re.compile(
    "|".join(sorted(_PLACE_LABELS | _ZIP_LABELS | _ADDRESS_LABELS | _PERSON_LABELS, key=len, reverse=True)),
    re.IGNORECASE,
)
_NAME_VALUE = re.compile(r"[^\W\d_][^\W\d_'.\-]*\.?(?:[ \t]+[^\W\d_][^\W\d_'.\-]*\.?){0,4}")
_ZIP_VALUE = re.compile(r"(?=(?:[^0-9\n]*\d){2})[A-Za-z0-9]{2,5}(?:[ -]?[A-Za-z0-9]{2,4})?")
_EVERYDAY = STOP_WORDS | COMMON_WORDS | CLINICAL_WORDS


def label_words(label: str) -> list[str]:
    return [w for w in _SEPARATORS.split(_CAMEL.sub(" ", label.strip()).lower()) if w]


def typed_value(label: str, value: str) -> Entity | None:
    """The entity of the whole ``value`` of a field named ``label``, or ``None`` when the label does
    not type it or the value does not fit the type (a sentence, a code, an everyday word)."""
    words = label_words(label)
    if not words or len(words) > 4:
        return None
    keys = set(words) | {"".join(words)}
    if keys & _ZIP_LABELS or (words == ["pin"] and value.replace(" ", "").isdigit()):
        return Entity.ZIP if _ZIP_VALUE.fullmatch(value) else None
    if keys & _ADDRESS_LABELS:
        # One street line only: a full address ("12 Elm St, Springfield IL 62704") is left to the
        # recognizers, which type its street, city and ZIP apart (and leave the state).
        street_line = "," not in value and any(c.isdigit() for c in value) and len(value) >= 4
        return Entity.ADDRESS if street_line else None
    if keys & _PLACE_LABELS:
        return Entity.LOCATION if _name_like(value) else None
    if keys & _PERSON_LABELS and not keys & _NOT_PERSON:
        return Entity.PERSON if _name_like(value) else None
    return None


def _name_like(value: str) -> bool:
    if not _NAME_VALUE.fullmatch(value):
        return False
    words = [w.strip(".").lower() for w in value.split()]
    return any(len(w) >= 2 and w not in _EVERYDAY for w in words)


def despaced(value: str) -> str | None:
    """A value written one character at a time ("8 7 7 4 9", "J o s h u a"), without its spaces."""
    return value.replace(" ", "") if _SPACED_OUT.fullmatch(value) else None


def bare_name(value: str, is_name: Callable[[str], bool], ambiguous: frozenset[str]) -> bool:
    """A field value that is nothing but two or three names of the lexicon ("Ingrid Haugen",
    "hirvonen aulikki"): in a record, a value like that is a person whatever its label says. One
    word is not enough: the lexicon also holds "Female", "English", "Gold" (a gender, a language, a
    tier are field values too)."""
    words = value.split()
    if not 2 <= len(words) <= 3 or not _NAME_VALUE.fullmatch(value):
        return False
    if all(w.casefold() in ambiguous for w in words):
        return False
    return all(len(w) >= 3 and is_name(w) and w.lower() not in _EVERYDAY for w in words)
