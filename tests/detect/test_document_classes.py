"""Identifier classes of the documents a proxy is handed (EHR print-outs, faxes, HL7 v2, JSON and
CSV exports) and of non-US records, one ``(text, expected spans)`` case per line, plus precision
traps. Patterns only (no NER): each class must be caught without the model. Values are synthetic.
"""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.keyed import label_of
from masker.detect.normalize import normalize
from masker.detect.types import DetectOptions
from masker.detect.types import Entity as E

from .conftest import spans_of

Case = tuple[str, set[tuple[E, str]]]

# A field's label types its whole value: a place, a person, a postcode, a street line.
STRUCTURED_FIELDS: list[Case] = [
    ('{"resourceType": "Patient", "town": "Wexcombe", "postcode": "TR7 2QN"}',
     {(E.LOCATION, "Wexcombe"), (E.ZIP, "TR7 2QN")}),
    ('{"strasse": "Lindenweg 14", "plz": "37085", "ort": "Bad Sulzhausen"}',
     {(E.ADDRESS, "Lindenweg 14"), (E.ZIP, "37085"), (E.LOCATION, "Bad Sulzhausen")}),
    ('{"patientName": "OKONJO", "status": "active"}', {(E.PERSON, "OKONJO")}),
    ("row_id,Suburb,Postcode,status\n41,Kellyville Ridge,2155,active",
     {(E.LOCATION, "Kellyville Ridge"), (E.ZIP, "2155")}),
    ('id,Next of kin,phone_type\n7,"Marit Solberg",mobile', {(E.PERSON, "Marit Solberg")}),
    # two lexicon names under a label that says nothing about them
    ('{"attachment": "ingrid haugen", "status": "final"}', {(E.PERSON, "ingrid haugen")}),
    ("Printed from EPR\nCity ........ Ravenmoor\nAllergies: NKDA", {(E.LOCATION, "Ravenmoor")}),
    ("Town: Pellworth Green\nPlan: review in clinic", {(E.LOCATION, "Pellworth Green")}),
    # a full address under an address label keeps its parts typed apart (the state is no identifier)
    ("Address on file: 4471 Quarry Lane, West Dunmore PA 18512.",
     {(E.ADDRESS, "4471 Quarry Lane"), (E.LOCATION, "West Dunmore"), (E.ZIP, "18512")}),
]  # fmt: skip

# A label that names an identifier, separated from its value by dot leaders, a tab, "=" or a JSON
# key: the value is read as "<label>: <value>".
LABELLED_FIELDS: list[Case] = [
    ("Age ........ 97\nAllergies: NKDA", {(E.AGE, "97")}),
    ("Vehicle:\tKL-MT 4410", {(E.VEHICLE_ID, "KL-MT 4410")}),
    ('{"chart": "61-07-33", "active": true}', {(E.MRN, "61-07-33")}),
    ('{"faceencoding": "3e9a01c7b25f8d44"}', {(E.ID_NUMBER, "3e9a01c7b25f8d44")}),
    ('{"sortcode": "40-11-62"}', {(E.ROUTING_NUMBER, "40-11-62")}),
]

# A value spelled out one character at a time is read without its spaces.
SPACED_OUT: list[Case] = [
    ('{"nok": "M a r i t S o l b e r g"}', {(E.PERSON, "M a r i t S o l b e r g")}),
    ('{"plz": "3 7 0 8 5"}', {(E.ZIP, "3 7 0 8 5")}),
]

# HL7 v2 name fields (XPN/XCN): components joined by "^", one of them a name of the lexicon.
HL7_NAMES: list[Case] = [
    ("MSH|^~\\&|LAB|H|||202401010830||ADT^A08|77|P|2.5.1\rPID|1||KOWALCZYK^Agnieszka||",
     {(E.PERSON, "KOWALCZYK"), (E.PERSON, "Agnieszka")}),
    ("MSH|^~\\&|LAB|H\rNK1|1|haugen^ingrid^m|SPO", {(E.PERSON, "haugen"), (E.PERSON, "ingrid")}),
]  # fmt: skip

# Identifier shapes of other countries' records, ages and timestamps in clinical shorthand.
INTERNATIONAL_AND_SHORTHAND: list[Case] = [
    ("NI number: JM 40 17 22 B", {(E.ID_NUMBER, "JM 40 17 22 B")}),
    ("his number TW 55 90 12 A is on file", {(E.SSN, "TW 55 90 12 A")}),
    ("copy of MORGA753116SM9IJ attached", {(E.DRIVER_LICENSE, "MORGA753116SM9IJ")}),
    ("SS# 219 -09 -9999", {(E.SSN, "219 -09 -9999")}),
    ("reg LB07 SEO seen in car park", {(E.VEHICLE_ID, "LB07 SEO")}),
    ("sort code 20-32-06", {(E.ROUTING_NUMBER, "20-32-06")}),
    ("93Y F with CHF", {(E.AGE, "93Y")}),
    ("M/104, nursing home resident", {(E.AGE, "104")}),
    ("Sent: 14/02/2011 9:41PM", {(E.DATE, "14/02/2011 9:41PM")}),
    ("seen 03/05/2019 10:15 am by cardiology", {(E.DATE, "03/05/2019 10:15 am")}),
]

# Names run together in handles and file names: both words names of the lexicon.
GLUED_NAMES: list[Case] = [
    ("uploaded by MariaGonzalez yesterday", {(E.PERSON, "MariaGonzalez")}),
    ("user peter_nowak logged in", {(E.PERSON, "peter_nowak")}),
    ("see scans/anna.kowalski/face.heic", {(E.PERSON, "anna.kowalski")}),
]

# Digit look-alikes of an OCR'd fax inside a number.
OCR_DIGITS: list[Case] = [
    ("Contact No. ........ (O3) 9l84 2207", {(E.PHONE, "(O3) 9l84 2207")}),
    ("please fax results to O2O 7946 O9S8", {(E.FAX, "O2O 7946 O9S8")}),
]

# Precision traps: document boilerplate, lab rows, codes; nothing here is an identifier.
TRAPS = [
    "Plan: continue metformin\nName: pending\nCity: see above",
    "row_id,test,result,unit\n12,Na,138,mmol/L\n13,Glucose,5.4,mmol/L",
    "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N",
    '{"resourceType": "Observation", "status": "final", "valueQuantity": {"value": 138, "unit": "mmol/L"}}',
    "SpO2 94 % RA, O2 2L via nasal cannula",
    "ICD-10 I10, I25.10 and E11.9",
    "He is 86. Temp 99F.",
    "config.json was updated by the build",
    "Na 138\n140 mmol/L after fluids",
    # field values the name lexicon also holds (a gender, a language, a tier) are no names alone
    '{"gender": "Female", "language": "English", "tier": "Gold", "browser": "Chrome"}',
    "id,gender,language\n3,Male,English",
]


def _check(engine: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    got = spans_of(engine, text)
    for entity, value in expected:
        assert (entity, value) in got, (value, got)


@pytest.mark.parametrize(("text", "expected"), STRUCTURED_FIELDS)
def test_structured_fields(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    _check(patterns, text, expected)


@pytest.mark.parametrize(("text", "expected"), LABELLED_FIELDS + SPACED_OUT)
def test_labelled_fields(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    _check(patterns, text, expected)


@pytest.mark.parametrize(("text", "expected"), HL7_NAMES)
def test_hl7_names(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    _check(patterns, text, expected)


@pytest.mark.parametrize(("text", "expected"), INTERNATIONAL_AND_SHORTHAND)
def test_international_and_shorthand(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    _check(patterns, text, expected)


def test_gmc_number_is_masked(patterns: DetectionEngine) -> None:
    text = "GMC No. 7043318"
    assert any(value == "7043318" for _, value in spans_of(patterns, text))


@pytest.mark.parametrize(("text", "expected"), GLUED_NAMES)
def test_glued_names(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    _check(patterns, text, expected)


@pytest.mark.parametrize(("text", "expected"), OCR_DIGITS)
def test_ocr_digits(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    _check(patterns, text, expected)


@pytest.mark.parametrize("text", TRAPS)
def test_document_traps(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("town", "Wexcombe", {(E.LOCATION, "Wexcombe")}),
        ("guardianName", "Ingrid Haugen", {(E.PERSON, "Ingrid Haugen")}),
        ("age", "96", {(E.AGE, "96")}),
        ("vehicle", "HH-RT 2231", {(E.VEHICLE_ID, "HH-RT 2231")}),
        ("drugName", "Metformin", set()),
    ],
)
def test_walked_key_types_its_value(
    patterns: DetectionEngine, key: str, value: str, expected: set[tuple[E, str]]
) -> None:
    """A JSON key and its value walked as two texts: the key types or labels the value."""
    result = asyncio.run(patterns.detect([key, value], DetectOptions()))
    got = {(f.entity, value[f.start : f.end]) for f in result.findings[1]}
    assert got == expected


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("faceencoding", "face encoding"),
        ("voiceprintid", "voiceprint id"),
        ("sortcode", "sort code"),
        ("dateofbirth", "date of birth"),
        ("resourcetype", None),
        ("description", None),
    ],
)
def test_run_together_keys(key: str, label: str | None) -> None:
    assert label_of(key) == label


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("(O2) 2l82 9239", "(02) 2182 9239"),
        ("O7l63 222O8S", "07163 222085"),
        ("SpO2 94%", "SpO2 94%"),
        ("ICD I10 E11.9", "ICD I10 E11.9"),
        ("S1 S2 normal", "S1 S2 normal"),
    ],
)
def test_ocr_folding_keeps_offsets(text: str, folded: str) -> None:
    norm = normalize(text)
    assert norm.text == folded
    assert len(norm.text) == len(text)
