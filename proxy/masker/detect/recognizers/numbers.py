"""Structured numbers with a known shape and, mostly, a checksum: SSN, cards, IBAN, ABA routing,
NPI, DEA, Medicare MBI, VIN, MAC/IMEI, and a last-resort rule for long unexplained digit runs."""

from __future__ import annotations

import re

from ..recognizer import Pattern, PatternRecognizer
from ..types import Entity
from ..validators import (
    aba_ok,
    alnum_of,
    card_ok,
    dea_ok,
    digits_of,
    iban_ok,
    luhn_ok,
    mbi_ok,
    npi_ok,
    ssn_ok,
    vin_check_digit_ok,
)

IGNORE = re.IGNORECASE


class SsnRecognizer(PatternRecognizer):
    """US SSN. 900-999 areas are accepted (see ``validators.ssn_ok``)."""

    name = "ssn"
    ENTITY = Entity.SSN
    needs_digits = True
    min_digits = 9
    # Nine digits with at most single dashes between them (dashed, plain, regrouped), or spaced.
    # Spelled to begin with a plain class: then ``re`` skips to the digits instead of trying the
    # regex at every character (a leading group or repeat costs ~2 µs more per utterance).
    requires = r"\d(?:(?:-?\d){8}|\d\d[ ./]\d\d[ ./]\d{4}|\d\d ?- ?\d\d ?- ?\d{4})"
    CONTEXT = (
        "ssn", "ssn#", "social security", "social security number", "social", "ss#", "ss", "soc sec",
        "last four", "tax id", "itin", "taxpayer",
    )  # fmt: skip
    CONTEXT_BEFORE = 64
    CONTEXT_AFTER = 24  # "… is my social"
    PATTERNS = (
        # The dashed shape alone is strong, but a record-number label right before it is stronger
        # (the labelled-id recognizer scores 0.9), so the shape alone stays below that.
        Pattern("dashed", r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])", 0.7, run=3),
        Pattern("spaced", r"(?<![\w-])\d{3}([ ./])\d{2}\1\d{4}(?![\w-])", 0.5, run=3),
        # (spaces around the dashes, as a form pastes them: "087 -75 -3000", "512 - 44 - 7781")
        Pattern("dashed-spaced", r"(?<![\w-])\d{3}(?: -|- | - )\d{2}(?: -|- | - )\d{4}(?![\w-])", 0.6, run=3),
        Pattern("plain", r"(?<![\w-])\d{9}(?![\w-])", 0.25, run=9),
        # Voice agents read SSNs in odd groups once normalised ("901-22-3456" vs "90122-3456").
        Pattern(
            "regrouped",
            r"(?<![\w-])(?=(?:\d-?){9}(?![\w-]))[\d-]{10,12}(?![\w-])",
            0.3,
            needs_context=True,
            run=1,
        ),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        return ssn_ok(value, strong_context=context)


class NationalInsuranceRecognizer(PatternRecognizer):
    """UK National Insurance numbers ("QQ 12 34 56 C"): two prefix letters from the issued set, six
    digits, a final letter A-D. The prefix and suffix rules make the shape specific enough alone."""

    name = "uk_nino"
    ENTITY = Entity.SSN
    needs_digits = True
    min_digits = 6
    requires = r"\d\d ?\d\d ?\d\d ?[A-D](?![A-Za-z0-9])"
    PATTERNS = (
        Pattern(
            "nino",
            r"(?<![\w-])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d\d ?\d\d ?\d\d ?[A-D](?![\w-])",
            0.8,
        ),
    )


class UkDrivingLicenceRecognizer(PatternRecognizer):
    """UK driving licence numbers: five letters of the surname (padded with 9s), six digits that
    encode the birth date, two initials, a digit and two check letters ("MORGA753116SM9IJ")."""

    name = "uk_driving_licence"
    ENTITY = Entity.DRIVER_LICENSE
    needs_digits = True
    min_digits = 7
    requires = r"[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z]{2}"
    PATTERNS = (
        Pattern(
            "dvla",
            r"(?<![\w-])[A-Z][A-Z9]{4}\d[0156]\d[0-3]\d\d[A-Z9]{2}\d[A-Z]{2}(?:\d\d)?(?![\w-])",
            0.8,
        ),
    )


class CreditCardRecognizer(PatternRecognizer):
    name = "credit_card"
    ENTITY = Entity.CREDIT_CARD
    needs_digits = True
    min_digits = 12
    CONTEXT = ("card", "credit", "debit", "visa", "mastercard", "amex", "discover", "cc", "payment")
    CONTEXT_BOOST = 0.1
    PATTERNS = (Pattern("pan", r"(?<![\w-])(?:\d[ -]?){11,18}\d(?![\w-])", 0.85, run=1),)

    def validate(self, value: str, *, context: bool) -> bool:
        digits = digits_of(value)
        if len(digits) == 12:  # Maestro lengths start at 12; too ambiguous without "card"
            return context and luhn_ok(digits)
        return card_ok(value)


class IbanRecognizer(PatternRecognizer):
    name = "iban"
    ENTITY = Entity.IBAN
    needs_digits = True
    requires = r"[A-Z][A-Z]\d\d"
    PATTERNS = (
        Pattern(
            "iban",
            r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?!\w)",
            0.95,
            gate=r"[A-Z][A-Z]\d\d",  # led by a class, not a repeat: the regex engine scans faster
        ),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        return iban_ok(value)


class RoutingNumberRecognizer(PatternRecognizer):
    name = "aba_routing"
    ENTITY = Entity.ROUTING_NUMBER
    needs_digits = True
    min_digits = 9
    CONTEXT = ("routing", "aba", "rtn", "transit", "routing number", "bank routing")
    PATTERNS = (Pattern("aba", r"(?<![\w-])\d{9}(?![\w-])", 0.3, needs_context=True, run=9),)

    def adjust(self, value: str, score: float, *, context: bool) -> float:
        # With "routing" said, a bad checksum is more likely a misread digit than a different number.
        return score + 0.2 if aba_ok(value) else score


class NpiRecognizer(PatternRecognizer):
    name = "npi"
    ENTITY = Entity.LICENSE_NUMBER
    needs_digits = True
    min_digits = 10
    CONTEXT = ("npi", "national provider", "provider id", "provider number")
    PATTERNS = (Pattern("npi", r"(?<![\w-])[12]\d{9}(?![\w-])", 0.3, needs_context=True, run=10),)

    def validate(self, value: str, *, context: bool) -> bool:
        return npi_ok(value)


class DeaRecognizer(PatternRecognizer):
    name = "dea"
    ENTITY = Entity.LICENSE_NUMBER
    needs_digits = True
    min_digits = 7
    requires = r"[A-Z][A-Z9]\d{7}"
    CONTEXT = ("dea", "registration", "prescriber")
    PATTERNS = (
        Pattern("dea", r"(?<![\w-])[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}(?![\w-])", 0.85, gate=r"[A-Z][A-Z9]\d{7}"),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        return dea_ok(value)


class MbiRecognizer(PatternRecognizer):
    """Medicare Beneficiary Identifier (e.g. 1EG4-TE5-MK73): a health-plan beneficiary number."""

    name = "mbi"
    ENTITY = Entity.HEALTH_PLAN_ID
    needs_digits = True
    min_digits = 5
    requires = r"\d[A-Z][A-Z0-9]\d"
    PATTERNS = (
        Pattern(
            "mbi",
            r"(?<![\w-])[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}(?![\w-])",
            0.85,
            gate=r"\d[A-Z][A-Z0-9]\d",
        ),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        return mbi_ok(value)


class VinRecognizer(PatternRecognizer):
    name = "vin"
    ENTITY = Entity.VEHICLE_ID
    needs_digits = True
    requires = r"[A-HJ-NPR-Z0-9][A-HJ-NPR-Z0-9]{16}"
    requires_flags = IGNORE
    CONTEXT = ("vin", "vehicle", "car", "truck", "chassis", "identification number")
    PATTERNS = (
        Pattern(
            "vin",
            r"(?<![\w-])(?=[A-HJ-NPR-Z0-9]*\d)(?=[A-HJ-NPR-Z0-9]*[A-Z])[A-HJ-NPR-Z0-9]{17}(?![\w-])",
            0.5,
            gate=r"[A-HJ-NPR-Z0-9][A-HJ-NPR-Z0-9]{16}",
        ),
        Pattern(
            "vin-any-case",
            r"(?<![\w-])(?=[a-hj-npr-z0-9]*\d)(?=[a-hj-npr-z0-9]*[a-z])[a-hj-npr-z0-9]{17}(?![\w-])",
            0.5,
            flags=IGNORE,
            gate=r"[a-hj-npr-z0-9][a-hj-npr-z0-9]{16}",
            lowercase=True,
        ),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        # Written in lower or mixed case ("1hgcm82633a004352"), only its check digit says it is one.
        return value.isupper() or vin_check_digit_ok(value)

    def adjust(self, value: str, score: float, *, context: bool) -> float:
        # Only North-American VINs carry the check digit; a failure alone is weak evidence.
        return score + 0.4 if vin_check_digit_ok(value) else score - 0.1


class DeviceNumberRecognizer(PatternRecognizer):
    """Hardware identifiers: MAC addresses, IMEIs, GS1 UDIs on implants."""

    name = "device"
    ENTITY = Entity.DEVICE_ID
    needs_digits = True
    # MAC (any case), IMEI, UDI: ``[:-][0-9a-f]{2}[:-]|\d{15}|\(01\)``, led by one class (see SSN).
    requires = r"[:\-\d(](?:(?<=[:-])[0-9a-f]{2}[:-]|(?<=\d)\d{14}|(?<=\()01\))"
    requires_flags = IGNORE
    CONTEXT = ("imei", "device", "serial", "phone id", "handset")
    PATTERNS = (
        Pattern(
            "mac",
            r"(?<![\w:-])[0-9A-F]{2}(?:([:-])[0-9A-F]{2})(?:\1[0-9A-F]{2}){4}(?![\w:-])",
            0.8,
            flags=IGNORE,
            gate=r"[:-][0-9A-F]{2}[:-]",  # the middle of the six hex pairs
        ),
        Pattern("imei", r"(?<![\w-])\d{15}(?![\w-])", 0.3, needs_context=True, run=15),
        Pattern("udi", r"\(01\)\d{14}(?:\(\d{2}\)[A-Z0-9]{1,20}){0,4}", 0.85, gate=r"\(01\)"),
    )

    def validate(self, value: str, *, context: bool) -> bool:
        if value.isdigit() and len(value) == 15:
            return luhn_ok(value)
        return True


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d")
_DIGITS_LETTERS_DIGITS = re.compile(r"\d+[A-Z]+\d+")


class LongNumberRecognizer(PatternRecognizer):
    """Last resort: a run of 7+ digits nothing else explained is an identifier of *some* kind.

    It scores just above the default threshold so any typed recognizer wins the overlap."""

    name = "long_number"
    ENTITY = Entity.ID_NUMBER
    needs_digits = True
    min_digits = 4  # ``validate`` wants 4 (alphanumeric) or 7 (digits only)
    PATTERNS = (
        Pattern("digits", r"(?<![\w.,/:-])\d(?:[ -]?\d){6,}(?![\w/:-]|[.,]\d)", 0.55, run=1),
        Pattern(
            "alnum",
            r"(?<![\w-])(?=[A-Z0-9-]*\d{4}|(?:[A-Z-]*\d){7})(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]{2,})*-[A-Z0-9]+(?![\w-])",
            0.52,
            # An upper-case letter sits in a group next to a hyphen (there are two groups or more).
            # (``[A-Z][A-Z0-9]*-|-[A-Z0-9]*[A-Z]``, led by one class so ``re`` scans for it quickly)
            gate=r"[A-Z\-](?:(?<=[A-Z])[A-Z0-9]*-|(?<=-)[A-Z0-9]*[A-Z])",
        ),
        # A code mixing letters and six or more digits ("W534279690", "VP_4784671", "E-607194",
        # "24909942X", "9404LS44"): the shape of record, member, staff and device numbers, whatever
        # label they lost (a tool-call argument, a key, a second line).
        Pattern(
            "mixed",
            r"(?<![\w.-])(?:[A-Za-z]{1,5}[-_]?\d{6,}(?:[A-Z]{1,3}\d*)?|\d{6,}[A-Z]{1,3}|\d{2,}[A-Z]{1,3}\d{2,})"
            r"(?:-[A-Za-z0-9]{1,3})?(?![\w-])",
            0.52,
            gate=r"[A-Za-z_-]\d{6}|\d{6}[A-Z]|\d[A-Z]{1,3}\d",
        ),
    )

    # Codes that are not about a person: drug (NDC), lot, billing and terminology codes.
    CONTEXT = ("ndc", "lot", "cpt", "icd", "icd-10", "hcpcs", "loinc", "snomed", "rxnorm", "model", "version")
    CONTEXT_BEFORE = 12
    CONTEXT_BOOST = 0.0

    def validate(self, value: str, *, context: bool) -> bool:
        if context:  # here the CONTEXT words are negative evidence
            return False
        if _ISO_DATETIME.match(value):  # 2021-07-04T10: a timestamp, the date part is the date recognizer's
            return False
        d = digits_of(value)
        if value[:1].isdigit() and len(alnum_of(value)) == len(d):
            return len(d) >= 7 and len(set(d)) > 1
        if len(d) < 6 and _DIGITS_LETTERS_DIGITS.fullmatch(value):
            return False  # "2D6", "12AB34": a short code, not an identifier
        return len(d) >= 4
