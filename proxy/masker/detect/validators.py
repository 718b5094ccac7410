"""Checksums and issuing rules that turn "looks like a number" into "is this kind of number".

Pattern recognizers call these from their ``validate()`` hook. Each function takes the matched value
(any separators allowed) and answers whether it could be a real identifier of that kind; none of them
raise, so a recognizer never fails on odd input.
"""

from __future__ import annotations

import re

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NON_DIGIT = re.compile(r"\D")


def digits_of(value: str) -> str:
    return _NON_DIGIT.sub("", value)


def alnum_of(value: str) -> str:
    return _NON_ALNUM.sub("", value)


def luhn_ok(number: str) -> bool:
    """ISO/IEC 7812 check digit (cards, NPI with prefix, IMEI)."""
    digits = digits_of(number)
    if len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_ok(number: str) -> bool:
    digits = digits_of(number)
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    return luhn_ok(digits)


def ssn_ok(number: str, *, strong_context: bool) -> bool:
    """SSA rules. Areas 900-999 are *accepted*: test fixtures and ITIN-shaped values use them and a
    redactor must not let them through. Only impossible values are rejected, and only when nothing
    around the number says it is an SSN."""
    digits = digits_of(number)
    if len(digits) != 9:
        return False
    if strong_context:
        return True
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or group == "00" or serial == "0000":
        return False
    # Repeated or sequential filler ("111111111", "123456789") is a placeholder, not a person.
    return len(set(digits)) > 1 and digits not in ("123456789", "987654321")


def aba_ok(number: str) -> bool:
    """ABA routing transit number checksum (weights 3, 7, 1)."""
    d = digits_of(number)
    if len(d) != 9 or d == "000000000":
        return False
    prefix = int(d[:2])
    if not (prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(c) * w for c, w in zip(d, weights, strict=True)) % 10 == 0


def npi_ok(number: str) -> bool:
    """NPI: ten digits, Luhn over the number prefixed with the card issuer code 80840."""
    d = digits_of(number)
    return len(d) == 10 and d[0] in "12" and luhn_ok("80840" + d)


def dea_ok(value: str) -> bool:
    """DEA registration: two letters, seven digits, last digit = (d1+d3+d5 + 2*(d2+d4+d6)) mod 10."""
    v = alnum_of(value).upper()
    if len(v) != 9 or not v[:2].isalpha() or not v[2:].isdigit():
        return False
    d = [int(c) for c in v[2:]]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return check == d[6]


_VIN_VALUES = {
    **{str(i): i for i in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit_ok(value: str) -> bool:
    """North-American VIN position-9 check digit. Other markets do not use it, so a failure lowers
    confidence rather than rejecting (see the VIN recognizer)."""
    v = value.upper()
    if len(v) != 17 or any(c not in _VIN_VALUES for c in v):
        return False
    total = sum(_VIN_VALUES[c] * w for c, w in zip(v, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return v[8] == ("X" if check == 10 else str(check))


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26,
    "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(value: str) -> bool:
    """ISO 13616: country length table and mod-97 == 1."""
    v = alnum_of(value).upper()
    expected = _IBAN_LENGTHS.get(v[:2])
    if expected is None or len(v) != expected or not v[2:4].isdigit():
        return False
    rearranged = v[4:] + v[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def ipv4_ok(value: str) -> bool:
    parts = value.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or len(p) > 3 or int(p) > 255 or (len(p) > 1 and p[0] == "0"):
            return False
    return True


def mbi_ok(value: str) -> bool:
    """Medicare Beneficiary Identifier: 11 characters, fixed digit/letter positions, no S L O I B Z."""
    v = alnum_of(value).upper()
    if len(v) != 11:
        return False
    letters = set("ACDEFGHJKMNPQRTUVWXY")
    digit_pos = {0, 3, 6, 9, 10}
    alpha_pos = {1, 4, 7, 8}
    for i, c in enumerate(v):
        if i in digit_pos and not c.isdigit():
            return False
        if i in alpha_pos and c not in letters:
            return False
        if i not in digit_pos and i not in alpha_pos and not (c.isdigit() or c in letters):
            return False
    return v[0] != "0"
