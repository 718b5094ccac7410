"""Pattern recognizers, one ``(text, expected spans)`` case per line (synthetic values only)."""

from __future__ import annotations

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.types import Entity as E

from .conftest import spans_of

POSITIVE: list[tuple[str, set[tuple[E, str]]]] = [
    # e-mail, including reserved TLDs
    ("mail abcdefgh@example.com now", {(E.EMAIL, "abcdefgh@example.com")}),
    ("write to j.doe+clinic@mail.test.", {(E.EMAIL, "j.doe+clinic@mail.test")}),
    ("bounce: nobody@host.invalid", {(E.EMAIL, "nobody@host.invalid")}),
    ("contact: ann_lee@care.example", {(E.EMAIL, "ann_lee@care.example")}),
    # phone / fax
    ("Call (415) 555-2671 today", {(E.PHONE, "(415) 555-2671")}),
    ("cell 415.555.2671", {(E.PHONE, "415.555.2671")}),
    ("phone: +1 415-555-2671 ext 22", {(E.PHONE, "+1 415-555-2671 ext 22")}),
    ("my number is 4155552671", {(E.PHONE, "4155552671")}),
    ("UK office +44 20 7946 0958", {(E.PHONE, "+44 20 7946 0958")}),
    ("call me on +91 98765 43210", {(E.PHONE, "+91 98765 43210")}),
    ("415-555-2671 is my cell", {(E.PHONE, "415-555-2671")}),
    ("Fax: 415-555-0199", {(E.FAX, "415-555-0199")}),
    # SSN: 900-series areas must be caught
    ("SSN 900-12-3456", {(E.SSN, "900-12-3456")}),
    ("her social is 987-65-4329", {(E.SSN, "987-65-4329")}),
    ("ssn: 123456780", {(E.SSN, "123456780")}),
    ("social security number 536 22 1234", {(E.SSN, "536 22 1234")}),
    ("ssn 000-12-3456 on file", {(E.SSN, "000-12-3456")}),  # strong context keeps even invalid areas
    # cards, bank
    (
        "card 4111-1111-1111-1111 exp 04/27",
        {(E.CREDIT_CARD, "4111-1111-1111-1111"), (E.CREDIT_CARD, "04/27")},
    ),
    ("visa 4012 8888 8888 1881", {(E.CREDIT_CARD, "4012 8888 8888 1881")}),
    ("amex 378282246310005", {(E.CREDIT_CARD, "378282246310005")}),
    ("IBAN GB82 WEST 1234 5698 7654 32", {(E.IBAN, "GB82 WEST 1234 5698 7654 32")}),
    ("iban DE89370400440532013000", {(E.IBAN, "DE89370400440532013000")}),
    ("routing number 021000021", {(E.ROUTING_NUMBER, "021000021")}),
    ("ABA: 011000015", {(E.ROUTING_NUMBER, "011000015")}),
    ("checking account 000123456789", {(E.BANK_ACCOUNT, "000123456789")}),
    ("account number 55-2231-009", {(E.ACCOUNT_NUMBER, "55-2231-009")}),
    # medical identifiers
    ("MRN: 00123456", {(E.MRN, "00123456")}),
    ("medical record number A-448812", {(E.MRN, "A-448812")}),
    ("member ID is XJH447122", {(E.HEALTH_PLAN_ID, "XJH447122")}),
    ("Medicare 1EG4-TE5-MK73", {(E.HEALTH_PLAN_ID, "1EG4-TE5-MK73")}),
    ("policy number W123-456-789", {(E.HEALTH_PLAN_ID, "W123-456-789")}),
    ("NPI 1234567893", {(E.LICENSE_NUMBER, "1234567893")}),
    ("prescriber AB1234563", {(E.LICENSE_NUMBER, "AB1234563")}),
    ("medical license number MD-77231", {(E.LICENSE_NUMBER, "MD-77231")}),
    ("driver's license D1234567", {(E.DRIVER_LICENSE, "D1234567")}),
    ("passport number 912803456", {(E.PASSPORT, "912803456")}),
    # vehicles, devices, network
    ("VIN 1HGCM82633A004352", {(E.VEHICLE_ID, "1HGCM82633A004352")}),
    ("license plate 7ABC123", {(E.VEHICLE_ID, "7ABC123")}),
    ("pacemaker serial number PM-2231-8876", {(E.DEVICE_ID, "PM-2231-8876")}),
    ("mac 00:1A:2B:3C:4D:5E", {(E.DEVICE_ID, "00:1A:2B:3C:4D:5E")}),
    ("from 192.168.10.24 yesterday", {(E.IP_ADDRESS, "192.168.10.24")}),
    ("v6 2001:db8:85a3::8a2e:370:7334", {(E.IP_ADDRESS, "2001:db8:85a3::8a2e:370:7334")}),
    ("see https://portal.example.org/p/123?x=1.", {(E.URL, "https://portal.example.org/p/123?x=1")}),
    ("go to www.clinic-example.com/forms", {(E.URL, "www.clinic-example.com/forms")}),
    # other identifying numbers
    ("claim number CLM-2023-448812", {(E.ID_NUMBER, "CLM-2023-448812")}),
    ("case #88123", {(E.ID_NUMBER, "88123")}),
    ("reference 7731-5520-19", {(E.ID_NUMBER, "7731-5520-19")}),
    # dates (everything but a bare year) and ages over 89
    ("DOB 03/14/1980", {(E.DATE, "03/14/1980")}),
    ("admitted 2021-07-04", {(E.DATE, "2021-07-04")}),
    # A timestamp's time goes with its date (one replacement, nothing of it left raw).
    ("recorded 2021-07-04T10:15:00Z", {(E.DATE, "2021-07-04T10:15:00Z")}),
    ("Group: 448812", {(E.HEALTH_PLAN_ID, "448812")}),
    ("resident of Cook County since birth", {(E.LOCATION, "Cook County")}),
    ("born March 3, 1980", {(E.DATE, "March 3, 1980")}),
    ("seen on 14 March 2022", {(E.DATE, "14 March 2022")}),
    ("discharged on 8/14", {(E.DATE, "8/14")}),
    ("surgery in June 2019", {(E.DATE, "June 2019")}),
    ("she is a 92-year-old woman", {(E.AGE, "92-year-old")}),
    ("age 97", {(E.AGE, "97")}),
    ("he is 101 years old", {(E.AGE, "101 years old")}),
    # geography below the state
    ("lives at 123 Main Street, Springfield, IL 62704", {
        (E.ADDRESS, "123 Main Street"), (E.LOCATION, "Springfield"), (E.ZIP, "62704"),
    }),
    ("4502 N. Oak Ave Apt 3B", {(E.ADDRESS, "4502 N. Oak Ave Apt 3B")}),
    ("PO Box 1142", {(E.ADDRESS, "PO Box 1142")}),
    ("zip code 94110", {(E.ZIP, "94110")}),
    # names from cues
    ("Seen by Dr. Priya Raman today", {(E.PERSON, "Priya Raman")}),
    ("my name is john smith and i need a refill", {(E.PERSON, "john smith")}),
    ("hi this is maria calling about my bill", {(E.PERSON, "maria")}),
    ("my daughter emily will drive me", {(E.PERSON, "emily")}),
    ("Thanks, Dr. Will Hope", {(E.PERSON, "Will Hope")}),
    ("Pt: Lewis, Trevor, 91yo with hx of HTN", {(E.PERSON, "Lewis, Trevor"), (E.AGE, "91yo")}),
    ("PATIENT: KRISTA WHITE   MRN#: V2440798", {(E.PERSON, "KRISTA WHITE"), (E.MRN, "V2440798")}),
    ("Electronically signed by Chelsea Price, DO on 03-Aug-2014 14:32.", {
        (E.PERSON, "Chelsea Price"), (E.DATE, "03-Aug-2014"),
    }),
    ("Customer: christina franco speaking", {(E.PERSON, "christina franco")}),
    ("yeah my last name is kowalski k o w a l s k i", {(E.PERSON, "kowalski k o w a l s k i")}),
    ("Plate: OMI Z99", {(E.VEHICLE_ID, "OMI Z99")}),
    ("Encounter #: 5863919", {(E.ID_NUMBER, "5863919")}),
    ("Agent: medical record number? Caller: Sure, it's W4613656.", {(E.MRN, "W4613656")}),
    ("Patient Ann Cole (MRN 660-51-5005)", {(E.PERSON, "Ann Cole"), (E.MRN, "660-51-5005")}),
    ("Springfield, IL 62704", {(E.LOCATION, "Springfield"), (E.ZIP, "62704")}),
    ("Boise, ID 83702", {(E.LOCATION, "Boise"), (E.ZIP, "83702")}),
    ("Pt John Smith 45M presents with chest pain.", {(E.PERSON, "John Smith")}),
    ("Next of kin: Mary Smith (sister) 555-222-1111", {(E.PERSON, "Mary Smith"), (E.PHONE, "555-222-1111")}),
    ("Accompanied by son David.", {(E.PERSON, "David")}),
    ("Medtronic pacemaker, SN: RNB123456H, model W1DR01.", {(E.DEVICE_ID, "RNB123456H")}),
    ("Suite 104, Lake Bryan, PA 44943", {(E.LOCATION, "Lake Bryan"), (E.ZIP, "44943")}),
    ("I moved to Rachelfurt last year", {(E.LOCATION, "Rachelfurt")}),
    ("admitted to North Kara Regional Medical Center", {
        (E.ORGANIZATION, "North Kara Regional Medical Center"),
    }),
    ("works as an accountant at Nelson and Sons", {(E.ORGANIZATION, "Nelson and Sons")}),
    ("Daughter can be reached at 001-424-620-5560x73651.", {(E.PHONE, "001-424-620-5560x73651")}),
    ("last login from 162.86.186.223.", {(E.IP_ADDRESS, "162.86.186.223")}),
    ("9118 Martin Junctions Apt. 760, Port Angelamouth", {(E.ADDRESS, "9118 Martin Junctions Apt. 760")}),
    # secrets
    ("aws AKIAIOSFODNN7EXAMPLE", {(E.SECRET, "AKIAIOSFODNN7EXAMPLE")}),
    ("ghp_EXAMPLENOTAREALGITHUBTOKEN0000000000", {(E.SECRET, "ghp_EXAMPLENOTAREALGITHUBTOKEN0000000000")}),
    ("tok github_pat_11ABCDEFG0123456789_abcdefghijklmnop", {
        (E.SECRET, "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"),
    }),
    ("xoxb-00000-00000-EXAMPLENOTAREALTOKEN", {(E.SECRET, "xoxb-00000-00000-EXAMPLENOTAREALTOKEN")}),
    ("slack xoxp-1234-5678-abcdefabcdef", {(E.SECRET, "xoxp-1234-5678-abcdefabcdef")}),
    ("Authorization: Bearer abcDEF123456ghiJKL789", {(E.SECRET, "abcDEF123456ghiJKL789")}),
    ("api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc", {(E.SECRET, "sk_live_4eC39HqLyjWDarjtT1zdp7dc")}),
    ("password: hunter2!Secret", {(E.SECRET, "hunter2!Secret")}),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", {(E.SECRET, "dXNlcjpwYXNzd29yZA==")}),
    ("HF token hf_abcdefghijklmnopqrstuvwxyzABCDEF12", {(E.SECRET, "hf_abcdefghijklmnopqrstuvwxyzABCDEF12")}),
    ("DefaultEndpointsProtocol=https;AccountKey=" + "A" * 86 + "==;", {(E.SECRET, "A" * 86 + "==")}),
    ("db postgres://admin:s3cretPass@db.internal:5432/app", {(E.SECRET, "s3cretPass")}),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", {
        (E.SECRET, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    }),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n", {
        (E.SECRET, "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n"),
    }),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        {(E.SECRET, "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----")},
    ),
]  # fmt: skip

# Precision traps: ordinary clinical language that must come through untouched.
TRAPS = [
    "metformin 500 mg twice daily",
    "Take lisinopril 10 mg PO qd and atorvastatin 40 mg at bedtime.",
    "appointment at 3:30 pm",
    "see you at 10:45",
    "A1c 7.2%",
    "potassium 4.1, sodium 138, creatinine 1.1",
    "BP 120/80, HR 72, RR 16, SpO2 98%",
    "BP 135/85 mmHg",
    "Dx E11.9 and I10; billed 99213",
    "CPT 99214, ICD-10 J45.909",
    "in 2019 she moved",
    "Will you call me back?",
    "May I speak with someone?",
    "I hope so, and Grace period ends soon",
    "walked 3 blocks down the road",
    "take 2 tablets by mouth every day",
    "temperature 98.6 F",
    "weight 180 lbs, height 5 ft 10 in",
    "gave 2 units of insulin",
    "the plan is to follow up in 2 weeks",
    "I have two kids and three dogs",
    "oh I see, one moment please",
    "version 1.2.3 of the app",
    "pain 7/10 since Tuesday",
    "the case was discussed with the team",
    "he is 45 years old",
    "NDC 0002-8215-01 dispensed; lot 4471. Room 412, bed 3.",
    "Labs: WBC 11.2, Hgb 13.5, INR 2.3, LDL 130. GCS 15. Stage 3 CKD. BMI 31.2.",
    "Copay $1,250.00 due; ext 4021 for billing.",
    "Gravida 2 para 1. O2 sat 95% on 2L. Return precautions given at 1400.",
    "Insurance ID pending; will call back",
    "Medicare covers it. Insurance: Cigna.",
    "May 4 patients were seen",
    "the doctor said to take one in the morning",
    "Driver's license scanned.",
    "Brought in by EMS.",
    "Per protocol, labs drawn.",
    "Pt tolerated procedure well.",
    "spoke with the team about discharge",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_recognizes(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize("text", TRAPS)
def test_precision_traps_are_not_flagged(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "ssn 123-45-6789x",  # not a separate token
        "card 4111-1111-1111-1112",  # Luhn fails -> at most a generic number, never a card
    ],
)
def test_invalid_shapes_are_not_typed(patterns: DetectionEngine, text: str) -> None:
    entities = {e for e, _ in spans_of(patterns, text)}
    assert E.SSN not in entities and E.CREDIT_CARD not in entities


def test_ssn_impossible_values_are_not_ssns_without_context(patterns: DetectionEngine) -> None:
    # Still masked as generic numbers (a redactor errs towards masking), but never typed as SSN.
    assert spans_of(patterns, "ref 000-12-3456 and 123-00-4567") == {
        (E.ID_NUMBER, "000-12-3456"),
        (E.ID_NUMBER, "123-00-4567"),
    }
