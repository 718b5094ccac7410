"""Seeded generator of labelled samples: clinical notes, call-centre dialogue, ASR transcripts with
spoken-form identifiers, multi-turn conversations with numbers split across user turns.

Every identifier is inserted through ``_Builder`` so its gold span is exact by construction. Precision
traps (dosages, vitals, lab values, codes, times, years, name-like words) are mixed in as unlabelled
text, so false positives on them count against precision.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

from masker.detect.types import Entity

from . import spoken as sp
from . import values as vals

Span = tuple[int, int, Entity]


@dataclass
class Sample:
    category: str  # clinical | dialogue | spoken | multiturn
    turns: list[str]
    roles: list[str]
    spans: list[list[Span]]  # gold, per turn
    spoken_spans: list[list[Span]] = field(default_factory=list)  # subset of gold said as words


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.spoken: list[Span] = []
        self.pos = 0

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def value(self, s: str, entity: Entity | None, *, spoken: bool = False) -> None:
        if entity is not None:
            span = (self.pos, self.pos + len(s), entity)
            self.spans.append(span)
            if spoken:
                self.spoken.append(span)
        self.text(s)

    def build(self) -> str:
        return "".join(self.parts)


TRAPS = [
    "Take metformin 500 mg twice daily.",
    "Continue lisinopril 10 mg PO qd.",
    "BP 120/80, HR 72.",
    "A1c 7.2%.",
    "Potassium 4.1, sodium 139.",
    "Temp 98.6 F, SpO2 97% on room air.",
    "Dx E11.9 and I10.",
    "CPT 99213 billed.",
    "Follow up at 3:30 pm.",
    "In 2019 she had a CABG.",
    "Will follow up as needed.",
    "May continue current regimen.",
    "Hope to taper prednisone.",
    "Grace period for the copay applies.",
    "Atorvastatin 40 mg at bedtime.",
    "Weight 82 kg.",
    "Pain 6/10, improved with ibuprofen 400 mg.",
    "Ordered CBC, BMP and TSH.",
    "RR 16, BP 135/85.",
    "Insulin glargine 20 units at night.",
    "Seen in clinic 2 weeks ago.",
    "Mark the calendar.",
    "Colonoscopy in 2021 was normal.",
    "Troponin negative x2.",
    "eGFR 58, creatinine 1.2 mg/dL.",
    "She walks 2 miles a day.",
    "He is 67 years old.",
    "Amoxicillin 875 mg BID for 10 days.",
]
SPOKEN_TRAPS = [
    "i take two tablets twice a day",
    "it started about five or six months ago",
    "my pain is like a seven out of ten",
    "i was diagnosed in nineteen ninety eight",
    "the doctor said to take one in the morning",
    "i have three kids and two dogs",
    "will you call me back",
    "may i ask a question",
    "i hope so",
    "i'm doing fine thanks",
    "it's been about two weeks",
    "i'm sixty seven",
    "the pharmacy closes at nine",
]
HOSPITAL_FORMS = [
    "{city} General Hospital",
    "St. {last} Medical Center",
    "{last} Family Clinic",
    "{city} Regional Medical Center",
    "{last} Pediatrics",
    "{city} Community Health Center",
]
PAYERS = ["Aetna", "Cigna", "Humana", "UnitedHealthcare", "Blue Cross Blue Shield", "Medicare Advantage"]
SUFFIXES = ["street", "avenue", "road", "drive", "lane", "court", "boulevard", "way", "place"]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    # -- values --------------------------------------------------------------------------
    def name(self) -> str:
        return f"{self.fake.first_name()} {self.fake.last_name()}"

    def date(self) -> str:
        d = self.fake.date_between(start_date="-90y", end_date="today")
        style = self.rng.randrange(6)
        if style == 0:
            return d.strftime("%m/%d/%Y")
        if style == 1:
            return d.strftime("%Y-%m-%d")
        if style == 2:
            return d.strftime("%B %-d, %Y")
        if style == 3:
            return d.strftime("%-d %B %Y")
        if style == 4:
            return d.strftime("%-m/%-d/%y")
        return d.strftime("%b %-d")

    def address(self) -> str:
        return str(self.fake.street_address())

    def hospital(self) -> str:
        return self.rng.choice(HOSPITAL_FORMS).format(city=self.fake.city(), last=self.fake.last_name())

    def email(self) -> str:
        if self.rng.random() < 0.3:
            local = "".join(self.rng.choices(string.ascii_lowercase, k=8))
            return f"{local}@{self.rng.choice(['example.com', 'example.org', 'mail.test', 'care.example'])}"
        return str(self.fake.email())

    def age90(self) -> int:
        return self.rng.randrange(90, 106)


def _fill(
    g: _Gen, b: _Builder, template: str, slots: dict[str, Callable[[], tuple[str, Entity | None, bool]]]
) -> None:
    for piece in re.split(r"(\{[A-Z_0-9]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            surface, entity, spoken = slots[piece[1:-1]]()
            b.value(surface, entity, spoken=spoken)
        else:
            b.text(piece)


def _slots(g: _Gen) -> dict[str, Callable[[], tuple[str, Entity | None, bool]]]:
    r, f = g.rng, g.fake
    E = Entity

    def v(
        fn: Callable[[], object], e: Entity | None, spoken: bool = False
    ) -> Callable[[], tuple[str, Entity | None, bool]]:
        return lambda: (str(fn()), e, spoken)

    def spoken_digits(
        fn: Callable[[], str], e: Entity, groups: list[int] | None = None
    ) -> Callable[[], tuple[str, Entity | None, bool]]:
        def make() -> tuple[str, Entity | None, bool]:
            digits = re.sub(r"\D", "", fn())
            gs = groups if groups and sum(groups) == len(digits) and r.random() < 0.6 else None
            if gs and r.random() < 0.3:
                return sp.mixed_digits(digits, r, gs), e, True
            return sp.digits_words(digits, r, groups=gs), e, True

        return make

    def spoken_date() -> tuple[str, Entity | None, bool]:
        d = f.date_between(start_date="-90y", end_date="today")
        return sp.spoken_date(d.year, d.month, d.day, r), E.DATE, True

    def spoken_email() -> tuple[str, Entity | None, bool]:
        first, last = f.first_name().lower(), f.last_name().lower()
        local = r.choice(
            [f"{first} dot {last}", f"{first}{last}", f"{first} underscore {last}", f"{first[0]} {last}"]
        )
        if local == f"{first[0]} {last}":
            local = f"{first[0]} dot {last}"
        domain = r.choice(
            ["gmail dot com", "yahoo dot com", "example dot com", "outlook dot com", "example dot org"]
        )
        return f"{local} at {domain}", E.EMAIL, True

    def spoken_plan() -> tuple[str, Entity | None, bool]:
        letters = " ".join(r.choices("bcdfghjkmnpqrstvwxz", k=3))
        digits = "".join(r.choices(string.digits, k=r.choice([6, 8])))
        return f"{letters} {sp.digits_words(digits, r)}", E.HEALTH_PLAN_ID, True

    def spoken_address() -> tuple[str, Entity | None, bool]:
        number = r.randrange(10, 9999)
        said = (
            sp.digits_words(str(number), r)
            if r.random() < 0.5
            else (
                f"{sp.UNITS[number // 100 % 10]} {sp.two_digit(number % 100)}"
                if 100 <= number < 1000
                else sp.digits_words(str(number), r)
            )
        )
        street = f.last_name().lower()
        return f"{said} {street} {r.choice(SUFFIXES)}", E.ADDRESS, True

    def spoken_age() -> tuple[str, Entity | None, bool]:
        age = g.age90()
        said = (
            sp.two_digit(age)
            if age < 100
            else "one hundred" + (f" {sp.two_digit(age - 100)}" if age > 100 else "")
        )
        return said, E.AGE, True

    def lower_name() -> tuple[str, Entity | None, bool]:
        return g.name().lower(), E.PERSON, True

    return {
        "NAME": v(g.name, E.PERSON),
        "FIRST": v(f.first_name, E.PERSON),
        "LAST": v(f.last_name, E.PERSON),
        "DATE": v(g.date, E.DATE),
        "DOB": v(g.date, E.DATE),
        "PHONE": v(lambda: vals.phone(f, r), E.PHONE),
        "FAX": v(lambda: vals.phone(f, r), E.FAX),
        "EMAIL": v(g.email, E.EMAIL),
        "SSN": v(lambda: vals.ssn(f, r), E.SSN),
        "MRN": v(lambda: vals.mrn(r), E.MRN),
        "PLAN": v(lambda: vals.plan_id(r), E.HEALTH_PLAN_ID),
        "MBI": v(lambda: vals.mbi(r), E.HEALTH_PLAN_ID),
        "GROUP": v(lambda: "".join(r.choices(string.digits, k=6)), E.HEALTH_PLAN_ID),
        "ACCOUNT": v(lambda: vals.account(r), E.ACCOUNT_NUMBER),
        "BANK": v(lambda: vals.account(r), E.BANK_ACCOUNT),
        "ROUTING": v(f.aba, E.ROUTING_NUMBER),
        "IBAN": v(f.iban, E.IBAN),
        "CARD": v(lambda: vals.card(f, r), E.CREDIT_CARD),
        "NPI": v(lambda: vals.npi(r), E.LICENSE_NUMBER),
        "DEA": v(lambda: vals.dea(r, f.last_name()), E.LICENSE_NUMBER),
        "LICENSE": v(lambda: vals.license_number(r), E.LICENSE_NUMBER),
        "DL": v(lambda: vals.driver_license(r), E.DRIVER_LICENSE),
        "PASSPORT": v(f.passport_number, E.PASSPORT),
        "VIN": v(lambda: vals.vin(r), E.VEHICLE_ID),
        "PLATE": v(f.license_plate, E.VEHICLE_ID),
        "DEVICE": v(lambda: vals.device_serial(r), E.DEVICE_ID),
        "MAC": v(f.mac_address, E.DEVICE_ID),
        "URL": v(f.url, E.URL),
        "IP": v(f.ipv4, E.IP_ADDRESS),
        "IP6": v(f.ipv6, E.IP_ADDRESS),
        "CLAIM": v(lambda: vals.claim(r), E.ID_NUMBER),
        "SECRET": v(lambda: vals.secret(r), E.SECRET),
        "ADDRESS": v(g.address, E.ADDRESS),
        "CITY": v(f.city, E.LOCATION),
        "ZIP": v(f.zipcode, E.ZIP),
        "STATE": v(f.state_abbr, None),
        "STATE_FULL": v(f.state, None),
        "AGE90": v(g.age90, E.AGE),
        "AGE_OK": v(lambda: r.randrange(18, 89), None),
        "SEX": v(lambda: r.choice(["male", "female", "man", "woman"]), None),
        "HOSPITAL": v(g.hospital, E.ORGANIZATION),
        "PAYER": v(lambda: r.choice(PAYERS), None),
        "COMPANY": v(f.company, E.ORGANIZATION),
        "PHONE_SPOKEN": spoken_digits(lambda: vals.phone_digits(r), E.PHONE, [3, 3, 4]),
        "SSN_SPOKEN": spoken_digits(lambda: vals.ssn(f, r), E.SSN, [3, 2, 4]),
        "MRN_SPOKEN": spoken_digits(lambda: "".join(r.choices(string.digits, k=8)), E.MRN),
        "CARD_SPOKEN": spoken_digits(lambda: vals.card(f, r), E.CREDIT_CARD, [4, 4, 4, 4]),
        "ZIP_SPOKEN": spoken_digits(f.zipcode, E.ZIP),
        "ACCOUNT_SPOKEN": spoken_digits(lambda: vals.account(r), E.ACCOUNT_NUMBER),
        "DATE_SPOKEN": spoken_date,
        "EMAIL_SPOKEN": spoken_email,
        "PLAN_SPOKEN": spoken_plan,
        "ADDRESS_SPOKEN": spoken_address,
        "AGE90_SPOKEN": spoken_age,
        "NAME_LOWER": lower_name,
    }


CLINICAL = [
    "Patient {NAME} (MRN {MRN}) is a {AGE_OK}-year-old {SEX} seen on {DATE} for follow-up of diabetes.",
    "{NAME}, DOB {DOB}, was admitted to {HOSPITAL} on {DATE} and discharged on {DATE}.",
    "Pt is a {AGE90}-year-old {SEX} residing at {ADDRESS}, {CITY}, {STATE} {ZIP}.",
    "Daughter {NAME} can be reached at {PHONE}.",
    "Referred by Dr. {LAST} (NPI {NPI}, DEA {DEA}). Fax records to {FAX}.",
    "Insurance: {PAYER}, member ID {PLAN}, group number {GROUP}.",
    "Claim number {CLAIM} is pending review.",
    "Pacemaker serial number {DEVICE}; interrogation on {DATE} was normal.",
    "Patient portal account {EMAIL}; last login from {IP}.",
    "Education material at {URL} was reviewed with the patient.",
    "Medicare number {MBI}. SSN {SSN}.",
    "MVA: patient's car VIN {VIN}, license plate {PLATE}.",
    "Driver's license {DL} and passport number {PASSPORT} scanned into the chart.",
    "Refund to bank account {BANK}, routing number {ROUTING}.",
    "Card on file {CARD}.",
    "International reimbursement to IBAN {IBAN}.",
    "Seen with Dr. {NAME} at {HOSPITAL}.",
    "Lives alone in {CITY}, {STATE_FULL}; son {NAME} visits weekly.",
    "Age {AGE90}, history of CHF.",
    "Medical license number {LICENSE} verified.",
    "Insulin pump MAC {MAC} paired.",
    "Works as an accountant at {COMPANY}.",
    "Billing account number {ACCOUNT}.",
    "Admission date {DATE}.",
]
DIALOGUE = [
    "Agent: Thank you for calling, how can I help? Caller: Hi, this is {NAME}, I'm calling about my bill.",
    "Caller: My date of birth is {DOB} and my member ID is {PLAN}.",
    "Caller: You can reach me at {PHONE} or email {EMAIL}.",
    "Caller: My account number is {ACCOUNT}.",
    "Caller: My mother {NAME} is {AGE90} years old and lives at {ADDRESS}.",
    "Caller: The claim number is {CLAIM} and my SSN is {SSN}.",
    "Caller: here's the api key {SECRET}, can you check the integration?",
    "Caller: I moved to {CITY} last year; the new zip code is {ZIP}.",
    "Caller: my card number is {CARD}, it expires next year.",
    "Agent: Can I have your medical record number? Caller: Sure, it's {MRN}.",
    "Caller: I saw Dr. {LAST} on {DATE} at {HOSPITAL}.",
    "Caller: Please fax it to {FAX}, attention {NAME}.",
    "Caller: the token is {SECRET}",
    "Caller: my social security number is {SSN}.",
    "Caller: My name is {NAME} and my policy number is {PLAN}.",
    "Caller: my driver's license number is {DL}.",
    "Caller: my routing number is {ROUTING} and the checking account is {BANK}.",
]
SPOKEN = [
    "hi my name is {NAME_LOWER} and i need to refill my prescription",
    "my phone number is {PHONE_SPOKEN}",
    "you can call me back at {PHONE_SPOKEN} after five",
    "my date of birth is {DATE_SPOKEN}",
    "i was born {DATE_SPOKEN}",
    "my email is {EMAIL_SPOKEN}",
    "my social is {SSN_SPOKEN}",
    "my social security number is {SSN_SPOKEN}",
    "my member id is {PLAN_SPOKEN}",
    "the mrn is {MRN_SPOKEN}",
    "i live at {ADDRESS_SPOKEN}",
    "she is {AGE90_SPOKEN} years old",
    "my card number is {CARD_SPOKEN}",
    "this is {NAME_LOWER} calling about my appointment",
    "my zip code is {ZIP_SPOKEN}",
    "my account number is {ACCOUNT_SPOKEN}",
    "my appointment was on {DATE_SPOKEN}",
]
SPLITS = [
    ("my phone number is {A}", "{B}", Entity.PHONE, [3, 3, 4], 1),
    ("my ssn is {A}", "{B}", Entity.SSN, [3, 2, 4], 2),
    ("the card number is {A}", "{B}", Entity.CREDIT_CARD, [4, 4, 4, 4], 2),
]


def _clinical(g: _Gen) -> Sample:
    b = _Builder()
    slots = _slots(g)
    for k, template in enumerate(g.rng.sample(CLINICAL, g.rng.randrange(2, 4))):
        if k:
            b.text(" ")
        _fill(g, b, template, slots)
        if g.rng.random() < 0.7:
            b.text(" " + g.rng.choice(TRAPS))
    return Sample("clinical", [b.build()], ["user"], [b.spans], [b.spoken])


def _dialogue(g: _Gen) -> Sample:
    b = _Builder()
    _fill(g, b, g.rng.choice(DIALOGUE), _slots(g))
    if g.rng.random() < 0.4:
        b.text(
            " Agent: " + g.rng.choice(["Thanks, one moment.", "Will do.", "Got it, May I place you on hold?"])
        )
    return Sample("dialogue", [b.build()], ["user"], [b.spans], [b.spoken])


def _spoken(g: _Gen) -> Sample:
    b = _Builder()
    _fill(g, b, g.rng.choice(SPOKEN), _slots(g))
    if g.rng.random() < 0.5:
        b.text(" " + g.rng.choice(SPOKEN_TRAPS))
    return Sample("spoken", [b.build()], ["user"], [b.spans], [b.spoken])


def _multiturn(g: _Gen) -> Sample:
    r = g.rng
    left_t, right_t, entity, groups, cut = r.choice(SPLITS)
    if entity is Entity.PHONE:
        digits = vals.phone_digits(r)
    elif entity is Entity.SSN:
        digits = re.sub(r"\D", "", vals.ssn(g.fake, r))
    else:
        digits = re.sub(r"\D", "", str(g.fake.credit_card_number(card_type="visa16")))
    parts, pos = [], 0
    for size in groups:
        parts.append(digits[pos : pos + size])
        pos += size
    say = r.random() < 0.5
    sep = "-" if entity is Entity.SSN and not say else " "
    render = (lambda ps: ", ".join(sp.digits_words(p, r) for p in ps)) if say else (lambda ps: sep.join(ps))
    a_val, b_val = render(parts[:cut]), render(parts[cut:])
    turns, spans, spoken = [], [], []
    for template, value in ((left_t, a_val), (right_t, b_val)):
        b = _Builder()
        _fill(g, b, template, {"A": lambda v=value: (v, entity, say), "B": lambda v=value: (v, entity, say)})
        turns.append(b.build())
        spans.append(b.spans)
        spoken.append(b.spoken)
    return Sample("multiturn", turns, ["user", "user"], spans, spoken)


def generate_corpus(
    seed: int = 7, *, n_clinical: int = 250, n_dialogue: int = 200, n_spoken: int = 250, n_multiturn: int = 40
) -> list[Sample]:
    g = _Gen(seed)
    out: list[Sample] = []
    out += [_clinical(g) for _ in range(n_clinical)]
    out += [_dialogue(g) for _ in range(n_dialogue)]
    out += [_spoken(g) for _ in range(n_spoken)]
    out += [_multiturn(g) for _ in range(n_multiturn)]
    return out
