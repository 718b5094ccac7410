"""Precision traps of clinical notes and name-recall classes, as a labelled corpus in two halves.

Over-redaction classes (text that is not PHI and must stay): medical eponyms (a surname before a
disease / sign / scale / device word, or in the possessive), drug and brand names, departments and
services, section headers and form words, voice phrasings ("my zip is", a name followed by its
verb). Recall classes (PHI that must be found): rare lower-case given names after a cue, names of
many cultures and scripts (family-first orders, patronymics), a first name alone as a sentence
subject, upper-case names after a field word without a colon, names with particles, hyphens,
apostrophes and initials.

Two halves with **different templates and different word lists**: ``generate_trap_corpus(split=
"tune")`` is the half the recognizers were changed against; ``split="heldout"`` has other eponyms,
other brands, other departments, other headers, other Faker locales, another syllable inventory for
invented names, and other sentence shapes. Its misses were not looked at while tuning.

Every sample's category is ``traps-<split>-<class>``, so the benchmark prints precision, recall and
the over-redaction rate (replaced spans that cover no PHI) per class.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from masker.detect.types import Entity

from .generate import Sample, _Builder

E = Entity
Piece = tuple[str, Entity | None]


@dataclass(frozen=True)
class _Half:
    eponyms: tuple[tuple[str, str], ...]  # (name, what follows it)
    eponym_frames: tuple[str, ...]  # "{E}" is the eponym phrase
    brands: tuple[str, ...]
    drug_frames: tuple[str, ...]  # "{D}" is the brand
    departments: tuple[str, ...]
    department_frames: tuple[str, ...]  # "{U}" is the department
    headers: tuple[str, ...]  # whole lines / sentences of form vocabulary
    voice_traps: tuple[str, ...]
    locales: tuple[str, ...]
    world_frames: tuple[str, ...]  # "{N}" is a full name
    syllables: tuple[tuple[str, ...], tuple[str, ...]]  # invented given names: onset + ending
    lower_frames: tuple[str, ...]  # "{n}" is a lower-case given name
    subject_frames: tuple[str, ...]  # "{F}" is a first name opening the sentence
    caps_frames: tuple[str, ...]  # "{C}" is an upper-case full name
    particles: tuple[str, ...]
    shaped_frames: tuple[str, ...]  # "{N}" is a name with a particle, hyphen, apostrophe or initials


TUNE = _Half(
    eponyms=(
        ("Parkinson", "'s disease"),
        ("Bell", "'s palsy"),
        ("Glasgow", " Coma Scale"),
        ("Foley", " catheter"),
        ("Apgar", " score"),
        ("Babinski", " sign"),
        ("Cushing", "'s syndrome"),
        ("Graves", "' disease"),
        ("Hashimoto", "'s thyroiditis"),
        ("Crohn", "'s disease"),
        ("Down", " syndrome"),
        ("Wells", " score"),
        ("Killip", " class"),
        ("Hickman", " line"),
        ("Braden", " Scale"),
        ("Mallampati", " class"),
        ("Bishop", " score"),
        ("Wilson", " disease"),
        ("Cheyne-Stokes", " respirations"),
        ("Tay-Sachs", " disease"),
        ("Jackson-Pratt", " drain"),
        ("Hoyer", " lift"),
        ("Bristol", " stool scale"),
        ("Ortolani", " maneuver"),
        ("Lyme", " disease"),
        ("Kussmaul", " respirations"),
        ("Child-Pugh", " class"),
        ("Morse", " Fall Scale"),
    ),
    eponym_frames=(
        "History of {E}, stable.",
        "{E} noted on exam.",
        "Known {E}; follow up in clinic.",
        "Assessed for {E} today.",
    ),
    brands=(
        "Rinvoq",
        "Skyrizi",
        "Biktarvy",
        "Trelegy",
        "Linzess",
        "Myrbetriq",
        "Zepbound",
        "Vraylar",
        "Rexulti",
        "Ocrevus",
        "Nurtec",
        "Dupixent",
        "Kesimpta",
        "Farxiga",
        "Jardiance",
        "Entresto",
    ),
    drug_frames=(
        "Started {D} 15 mg daily.",
        "Continue {D} as prescribed.",
        "{D} 2.5 mg weekly injection.",
        "Discussed {D} and side effects.",
    ),
    departments=(
        "Internal Medicine",
        "Palliative Care",
        "Case Management",
        "Respiratory Therapy",
        "Nutrition Services",
        "Labor and Delivery",
        "Wound Care",
        "Cath Lab",
        "Interventional Radiology",
        "Physical Therapy",
        "Occupational Therapy",
        "Social Work",
        "Surgical ICU",
        "Emergency Department",
    ),
    department_frames=(
        "Consult {U} today.",
        "Admitted to {U}.",
        "{U} evaluated the patient.",
        "Seen by {U} this morning.",
    ),
    headers=(
        "Copy of the Identity card and Professional license attached.",
        "PLAN: continue current regimen.",
        "ASSESSMENT: stable.",
        "HISTORY OF PRESENT ILLNESS: cough for 3 days.",
        "Copy to Primary Care.",
        "Advance Care Planning discussed.",
        "Heparin Drip per Protocol.",
        "Printed Copy given.",
        "Reason For Visit: Annual Wellness Visit.",
        "PHYSICAL EXAM: unremarkable.",
    ),
    voice_traps=(
        "my zip is on the form",
        "yeah my zip is the same",
        "my daughter needs a refill",
        "i talked to the pharmacy",
        "my mom is coming with me",
        "ok so my son wants to know",
    ),
    locales=(
        "hu_HU",
        "el_GR",
        "ru_RU",
        "sv_SE",
        "no_NO",
        "is_IS",
        "fr_FR",
        "de_DE",
        "pl_PL",
        "ga_IE",
        "es_ES",
    ),
    world_frames=("{N} attended the session.", "Results were sent to {N} yesterday.", "Seen with {N} today."),
    syllables=(
        ("bryn", "kay", "jax", "zay", "ry", "mac", "ad", "ken", "pay", "lor"),
        ("lee", "den", "ton", "lyn", "ri", "kenzie", "dyn", "sley", "ten", "ette"),
    ),
    lower_frames=(
        "talked to {n} yesterday",
        "my mom {n} is coming too",
        "my daughter {n} needs a refill",
        "yes my wife {n} will pick it up",
    ),
    subject_frames=("{F} called about the refill.", "Labs normal. {F} denies chest pain."),
    caps_frames=("PATIENT {C}", "PATIENT {C} MRN on file"),
    particles=("van der", "de la", "bin", "al-", "von", "O'"),
    shaped_frames=("Referred by {N}.", "{N} signed the consent.", "Spoke with {N} by phone."),
)

HELDOUT = _Half(
    eponyms=(
        ("Ménière", "'s disease"),
        ("Paget", "'s disease of bone"),
        ("Dupuytren", "'s contracture"),
        ("Colles", " fracture"),
        ("Swan-Ganz", " catheter"),
        ("Horner", " syndrome"),
        ("Sheehan", " syndrome"),
        ("Chvostek", " sign"),
        ("Trousseau", " sign"),
        ("Homans", " sign"),
        ("McBurney", "'s point"),
        ("Virchow", "'s node"),
        ("Osler", " nodes"),
        ("Janeway", " lesions"),
        ("Centor", " score"),
        ("Alvarado", " score"),
        ("Rankin", " scale"),
        ("Karnofsky", " score"),
        ("Gleason", " score"),
        ("Tanner", " stage"),
        ("Salter-Harris", " fracture"),
        ("Baker", "'s cyst"),
        ("Zenker", "'s diverticulum"),
        ("Mallory-Weiss", " tear"),
        ("Peyronie", "'s disease"),
        ("Osgood-Schlatter", " disease"),
        ("Kawasaki", " disease"),
        ("Tenckhoff", " catheter"),
        ("Penrose", " drain"),
        ("Yankauer", " suction"),
        ("Sengstaken-Blakemore", " tube"),
        ("Guillain-Barré", " syndrome"),
        ("Raynaud", "'s phenomenon"),
        ("Bence Jones", " protein"),
    ),
    eponym_frames=(
        "Exam notable for {E}.",
        "Imaging consistent with {E}.",
        "No evidence of {E}.",
        "Family history of {E} in her father.",
        "{E} discussed with the family.",
    ),
    brands=(
        "Ubrelvy",
        "Descovy",
        "Anoro",
        "Movantik",
        "Gemtesa",
        "Rybelsus",
        "Kerendia",
        "Nexletol",
        "Leqvio",
        "Praluent",
        "Prolia",
        "Aimovig",
        "Emgality",
        "Caplyta",
        "Latuda",
        "Trintellix",
        "Auvelity",
        "Qelbree",
        "Belsomra",
        "Quviviq",
        "Lumigan",
        "Opzelura",
        "Cibinqo",
        "Sotyktu",
        "Tremfya",
        "Cosentyx",
        "Taltz",
        "Kevzara",
        "Orencia",
        "Olumiant",
        "Entyvio",
        "Zeposia",
        "Tecfidera",
        "Mavenclad",
        "Aubagio",
        "Tysabri",
        "Copaxone",
        "Xiidra",
        "Veozah",
    ),
    drug_frames=(
        "Pharmacy switched her to {D} because of cost.",
        "Prior authorization for {D} was denied.",
        "She stopped {D} after two weeks.",
        "{D} samples given.",
        "Side effects of {D} reviewed.",
    ),
    departments=(
        "Vascular Surgery",
        "Infectious Disease",
        "Behavioral Health",
        "Sleep Medicine",
        "Pain Management",
        "Pediatric ICU",
        "Step-Down Unit",
        "Medical Records",
        "Patient Access",
        "Environmental Services",
        "Child Life",
        "Speech Language Pathology",
        "Transplant Services",
        "Utilization Review",
        "Spiritual Care",
        "Health Information Management",
        "Bed Management",
    ),
    department_frames=(
        "Message left for {U}.",
        "Transferred from {U} overnight.",
        "Per {U}, no changes needed.",
        "Awaiting {U} recommendations.",
    ),
    headers=(
        "IMPRESSION: no acute process.",
        "DISPOSITION: discharged home.",
        "Original and Duplicate forms signed.",
        "Authorized Representative form on file.",
        "Guarantor Information updated.",
        "Attending Attestation: agree with plan.",
        "Interval History: no new complaints.",
        "Pertinent Negatives: no fever.",
        "Care Team notified.",
        "RECOMMENDATIONS: repeat labs in a week.",
    ),
    voice_traps=(
        "the zip code is on file",
        "my postcode is the same as before",
        "my husband drove me here",
        "i spoke to the front desk",
        "my grandson usually helps me",
        "so my partner thinks it's fine",
    ),
    locales=(
        "uk_UA",
        "bg_BG",
        "fi_FI",
        "da_DK",
        "lt_LT",
        "ro_RO",
        "hr_HR",
        "yo_NG",
        "zu_ZA",
        "sw",
        "id_ID",
        "vi_VN",
        "tr_TR",
        "pt_BR",
        "nl_BE",
        "cs_CZ",
    ),
    world_frames=(
        "The interpreter for {N} arrived late.",
        "We received a fax from {N} this morning.",
        "Please call {N} back about the results.",
        "Discussed the plan with {N} and her sister.",
    ),
    syllables=(
        ("zar", "mel", "quin", "tav", "nev", "cor", "jol", "sab", "wren", "dar"),
        ("issa", "ion", "ella", "ric", "ayah", "ley", "anne", "ius", "ora", "win"),
    ),
    lower_frames=(
        "i was with {n} at the clinic",
        "my grandson {n} just turned six",
        "can i ask for {n} at the desk",
        "my partner {n} usually drives me",
        "oh and my neighbor {n} has the spare key",
    ),
    subject_frames=("{F} is feeling better today.", "Overnight events: none. {F} has a mild cough."),
    caps_frames=("PT NAME {C} DOB on file", "RE: {C}", "NAME {C}"),
    particles=("dos", "ibn", "ter", "da", "D'", "Mac"),
    shaped_frames=("Message from {N} about the bill.", "{N} was seen today.", "Consent witnessed by {N}."),
)


class _Gen:
    def __init__(self, half: _Half, seed: int) -> None:
        self.half = half
        self.rng = random.Random(seed)
        self.fakes = [Faker(loc) for loc in half.locales]
        for i, fake in enumerate(self.fakes):
            fake.seed_instance(seed * 17 + i)
        self.us = Faker("en_US")
        self.us.seed_instance(seed * 5)

    def pick(self, items: tuple[str, ...]) -> str:
        return self.rng.choice(items)

    def invented(self) -> str:
        onset, ending = self.half.syllables
        return self.pick(onset) + self.pick(ending)

    def world_name(self) -> str:
        fake = self.rng.choice(self.fakes)
        name = fake.name()
        # Faker puts honorifics in some locales ("Г-н", "Cô", "Prof."): keep the name only.
        words = [w for w in name.split() if not w.endswith(".") and "-" not in w[:3] and w not in _HONOR]
        return " ".join(words[:3])

    def shaped_name(self) -> str:
        us, r = self.us, self.rng
        kind = r.randrange(5)
        if kind == 0:
            p = self.pick(self.half.particles)
            last = us.last_name()
            tail = f"{p}{last}" if p.endswith(("-", "'")) or p == "Mac" else f"{p} {last}"
            return f"{us.first_name()} {tail}"
        if kind == 1:
            return f"{us.first_name()}-{us.first_name()} {us.last_name()}"
        if kind == 2:
            return f"{us.first_name()} {us.last_name()}-{us.last_name()}"
        if kind == 3:
            initials = " ".join(f"{c}." for c in r.sample("ABCDEFGHJKLMNPRSTW", r.randrange(1, 3)))
            return f"{initials} {us.last_name()}"
        return f"{us.first_name()} {r.choice('ABCDEFGHJKLMNPRSTW')}. {us.last_name()}"


_HONOR = frozenset(
    {"Cô", "Ông", "Bà", "Quý", "ông", "Anh", "Chị", "Bác", "Prof", "Dr", "drg", "Bapak", "Ibu"}
)


def _frame(frame: str, slot: str, value: str, entity: Entity | None) -> list[Piece]:
    before, after = frame.split(slot, 1)
    return [(before, None), (value, entity), (after, None)]


def _classes(g: _Gen) -> dict[str, Callable[[], list[Piece]]]:
    h = g.half

    def eponym() -> list[Piece]:
        name, tail = g.rng.choice(h.eponyms)
        return _frame(g.pick(h.eponym_frames), "{E}", name + tail, None)

    def drug() -> list[Piece]:
        return _frame(g.pick(h.drug_frames), "{D}", g.pick(h.brands), None)

    def department() -> list[Piece]:
        return _frame(g.pick(h.department_frames), "{U}", g.pick(h.departments), None)

    def header() -> list[Piece]:
        return [(g.pick(h.headers), None)]

    def voice_trap() -> list[Piece]:
        return [(g.pick(h.voice_traps), None)]

    def lower_name() -> list[Piece]:
        return _frame(g.pick(h.lower_frames), "{n}", g.invented(), E.PERSON)

    def world() -> list[Piece]:
        return _frame(g.pick(h.world_frames), "{N}", g.world_name(), E.PERSON)

    def subject() -> list[Piece]:
        first = g.rng.choice(g.fakes).first_name() if g.rng.random() < 0.5 else g.us.first_name()
        return _frame(g.pick(h.subject_frames), "{F}", first, E.PERSON)

    def caps() -> list[Piece]:
        name = f"{g.us.first_name()} {g.us.last_name()}".upper()
        return _frame(g.pick(h.caps_frames), "{C}", name, E.PERSON)

    def shaped() -> list[Piece]:
        return _frame(g.pick(h.shaped_frames), "{N}", g.shaped_name(), E.PERSON)

    return {
        "eponym": eponym,
        "drug": drug,
        "department": department,
        "header": header,
        "voicetrap": voice_trap,
        "lowername": lower_name,
        "world": world,
        "subject": subject,
        "caps": caps,
        "shaped": shaped,
    }


# Over-redaction classes carry a real name beside the trap in some samples, so precision is judged
# next to a true finding, as in a note.
_TRAP_CLASSES = ("eponym", "drug", "department", "header")


def generate_trap_corpus(split: str, seed: int = 31, *, per_class: int = 40) -> list[Sample]:
    half = {"tune": TUNE, "heldout": HELDOUT}[split]
    g = _Gen(half, seed + (0 if split == "tune" else 7919))
    out: list[Sample] = []
    for cls, make in _classes(g).items():
        for _ in range(per_class):
            pieces = make()
            if cls in _TRAP_CLASSES:
                # Two traps of the class in one note, and sometimes a clinician's name after them.
                pieces += [(" ", None), *make()]
                if g.rng.random() < 0.4:
                    pieces += [(" Dr. ", None), (g.us.last_name(), E.PERSON), (" to follow.", None)]
            b = _Builder()
            for text, entity in pieces:
                if entity is None:
                    b.text(text)
                else:
                    b.value(text, entity)
            out.append(Sample(f"traps-{split}-{cls}", [b.build()], ["user"], [b.spans], [b.spoken]))
    return out
