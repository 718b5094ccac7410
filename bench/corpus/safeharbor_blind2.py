# ruff: noqa: RUF001  (look-alike and non-ASCII characters are the point of this corpus)
"""A fourth, blind split of the adversarial Safe-Harbor pack, written by a different hand than the
other three: where they put one value in a sentence template, this one writes the documents a proxy
is actually handed — EHR exports, fax cover sheets and transmission headers, HL7 v2 segments,
FHIR-style JSON, CSV rows, e-mails and call transcripts — and fills them with the identifier shapes
of several countries (UK NHS and National Insurance numbers, Canadian SIN and postcodes, Indian
Aadhaar and PIN codes, Australian Medicare numbers and phones, German IBANs, phones, plates and
addresses), UDI device identifiers, photo file names that carry a name, and ages past 89.

Its disguises are its own (no-break space and en dash as an EHR pastes them, fullwidth forms,
zero-width non-joiners, OCR'd fax digits, values glued to their label or cut by a line wrap), and so
are its precision traps (lab reference ranges, codes, versions and page counters a document carries).
It was run once, blind, before any fix that followed it; see docs/detection.md.

Each sample holds the values of one category (``"sh-blind2:<category>"``), like the other splits,
so ``detection_bench.leaks`` reports it per category.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from masker.detect.types import Entity

from . import values as vals
from .generate import Sample, _Builder
from .safeharbor import Value, _tool_sample

E = Entity
SPLIT = "sh-blind2"
_D = "0123456789"  # a digit group that may start with 0

_FW = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})  # fullwidth ASCII
_OCR = str.maketrans({"0": "O", "1": "l", "5": "S"})  # a fax read back by OCR


def _zwnj(s: str) -> str:
    return "\u200c".join(s[i : i + 3] for i in range(0, len(s), 3))


def _wrap(s: str) -> str:
    """A line wrap inside the value, as a fixed-width fax or export cuts it."""
    k = max(1, len(s) // 2)
    return s[:k] + "\n" + s[k:]


DISGUISES: dict[str, Callable[[str], str]] = {
    "nbsp": lambda s: s.replace(" ", "\u00a0"),
    "en-dash": lambda s: s.replace("-", "\u2013"),
    "fullwidth": lambda s: s.translate(_FW),
    "zwnj": _zwnj,
    "ocr": lambda s: s.translate(_OCR) if any(ch.isdigit() for ch in s) else s,
    "wrap": _wrap,
    "glued": lambda s: s.replace(" ", "").replace("-", ""),
    "spaced": lambda s: " ".join(s.replace(" ", "")) if len(s) <= 14 else s,
}


@dataclass
class Item:
    """What a category contributes to a document: one value per field, and a sentence for prose."""

    fields: list[str]  # field labels, one per value (structured formats)
    prose: str  # a sentence with {0}, {1}… (free-text formats)
    values: list[Value]
    code: str = "ID"  # an HL7-ish segment / column code
    extra: dict[str, str] = field(default_factory=dict)


class _Ctx:
    LOCALES = [
        "en_GB",
        "en_IN",
        "en_AU",
        "de_DE",
        "fr_CA",
        "en_CA",
        "en_IE",
        "da_DK",
        "fi_FI",
        "cs_CZ",
        "ro_RO",
        "en_NZ",
    ]

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.us = Faker("en_US")
        self.us.seed_instance(seed)
        self.fk: dict[str, Faker] = {}
        for i, loc in enumerate(self.LOCALES):
            f = Faker(loc)
            f.seed_instance(seed + 11 + i)
            self.fk[loc] = f

    def f(self, loc: str | None = None) -> Faker:
        return self.fk[loc] if loc else self.fk[self.r.choice(self.LOCALES)]

    def d(self, s: str) -> str:
        """Half of the values plain, the rest in one disguise."""
        if self.r.random() < 0.5:
            return s
        return DISGUISES[self.r.choice(list(DISGUISES))](s)

    def n(self, k: int, first: str = "123456789") -> str:
        return self.r.choice(first) + "".join(self.r.choices(string.digits, k=k - 1))

    def a(self, k: int) -> str:
        return "".join(self.r.choices(string.ascii_uppercase, k=k))

    def pick(self, *xs: str) -> str:
        return self.r.choice(xs)


# -------------------------------------------------------------------------------- identifier shapes


def _nhs(c: _Ctx) -> str:
    while True:
        body = [c.r.randrange(10) for _ in range(9)]
        chk = 11 - sum(d * (10 - i) for i, d in enumerate(body)) % 11
        if chk == 11:
            chk = 0
        if chk != 10:
            s = "".join(map(str, body)) + str(chk)
            return f"{s[:3]} {s[3:6]} {s[6:]}"


def _sin(c: _Ctx) -> str:
    s = vals.luhn_complete(c.n(8, "1234567"))
    return f"{s[:3]} {s[3:6]} {s[6:]}"


def _aadhaar(c: _Ctx) -> str:
    s = c.n(12, "23456789")
    return f"{s[:4]} {s[4:8]} {s[8:]}"


def _au_medicare(c: _Ctx) -> str:
    d = [c.r.choice([2, 3, 4, 5, 6])] + [c.r.randrange(10) for _ in range(7)]
    chk = sum(x * w for x, w in zip(d, (1, 3, 7, 9, 1, 3, 7, 9), strict=True)) % 10
    s = "".join(map(str, d)) + str(chk) + str(c.r.randrange(1, 10))
    return f"{s[:4]} {s[4:9]} {s[9]}"


def _iban(c: _Ctx) -> str:
    raw = c.f("de_DE").iban()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _uk_post(c: _Ctx) -> str:
    return str(c.f("en_GB").postcode())


def _ca_post(c: _Ctx) -> str:
    return str(c.f("en_CA").postalcode())


def _name(c: _Ctx) -> tuple[str, str]:
    f = c.f()
    return f.first_name(), f.last_name()


def _phone_intl(c: _Ctx) -> str:
    k = c.r.randrange(8)
    if k == 0:
        return f"+44 20 {c.n(4)} {c.n(4, _D)}"
    if k == 1:
        return f"07{c.n(3)} {c.n(6, _D)}"
    if k == 2:
        return f"+49 (0)30 {c.n(7)}"
    if k == 3:
        return f"+91 {c.n(5, '6789')} {c.n(5, _D)}"
    if k == 4:
        return f"(02) {c.n(4)} {c.n(4, _D)}"
    if k == 5:
        return f"04{c.n(2, _D)} {c.n(3)} {c.n(3, _D)}"
    if k == 6:
        return f"+1-{c.n(3, '2345678')}-{c.n(3, '2345678')}-{c.n(4, _D)}"
    return f"({c.n(3, '2345678')}){c.n(3, '2345678')}-{c.n(4, _D)} ext. {c.n(3)}"


# -------------------------------------------------------------------------------- category items


def _i_name(c: _Ctx) -> Item:
    first, last = _name(c)
    k = c.r.randrange(6)
    if k == 0:
        return Item(
            ["Patient Name", ""],
            "Re: {0}, {1}",
            [Value(c.d(last.upper()), E.PERSON), Value(first, E.PERSON)],
            "PID",
        )
    if k == 1:
        return Item(
            ["Referring Physician"], "Referred by {0}, MD.", [Value(f"Dr {first} {last}", E.PERSON)], "PV1"
        )
    if k == 2:
        return Item(["NOK"], "next of kin {0} (spouse)", [Value(c.d(f"{first} {last}"), E.PERSON)], "NK1")
    if k == 3:
        return Item(["Signed"], "Kind regards,\n{0}", [Value(f"{first} {last}", E.PERSON)], "SIG")
    if k == 4:
        return Item(
            ["caller"],
            "yeah this is {0} calling about my mum",
            [Value(f"{first.lower()} {last.lower()}", E.PERSON)],
            "CLR",
        )
    return Item(["Attn"], "ATTN: {0}", [Value(c.d(f"{first[0]}. {last}"), E.PERSON)], "ATN")


def _i_geo(c: _Ctx) -> Item:
    k = c.r.randrange(6)
    if k == 0:
        f = c.f("en_GB")
        return Item(
            ["Address", "Town", "Postcode"],
            "{0}, {1} {2}",
            [
                Value(f.street_address(), E.ADDRESS),
                Value(f.city(), E.LOCATION),
                Value(c.d(_uk_post(c)), E.ZIP),
            ],
            "ADR",
        )
    if k == 1:
        f = c.f("en_CA")
        return Item(
            ["Street", "City", "Postal"],
            "lives at {0}, {1} {2}",
            [
                Value(f.street_address(), E.ADDRESS),
                Value(f.city(), E.LOCATION),
                Value(c.d(_ca_post(c)), E.ZIP),
            ],
            "ADR",
        )
    if k == 2:
        pin = c.f("en_IN").postcode()
        return Item(
            ["City", "PIN"],
            "{0} - {1}",
            [Value(c.f("en_IN").city(), E.LOCATION), Value(c.d(f"{pin[:3]} {pin[3:]}"), E.ZIP)],
            "ADR",
        )
    if k == 3:
        f = c.f("en_AU")
        return Item(
            ["Suburb", "Postcode"],
            "{0} NSW {1}",
            [Value(f.city(), E.LOCATION), Value(c.d(f.postcode()), E.ZIP)],
            "ADR",
        )
    if k == 4:
        f = c.f("de_DE")
        return Item(
            ["Anschrift", "PLZ", "Ort"],
            "Anschrift: {0}, {1} {2}",
            [
                Value(f.street_address(), E.ADDRESS),
                Value(c.d(f.postcode()), E.ZIP),
                Value(f.city(), E.LOCATION),
            ],
            "ADR",
        )
    u = c.us
    return Item(["Addr1", "Addr2", "City", "Zip"], "{0} {1}, {2} {3}",
                [Value(u.street_address(), E.ADDRESS), Value(f"Apt {c.n(2)}{c.a(1)}", E.ADDRESS),
                 Value(u.city(), E.LOCATION),
                 Value(c.d(f"{u.zipcode()}-{c.n(4, _D)}"), E.ZIP)], "ADR")  # fmt: skip


_MON_DE = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]
_MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _i_date(c: _Ctx) -> Item:
    dt = c.us.date_between(start_date="-90y", end_date="-1d")
    y, m, d = dt.year, dt.month, dt.day
    v, lab = c.r.choice(
        [
            (f"{y}-{m:02d}-{d:02d}T{c.r.randrange(24):02d}:{c.r.randrange(60):02d}:00Z", "effectiveDateTime"),
            (f"{y}{m:02d}{d:02d}", "DOB"),
            (f"{d:02d}-{_MON[m - 1]}-{y}", "Admit Date"),
            (f"{d:02d}.{m:02d}.{y}", "Geb.-Datum"),
            (f"{d}. {_MON_DE[m - 1]} {y}", "Aufnahme"),
            (f"{m}/{d}/{y % 100:02d}", "D/C"),
            (f"{_MON[m - 1].title()} {d}, '{y % 100:02d}", "Date of Service"),
            (f"{d:02d}/{m:02d}/{y} {c.r.randrange(1, 13)}:{c.r.randrange(60):02d}PM", "Sent"),
        ]
    )
    return Item([lab], f"{lab}: {{0}}", [Value(c.d(v), E.DATE)], "DT")


def _i_age(c: _Ctx) -> Item:
    n = c.r.randrange(90, 108)
    v, prose = c.r.choice(
        [(f"{n}yo", "{0} F with CHF"), (f"{n}Y", "Age: {0}"), (f"{n} y/o", "{0} M, nursing home resident"),
         (str(n), "(age {0})"), (f"F/{n}", "{0} presenting with fall"), (f"{n}-year-old", "a {0} widow")]
    )  # fmt: skip
    return Item(["Age"], prose, [Value(v, E.AGE)], "AGE")


def _i_phone(c: _Ctx) -> Item:
    p = _phone_intl(c)
    lab = c.pick("Tel", "Mobile", "Home Ph", "Contact No.", "Handy", "Ph")
    prose = c.pick("{0} is the best number", f"{lab}:{{0}}", "call back on {0} after 5", "Phone ({0})")
    return Item([lab], prose, [Value(c.d(p), E.PHONE)], "PHN")


def _i_fax(c: _Ctx) -> Item:
    p = _phone_intl(c)
    lab = c.pick("Fax", "FAX#", "Facsimile", "Fax No")
    prose = c.pick("{0} FROM", "please fax results to {0}", f"{lab}: {{0}}")
    return Item([lab], prose, [Value(c.d(p), E.FAX)], "FAX")


def _i_email(c: _Ctx) -> Item:
    first, last = _name(c)
    fa = first.lower().replace(" ", "")
    la = last.lower().replace(" ", "")
    v = c.r.choice(
        [f"{fa}.{la}@nhs.net", f"{fa[0]}{la}{c.n(2)}@outlook.de", f"{la}.{fa}@gmail.co.in",
         f"{fa} [dot] {la} [at] yahoo [dot] ca", f"{fa.upper()}.{la.upper()}@BIGPOND.COM"]
    )  # fmt: skip
    prose = c.pick("From: {0}", "mailto:{0}", "reply to <{0}>", "email is {0}")
    return Item(["Email"], prose, [Value(v, E.EMAIL)], "EML")


def _i_ssn(c: _Ctx) -> Item:
    k = c.r.randrange(5)
    if k == 0:
        s = f"{c.r.randrange(101, 665):03d}-{c.r.randrange(1, 99):02d}-{c.r.randrange(1, 9999):04d}"
        return Item(["SSN"], "SS# {0}", [Value(c.d(s), E.SSN)], "SSN")
    if k == 1:
        ni = f"{c.pick('AB', 'JG', 'NP', 'SK', 'WL')} {c.n(2, _D)} {c.n(2, _D)} {c.n(2, _D)}"
        ni += f" {c.pick('A', 'B', 'C', 'D')}"
        return Item(["NI No"], "National Insurance {0}", [Value(c.d(ni), E.SSN)], "NIN")
    if k == 2:
        return Item(["SIN"], "S.I.N. {0}", [Value(c.d(_sin(c)), E.SSN)], "SIN")
    if k == 3:
        return Item(["Aadhaar"], "Aadhaar no {0}", [Value(c.d(_aadhaar(c)), E.ID_NUMBER)], "UID")
    s = str(c.f("fr_CA").ssn()).replace(" ", "")
    return Item(["NAS"], "NAS : {0}", [Value(c.d(f"{s[:3]} {s[3:6]} {s[6:]}"), E.SSN)], "SIN")


def _i_mrn(c: _Ctx) -> Item:
    k = c.r.randrange(5)
    if k == 0:
        return Item(["NHS Number"], "NHS No: {0}", [Value(c.d(_nhs(c)), E.MRN)], "PID")
    if k == 1:
        return Item(["MRN"], "MRN:{0}", [Value(c.n(8, _D), E.MRN)], "PID")
    if k == 2:
        return Item(["Hosp #"], "Hosp#{0}", [Value(f"{c.a(1)}{c.n(8, _D)}", E.MRN)], "PID")
    if k == 3:
        chi = f"{c.r.randrange(1, 29):02d}{c.r.randrange(1, 13):02d}{c.n(2, _D)}{c.n(4, _D)}"
        return Item(["CHI"], "CHI number {0}", [Value(c.d(chi), E.MRN)], "PID")
    return Item(
        ["Chart"],
        "chart # {0}",
        [Value(c.d(f"{c.n(2)}-{c.n(2, _D)}-{c.n(2, _D)}"), E.MRN)],
        "PID",
    )


def _i_plan(c: _Ctx) -> Item:
    k = c.r.randrange(5)
    if k == 0:
        return Item(
            ["Medicare No"], "Medicare card {0}", [Value(c.d(_au_medicare(c)), E.HEALTH_PLAN_ID)], "IN1"
        )
    if k == 1:
        return Item(
            ["Member ID"],
            "Member ID: {0}",
            [Value(c.d(f"{c.a(3)}{c.n(9, _D)}"), E.HEALTH_PLAN_ID)],
            "IN1",
        )
    if k == 2:
        return Item(
            ["KVNR"],
            "Versichertennummer {0}",
            [Value(c.d(f"{c.a(1)}{c.n(9, _D)}"), E.HEALTH_PLAN_ID)],
            "IN1",
        )
    if k == 3:
        return Item(
            ["Medicaid ID"],
            "Medicaid #{0}",
            [Value(c.d(f"{c.a(2)}{c.n(5, _D)}{c.a(1)}"), E.HEALTH_PLAN_ID)],
            "IN1",
        )
    return Item(
        ["Policy"],
        "policy number {0}",
        [Value(c.d(f"{c.n(3)}-{c.n(3, _D)}-{c.n(3, _D)}"), E.HEALTH_PLAN_ID)],
        "IN1",
    )


def _i_account(c: _Ctx) -> Item:
    k = c.r.randrange(4)
    if k == 0:
        return Item(["IBAN"], "IBAN {0}", [Value(c.d(_iban(c)), E.IBAN)], "ACC")
    if k == 1:
        return Item(["Sort code", "Account"], "sort code {0}, account {1}",
                    [Value(f"{c.n(2)}-{c.n(2, _D)}-{c.n(2, _D)}", E.ROUTING_NUMBER),
                     Value(c.d(c.n(8)), E.BANK_ACCOUNT)], "ACC")  # fmt: skip
    if k == 2:
        return Item(
            ["Guarantor Acct"],
            "ACCT#{0}",
            [Value(f"{c.n(5)}-{c.n(4, _D)}", E.ACCOUNT_NUMBER)],
            "GT1",
        )
    return Item(["Patient Account"], "Pt Acct No. {0}", [Value(c.d(c.n(10, _D)), E.ACCOUNT_NUMBER)], "PV1")


def _i_license(c: _Ctx) -> Item:
    k = c.r.randrange(6)
    if k == 0:
        return Item(["NPI"], "NPI {0}", [Value(c.d(vals.npi(c.r)), E.LICENSE_NUMBER)], "PRA")
    if k == 1:
        return Item(["RN Licence"], "RN lic {0}", [Value(f"RN{c.n(6)}", E.LICENSE_NUMBER)], "PRA")
    if k == 2:
        return Item(["GMC"], "GMC No. {0}", [Value(c.n(7), E.LICENSE_NUMBER)], "PRA")
    if k == 3:
        last = c.f("en_GB").last_name().upper().ljust(5, "9")[:5]
        dl = f"{last}{c.n(6, _D)}{c.a(2)}{c.n(1)}{c.a(2)}"
        return Item(["Driving licence"], "driving licence {0}", [Value(c.d(dl), E.DRIVER_LICENSE)], "DL")
    if k == 4:
        dl = f"{c.a(1)}{c.n(4, _D)}-{c.n(5, _D)}-{c.n(5, _D)}"
        return Item(["ON DL"], "Ontario DL {0}", [Value(c.d(dl), E.DRIVER_LICENSE)], "DL")
    return Item(
        ["Certificate"], "BLS cert no. {0}", [Value(f"BLS-{c.n(4)}-{c.n(5)}", E.LICENSE_NUMBER)], "CRT"
    )


def _i_vehicle(c: _Ctx) -> Item:
    k = c.r.randrange(4)
    if k == 0:
        v = f"{c.a(2)}{c.n(2)} {c.a(3)}"  # UK
    elif k == 1:
        v = f"{c.pick('B', 'M', 'HH', 'K')}-{c.a(2)} {c.n(4)}"  # DE
    elif k == 2:
        v = vals.vin(c.r).lower()
    else:
        v = f"{c.n(1)}{c.a(3)}{c.n(3)}"  # CA-style
    return Item(
        ["Vehicle"],
        c.pick("reg {0}", "plate: {0}", "VIN {0}", "car {0} in bay 3"),
        [Value(c.d(v), E.VEHICLE_ID)],
        "VEH",
    )


def _i_device(c: _Ctx) -> Item:
    k = c.r.randrange(5)
    if k == 0:
        v = f"(01)0{c.n(13, _D)}(17){c.n(6, _D)}(21){c.a(3)}{c.n(4)}"
        return Item(["UDI"], "UDI {0}", [Value(v, E.DEVICE_ID)], "DEV")
    if k == 1:
        return Item(
            ["Pacemaker S/N"],
            "pacer serial {0}",
            [Value(c.d(f"{c.a(3)}{c.n(6)}{c.a(1)}"), E.DEVICE_ID)],
            "DEV",
        )
    if k == 2:
        return Item(["MAC"], "device mac {0}", [Value(c.us.mac_address(), E.DEVICE_ID)], "DEV")
    if k == 3:
        imei = vals.luhn_complete(c.n(14))
        return Item(
            ["IMEI"],
            "handset IMEI {0}",
            [Value(c.d(f"{imei[:2]} {imei[2:8]} {imei[8:14]} {imei[14]}"), E.DEVICE_ID)],
            "DEV",
        )
    return Item(["Device ID"], "pump id {0}", [Value(c.us.uuid4(), E.DEVICE_ID)], "DEV")


def _i_url(c: _Ctx) -> Item:
    first, last = _name(c)
    fa, la = first.lower().replace(" ", ""), last.lower().replace(" ", "")
    v = c.r.choice(
        [f"https://www.facebook.com/{fa}.{la}.{c.n(2)}", f"linkedin.com/in/{fa}-{la}-{c.n(3)}a",
         f"https://portal.stmarys.example/patients/{fa}-{la}/chart", f"http://{la}{fa[0]}.co.uk/~{fa}"]
    )  # fmt: skip
    return Item(["Link"], c.pick("profile: {0}", "see {0}", "<{0}>"), [Value(v, E.URL)], "URL")


def _i_ip(c: _Ctx) -> Item:
    k = c.r.randrange(3)
    if k == 0:
        v = (
            f"{c.r.randrange(11, 223)}.{c.r.randrange(256)}.{c.r.randrange(256)}.{c.r.randrange(1, 255)}"
            f":{c.r.randrange(1024, 65535)}"
        )
    elif k == 1:
        v = str(c.us.ipv6())
    else:
        v = f"{c.r.randrange(11, 223)}.{c.r.randrange(256)}.{c.r.randrange(256)}.{c.r.randrange(1, 255)}"
    return Item(
        ["Client IP"],
        c.pick("X-Forwarded-For: {0}", "login from {0}", "src={0}"),
        [Value(v, E.IP_ADDRESS)],
        "IP",
    )


def _i_bio(c: _Ctx) -> Item:
    hx = "".join(c.r.choices("0123456789abcdef", k=16))
    v, lab = c.r.choice(
        [(f"FP-{hx[:4].upper()}-{hx[4:8].upper()}", "Fingerprint template"),
         (f"RS{c.n(8, _D)}", "Retina scan ref"),
         (f"vp_{hx[:8]}", "Voiceprint id"), (hx, "Face encoding")]
    )  # fmt: skip
    return Item([lab], f"{lab}: {{0}}", [Value(v, E.ID_NUMBER)], "BIO")


def _i_photo(c: _Ctx) -> Item:
    first, last = _name(c)
    first, last = first.replace(" ", ""), last.replace(" ", "")
    k = c.r.randrange(4)
    if k == 0:
        return Item(
            ["Attachment", ""], "IMG_2024_{0}_{1}.jpg", [Value(first, E.PERSON), Value(last, E.PERSON)], "OBX"
        )
    if k == 1:
        return Item(
            ["File", ""],
            "{0}-{1}-headshot.jpeg",
            [Value(last.lower(), E.PERSON), Value(first.lower(), E.PERSON)],
            "OBX",
        )
    if k == 2:
        return Item(["Photo"], "{0}_wound_photo_03.png", [Value(f"{first}{last}", E.PERSON)], "OBX")
    return Item(
        ["Scan", ""],
        "scans/{0}.{1}/face_front.heic",
        [Value(first.lower(), E.PERSON), Value(last.lower(), E.PERSON)],
        "OBX",
    )


def _i_other(c: _Ctx) -> Item:
    v, lab = c.r.choice(
        [(f"CLM-{c.r.randrange(2019, 2026)}-{c.n(9, _D)}", "Claim"), (f"{c.n(2)}-CV-{c.n(5, _D)}", "Case No"),
         (f"INC{c.n(7, _D)}", "Ticket"), (f"PA{c.n(8)}", "Prior Auth #"), (f"V{c.n(8, _D)}", "Encounter ID"),
         (f"Rx {c.n(7)}", "Rx#")]
    )  # fmt: skip
    return Item([lab], f"{lab}: {{0}}", [Value(c.d(v), E.ID_NUMBER)], "ZID")


ITEMS: dict[str, Callable[[_Ctx], Item]] = {
    "name": _i_name, "geographic": _i_geo, "date": _i_date, "age>89": _i_age, "phone": _i_phone,
    "fax": _i_fax, "email": _i_email, "ssn": _i_ssn, "mrn": _i_mrn, "health_plan": _i_plan,
    "account": _i_account, "license": _i_license, "vehicle": _i_vehicle, "device": _i_device,
    "url": _i_url, "ip": _i_ip, "biometric": _i_bio, "photo": _i_photo, "other_id": _i_other,
}  # fmt: skip

# -------------------------------------------------------------------------------- document formats


def _prose(b: _Builder, item: Item) -> None:
    rest = item.prose
    for i, v in enumerate(item.values):
        head, rest = rest.split(f"{{{i}}}", 1)
        b.text(head)
        b.value(v.surface, v.entity, spoken=v.spoken)
    b.text(rest)


def _structured(b: _Builder, item: Item, sep: str, eol: str) -> None:
    for lab, v in zip(item.fields, item.values, strict=True):
        if lab:
            b.text(f"{lab}{sep}")
        b.value(v.surface, v.entity)
        b.text(eol if lab or v is item.values[-1] else " ")


def _ehr(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text(f"*** CLINICAL SUMMARY EXPORT ***\nPrinted {c.pick('by ward clerk', 'from EPR')}\n")
    _structured(b, item, c.pick(": ", " ........ ", ":\t", "="), "\n")
    b.text("Allergies: NKDA\n-- end of record --")
    return b


def _fax(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text(f"FAX TRANSMISSION   P.00{c.r.randrange(1, 4)}/00{c.r.randrange(4, 9)}\nCONFIDENTIAL\n")
    _prose(b, item)
    b.text("\nIf received in error please notify sender.")
    return b


def _hl7(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text(f"MSH|^~\\&|EPIC|ADT|||{c.n(8)}||ADT^A08|{c.n(6)}|P|2.5.1\r")
    b.text(f"{item.code}|1||")
    for i, v in enumerate(item.values):
        if i:
            b.text("^")
        b.value(v.surface, v.entity)
    b.text("|||\rPV1|1|I|W7^12^A")
    return b


def _fhir(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text('{"resourceType": "Patient", "meta": {"versionId": "3"}, ')
    for i, (lab, v) in enumerate(zip(item.fields, item.values, strict=True)):
        key = (lab or f"part{i}").replace(" ", "").replace(".", "")
        key = key[0].lower() + key[1:] if key else "value"
        b.text(f'"{key}": "')
        b.value(v.surface, v.entity)
        b.text('", ')
    b.text('"active": true}')
    return b


def _csv(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    cols = ["row_id"] + [lab or f"col{i}" for i, lab in enumerate(item.fields)] + ["status"]
    b.text(",".join(cols) + "\n" + c.n(3) + ",")
    for v in item.values:
        quote = "," in v.surface or " " in v.surface
        b.text('"' if quote else "")
        b.value(v.surface, v.entity)
        b.text(('"' if quote else "") + ",")
    b.text("active")
    return b


def _email(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text(f"Subject: {c.pick('RE: referral', 'FW: results', 'discharge letter')}\n\nHi team,\n\n")
    _prose(b, item)
    b.text(".\n\nThanks\n-- \nSent from my phone")
    return b


def _transcript(c: _Ctx, item: Item) -> _Builder:
    b = _Builder()
    b.text(f"[00:0{c.r.randrange(10)}:{c.r.randrange(60):02d}] AGENT: can I take some details\n[CALLER]: ")
    _prose(b, item)
    b.text(" uh yeah that's it")
    return b


FORMATS: dict[str, Callable[[_Ctx, Item], _Builder]] = {
    "ehr": _ehr, "fax": _fax, "hl7": _hl7, "fhir": _fhir, "csv": _csv, "email": _email,
    "transcript": _transcript,
}  # fmt: skip

TRAPS = [
    "HbA1c 6.8 % (ref 4.0–5.6)",
    "ICD-10: E11.65; LOINC 4548-4",
    "NDC 0002-8215-01, lot exp 2027",
    "Page 2 of 5",
    "EPR version 10.4.2 build 7731",
    "SpO2 94 % RA, RR 18",
    "Dose: 2.5 mg/kg q8h IV",
    "HTTP 404 returned by the lab feed",
    "Ward 7, bay 3, bed 12",
    "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N",
    '{"resourceType": "Observation", "status": "final", "valueQuantity": {"value": 138, "unit": "mmol/L"}}',
    "row_id,test,result\n12,Na,138",
]


def generate_safeharbor_blind2(seed: int = 1977, per_category: int = 24) -> list[Sample]:
    c = _Ctx(seed * 7 + 5)
    out: list[Sample] = []
    fmts = list(FORMATS)
    for category, make in ITEMS.items():
        name = f"{SPLIT}:{category}"
        for _ in range(per_category):
            item = make(c)
            mode = c.r.random()
            sample: Sample | None = None
            if mode < 0.12 and len(item.values) == 1 and item.fields[0]:
                # the value as a tool-call argument under its own field label
                key = item.fields[0].lower().replace(" ", "_")
                sample = _tool_sample(name, item.values, {key: item.values[0].surface}, as_key=False)
            elif mode < 0.2:
                # a tool result carrying the document (FHIR JSON from an EHR lookup)
                b = _fhir(c, item)
                sample = Sample(
                    name, ["look up the patient", b.build()], ["user", "tool"], [[], b.spans], [[], []]
                )
            if sample is None:
                b = FORMATS[c.r.choice(fmts)](c, item)
                sample = Sample(name, [b.build()], ["user"], [b.spans], [b.spoken])
            out.append(sample)
    for trap in TRAPS:
        out.append(Sample(f"{SPLIT}:trap", [trap], ["user"], [[]], [[]]))
    random.Random(seed).shuffle(out)
    return out


def _demo() -> None:  # pragma: no cover - a look at the documents while writing them
    for s in generate_safeharbor_blind2(per_category=2)[:12]:
        print(s.category, json.dumps(s.turns, ensure_ascii=False))
