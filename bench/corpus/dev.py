"""A second, differently-phrased corpus ("dev") to estimate how detection generalises beyond the
templates the recognizers were first developed against: other note styles, other number and date
formats, disfluent caller speech, spelled names, numbers read in pairs, three-turn splits.

Written after the main corpus and run once before any tuning; the benchmark reports both."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from masker.detect.types import Entity

from . import spoken as sp
from . import values as vals
from .generate import Sample, _Builder, _fill, _Gen, _slots

Slot = Callable[[], tuple[str, Entity | None, bool]]

DEV_NOTES = [
    "PATIENT: {NAME_CAPS}   MRN#: {MRN}   D.O.B.: {DOB_ALT}",
    "Pt: {NAME_INV}, {AGE_ALT} with hx of HTN, DM2. Seen {DATE_ALT}.",
    "Attending: {NAME_MI}, MD. PCP: Dr. {LAST}.",
    "Electronically signed by {NAME}, {CRED} on {DATE_ALT} 14:32.",
    "Emergency contact: {NAME} (wife), tel {PHONE_ALT}.",
    "Address on file: {ADDRESS}, {CITY} {STATE} {ZIP}.",
    "Insurance ID {PLAN}; subscriber # {PLAN}.",
    "SS#: {SSN}",
    "Acct #: {ACCOUNT}   Encounter #: {ACCOUNT2}",
    "Device: pacemaker, serial # {DEVICE}.",
    "Plate: {PLATE}; VIN: {VIN}.",
    "Pt's daughter, {FIRST}, will drive pt home.",
    "Labs: WBC 11.2, Hgb 13.5, INR 2.3, LDL 130. GCS 15. Stage 3 CKD. BMI 31.2.",
    "NDC 0002-8215-01 dispensed; lot 4471. Room 412, bed 3.",
    "Copay $1,250.00 due; ext 4021 for billing.",
    "Gravida 2 para 1; LMP unknown. O2 sat 95% on 2L.",
    "Follow up with cardiology in 3 weeks; return precautions given at 1400.",
    "Portal: {URL}   Email: {EMAIL}",
    "Pharmacy fax {FAX_ALT}.",
    "DOB {DOB_ALT}; {AGE_ALT}.",
    "Referred to {HOSPITAL} by {NAME}, {CRED}.",
]
DEV_CALLS = [
    "Customer: um yeah hi uh this is {NAME_LOWER} and i'm calling about my uh bill",
    "Customer: yeah my last name is {SPELLED_LAST}",
    "Customer: it's uh {PHONE_PAIRS}",
    "Customer: area code {AREA_SPOKEN} and then {LOCAL_SPOKEN}",
    "Customer: my date of birth is {DOB_NUMERIC_SPOKEN}",
    "Customer: sure it's {PHONE_SPACED}",
    "Customer: the member id is {PLAN_LETTERS_SPOKEN}",
    "Customer: my zip is {ZIP_SPOKEN}",
    "Customer: yes my email address is {EMAIL_SPOKEN}",
    "Customer: ok my social is {SSN_HYPHEN_WORDS}",
    "Customer: i was born in {YEAR_SPOKEN} so i'm like sixty",
    "Customer: {NAME_LOWER} speaking",
    "Customer: my mom is {AGE90_SPOKEN} and she lives with me",
    "Customer: i live at {ADDRESS_SPOKEN} apartment {UNIT_SPOKEN}",
]
DEV_TRAPS = [
    "Customer: i take like two of them a day",
    "Customer: it's been three or four days",
    "Customer: the copay was twenty five dollars",
    "Customer: press one for english",
    "Customer: my blood sugar was one forty this morning",
    "Customer: i'm on the fifth floor",
    "Customer: give me a second",
    "Customer: will that be covered",
    "Customer: may i ask why",
]


def _dev_slots(g: _Gen) -> dict[str, Slot]:
    r, f = g.rng, g.fake
    E = Entity
    base = _slots(g)

    def dob_alt() -> tuple[str, Entity | None, bool]:
        d = f.date_between(start_date="-90y", end_date="-1y")
        fmt = r.choice(
            ["%d-%b-%Y", "%Y/%m/%d", "%B %-d{s}, %Y", "%-d{s} %B %Y", "%m.%d.%Y", "%b %d %Y", "%m-%d-%Y"]
        )
        suffix = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}.get(d.day, "th")
        return d.strftime(fmt.replace("{s}", suffix)), E.DATE, False

    def phone_alt() -> tuple[str, Entity | None, bool]:
        d = vals.phone_digits(r)
        return (
            r.choice(
                [
                    f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}",
                    f"{d[:3]}-{d[3:6]}-{d[6:]} ext. {r.randrange(10, 999)}",
                    d,
                    f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
                    f"({d[:3]}){d[3:6]}-{d[6:]}",
                ]
            ),
            E.PHONE,
            False,
        )

    def age_alt() -> tuple[str, Entity | None, bool]:
        a = g.age90()
        return r.choice([f"{a} y/o", f"{a}yo", f"{a} yr old", f"{a} years of age", f"{a}-yo"]), E.AGE, False

    def name_caps() -> tuple[str, Entity | None, bool]:
        return g.name().upper(), E.PERSON, False

    def name_inv() -> tuple[str, Entity | None, bool]:
        return f"{f.last_name()}, {f.first_name()}", E.PERSON, False

    def name_mi() -> tuple[str, Entity | None, bool]:
        return f"{f.first_name()} {r.choice(string.ascii_uppercase)}. {f.last_name()}", E.PERSON, False

    def spelled_last() -> tuple[str, Entity | None, bool]:
        last = f.last_name().lower()
        return f"{last} {' '.join(last)}", E.PERSON, True

    def phone_pairs() -> tuple[str, Entity | None, bool]:
        d = vals.phone_digits(r)
        area = (
            f"{sp.UNITS[int(d[0])]} {sp.two_digit(int(d[1:3]))}" if d[1] != "0" else sp.digits_words(d[:3], r)
        )
        line = " ".join(
            sp.two_digit(int(d[i : i + 2])) if d[i] != "0" else sp.digits_words(d[i : i + 2], r)
            for i in (6, 8)
        )
        return f"{area} {sp.digits_words(d[3:6], r)} {line}", E.PHONE, True

    def phone_spaced() -> tuple[str, Entity | None, bool]:
        d = vals.phone_digits(r)
        return " ".join(d), E.PHONE, True

    def dob_numeric_spoken() -> tuple[str, Entity | None, bool]:
        d = f.date_between(start_date="-90y", end_date="-1y")
        month = sp.digits_words(f"{d.month:02d}", r) if r.random() < 0.5 else sp.two_digit(d.month)
        return f"{month} {sp.two_digit(d.day)} {sp.year_words(d.year, r)}", E.DATE, True

    def plan_letters_spoken() -> tuple[str, Entity | None, bool]:
        letters = " ".join(r.choices("bcdfghjkmnpqrstvwxz", k=2))
        return (
            f"{letters} {sp.digits_words(''.join(r.choices(string.digits, k=9)), r)}",
            E.HEALTH_PLAN_ID,
            True,
        )

    def ssn_hyphen_words() -> tuple[str, Entity | None, bool]:
        s = vals.ssn(f, r).replace("-", "")
        return "-".join(sp.UNITS[int(c)] for c in s), E.SSN, True

    def year_spoken() -> tuple[str, Entity | None, bool]:
        return sp.year_words(r.randrange(1940, 1990), r), None, False

    def area() -> tuple[str, Entity | None, bool]:
        return sp.digits_words(vals.phone_digits(r)[:3], r), E.PHONE, True

    def local() -> tuple[str, Entity | None, bool]:
        return sp.digits_words(vals.phone_digits(r)[3:], r, groups=[3, 4]), E.PHONE, True

    def unit() -> tuple[str, Entity | None, bool]:
        return sp.digits_words(str(r.randrange(1, 40)), r), None, False

    return {
        **base,
        "DOB_ALT": dob_alt,
        "DATE_ALT": dob_alt,
        "PHONE_ALT": phone_alt,
        "FAX_ALT": lambda: (phone_alt()[0], E.FAX, False),
        "AGE_ALT": age_alt,
        "NAME_CAPS": name_caps,
        "NAME_INV": name_inv,
        "NAME_MI": name_mi,
        "CRED": lambda: (r.choice(["MD", "RN", "NP", "PA-C", "DO"]), None, False),
        "ACCOUNT2": lambda: ("".join(r.choices(string.digits, k=7)), E.ID_NUMBER, False),
        "SPELLED_LAST": spelled_last,
        "PHONE_PAIRS": phone_pairs,
        "PHONE_SPACED": phone_spaced,
        "DOB_NUMERIC_SPOKEN": dob_numeric_spoken,
        "PLAN_LETTERS_SPOKEN": plan_letters_spoken,
        "SSN_HYPHEN_WORDS": ssn_hyphen_words,
        "YEAR_SPOKEN": year_spoken,
        "AREA_SPOKEN": area,
        "LOCAL_SPOKEN": local,
        "UNIT_SPOKEN": unit,
    }


def _three_turn_split(g: _Gen) -> Sample:
    r = g.rng
    d = vals.phone_digits(r)
    chunks = [d[:3], d[3:6], d[6:]]
    said = [sp.digits_words(c, r) for c in chunks] if r.random() < 0.5 else chunks
    turns = [f"my phone number is {said[0]}", said[1], said[2]]
    spans = [
        [(len(turns[0]) - len(said[0]), len(turns[0]), Entity.PHONE)],
        [(0, len(said[1]), Entity.PHONE)],
        [(0, len(said[2]), Entity.PHONE)],
    ]
    spoken = spans if said is not chunks else [[], [], []]
    return Sample("dev-multiturn", turns, ["user"] * 3, spans, spoken)


def generate_dev_corpus(
    seed: int = 101, *, n_notes: int = 150, n_calls: int = 150, n_multiturn: int = 20
) -> list[Sample]:
    g = _Gen(seed)
    out: list[Sample] = []
    for _ in range(n_notes):
        b = _Builder()
        slots = _dev_slots(g)
        for k, template in enumerate(g.rng.sample(DEV_NOTES, 3)):
            if k:
                b.text("\n")
            _fill(g, b, template, slots)
        out.append(Sample("dev-notes", [b.build()], ["user"], [b.spans], [b.spoken]))
    for _ in range(n_calls):
        b = _Builder()
        _fill(g, b, g.rng.choice(DEV_CALLS), _dev_slots(g))
        if g.rng.random() < 0.5:
            b.text(" " + g.rng.choice(DEV_TRAPS).removeprefix("Customer: "))
        out.append(Sample("dev-calls", [b.build()], ["user"], [b.spans], [b.spoken]))
    out += [_three_turn_split(g) for _ in range(n_multiturn)]
    random.Random(seed).shuffle(out)
    return out
