# ruff: noqa: RUF001  (look-alike and non-ASCII characters are the point of this corpus)
"""An adversarial Safe-Harbor pack: every one of the 18 HIPAA identifier categories, written the ways
that slip past patterns, and delivered the ways a proxy sees them.

Each sample holds values of one category (``Sample.category`` = ``"<split>:<category>"``). Values are
disguised (non-breaking spaces and hyphens, en dashes, fullwidth digits, zero-width characters,
Cyrillic / Greek look-alikes, line breaks inside the value, lower case, no separators, spoken digits
with "oh", "double", "triple") and delivered as a note, a caller utterance, a tool-call argument, a
tool-call *key*, or split across two user turns. Tool calls go through the proxy's own request
walker (``shapes.chat``), so the texts are exactly the ones detection is given.

Two halves with different templates, labels and value shapes: ``generate_safeharbor_tuning`` (the
split recognizers were changed while looking at its misses) and ``generate_safeharbor_heldout``
(written at the same time, run only to report). Precision traps (``"<split>:trap"``) hold no
identifier: anything found there is over-redaction.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from faker import Faker

from masker.detect.types import Entity
from masker.shapes.chat import CHAT

from . import spoken as sp
from . import values as vals
from .generate import Sample, _Builder

E = Entity
CATEGORIES = (
    "name", "geographic", "date", "age>89", "phone", "fax", "email", "ssn", "mrn", "health_plan",
    "account", "license", "vehicle", "device", "url", "ip", "biometric", "photo", "other_id",
)  # fmt: skip


@dataclass
class Value:
    surface: str
    entity: Entity
    spoken: bool = False


# ---------------------------------------------------------------------------------------- disguises
_CYR = str.maketrans(
    {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "A": "А", "E": "Е", "O": "О"}
)
_GRK = str.maketrans(
    {"A": "Α", "B": "Β", "E": "Ε", "H": "Η", "I": "Ι", "K": "Κ", "M": "Μ", "N": "Ν", "O": "Ο"}
)
_FULL = str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})
_DEVA = str.maketrans({str(d): chr(0x0966 + d) for d in range(10)})


def _every(s: str, k: int, ins: str) -> str:
    return "".join(c + (ins if (i + 1) % k == 0 and i + 1 < len(s) else "") for i, c in enumerate(s))


def _break(s: str, nl: str) -> str:
    """A line break at a separator (or in the middle) of the value."""
    for sep in ("-", " ", ".", "/"):
        i = s.find(sep, len(s) // 3)
        if i > 0:
            return s[: i + 1] + nl + s[i + 1 :] if sep != " " else s[:i] + nl + s[i + 1 :]
    return s[: len(s) // 2] + nl + s[len(s) // 2 :]


TUNE_DISGUISES: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "nbsp": lambda s: s.replace(" ", "\u00a0"),
    "en-dash": lambda s: s.replace("-", "\u2013"),
    "fullwidth": lambda s: s.translate(_FULL),
    "zwsp": lambda s: _every(s, 3, "\u200b"),
    "cyrillic": lambda s: s.translate(_CYR),
    "linebreak": lambda s: _break(s, "\n"),
    "lower": str.lower,
}
HELD_DISGUISES: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "nb-hyphen": lambda s: s.replace("-", "\u2011"),
    "em-dash": lambda s: s.replace("-", "\u2014"),
    "thin-space": lambda s: s.replace(" ", "\u2009"),
    "narrow-nbsp": lambda s: s.replace(" ", "\u202f"),
    "zwj": lambda s: _every(s, 2, "\u200d"),
    "soft-hyphen": lambda s: _every(s, 4, "\u00ad"),
    "devanagari": lambda s: s.translate(_DEVA),
    "greek": lambda s: s.translate(_GRK),
    "crlf": lambda s: _break(s, "\r\n"),
    "upper": str.upper,
}


def _spoken_tune(digits: str, r: random.Random, groups: list[int] | None = None) -> str:
    """Digits said one by one: "oh" for zero, "double seven", commas between groups."""
    out: list[str] = []
    pos = 0
    for size in groups or [len(digits)]:
        part = digits[pos : pos + size]
        pos += size
        words, i = [], 0
        while i < len(part):
            d = part[i]
            w = "oh" if d == "0" else sp.UNITS[int(d)]
            if i + 1 < len(part) and part[i + 1] == d and r.random() < 0.7:
                words.append(f"double {w}")
                i += 2
                continue
            words.append(w)
            i += 1
        out.append(" ".join(words))
    return ", ".join(out)


def _spoken_held(digits: str, r: random.Random, groups: list[int] | None = None) -> str:
    """Digits said with "zero", "triple", pairs ("forty four") and "and then" between groups."""
    out: list[str] = []
    pos = 0
    for size in groups or [len(digits)]:
        part = digits[pos : pos + size]
        pos += size
        words, i = [], 0
        while i < len(part):
            d = part[i]
            w = "zero" if d == "0" else sp.UNITS[int(d)]
            if part[i : i + 3] == d * 3:
                words.append(f"triple {w}")
                i += 3
                continue
            if i + 1 < len(part) and d != "0" and r.random() < 0.3:
                words.append(sp.two_digit(int(part[i : i + 2])))
                i += 2
                continue
            words.append(w)
            i += 1
        out.append(" ".join(words))
    return r.choice([" ", " and then ", " ... "]).join(out)


# ---------------------------------------------------------------------------------------- generator
Maker = Callable[["_Ctx"], tuple[str, list[Value]]]  # (template with {0}, {1}… , values)


class _Ctx:
    def __init__(self, seed: int, locales: list[str], disguises: dict[str, Callable[[str], str]]) -> None:
        self.r = random.Random(seed)
        self.f = Faker("en_US")
        self.f.seed_instance(seed)
        self.intl = [Faker(loc) for loc in locales]
        for i, fk in enumerate(self.intl):
            fk.seed_instance(seed + 1 + i)
        self.disguises = disguises

    def d(self, s: str) -> str:
        """``s`` in a disguise picked at random (half of the values stay plain)."""
        if self.r.random() < 0.5:
            return s
        return self.disguises[self.r.choice(list(self.disguises))](s)

    def digits(self, k: int, first: str = "123456789") -> str:
        return self.r.choice(first) + "".join(self.r.choices(string.digits, k=k - 1))

    def letters(self, k: int) -> str:
        return "".join(self.r.choices(string.ascii_uppercase, k=k))

    def date(self) -> tuple[int, int, int]:
        d = self.f.date_between(start_date="-85y", end_date="-1y")
        return d.year, d.month, d.day

    def phone10(self) -> str:
        return (
            self.r.choice("2345678")
            + self.digits(2, "0123456789")
            + self.r.choice("2345678")
            + self.digits(6)
        )

    def ssn9(self) -> str:
        return f"{self.r.randrange(101, 665):03d}{self.r.randrange(1, 99):02d}{self.r.randrange(1, 9999):04d}"


_MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH = [m.capitalize() for m in sp.MONTHS]


def _ord(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _vanity(digits7: str) -> str:
    keys = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ"}
    return "".join(random.Random(digits7).choice(keys.get(c, c)) for c in digits7)


def _vin(c: _Ctx) -> str:
    return vals.vin(c.r)


# -- the tuning half -----------------------------------------------------------------------------


def _t_name(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name(), c.f.last_name()
    t = c.r.choice(
        [
            "Patient: {0}, seen for follow-up.",
            "Spoke with {0} about the results.",
            "pt {0} called back",
            "Name: {0}\nDOB on file.",
        ]
    )
    return t, [Value(c.d(f"{first} {last}"), E.PERSON)]


def _t_geo(c: _Ctx) -> tuple[str, list[Value]]:
    k = c.r.randrange(5)
    if k == 0:
        return "Lives at {0}, {1}, TX {2}.", [
            Value(c.d(c.f.street_address()), E.ADDRESS),
            Value(c.f.city(), E.LOCATION),
            Value(c.d(f"{c.f.zipcode()}-{c.digits(4, '0123456789')}"), E.ZIP),
        ]
    if k == 1:
        return "Home county: {0}.", [Value(f"{c.f.last_name()} County", E.LOCATION)]
    if k == 2:
        z = c.f.zipcode()
        return "zip code is {0}", [Value(_spoken_tune(z, c.r), E.ZIP, True)]
    if k == 3:
        z = c.f.zipcode()
        return "ZIP: {0}", [Value(" ".join(z), E.ZIP)]
    return "Mailing address {0}\n{1}, OH {2}", [
        Value(c.d(c.f.street_address()), E.ADDRESS),
        Value(c.f.city(), E.LOCATION),
        Value(c.d(c.f.zipcode()), E.ZIP),
    ]


def _t_date(c: _Ctx) -> tuple[str, list[Value]]:
    y, m, d = c.date()
    shapes = [
        ("DOB {0}", f"{m}/{d}"),
        ("Date of birth: {0}", f"{m:02d}-{d:02d}-{y}"),
        ("Born on the {0}.", f"{_ord(d)} of {_MONTH[m - 1]}"),
        ("Admitted {0}.", f"{_MONTH[m - 1]} {_ord(d)} '{y % 100:02d}"),
        ("Timestamp {0} in the log.", f"{y}-{m:02d}-{d:02d}T10:{c.r.randrange(60):02d}"),
        ("DOB{0}", f"{m:02d}/{d:02d}/{y}"),
        ("Surgery date {0}.", f"{m:02d}\u2013{d:02d}\u2013{y}"),
        ("seen on the {0}", _ord(d)),
        ("my birthday is {0}", sp.spoken_date(y, m, d, c.r)),
    ]
    t, v = c.r.choice(shapes)
    spoken = t.startswith("my")
    if v.startswith("the "):  # the article is not part of the date
        t, v = t.replace("{0}", "the {0}"), v[4:]
    return t, [Value(v if spoken else c.d(v), E.DATE, spoken)]


def _t_age(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.r.randrange(90, 106)
    t, v = c.r.choice(
        [
            ("{0} y/o female with CHF.", f"{n}"),
            ("Patient is a {0} man.", f"{n}-year-old"),
            ("Age: {0}", f"{n}"),
            (
                "my grandmother is {0}",
                sp.two_digit(n) if n < 100 else f"one hundred {sp.two_digit(n - 100)}".replace(" zero", ""),
            ),
        ]
    )
    return t, [Value(v, E.AGE, t.startswith("my"))]


def _t_phone(c: _Ctx, fax: bool = False) -> tuple[str, list[Value]]:
    p = c.phone10()
    ent = E.FAX if fax else E.PHONE
    if fax:
        t, v = c.r.choice(
            [
                ("Fax: {0}", f"({p[:3]}) {p[3:6]}-{p[6:]}"),
                ("fax it to {0} please", f"{p[:3]}.{p[3:6]}.{p[6:]}"),
                ("F {0}", f"{p[:3]}-{p[3:6]}-{p[6:]}"),
            ]
        )
        return t, [Value(c.d(v), ent)]
    k = c.r.randrange(7)
    if k == 0:
        return "Call{0}now", [Value(f"{p[:3]}-{p[3:6]}-{p[6:]}", ent)]
    if k == 1:
        return "Tel {0}", [Value(f"+1 ({p[:3]}) {p[3:6]}-{p[6:]} ext. {c.r.randrange(10, 999)}", ent)]
    if k == 2:
        return "Daughter in London: {0}", [Value(f"+44 20 {c.digits(4)} {c.digits(4)}", ent)]
    if k == 3:
        return "Pharmacy line {0}", [Value(f"1-800-{_vanity(p[3:])}", ent)]
    if k == 4:
        return "my number is {0}", [Value(_spoken_tune(p, c.r, [3, 3, 4]), ent, True)]
    if k == 5:
        return "cell:{0}", [Value(c.d(p), ent)]
    return "Reach her at {0}.", [Value(c.d(f"{p[:3]}-{p[3:6]}-{p[6:]}"), ent)]


def _t_email(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name().lower(), c.f.last_name().lower()
    dom = c.r.choice(["gmail", "yahoo", "outlook", "proton"])
    t, v, spoken = c.r.choice(
        [
            ("email me at {0}", f"{first} dot {last} at {dom} dot com", True),
            ("E-mail: {0}", f"{first}.{last}(at){dom}.com", False),
            ("Contact {0} for records.", f"{first} . {last} @ {dom} . com", False),
            ("Email {0}", f"{first}.{last}@{dom}.com".upper(), False),
            ("Email {0}", f"{first}{last}\uff20{dom}.com", False),
        ]
    )
    return t, [Value(v if spoken else c.d(v), E.EMAIL, spoken)]


def _t_ssn(c: _Ctx) -> tuple[str, list[Value]]:
    s = c.ssn9()
    t, v, spoken = c.r.choice(
        [
            ("SSN {0}", f"{s[:3]} {s[3:5]} {s[5:]}", False),
            ("SS# {0}", f"{s[:3]}.{s[3:5]}.{s[5:]}", False),
            ("SSN{0}", s, False),
            ("last four of the social are {0}", s[5:], False),
            ("my social is {0}", _spoken_tune(s, c.r, [3, 2, 4]), True),
            ("Social Security: {0}", f"{s[:3]}-{s[3:5]}-{s[5:]}", False),
        ]
    )
    return t, [Value(v if spoken else c.d(v), E.SSN, spoken)]


def _t_mrn(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.digits(8, "0123456789")
    t, v = c.r.choice(
        [
            ("MRN:{0}", n),
            ("mrn {0}", n[2:]),
            ("Med Rec #: {0}", f"A-{n[:4]}-{n[4:]}"),
            ("N° de dossier : {0}", n),
            ("Patientennummer {0}", n),
            ("chart number is {0}", _spoken_tune(n[:7], c.r)),
        ]
    )
    return t, [Value(c.d(v) if "chart" not in t else v, E.MRN, "chart" in t)]


def _t_plan(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Member ID: {0}", f"{c.letters(3)}{c.digits(9)}"),
            ("Medicare MBI {0}", vals.mbi(c.r)),
            ("Medicaid # {0}", f"{c.digits(8)}{c.letters(1)}"),
            ("policy no. {0}", f"W{c.digits(9)}"),
            ("subscriber {0}", f"{c.digits(3)} {c.digits(3)} {c.digits(3)}"),
        ]
    )
    return t, [Value(c.d(v), E.HEALTH_PLAN_ID)]


def _t_account(c: _Ctx) -> tuple[str, list[Value]]:
    t, v, e = c.r.choice(
        [
            ("Acct {0}", f"{c.digits(4)}-{c.digits(4)}-{c.digits(4)}", E.ACCOUNT_NUMBER),
            ("account number {0}", c.digits(10), E.ACCOUNT_NUMBER),
            ("Billing acct#{0}", c.digits(7), E.ACCOUNT_NUMBER),
            ("checking {0}", c.digits(11), E.BANK_ACCOUNT),
        ]
    )
    return t, [Value(c.d(v), e)]


def _t_license(c: _Ctx) -> tuple[str, list[Value]]:
    last = c.f.last_name()
    t, v, e = c.r.choice(
        [
            ("DEA {0}", vals.dea(c.r, last), E.LICENSE_NUMBER),
            ("NPI: {0}", vals.npi(c.r), E.LICENSE_NUMBER),
            ("CA DL {0}", f"{c.letters(1)}{c.digits(7)}", E.DRIVER_LICENSE),
            (
                "Driver's license (FL): {0}",
                f"{c.letters(1)}{c.digits(3)}-{c.digits(3)}-{c.digits(2)}-{c.digits(3)}-0",
                E.DRIVER_LICENSE,
            ),
            ("NY driver license {0}", f"{c.digits(3)} {c.digits(3)} {c.digits(3)}", E.DRIVER_LICENSE),
            ("RN license RN{0}", c.digits(6), E.LICENSE_NUMBER),
            ("Board certificate #{0}", c.digits(6), E.LICENSE_NUMBER),
        ]
    )
    if t.startswith("RN license"):
        return "RN license {0}", [Value(c.d("RN" + v), e)]
    return t, [Value(c.d(v), e)]


def _t_vehicle(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("VIN {0}", _vin(c)),
            ("vin: {0}", _vin(c).lower()),
            ("Plate {0}", f"{c.r.randrange(1, 9)}{c.letters(3)}{c.digits(3)}"),
            ("license plate: {0}", f"{c.letters(3)} {c.digits(4)}"),
            ("Vehicle {0} towed.", _vin(c)),
        ]
    )
    return t, [Value(c.d(v), E.VEHICLE_ID)]


def _t_device(c: _Ctx) -> tuple[str, list[Value]]:
    mac = ":".join(f"{c.r.randrange(256):02X}" for _ in range(6))
    imei = vals.luhn_complete(c.digits(14))
    t, v = c.r.choice(
        [
            ("UDI {0}", f"(01){c.digits(14, '0')}(17)2{c.digits(5)}(10){c.letters(1)}{c.digits(3)}"),
            ("IMEI: {0}", f"{imei[:2]}-{imei[2:8]}-{imei[8:14]}-{imei[14]}"),
            ("MAC {0}", mac),
            ("mac address {0}", mac.lower().replace(":", "-")),
            ("Pump SN: {0}", f"PM-{c.digits(4)}-{c.letters(1)}"),
            ("pacemaker serial {0}", f"{c.digits(4)}{c.letters(2)}{c.digits(2)}"),
        ]
    )
    return t, [Value(c.d(v), E.DEVICE_ID)]


def _t_url(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name().lower(), c.f.last_name().lower()
    t, v = c.r.choice(
        [
            ("Portal: {0}", f"https://portal.example.org/patients/{first}-{last}"),
            ("See {0}", f"www.{first}{last}.com"),
            ("Blog at {0}", f"{first}-{last}.net/about"),
            (
                "Link {0}",
                f"http://10.{c.r.randrange(256)}.{c.r.randrange(256)}.4:8080/chart?id={c.digits(6)}",
            ),
        ]
    )
    return t, [Value(c.d(v), E.URL)]


def _t_ip(c: _Ctx) -> tuple[str, list[Value]]:
    a = [c.r.randrange(1, 255) for _ in range(4)]
    t, v = c.r.choice(
        [
            ("Logged in from {0}", ".".join(map(str, a))),
            ("Host {0}", ".".join(map(str, a)) + f":{c.r.randrange(1024, 9999)}"),
            ("IPv6 {0}", f"2001:db8::{c.r.randrange(4096):x}:{c.r.randrange(4096):x}"),
            ("server [{0}]", f"fe80::{c.r.randrange(65535):x}:{c.r.randrange(65535):x}"),
        ]
    )
    return t, [Value(c.d(v), E.IP_ADDRESS)]


def _t_bio(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Fingerprint template {0} enrolled.", f"FPT-{c.digits(5)}-{c.letters(1)}"),
            ("voiceprint ID {0}", f"VP_{c.digits(7)}"),
            ("Retina scan hash {0}", "".join(c.r.choices("0123456789abcdef", k=24))),
        ]
    )
    return t, [Value(c.d(v), E.ID_NUMBER)]


def _t_photo(c: _Ctx) -> tuple[str, list[Value]]:
    # The person's name in the file name is the identifier (the rest of the name is the file's kind).
    first, last = c.f.first_name(), c.f.last_name()
    if c.r.random() < 0.5:
        return "Photo attached: {0}_face.jpg", [Value(f"{first.lower()}_{last.lower()}", E.PERSON)]
    return "Photo attached: {0}-headshot.png", [Value(f"{first}{last}", E.PERSON)]


def _t_other(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Employee ID E-{0}", c.digits(6)),
            ("case # {0}", f"{c.r.randrange(2019, 2026)}-CV-{c.digits(5)}"),
            ("Student ID: {0}", f"S{c.digits(7)}"),
            ("Badge {0}", c.digits(5)),
        ]
    )
    if t.startswith("Employee"):
        return "Employee ID {0}", [Value(c.d("E-" + v), E.ID_NUMBER)]
    return t, [Value(c.d(v), E.ID_NUMBER)]


TUNE_MAKERS: dict[str, Maker] = {
    "name": _t_name, "geographic": _t_geo, "date": _t_date, "age>89": _t_age, "phone": _t_phone,
    "fax": lambda c: _t_phone(c, fax=True), "email": _t_email, "ssn": _t_ssn, "mrn": _t_mrn,
    "health_plan": _t_plan, "account": _t_account, "license": _t_license, "vehicle": _t_vehicle,
    "device": _t_device, "url": _t_url, "ip": _t_ip, "biometric": _t_bio, "photo": _t_photo,
    "other_id": _t_other,
}  # fmt: skip
TUNE_KEYS = {
    "phone": "phone", "ssn": "ssn", "mrn": "mrn", "date": "dob", "email": "email", "account": "account",
    "health_plan": "member_id", "license": "license", "vehicle": "vin", "device": "serial", "ip": "ip",
}  # fmt: skip
TUNE_TRAPS = [
    "Take 2 tablets at 8:30 and 20:30.",
    "BP 128/82, HR 64, SpO2 98%.",
    "Lot 4471A, NDC 0002-8215-01.",
    "Version 2.14.1 of the app.",
    "ICD-10 E11.9; CPT 99214.",
    "Room 412, bed 2.",
    "She is 84 years old.",
    "Follow up in 3-4 weeks.",
    "Copay $25.00 per visit.",
    "Dose 0.5 mg/kg q6h.",
    "i take two in the morning and one at night",
    "the pain is about a seven",
]


# -- the held-out half ---------------------------------------------------------------------------


def _h_name(c: _Ctx) -> tuple[str, list[Value]]:
    fk = c.r.choice(c.intl)
    first, last = fk.first_name(), fk.last_name()
    t, v = c.r.choice(
        [
            ("Signed, {0}", f"{first} {last}"),
            ("Accompanied by her son {0}.", f"{first} {last}"),
            ("NAME—{0}", f"{last.upper()}, {first.upper()}"),
            ("Referred by {0} (family friend).", f"{first} {last}"),
        ]
    )
    return t, [Value(c.d(v), E.PERSON)]


def _h_geo(c: _Ctx) -> tuple[str, list[Value]]:
    k = c.r.randrange(5)
    if k == 0:
        return "Resides {0}, {1} {2}", [
            Value(c.d(f"{c.f.building_number()} {c.f.street_name()}"), E.ADDRESS),
            Value(c.f.city(), E.LOCATION),
            Value(c.d(c.f.zipcode_plus4()), E.ZIP),
        ]
    if k == 1:
        return "Precinct {0}, {1} Parish", [
            Value(c.digits(2), E.LOCATION),
            Value(c.f.last_name(), E.LOCATION),
        ]
    if k == 2:
        z = c.f.zipcode()
        return "the postal code there is {0}", [Value(_spoken_held(z, c.r), E.ZIP, True)]
    if k == 3:
        return "Apt {0}, {1}", [
            Value(
                f"{c.r.randrange(1, 40)}B, {c.f.building_number()} {c.f.street_name()} {c.f.street_suffix()}",
                E.ADDRESS,
            ),
            Value(f"{c.f.city()} {c.f.zipcode()}", E.LOCATION),
        ]
    return "moved to {0} last spring", [Value(c.f.city(), E.LOCATION)]


def _h_date(c: _Ctx) -> tuple[str, list[Value]]:
    y, m, d = c.date()
    shapes = [
        ("d.o.b. {0}", f"{d:02d}.{m:02d}.{y}"),
        ("Born {0}", f"{d} {_MON[m - 1]} {y % 100:02d}"),
        ("Last visit: {0}", f"{_MON[m - 1].upper()}-{d:02d}"),
        ("discharged {0}", f"{y}{m:02d}{d:02d}"),
        ("Appt {0} at 9", f"{_MONTH[m - 1]} {d}"),
        ("birthdate={0}", f"{y}/{m:02d}/{d:02d}"),
        ("Procedure on {0}", f"{_MONTH[m - 1].lower()} the {_ord(d)}"),
        ("she was born the {0}", f"{sp.ordinal(d)} of {sp.MONTHS[m - 1]}"),
        ("Event {0}", f"{y}-{m:02d}-{d:02d} 14:{c.r.randrange(60):02d}:00Z"),
    ]
    t, v = c.r.choice(shapes)
    spoken = t.startswith("she")
    return t, [Value(v if spoken else c.d(v), E.DATE, spoken)]


def _h_age(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.r.randrange(90, 110)
    t, v = c.r.choice(
        [
            ("{0} F presents with a fall.", f"{n}yo"),
            ("Pt aged {0}.", f"{n}"),
            (
                "he turned {0} last week",
                sp.two_digit(n) if n < 100 else f"a hundred and {sp.two_digit(n - 100)}",
            ),
            ("Age {0} yrs", f"{n}"),
        ]
    )
    return t, [Value(v, E.AGE, t.startswith("he"))]


def _h_phone(c: _Ctx, fax: bool = False) -> tuple[str, list[Value]]:
    p = c.phone10()
    ent = E.FAX if fax else E.PHONE
    if fax:
        t, v = c.r.choice(
            [
                ("Fax no. {0}", f"{p[:3]} {p[3:6]} {p[6:]}"),
                ("FAX#{0}", f"{p[:3]}-{p[3:6]}-{p[6:]}"),
                ("send the fax to {0}", _spoken_held(p, c.r, [3, 3, 4])),
            ]
        )
        return t, [Value(v if t.startswith("send") else c.d(v), ent, t.startswith("send"))]
    k = c.r.randrange(7)
    if k == 0:
        return "ph.{0}/home", [Value(f"{p[:3]}.{p[3:6]}.{p[6:]}", ent)]
    if k == 1:
        return "Phone {0}", [Value(f"({p[:3]}){p[3:6]}-{p[6:]} x{c.r.randrange(10, 9999)}", ent)]
    if k == 2:
        return "Contact in Paris {0}", [
            Value(f"+33 6 {c.digits(2)} {c.digits(2)} {c.digits(2)} {c.digits(2)}", ent)
        ]
    if k == 3:
        return "Hotline {0}", [Value(f"1 (888) {_vanity(p[3:])[:3]}-{_vanity(p[3:])[3:]}", ent)]
    if k == 4:
        return "you can call me on {0}", [Value(_spoken_held(p, c.r, [3, 3, 4]), ent, True)]
    if k == 5:
        return "mobile{0}", [Value(f"+1{p}", ent)]
    return "Callback number {0} (cell)", [Value(c.d(f"{p[:3]}-{p[3:6]}-{p[6:]}"), ent)]


def _h_email(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name().lower(), c.f.last_name().lower()
    dom = c.r.choice(["hotmail", "icloud", "aol", "mail"])
    t, v, spoken = c.r.choice(
        [
            ("write to {0}", f"{first} underscore {last} at {dom} dot org", True),
            ("mail: {0}", f"{first}[at]{dom}[dot]net", False),
            ("Reply-to {0}", f"{first}.{last} AT {dom} DOT com", False),
            ("addr {0}", f"mailto:{first}{last}@{dom}.org", False),
            ("contact {0}", f"{first} {last}@{dom}.com", False),
        ]
    )
    if v.startswith("mailto:"):
        v = v[7:]
        t = "addr mailto:{0}"
    return t, [Value(v if spoken else c.d(v), E.EMAIL, spoken)]


def _h_ssn(c: _Ctx) -> tuple[str, list[Value]]:
    s = c.ssn9()
    t, v, spoken = c.r.choice(
        [
            ("soc sec no {0}", f"{s[:3]}/{s[3:5]}/{s[5:]}", False),
            ("SSN ending {0}", s[5:], False),
            ("ssn: {0}", f"xxx-xx-{s[5:]}", False),
            ("it's {0} for the social", _spoken_held(s, c.r, [3, 2, 4]), True),
            ("Social {0}", f"{s[:3]}{s[3:5]}-{s[5:]}", False),
            ("Numéro de sécurité sociale {0}", f"{s[:3]} {s[3:5]} {s[5:]}", False),
        ]
    )
    if v.startswith("xxx"):
        return "ssn: xxx-xx-{0}", [Value(c.d(s[5:]), E.SSN)]
    return t, [Value(v if spoken else c.d(v), E.SSN, spoken)]


def _h_mrn(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.digits(7, "0123456789")
    t, v = c.r.choice(
        [
            ("Medical Record No. {0}", f"{n[:3]}-{n[3:]}"),
            ("MR# {0}", f"{c.letters(2)}{n}"),
            ("Historia clínica: {0}", n),
            ("Hospital number: {0}", f"H{n}"),
            ("record number {0}", _spoken_held(n, c.r)),
            ("cartella clinica n. {0}", n),
        ]
    )
    return t, [Value(c.d(v) if t != "record number {0}" else v, E.MRN, t == "record number {0}")]


def _h_plan(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Insurance ID {0}", f"{c.letters(2)}{c.digits(8)}"),
            ("HICN: {0}", f"{c.digits(9)}A"),
            ("Group #{0}", c.digits(6)),
            ("beneficiary number {0}", f"{c.digits(4)}-{c.digits(4)}-{c.digits(2)}"),
            ("Plan member: {0}", f"{c.letters(1)}{c.digits(2)}-{c.digits(6)}"),
        ]
    )
    return t, [Value(c.d(v), E.HEALTH_PLAN_ID)]


def _h_account(c: _Ctx) -> tuple[str, list[Value]]:
    t, v, e = c.r.choice(
        [
            ("Acct. No. {0}", f"{c.digits(3)}-{c.digits(6)}", E.ACCOUNT_NUMBER),
            ("Patient account: {0}", f"PA{c.digits(8)}", E.ACCOUNT_NUMBER),
            ("IBAN {0}", "DE89 3704 0044 0532 0130 00", E.IBAN),
            ("savings account {0}", c.digits(9), E.BANK_ACCOUNT),
            ("Kontonummer {0}", c.digits(10), E.BANK_ACCOUNT),
        ]
    )
    return t, [Value(c.d(v), e)]


def _h_license(c: _Ctx) -> tuple[str, list[Value]]:
    last = c.f.last_name()
    t, v, e = c.r.choice(
        [
            ("DEA# {0}", vals.dea(c.r, last), E.LICENSE_NUMBER),
            ("provider NPI {0}", vals.npi(c.r), E.LICENSE_NUMBER),
            (
                "IL driver's licence {0}",
                f"{c.letters(1)}{c.digits(3)}-{c.digits(4)}-{c.digits(4)}",
                E.DRIVER_LICENSE,
            ),
            ("TX DL# {0}", c.digits(8), E.DRIVER_LICENSE),
            (
                "WA license {0}",
                f"{last.upper()[:5]}{c.letters(2)}{c.digits(3)}{c.letters(2)}",
                E.DRIVER_LICENSE,
            ),
            ("Medical licence no. {0}", f"{c.letters(1)}{c.digits(5)}", E.LICENSE_NUMBER),
            ("Führerschein {0}", f"{c.letters(1)}{c.digits(3)}{c.letters(2)}{c.digits(4)}", E.DRIVER_LICENSE),
        ]
    )
    return t, [Value(c.d(v), e)]


def _h_vehicle(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Vehicle identification number {0}", _vin(c)),
            ("car {0} in lot B", _vin(c)),
            ("tag {0}", f"{c.letters(3)}-{c.digits(4)}"),
            ("Kennzeichen {0}", f"{c.letters(2)} {c.letters(2)} {c.digits(3)}"),
            ("plates {0}", f"{c.digits(1)}{c.letters(2)}{c.digits(4)}"),
        ]
    )
    return t, [Value(c.d(v), E.VEHICLE_ID)]


def _h_device(c: _Ctx) -> tuple[str, list[Value]]:
    mac = "".join(f"{c.r.randrange(256):02x}" for _ in range(6))
    imei = vals.luhn_complete(c.digits(14))
    t, v = c.r.choice(
        [
            ("device UDI: {0}", f"01{c.digits(14, '0')}17{c.digits(6)}10{c.letters(2)}{c.digits(2)}"),
            ("handset IMEI {0}", imei),
            ("Cisco MAC {0}", f"{mac[:4]}.{mac[4:8]}.{mac[8:]}"),
            ("adapter {0}", ":".join(mac[i : i + 2] for i in range(0, 12, 2))),
            ("Insulin pump serial # {0}", f"{c.letters(3)}{c.digits(6)}"),
            ("S/N {0}", f"{c.digits(2)}-{c.digits(5)}-{c.letters(2)}"),
        ]
    )
    return t, [Value(c.d(v), E.DEVICE_ID)]


def _h_url(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name().lower(), c.f.last_name().lower()
    t, v = c.r.choice(
        [
            ("profile {0}", f"https://facebook.com/{first}.{last}{c.r.randrange(10, 99)}"),
            ("site: {0}", f"{first}{last}.org"),
            ("URL <{0}>", f"http://intranet.local/records/{c.digits(7)}"),
            ("go to {0}", f"WWW.{last.upper()}FAMILY.COM"),
        ]
    )
    return t, [Value(c.d(v), E.URL)]


def _h_ip(c: _Ctx) -> tuple[str, list[Value]]:
    a = [c.r.randrange(1, 255) for _ in range(4)]
    t, v = c.r.choice(
        [
            ("client IP {0}", ".".join(map(str, a))),
            ("connected from {0}", f"[2001:db8:{c.r.randrange(4096):x}::{c.r.randrange(4096):x}]:443"),
            ("src={0}", ".".join(map(str, a)) + f":{c.r.randrange(1024, 65000)}"),
            (
                "IPv6 addr {0}",
                f"2001:0db8:85a3:0000:0000:8a2e:{c.r.randrange(4096):04x}:{c.r.randrange(4096):04x}",
            ),
        ]
    )
    return t, [Value(c.d(v), E.IP_ADDRESS)]


def _h_bio(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Iris template {0}", f"IR{c.digits(8)}"),
            ("palm vein ID {0}", f"PV-{c.letters(2)}-{c.digits(6)}"),
            ("face template id: {0}", f"{c.digits(4)}-{c.letters(4)}-{c.digits(4)}"),
        ]
    )
    return t, [Value(c.d(v), E.ID_NUMBER)]


def _h_photo(c: _Ctx) -> tuple[str, list[Value]]:
    fk = c.r.choice(c.intl)
    first, last = fk.first_name(), fk.last_name()
    if c.r.random() < 0.5:
        return "Full-face photo IMG_{0}.heic uploaded.", [Value(f"{last.upper()}_{first.upper()}", E.PERSON)]
    return "Full-face photo {0}.portrait.jpeg uploaded.", [Value(f"{last.lower()}.{first.lower()}", E.PERSON)]


def _h_other(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Staff no. {0}", f"{c.letters(1)}{c.digits(6)}"),
            ("Docket {0}", f"{c.digits(2)}-{c.letters(2)}-{c.digits(4)}"),
            ("Passport {0}", f"{c.digits(9)}"),
            ("Tracking # {0}", f"1Z{c.letters(3)}{c.digits(11)}"),
        ]
    )
    return t, [Value(c.d(v), E.PASSPORT if t.startswith("Passport") else E.ID_NUMBER)]


HELD_MAKERS: dict[str, Maker] = {
    "name": _h_name, "geographic": _h_geo, "date": _h_date, "age>89": _h_age, "phone": _h_phone,
    "fax": lambda c: _h_phone(c, fax=True), "email": _h_email, "ssn": _h_ssn, "mrn": _h_mrn,
    "health_plan": _h_plan, "account": _h_account, "license": _h_license, "vehicle": _h_vehicle,
    "device": _h_device, "url": _h_url, "ip": _h_ip, "biometric": _h_bio, "photo": _h_photo,
    "other_id": _h_other,
}  # fmt: skip
HELD_KEYS = {
    "phone": "callbackNumber", "ssn": "social_security", "mrn": "medicalRecord", "date": "birthDate",
    "email": "contactEmail", "account": "acctNo", "health_plan": "insuranceId", "license": "licenceNo",
    "vehicle": "vehicleVin", "device": "deviceSerial", "ip": "clientIp",
}  # fmt: skip
HELD_TRAPS = [
    "Give 1 tab at 07:00; recheck at 19:00.",
    "Temp 37.2 C, RR 18, BP 141/90.",
    "Batch B-2231, expires 2027.",
    "Build 5.0.3 released.",
    "HbA1c 6.8%; LDL 112.",
    "Ward 7, bay 3.",
    "He is 88.",
    "Return in 10-14 days.",
    "Balance $1,240.50.",
    "Infuse 125 mL/h over 4 h.",
    "we have three dogs and two cats",
    "about a five out of ten",
]


# ---------------------------------------------------------------------------------------- delivery


def _note(template: str, values: list[Value]) -> _Builder:
    b = _Builder()
    rest = template
    for i, v in enumerate(values):
        head, rest = rest.split(f"{{{i}}}", 1)
        b.text(head)
        b.value(v.surface, v.entity, spoken=v.spoken)
    b.text(rest)
    return b


def _tool_sample(
    name: str, values: list[Value], texts_in: Mapping[str, object], as_key: bool
) -> Sample | None:
    """A chat body with one tool call whose arguments hold the values (as a value or as a key), walked
    by the proxy's own request walker: the texts and roles detection is given."""
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "please update the record"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "update_record",
                            "arguments": json.dumps(texts_in, ensure_ascii=False),
                        },
                    }
                ],
            },
        ],
    }
    walked = CHAT.request(body, non_text_parts="forward", max_messages=100)
    texts = [s.text.replace("_", " ") if s.identifier else s.text for s in walked.slots]
    roles = [s.role for s in walked.slots]
    spans: list[list[tuple[int, int, Entity]]] = [[] for _ in texts]
    spoken: list[list[tuple[int, int, Entity]]] = [[] for _ in texts]
    for v in values:
        for i, t in enumerate(texts):
            at = t.find(v.surface)
            if at >= 0 and (as_key or i > 0):
                span = (at, at + len(v.surface), v.entity)
                spans[i].append(span)
                if v.spoken:
                    spoken[i].append(span)
                break
        else:
            return None
    return Sample(name, texts, roles, spans, spoken)


def _split_sample(name: str, template: str, values: list[Value], r: random.Random) -> Sample | None:
    """The utterance cut into two user turns inside its (single, digit-bearing) value."""
    if len(values) != 1:
        return None
    v = values[0]
    # (at a pause between two groups of the number, as a platform would cut it)
    digitish = set(string.digits)
    cut = [
        i
        for i in range(2, len(v.surface) - 2)
        if v.surface[i] in " -.," and v.surface[i - 1] in digitish and v.surface[i + 1] in digitish
    ]
    if not cut:
        return None
    k = r.choice(cut)
    head, tail = template.split("{0}", 1)
    a, b = v.surface[:k].rstrip(" ,"), v.surface[k:].lstrip(" ,.-")
    t1, t2 = head + a, b + tail
    return Sample(
        name,
        [t1, t2],
        ["user", "user"],
        [[(len(head), len(t1), v.entity)], [(0, len(b), v.entity)]],
        [[(len(head), len(t1), v.entity)] if v.spoken else [], [(0, len(b), v.entity)] if v.spoken else []],
    )


def _keyable(v: Value) -> bool:
    """Whether the value alone says it is an identifier (as a JSON key it has no label): an age or a
    five-digit badge number alone does not."""
    alnum = [ch for ch in v.surface if ch.isalnum()]
    return not v.spoken and v.entity is not E.AGE and len(alnum) >= 7


# Numbers a caller reads out in pieces (a pause the platform turns into a new turn).
_SPLITTABLE = frozenset({"phone", "fax", "ssn", "mrn", "health_plan", "account", "license"})


def _generate(
    split: str,
    seed: int,
    makers: dict[str, Maker],
    keys: dict[str, str],
    traps: list[str],
    ctx: _Ctx,
    per_category: int,
) -> list[Sample]:
    out: list[Sample] = []
    r = ctx.r
    for category, maker in makers.items():
        for _ in range(per_category):
            template, values = maker(ctx)
            name = f"{split}:{category}"
            mode = r.random()
            sample: Sample | None = None
            if mode < 0.15 and category in keys and len(values) == 1:
                # A value in a tool-call argument, under a key that names it ("ssn": "…") or inside
                # a sentence in a free-text argument.
                arg = (
                    {keys[category]: values[0].surface}
                    if r.random() < 0.6
                    else {"note": _note(template, values).build()}
                )
                sample = _tool_sample(name, values, arg, as_key=False)
            elif mode < 0.22 and len(values) == 1 and _keyable(values[0]):
                # The value as a key of the arguments object ({"5124477781": "verified"}).
                sample = _tool_sample(name, values, {values[0].surface: "verified"}, as_key=True)
            elif mode < 0.3 and category in _SPLITTABLE:
                sample = _split_sample(name, template, values, r)
            if sample is None:
                b = _note(template, values)
                sample = Sample(name, [b.build()], ["user"], [b.spans], [b.spoken])
            out.append(sample)
    for trap in traps:
        out.append(Sample(f"{split}:trap", [trap], ["user"], [[]], [[]]))
    random.Random(seed).shuffle(out)
    return out


def generate_safeharbor_tuning(seed: int = 41, per_category: int = 24) -> list[Sample]:
    ctx = _Ctx(seed, ["de_DE", "fr_FR", "es_ES", "en_GB"], TUNE_DISGUISES)
    return _generate("sh-tune", seed, TUNE_MAKERS, TUNE_KEYS, TUNE_TRAPS, ctx, per_category)


def generate_safeharbor_heldout(seed: int = 4141, per_category: int = 24) -> list[Sample]:
    ctx = _Ctx(seed * 3 + 1, ["it_IT", "pl_PL", "nl_NL", "pt_BR", "ja_JP", "vi_VN"], HELD_DISGUISES)
    return _generate("sh-held", seed, HELD_MAKERS, HELD_KEYS, HELD_TRAPS, ctx, per_category)
