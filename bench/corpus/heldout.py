"""Held-out split for the issue-20 miss classes: written with its own templates, its own Faker
locales and its own value shapes, and never run while the recognizers were tuned (``classes`` is the
tuning split). Its figures are the ones that say whether a fix generalises.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from faker import Faker

from masker.detect.types import Entity

from .generate import Sample, _Builder

E = Entity
Piece = tuple[str, Entity | None]

LOCALES = [
    "nl_NL",
    "pl_PL",
    "it_IT",
    "pt_PT",
    "da_DK",
    "fi_FI",
    "cs_CZ",
    "ru_RU",
    "tr_TR",
    "en_IN",
    "en_CA",
    "en_AU",
]
TRAPS = [
    "Occupational Therapy consulted for Activities of Daily Living.",
    "Medication Reconciliation completed by Pharmacy.",
    "Advance Directive reviewed; Full Code.",
    "Social Work to assist with Transportation.",
    "Discharge Planning started. Home Health ordered.",
    "Printed Summary.pdf for the chart.",
    "Patient Portal password reset requested.",
    "Vital Signs stable; Pain Score 3.",
    "Identity Theft Protection brochure given.",
    "Professional Interpreter Services used.",
]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakes = [Faker(loc) for loc in LOCALES]
        for i, fake in enumerate(self.fakes):
            fake.seed_instance(seed * 31 + i)
        self.us = Faker("en_US")
        self.us.seed_instance(seed * 7)

    def loc(self) -> Faker:
        return self.rng.choice(self.fakes)


def _note_pieces(g: _Gen) -> list[Callable[[], list[Piece]]]:
    r, us = g.rng, g.us

    def letter() -> list[Piece]:
        f = us
        return [
            (f"{f.first_name()} {r.choice(string.ascii_uppercase)}. {f.last_name()}", E.PERSON),
            ("\n", None),
            (f.street_address(), E.ADDRESS),
            ("\n", None),
            (f.city(), E.LOCATION),
            (", ", None),
            (f.state_abbr(), None),
            (" ", None),
            (f.zipcode(), E.ZIP),
            ("\n", None),
        ]

    def foreign_visitor() -> list[Piece]:
        f = g.loc()
        return [
            ("Visitor ", None),
            (f"{f.first_name()} {f.last_name()}", E.PERSON),
            (" signed the log.", None),
        ]

    def subject() -> list[Piece]:
        return [
            (g.loc().first_name(), E.PERSON),
            (r.choice([" says", " reported", " denies"]), None),
            (" dizziness since Tuesday.", None),
        ]

    def abroad() -> list[Piece]:
        f = g.loc()
        return [
            ("Lives abroad at ", None),
            (f"{f.street_name()} {f.building_number()}", E.ADDRESS),
            (", ", None),
            (f.postcode(), E.ZIP),
            (" ", None),
            (f.city(), E.LOCATION),
            ("; phone ", None),
            (f.phone_number(), E.PHONE),
            (".", None),
        ]

    def letterhead() -> list[Piece]:
        return [
            (f"{us.last_name()} {r.choice(['Clinic', 'Medical Center', 'Pediatrics'])}", E.ORGANIZATION),
            (r.choice([" \u2013 ", " | ", ", "]), None),
            (us.city(), E.LOCATION),
            ("\n", None),
        ]

    def glued() -> list[Piece]:
        label = r.choice(["MRN", "Acct#", "MRN#"])
        entity = E.MRN if label.startswith("MRN") else E.ACCOUNT_NUMBER
        return [
            (f"Chart {label}", None),
            ("".join(r.choices(string.digits, k=r.randrange(7, 10))), entity),
            (" reviewed.", None),
        ]

    def slash_id() -> list[Piece]:
        value = f"{r.randrange(10, 99)}/{r.randrange(1000, 9999)}/{r.choice(string.ascii_uppercase)}"
        return [
            (r.choice(["Case number ", "Verified with ", "Reference "]), None),
            (value, E.ID_NUMBER),
            (".", None),
        ]

    def biometric() -> list[Piece]:
        value = f"{r.choice(['VP', 'IRS', 'FT'])}{r.randrange(100000, 999999)}"
        return [
            (r.choice(["Voiceprint id ", "Iris template ", "Biometric template id "]), None),
            (value, E.ID_NUMBER),
            (" stored.", None),
        ]

    def file_name() -> list[Piece]:
        f, lname = us.first_name(), us.last_name()
        name = r.choice([f"{f}-{lname}", f"{lname}{f}", f"{f.lower()}.{lname.lower()}"])
        return [
            ("Uploaded ", None),
            (name, E.PERSON),
            (f"-{r.choice(['echo', 'referral', 'ekg'])}.pdf", None),
        ]

    def email() -> list[Piece]:
        u = f"{us.first_name().lower()}.{us.last_name().lower()}"
        value = r.choice(
            [
                f"{u} (at) {r.choice(['gmail', 'hotmail'])} (dot) com",
                f"{u} @ protonmail.com",
                f"{u}{{at}}icloud{{dot}}com",
            ]
        )
        return [("Personal e-mail ", None), (value, E.EMAIL), (".", None)]

    def secret() -> list[Piece]:
        key = r.choice(["sendgridApiKey", "db_password", "OAUTH_CLIENT_SECRET", "authToken", "passwd"])
        value = "".join(r.choices(string.ascii_letters + string.digits + "_-", k=r.randrange(10, 40)))
        sep = r.choice([": ", "=", " = "])
        quote = r.choice(['"', "'", ""])
        return [(f"{key}{sep}{quote}", None), (value, E.SECRET), (quote, None)]

    def card() -> list[Piece]:
        return [
            ("Security code ", None),
            (str(r.randrange(100, 9999)), E.CREDIT_CARD),
            (", valid thru ", None),
            (f"{r.randrange(1, 13):02d}/{r.randrange(2026, 2033)}", E.CREDIT_CARD),
            (".", None),
        ]

    def glued_phone() -> list[Piece]:
        return [("Office ", None), (us.numerify("(###) 555-####"), E.PHONE), ("-Main line.", None)]

    def nickname() -> list[Piece]:
        return [
            ('Goes by "', None),
            (r.choice(["Skip", "Junie", "Cookie", "Bubba", "Mimi"]), E.PERSON),
            ('" on the unit.', None),
        ]

    return [
        letter,
        foreign_visitor,
        subject,
        abroad,
        letterhead,
        glued,
        slash_id,
        biometric,
        file_name,
        email,
        secret,
        card,
        glued_phone,
        nickname,
    ]


def _call_pieces(g: _Gen) -> list[Callable[[], list[Piece]]]:
    r, us = g.rng, g.us

    def its() -> list[Piece]:
        return [
            (r.choice(["uh its ", "yes it's ", "hi its "]), None),
            (f"{us.first_name().lower()} {us.last_name().lower()}", E.PERSON),
        ]

    def names() -> list[Piece]:
        return [("the name's ", None), (us.last_name().lower(), E.PERSON), (" with two ls", None)]

    def first() -> list[Piece]:
        return [
            ("ok first name ", None),
            (us.first_name().lower(), E.PERSON),
            (" and the last is ", None),
            (us.last_name().lower(), E.PERSON),
        ]

    def relative() -> list[Piece]:
        return [
            (r.choice(["my son ", "my wife ", "my mom "]), None),
            (us.first_name().lower(), E.PERSON),
            (r.choice([" wants a callback", " missed her dose", " is at the pharmacy"]), None),
        ]

    return [its, names, first, relative]


def _build(pieces: list[Piece]) -> _Builder:
    b = _Builder()
    for text, entity in pieces:
        if entity is None:
            b.text(text)
        else:
            b.value(text, entity)
    return b


def generate_heldout_corpus(seed: int = 2020, *, n_notes: int = 200, n_calls: int = 120) -> list[Sample]:
    g = _Gen(seed)
    out: list[Sample] = []
    notes = _note_pieces(g)
    for _ in range(n_notes):
        pieces: list[Piece] = []
        for k, make in enumerate(g.rng.sample(notes, 3)):
            pieces += ([(" ", None)] if k else []) + make()
        pieces.append((" " + g.rng.choice(TRAPS), None))
        b = _build(pieces)
        out.append(Sample("heldout-notes", [b.build()], ["user"], [b.spans], [b.spoken]))
    calls = _call_pieces(g)
    for _ in range(n_calls):
        b = _build(g.rng.choice(calls)())
        out.append(Sample("heldout-calls", [b.build()], ["user"], [b.spans], [b.spoken]))
    random.Random(seed).shuffle(out)
    return out
