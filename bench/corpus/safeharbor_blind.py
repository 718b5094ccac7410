
"""A third, blind split of the adversarial Safe-Harbor pack: its own templates, labels, value shapes
and disguises, written after the tuning and held-out halves had been run once and before any fix
that followed — run only to report. The held-out half's per-category totals were seen while fixing
(its individual misses were not); this split's were not seen at all until the final run.
"""

from __future__ import annotations

from collections.abc import Callable

from masker.detect.types import Entity

from . import spoken as sp
from . import values as vals
from .generate import Sample
from .safeharbor import Maker, Value, _Ctx, _generate, _ord

E = Entity
_MATH = str.maketrans({str(d): chr(0x1D7CE + d) for d in range(10)})  # mathematical bold digits
_ARABIC = str.maketrans({str(d): chr(0x0660 + d) for d in range(10)})

BLIND_DISGUISES: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "figure-space": lambda s: s.replace(" ", "\u2007"),
    "ideographic-space": lambda s: s.replace(" ", "\u3000"),
    "minus": lambda s: s.replace("-", "\u2212"),
    "small-hyphen": lambda s: s.replace("-", "\ufe63"),
    "word-joiner": lambda s: "\u2060".join(s),
    "bom": lambda s: s[: len(s) // 2] + "\ufeff" + s[len(s) // 2 :],
    "math-digits": lambda s: s.translate(_MATH),
    "arabic-digits": lambda s: s.translate(_ARABIC),
    "title": str.title,
}


def _spoken_blind(digits: str) -> str:
    """Digit by digit with "o" for zero, hyphen-glued ("five-one-two")."""
    return "-".join("o" if d == "0" else sp.UNITS[int(d)] for d in digits)


def _b_name(c: _Ctx) -> tuple[str, list[Value]]:
    fk = c.r.choice(c.intl)
    first, last = fk.first_name(), fk.last_name()
    t = c.r.choice(["Caregiver: {0}", "Pt. {0} arrived late.", "cc: {0}", "Guardian — {0} (mother)"])
    return t, [Value(c.d(f"{first} {last}"), E.PERSON)]


def _b_geo(c: _Ctx) -> tuple[str, list[Value]]:
    k = c.r.randrange(4)
    if k == 0:
        return "Home: {0}; {1}, {2}", [
            Value(c.d(c.f.street_address()), E.ADDRESS),
            Value(c.f.city(), E.LOCATION),
            Value(c.d(c.f.zipcode()), E.ZIP),
        ]
    if k == 1:
        return "zip {0}", [Value(_spoken_blind(c.f.zipcode()), E.ZIP, True)]
    if k == 2:
        return "Township of {0}", [Value(c.f.last_name(), E.LOCATION)]
    return "P.O. Box {0}, {1}", [
        Value(str(c.r.randrange(10, 9999)), E.ADDRESS),
        Value(c.f.city(), E.LOCATION),
    ]


def _b_date(c: _Ctx) -> tuple[str, list[Value]]:
    y, m, d = c.date()
    t, v = c.r.choice(
        [
            ("DOB: {0}", f"{_ord(d)} {sp.MONTHS[m - 1].capitalize()}, {y}"),
            ("admit dt {0}", f"{m}.{d}.{y % 100:02d}"),
            ("Deceased {0}", f"{y}.{m:02d}.{d:02d}"),
            ("born {0}", f"{sp.MONTHS[m - 1]} {sp.ordinal(d)}"),
            ("D.O.B.{0}", f"{d:02d}/{m:02d}/{y}"),
        ]
    )
    return t, [Value(c.d(v) if not t.startswith("born") else v, E.DATE, t.startswith("born"))]


def _b_age(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.r.randrange(90, 104)
    t, v = c.r.choice(
        [("A {0} gentleman.", f"{n} y.o."), ("age {0}", str(n)), ("She is {0} years old.", str(n))]
    )
    return t, [Value(v, E.AGE)]


def _b_phone(c: _Ctx, fax: bool = False) -> tuple[str, list[Value]]:
    p = c.phone10()
    ent = E.FAX if fax else E.PHONE
    if fax:
        t, v = c.r.choice([("Facsimile: {0}", f"{p[:3]}/{p[3:6]}-{p[6:]}"), ("fax# {0}", f"1{p}")])
        return t, [Value(c.d(v), ent)]
    t, v, spoken = c.r.choice(
        [
            ("Tel.{0}", f"{p[:3]} {p[3:6]} {p[6:]}", False),
            ("reach me at {0}", _spoken_blind(p), True),
            ("Mobile (Berlin): {0}", f"+49 30 {c.digits(8)}", False),
            ("phone={0}", f"{p[:3]}.{p[3:6]}.{p[6:]}", False),
        ]
    )
    return t, [Value(v if spoken else c.d(v), ent, spoken)]


def _b_email(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name().lower(), c.f.last_name().lower()
    t, v = c.r.choice(
        [
            ("e-mail {0}", f"{first}_{last}@protonmail.com"),
            ("Email: {0}", f"{first}{{at}}{last}{{dot}}net"),
            ("email {0}", f"{first}.{last} at gmail.com"),
        ]
    )
    return t, [Value(c.d(v) if "{at}" not in v else v, E.EMAIL)]


def _b_ssn(c: _Ctx) -> tuple[str, list[Value]]:
    s = c.ssn9()
    t, v = c.r.choice(
        [
            ("SSN#{0}", f"{s[:3]}-{s[3:5]}-{s[5:]}"),
            ("Social Sec. No.: {0}", s),
            ("ss number {0}", f"{s[:3]} {s[3:5]} {s[5:]}"),
            ("last 4 SSN {0}", s[5:]),
        ]
    )
    return t, [Value(c.d(v), E.SSN)]


def _b_mrn(c: _Ctx) -> tuple[str, list[Value]]:
    n = c.digits(9, "0123456789")
    t, v = c.r.choice(
        [("MRN#: {0}", n), ("Medical rec. {0}", f"{n[:3]}-{n[3:6]}-{n[6:]}"), ("EMR ID {0}", f"E{n}")]
    )
    return t, [Value(c.d(v), E.MRN)]


def _b_plan(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Medicare #: {0}", vals.mbi(c.r)),
            ("Member No. {0}", f"{c.letters(3)}-{c.digits(6)}-{c.digits(2)}"),
        ]
    )
    return t, [Value(c.d(v), E.HEALTH_PLAN_ID)]


def _b_account(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [("Acct #: {0}", c.digits(12)), ("billing account {0}", f"{c.digits(5)}-{c.digits(3)}")]
    )
    return t, [Value(c.d(v), E.ACCOUNT_NUMBER)]


def _b_license(c: _Ctx) -> tuple[str, list[Value]]:
    t, v, e = c.r.choice(
        [
            ("DEA Reg. {0}", vals.dea(c.r, c.f.last_name()), E.LICENSE_NUMBER),
            ("Lic. # {0}", f"MD{c.digits(6)}", E.LICENSE_NUMBER),
            ("PA DL {0}", c.digits(8), E.DRIVER_LICENSE),
        ]
    )
    return t, [Value(c.d(v), e)]


def _b_vehicle(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice([("VIN# {0}", vals.vin(c.r)), ("Plate No. {0}", f"{c.digits(3)}-{c.letters(3)}")])
    return t, [Value(c.d(v), E.VEHICLE_ID)]


def _b_device(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [
            ("Serial No.: {0}", f"{c.letters(2)}{c.digits(8)}"),
            ("imei {0}", vals.luhn_complete(c.digits(14))),
            ("MAC addr {0}", "-".join(f"{c.r.randrange(256):02X}" for _ in range(6))),
        ]
    )
    return t, [Value(c.d(v), E.DEVICE_ID)]


def _b_url(c: _Ctx) -> tuple[str, list[Value]]:
    last = c.f.last_name().lower()
    t, v = c.r.choice(
        [("homepage {0}", f"https://{last}.me/"), ("see {0}", f"https://x.com/{last}{c.digits(3)}")]
    )
    return t, [Value(c.d(v), E.URL)]


def _b_ip(c: _Ctx) -> tuple[str, list[Value]]:
    a = [c.r.randrange(1, 255) for _ in range(4)]
    t, v = c.r.choice(
        [("from IP: {0}", ".".join(map(str, a))), ("peer {0}", f"::ffff:{'.'.join(map(str, a))}")]
    )
    return t, [Value(c.d(v), E.IP_ADDRESS)]


def _b_bio(c: _Ctx) -> tuple[str, list[Value]]:
    return "Thumbprint ID {0}", [Value(c.d(f"TP{c.digits(6)}"), E.ID_NUMBER)]


def _b_photo(c: _Ctx) -> tuple[str, list[Value]]:
    first, last = c.f.first_name(), c.f.last_name()
    return "Attached {0}_passport_photo.png", [Value(f"{last}{first}", E.PERSON)]


def _b_other(c: _Ctx) -> tuple[str, list[Value]]:
    t, v = c.r.choice(
        [("Member card {0}", f"{c.digits(4)} {c.digits(4)} {c.digits(4)}"), ("Ref# {0}", f"R-{c.digits(7)}")]
    )
    return t, [Value(c.d(v), E.ID_NUMBER)]


BLIND_MAKERS: dict[str, Maker] = {
    "name": _b_name, "geographic": _b_geo, "date": _b_date, "age>89": _b_age, "phone": _b_phone,
    "fax": lambda c: _b_phone(c, fax=True), "email": _b_email, "ssn": _b_ssn, "mrn": _b_mrn,
    "health_plan": _b_plan, "account": _b_account, "license": _b_license, "vehicle": _b_vehicle,
    "device": _b_device, "url": _b_url, "ip": _b_ip, "biometric": _b_bio, "photo": _b_photo,
    "other_id": _b_other,
}  # fmt: skip
BLIND_KEYS = {
    "phone": "tel", "ssn": "SSN", "mrn": "mrnNumber", "date": "date_of_birth", "email": "e_mail",
    "account": "accountNumber", "health_plan": "medicareNo", "license": "dea", "vehicle": "VIN",
    "device": "imei", "ip": "ip_address",
}  # fmt: skip
BLIND_TRAPS = [
    "Take 1 tab PO at 06:00 and 18:00.",
    "SpO2 96%, HR 88, BP 110/70.",
    "Firmware 3.2.1 installed.",
    "Return in 6-8 weeks.",
    "Bed 14, unit 3B.",
    "He is 86.",
    "Invoice total $312.40.",
    "i'll take two of them",
]


def generate_safeharbor_blind(seed: int = 777, per_category: int = 24) -> list[Sample]:
    ctx = _Ctx(seed * 5 + 3, ["sv_SE", "hu_HU", "el_GR", "tr_TR", "en_IN", "es_MX"], BLIND_DISGUISES)
    return _generate("sh-blind", seed, BLIND_MAKERS, BLIND_KEYS, BLIND_TRAPS, ctx, per_category)
