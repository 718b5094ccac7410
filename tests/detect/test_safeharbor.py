# ruff: noqa: RUF001  (look-alike and non-ASCII characters are the point of these cases)
"""Adversarial Safe-Harbor shapes (the classes ``bench.corpus.safeharbor`` generates): each text
with the exact spans expected, precision traps that must stay raw, and values whose only label is
the text before them (a JSON key, a form field)."""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.keyed import label_of
from masker.detect.types import DetectOptions
from masker.detect.types import Entity as E
from masker.detect.unwrap import MAX_WRAPS, unwrapped_windows

from .conftest import spans_of

POSITIVE: list[tuple[str, set[tuple[E, str]]]] = [
    # phones glued to words, broken over a line, spelled on the keypad
    ("Call580-625-4516now", {(E.PHONE, "580-625-4516")}),
    ("cell:512-447-7781", {(E.PHONE, "512-447-7781")}),
    ("fax it to 374.455.\n1194 please", {(E.FAX, "374.455.\n1194")}),
    ("Fax: (897) 222-\n9771", {(E.FAX, "(897) 222-\n9771")}),
    ("Pharmacy line 1-800-FLOWERS", {(E.PHONE, "1-800-FLOWERS")}),
    ("Hotline 1 (888) GET-WELL", {(E.PHONE, "1 (888) GET-WELL")}),
    # IP addresses with ports
    ("Host 186.121.150.237:6155", {(E.IP_ADDRESS, "186.121.150.237:6155")}),
    ("server [2001:db8::8a2e:370]:443", {(E.IP_ADDRESS, "[2001:db8::8a2e:370]:443")}),
    # e-mails with spaced dots, a wrapped line at the "@"
    ("Contact todd . webster @ gmail . com for records.", {(E.EMAIL, "todd . webster @ gmail . com")}),
    ("Contact timothy . king\n@ outlook . com", {(E.EMAIL, "timothy . king\n@ outlook . com")}),
    # a URL path is not the end of a spoken e-mail
    ("Blog at lisa-benjamin.net/about", {(E.URL, "lisa-benjamin.net/about")}),
    # dates: glued to their label, a timestamp's time, an apostrophe year, a day alone
    ("DOB05/28/1954", {(E.DATE, "05/28/1954")}),
    ("Timestamp 1991-03-11T10:18 in the log.", {(E.DATE, "1991-03-11T10:18")}),
    ("Event 2003-04-05 14:32:00Z", {(E.DATE, "2003-04-05 14:32:00Z")}),
    ("Admitted March 4th '61.", {(E.DATE, "March 4th '61")}),
    ("Born on the 4th of March '61.", {(E.DATE, "4th of March '61")}),
    ("seen on the 18th", {(E.DATE, "18th")}),
    ("she was born on the fourth.", {(E.DATE, "fourth")}),
    ("Date of birth: 02-21-\n2020", {(E.DATE, "02-21-\n2020")}),
    ("Surgery date 11\u201318\u20131969.", {(E.DATE, "11\u201318\u20131969")}),
    # labels in other languages, a state in parentheses, biometric label family, a badge
    ("Patientennummer 73460596", {(E.MRN, "73460596")}),
    ("N° de dossier : 48291377", {(E.MRN, "48291377")}),
    ("Kontonummer 4597032354", {(E.ACCOUNT_NUMBER, "4597032354")}),
    ("Führerschein B072RRE2I55", {(E.DRIVER_LICENSE, "B072RRE2I55")}),
    ("Kennzeichen HH AB 123", {(E.VEHICLE_ID, "HH AB 123")}),
    ("Driver's license (FL): R711-123-45-678-0", {(E.DRIVER_LICENSE, "R711-123-45-678-0")}),
    ("Retina scan hash fc25e489614d511108614eb7", {(E.ID_NUMBER, "fc25e489614d511108614eb7")}),
    ("palm vein ID PV-KQ-448120", {(E.ID_NUMBER, "PV-KQ-448120")}),
    ("voiceprint ID VP_5287636", {(E.ID_NUMBER, "VP_5287636")}),
    ("Badge 75425", {(E.ID_NUMBER, "75425")}),
    ("license plate: hiv 5586", {(E.VEHICLE_ID, "hiv 5586")}),
    # a value broken over two lines after its label
    ("policy no. W9565-\n32735", {(E.HEALTH_PLAN_ID, "W9565-\n32735")}),
    ("mrn 252\n721", {(E.MRN, "252\n721")}),
    ("subscriber 650\n777 165", {(E.HEALTH_PLAN_ID, "650\n777 165")}),
    # codes of letters and six or more digits, with no label at all
    ("W534279690", {(E.ID_NUMBER, "W534279690")}),
    ("VP_4784671", {(E.ID_NUMBER, "VP_4784671")}),
    ("E-607194", {(E.ID_NUMBER, "E-607194")}),
    ("24909942X", {(E.ID_NUMBER, "24909942X")}),
    ("9404LS44", {(E.ID_NUMBER, "9404LS44")}),
    ("E315-243-76-562-0", {(E.ID_NUMBER, "E315-243-76-562-0")}),
    # unicode disguises through the normaliser
    ("SSN 512\u201144\u20117781", {(E.SSN, "512\u201144\u20117781")}),
    ("Employee ID E-７\u200b３６７８５", {(E.ID_NUMBER, "E-７\u200b３６７８５")}),
]

TRAPS = [
    "Take 2 tablets at 8:30 and 20:30.",
    "BP 128/82, HR 64, SpO2 98%.",
    "Version 2.14.1 of the app.",
    "Room 412, bed 2.",
    "on the 2nd floor",
    "it was the 3rd time this week",
    "we have an opening at nine thirty on the fourteenth",
    "CYP2D6 and HLA-B27 genotyped.",
    "Suite 300 BUILDING",
    "Room 412-BEDSIDE",
    "MRN 12345\n2 tablets daily",
    "Follow up in 3-4 weeks.",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_recognizes_adversarial_shapes(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize("text", TRAPS)
def test_precision_traps_stay_raw(patterns: DetectionEngine, text: str) -> None:
    found = spans_of(patterns, text)
    # "MRN 12345" is an identifier; the dose on the next line is not part of it.
    assert found == ({(E.MRN, "12345")} if text.startswith("MRN") else set())


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("mrn", "mrn"),
        ("memberId", "member id"),
        ("member_id", "member id"),
        ("MEMBER-ID", "member id"),
        ("Member ID:", "member id"),
        ("birthDate", "birth date"),
        ("Date of birth:", "date of birth"),
        ("callbackNumber", "callback number"),
        ("please update the record", None),
        ("note", None),
        ("Jane Roe", None),
        ("verified", None),
        ("x" * 60, None),
    ],
)
def test_label_of(key: str, label: str | None) -> None:
    assert label_of(key) == label


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["mrn", "282471"], {(E.MRN, "282471")}),
        (["birthDate", "3/4/61"], {(E.DATE, "3/4/61")}),
        (["birthDate", "7/29"], {(E.DATE, "7/29")}),
        (["social_security", "512 44 7781"], {(E.SSN, "512 44 7781")}),
        (["licenceNo", "D1234567"], {(E.LICENSE_NUMBER, "D1234567")}),
        (["note", "282471"], set()),  # no label: six digits alone are not an identifier
        (["mrn", "the patient is stable"], set()),
    ],
)
def test_value_after_its_key(
    patterns: DetectionEngine, texts: list[str], expected: set[tuple[E, str]]
) -> None:
    result = asyncio.run(patterns.detect(texts, DetectOptions(), roles=["assistant"] * len(texts)))
    assert {(f.entity, texts[1][f.start : f.end]) for f in result.findings[1]} == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Logged in from 245.13.\n139.47", {(E.IP_ADDRESS, "245.13.\n139.47")}),
        ("See www.donjuarez.\ncom", {(E.URL, "www.donjuarez.\ncom")}),
        ("TX 14222-\n6753.", {(E.ZIP, "14222-\n6753")}),
        ("Pump SN: PM-7987-\nC", {(E.DEVICE_ID, "PM-7987-\nC")}),
        ("E-mail: melinda.hurley(at)outlook.\ncom", {(E.EMAIL, "melinda.hurley(at)outlook.\ncom")}),
        ("jane.roe@example.\r\norg wrote", {(E.EMAIL, "jane.roe@example.\r\norg")}),
        # a sentence's full stop and a hyphenated word wrap are not values
        ("Pt stable.\nPlan: follow up.\nNo changes.", set()),
        ("follow-\nup in 2 weeks", set()),
    ],
)
def test_value_wrapped_over_a_line(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123/45/6789", {(E.SSN, "123/45/6789")}),
        ("SSN on file: XXX-XX-6789", {(E.SSN, "XXX-XX-6789")}),
        ("ssn ***-**-6789", {(E.SSN, "***-**-6789")}),
        ("card **** **** **** 4242", {(E.CREDIT_CARD, "**** **** **** 4242")}),
        (
            "Voting precinct 12, Orleans Parish",
            {(E.ADDRESS, "Voting precinct 12"), (E.LOCATION, "Orleans Parish")},
        ),
        (
            "Apt 11B, 1234 Maple Grove Drive, Springfield 62704",
            {
                (E.ADDRESS, "Apt 11B"),
                (E.ADDRESS, "1234 Maple Grove Drive"),
                (E.LOCATION, "Springfield"),
                (E.ZIP, "62704"),
            },
        ),
        (
            "1 Main St, Apt 4, Fort Worth 76102-1234 is her address",
            {(E.ADDRESS, "1 Main St, Apt 4"), (E.LOCATION, "Fort Worth"), (E.ZIP, "76102-1234")},
        ),
        # precision: a lower-case suffix word is not a street, a ratio is not an SSN
        ("I walked to the park, Sunday 12345 steps", set()),
        ("12 Oak St walk to the park", {(E.ADDRESS, "12 Oak St")}),
        ("scored 123/45 on the test", set()),
    ],
)
def test_masked_numbers_and_address_tails(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "you can call me on five one two and then four four seven and then seven seven eight one",
            {(E.PHONE, "five one two and then four four seven and then seven seven eight one")},
        ),
        (
            "send the fax to five one two ... four four seven ... seven seven eight one",
            {(E.FAX, "five one two ... four four seven ... seven seven eight one")},
        ),
        (
            "my social is one two three and then four five and then six seven eight nine",
            {(E.SSN, "one two three and then four five and then six seven eight nine")},
        ),
        (
            "um my number is uh five one two um four four seven seven seven eight one",
            {(E.PHONE, "five one two um four four seven seven seven eight one")},
        ),
        # fillers between small numbers are not identifiers
        ("i have two and then three kids", set()),
        ("then i took two um three pills", set()),
        ("it was between one and two hundred dollars", set()),
        # a transcript's lower-case sentence after an address is not part of it
        ("email ocastro @ outlook.com.\nmy daughter will call", {(E.EMAIL, "ocastro @ outlook.com")}),
        ("12 Watson Cliff\nLake Calvinview", {(E.ADDRESS, "12 Watson Cliff")}),
    ],
)
def test_spoken_fillers_and_line_ends(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Timestamp 1962-03-26t10:30 in the log.", {(E.DATE, "1962-03-26t10:30")}),
        ("vin: 1hgcm82633a004352", {(E.VEHICLE_ID, "1hgcm82633a004352")}),
        # lower case with a wrong check digit: a 17-character word, not a VIN
        ("see 1hgcm82637a004352 x", set()),
    ],
)
def test_lower_case_shapes(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


def test_wraps_read_per_text_are_bounded() -> None:
    # A body of thousands of wraps pays for at most MAX_WRAPS of them (each text or chunk).
    text = "x-\ny " * 5000
    cuts = sum(len(w.at) for w in unwrapped_windows(text))
    assert cuts == MAX_WRAPS
    assert [len(w.at) for w in unwrapped_windows("TX 14222-\n6753 and 1-\n2")] == [2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("admit dt 3.14.85", {(E.DATE, "3.14.85")}),
        ("Deceased 1985.03.14", {(E.DATE, "1985.03.14")}),
        ("D.O.B.14/03/1985", {(E.DATE, "14/03/1985")}),
        ("A 93 y.o. gentleman.", {(E.AGE, "93 y.o.")}),
        ("Facsimile: 512/447-7781", {(E.PHONE, "512/447-7781")}),
        ("Township of Millbrook", {(E.LOCATION, "Township of Millbrook")}),
        ("last 4 SSN 6789", {(E.SSN, "6789")}),
        # versions stay raw
        ("version 2.14.85 released", set()),
        ("v1.2.2020", set()),
        ("Firmware 3.2.1 installed.", set()),
    ],
)
def test_more_written_shapes(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected
