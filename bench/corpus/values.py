"""Synthetic identifier values with valid checksums where the real thing has one."""

from __future__ import annotations

import random
import string

from faker import Faker

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = {**{str(i): i for i in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}  # fmt: skip
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def luhn_complete(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


def npi(rng: random.Random) -> str:
    body = rng.choice("12") + "".join(rng.choices(string.digits, k=8))
    full = luhn_complete("80840" + body)
    return full[5:]


def dea(rng: random.Random, last_name: str) -> str:
    first = rng.choice("ABFGMPRX")
    second = last_name[0].upper() if last_name[:1].isalpha() else "X"
    d = [rng.randrange(10) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


def vin(rng: random.Random) -> str:
    while True:
        chars = [rng.choice(_VIN_CHARS) for _ in range(17)]
        chars[8] = "0"
        total = sum(_VIN_VALUES[c] * w for c, w in zip(chars, _VIN_WEIGHTS, strict=True))
        check = total % 11
        chars[8] = "X" if check == 10 else str(check)
        value = "".join(chars)
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def mbi(rng: random.Random) -> str:
    letters = "ACDEFGHJKMNPQRTUVWXY"
    an = letters + string.digits
    return (rng.choice("123456789") + rng.choice(letters) + rng.choice(an) + rng.choice(string.digits)
            + rng.choice(letters) + rng.choice(an) + rng.choice(string.digits) + rng.choice(letters)
            + rng.choice(letters) + rng.choice(string.digits) + rng.choice(string.digits))  # fmt: skip


def mrn(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return "".join(rng.choices(string.digits, k=rng.choice([7, 8, 10])))
    if style == 1:
        return rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.digits, k=7))
    if style == 2:
        return f"{rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}"
    return "MR" + "".join(rng.choices(string.digits, k=6))


def plan_id(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return "".join(rng.choices(string.ascii_uppercase, k=3)) + "".join(rng.choices(string.digits, k=9))
    if style == 1:
        return mbi(rng)
    return rng.choice("WXYZ") + "".join(rng.choices(string.digits, k=8))


def ssn(fake: Faker, rng: random.Random) -> str:
    if rng.random() < 0.3:  # unassigned 900-series areas, as conformance suites send
        return f"9{rng.randrange(0, 99):02d}-{rng.randrange(1, 99):02d}-{rng.randrange(1, 9999):04d}"
    return str(fake.ssn())


def card(fake: Faker, rng: random.Random) -> str:
    number = str(fake.credit_card_number())
    if len(number) == 16 and rng.random() < 0.6:
        sep = rng.choice([" ", "-"])
        return sep.join(number[i : i + 4] for i in range(0, 16, 4))
    return number


def phone(fake: Faker, rng: random.Random) -> str:
    area = rng.randrange(201, 989)
    ex = rng.randrange(201, 999)
    line = rng.randrange(0, 10000)
    style = rng.randrange(5)
    if style == 0:
        return f"({area}) {ex}-{line:04d}"
    if style == 1:
        return f"{area}-{ex}-{line:04d}"
    if style == 2:
        return f"{area}.{ex}.{line:04d}"
    if style == 3:
        return f"+1 {area} {ex} {line:04d}"
    return str(fake.phone_number())


def phone_digits(rng: random.Random) -> str:
    return f"{rng.randrange(201, 989)}{rng.randrange(201, 999)}{rng.randrange(0, 10000):04d}"


def secret(rng: random.Random) -> str:
    up = string.ascii_uppercase + string.digits
    an = string.ascii_letters + string.digits
    style = rng.randrange(7)
    if style == 0:
        return "AKIA" + "".join(rng.choices(up, k=16))
    if style == 1:
        return "ghp_" + "".join(rng.choices(an, k=36))
    if style == 2:
        return "github_pat_" + "".join(rng.choices(an + "_", k=60))
    if style == 3:
        return (
            f"xox{rng.choice('abps')}-{rng.randrange(10**9, 10**10)}-{rng.randrange(10**9, 10**10)}-"
            + "".join(rng.choices(string.ascii_lowercase + string.digits, k=24))
        )
    if style == 4:
        return "sk_live_" + "".join(rng.choices(an, k=24))
    if style == 5:
        return "AIza" + "".join(rng.choices(an + "-_", k=35))
    return "glpat-" + "".join(rng.choices(an, k=20))


def device_serial(rng: random.Random) -> str:
    return (
        "".join(rng.choices(string.ascii_uppercase, k=2))
        + "-"
        + "".join(rng.choices(string.digits, k=rng.choice([6, 8])))
    )


def claim(rng: random.Random) -> str:
    return (
        rng.choice(["CLM", "CS", "TKT", "REF"])
        + "-"
        + str(rng.randrange(2015, 2026))
        + "-"
        + str(rng.randrange(10000, 999999))
    )


def account(rng: random.Random) -> str:
    return "".join(rng.choices(string.digits, k=rng.choice([8, 10, 12])))


def driver_license(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.digits, k=7))
    if style == 1:
        return "".join(rng.choices(string.digits, k=9))
    return rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.digits, k=12))


def license_number(rng: random.Random) -> str:
    return rng.choice(["MD", "RN", "A", "G", "LIC"]) + "".join(
        rng.choices(string.digits, k=rng.choice([5, 6, 7]))
    )
