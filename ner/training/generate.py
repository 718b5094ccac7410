"""Synthetic NER training data for Masker's PHI name model: names and places in the shapes a proxy
sees (clinical-note prose, form lines, letters and address blocks, ALL-CAPS headers, lower-case
call transcripts), plus many sentences with capitalised clinical, form and eponym words and no
entity at all, so the model learns that "Foley", "Glasgow Coma Scale" or "Copy" are not names.

Deterministic: the same seed gives the same examples, byte for byte (one ``random.Random`` and
Faker instances seeded from it; no set or dict iteration order reaches the output).

Its templates and value lists are its own. It must not share text with the benchmark corpora
(``bench/corpus``): those judge the model, and a model trained on them would be judged on text it
has seen. Labels: PERSON, GPE (city, town, region), FAC (street), ORG (facility, employer).

Usage: ``python ner/training/generate.py --seed 1 --n 20 | head`` prints examples as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

Span = tuple[int, int, str]

# Faker locales for names and places: many scripts and naming orders.
LOCALES = (
    "en_US", "en_GB", "en_IE", "en_NZ", "en_PH",
    "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "es_ES", "es_MX", "es_CO", "es_AR", "pt_BR",
    "it_IT", "nl_BE", "sv_SE", "nb_NO", "da_DK", "fi_FI", "is_IS", "hu_HU", "ro_RO", "sk_SK",
    "sl_SI", "hr_HR", "bg_BG", "uk_UA", "ru_RU", "el_GR", "tr_TR", "ar_AA", "fa_IR", "he_IL",
    "hi_IN", "ta_IN", "bn_BD", "ne_NP", "th_TH", "vi_VN", "id_ID", "zh_CN", "zh_TW", "ja_JP",
    "ko_KR", "tl_PH", "sw", "yo_NG", "zu_ZA", "ka_GE", "hy_AM", "az_AZ", "lt_LT", "lv_LV", "et_EE",
    "pl_PL", "cs_CZ",
)  # fmt: skip
# Locales whose names are written in Latin letters (most text the proxy sees is English).
_LATIN_LOCALES = (
    "en_US en_GB en_IE en_NZ en_PH de_DE de_AT de_CH fr_FR fr_CA es_ES es_MX es_CO es_AR pt_BR it_IT "
    "nl_BE sv_SE nb_NO da_DK fi_FI is_IS hu_HU ro_RO sk_SK sl_SI hr_HR tr_TR id_ID vi_VN tl_PH sw "
    "yo_NG zu_ZA az_AZ lt_LT lv_LV et_EE pl_PL cs_CZ"
)
_LATIN = frozenset(_LATIN_LOCALES.split())


@dataclass(frozen=True)
class Example:
    text: str
    spans: tuple[Span, ...]

    def to_json(self) -> str:
        return json.dumps({"text": self.text, "spans": [list(s) for s in self.spans]}, ensure_ascii=False)


# ------------------------------------------------------------------------------------------- values


@cache
def _fakers() -> dict[str, object]:
    from faker import Faker

    out: dict[str, object] = {}
    for loc in dict.fromkeys(LOCALES):
        try:
            fake = Faker(loc)
        except (AttributeError, ValueError):  # a locale this Faker does not have
            continue
        # Some providers build their lists from a set (it_IT's cities): in hash order, which changes
        # from one process to the next. Sorted, a seed gives the same draws in every process.
        for provider in fake.providers:
            lists = {
                attr: value
                for cls in reversed(type(provider).__mro__)  # the most derived class wins
                for attr, value in vars(cls).items()
                if isinstance(value, list) and value and all(isinstance(v, str) for v in value)
            }
            for attr in sorted(lists):
                current = getattr(provider, attr)
                if isinstance(current, list):
                    setattr(provider, attr, sorted(current))
        out[loc] = fake
    return out


@cache
def _lexicon() -> tuple[list[str], list[str]]:
    from masker.detect.lexicon import family_names, given_names

    def latin(words: frozenset[str]) -> list[str]:
        return sorted(w for w in words if w.isalpha() and w.isascii() and len(w) >= 3)

    return latin(given_names()), latin(family_names())


class Values:
    """Random names, places and organisations; every draw goes through the one ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fakers = _fakers()
        self.locales = sorted(self.fakers)
        self.latin = [loc for loc in self.locales if loc in _LATIN]

    def _faker(self, latin_only: bool = False) -> object:
        locs = self.latin if latin_only or self.rng.random() < 0.8 else self.locales
        fk = self.fakers[self.rng.choice(locs)]
        fk.seed_instance(self.rng.getrandbits(32))  # type: ignore[attr-defined]
        return fk

    def given(self, latin_only: bool = False) -> str:
        if self.rng.random() < 0.35:
            return self.rng.choice(_lexicon()[0]).capitalize()
        fk = self._faker(latin_only)
        return str(fk.first_name()).split()[0]  # type: ignore[attr-defined]

    def family(self, latin_only: bool = False) -> str:
        if self.rng.random() < 0.35:
            return self.rng.choice(_lexicon()[1]).capitalize()
        fk = self._faker(latin_only)
        name = str(fk.last_name())  # type: ignore[attr-defined]
        return name

    def person(self, latin_only: bool = False) -> str:
        r = self.rng.random()
        g, f = self.given(latin_only), self.family(latin_only)
        if r < 0.55:
            return f"{g} {f}"
        if r < 0.65:
            return f"{g} {self.given(latin_only)[0]}. {f}"
        if r < 0.72:
            return f"{g} {self.given(latin_only)} {f}"
        if r < 0.78:
            return f"{g} {f}-{self.family(latin_only)}"
        if r < 0.84:
            particle = self.rng.choice(
                ["van", "van der", "de", "de la", "del", "da", "von", "bin", "al-", "O'", "Mc"]
            )
            glue = "" if particle.endswith(("-", "'")) or particle == "Mc" else " "
            return f"{g} {particle}{glue}{f}"
        if r < 0.9:
            return f"{g[0]}. {f}"
        fk = self._faker(latin_only)
        return str(fk.name())  # type: ignore[attr-defined]

    def city(self) -> str:
        if self.rng.random() < 0.25:
            return self.rng.choice(_CITIES)
        if self.rng.random() < 0.15:
            return self.rng.choice(_TOWNS)
        fk = self._faker(latin_only=self.rng.random() < 0.9)
        return str(fk.city())  # type: ignore[attr-defined]

    def neighbourhood(self) -> str:
        """A district of a city: "Back Bay", "North Cedar Heights", "Germantown", "Vila das Oliveiras"."""
        r = self.rng.random()
        if r < 0.15:
            fk = self.fakers.get("pt_BR")
            if fk is not None:
                fk.seed_instance(self.rng.getrandbits(32))  # type: ignore[attr-defined]
                return str(fk.bairro())  # type: ignore[attr-defined]
        if r < 0.3:
            core = self.rng.choice((*_NEIGHBOURHOOD_CORES, self.family(True)))
            return f"{core}{self.rng.choice(['town', 'ville', 'side', 'field'])}"
        core = self.rng.choice(_NEIGHBOURHOOD_CORES) if self.rng.random() < 0.5 else self.family(True)
        name = f"{core} {self.rng.choice(_NEIGHBOURHOOD_KINDS)}"
        if self.rng.random() < 0.35:
            name = f"{self.rng.choice(_NEIGHBOURHOOD_PREFIXES)} {name}"
        return name

    def county(self) -> str:
        kind = self.rng.choice(["County", "County", "County", "Parish", "Borough", "Township"])
        core = self.family(True) if self.rng.random() < 0.6 else self.city()
        return f"{core} {kind}"

    def word_city(self) -> str:
        """A town named like a common word or a state ("Mobile", "Surprise", "Washington")."""
        return self.rng.choice(_WORD_TOWNS)

    def intl_address(self) -> tuple[str, str, str, str]:
        """(locale, street with its number, postcode, city) from one locale's Faker."""
        loc = self.rng.choice(_ADDRESS_LOCALES)
        fk = self.fakers.get(loc) or self.fakers["en_US"]
        fk.seed_instance(self.rng.getrandbits(32))  # type: ignore[attr-defined]
        street = " ".join(str(fk.street_address()).split())  # type: ignore[attr-defined]
        return loc, street, str(fk.postcode()), " ".join(str(fk.city()).split())  # type: ignore[attr-defined]

    def street(self) -> str:
        fk = self._faker(latin_only=True)
        try:
            return str(fk.street_name())  # type: ignore[attr-defined]
        except AttributeError:
            return f"{self.family(True)} {self.rng.choice(['Street', 'Road', 'Lane', 'Avenue'])}"

    def org(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return f"{self.city()} {self.rng.choice(_FACILITY_KINDS)}"
        if r < 0.45:
            return f"St. {self.given(True)}'s {self.rng.choice(_FACILITY_KINDS)}"
        if r < 0.6:
            return f"{self.family(True)} {self.rng.choice(_PRACTICES)}"
        fk = self._faker(latin_only=True)
        try:
            return str(fk.company())  # type: ignore[attr-defined]
        except AttributeError:
            return f"{self.family(True)} {self.rng.choice(['Inc', 'Group', 'Partners', 'Holdings'])}"


_FACILITY_KINDS = (
    "General Hospital", "Medical Center", "Community Clinic", "Regional Hospital", "Health Center",
    "Memorial Hospital", "Children's Hospital", "Rehabilitation Center", "Cancer Institute",
    "Urgent Care", "Pharmacy", "Surgical Associates", "Kidney Center", "Hospice",
)  # fmt: skip
_PRACTICES = (
    "Family Practice", "Pediatrics", "Dental Group", "Orthopedics", "Eye Clinic", "Physical Therapy",
    "Dermatology", "Cardiology Associates", "Women's Health", "Imaging", "Oncology", "Sleep Lab",
)  # fmt: skip
# Real cities: Faker's en_* locales make up city names ("East Jessicaville").
_CITIES = (
    "Denver", "Boston", "Chicago", "Houston", "Phoenix", "Seattle", "Atlanta", "Dallas", "Austin",
    "Miami", "Portland", "Baltimore", "Cleveland", "Detroit", "Memphis", "Nashville", "Louisville",
    "Milwaukee", "Albuquerque", "Tucson", "Fresno", "Sacramento", "Oakland", "San Diego", "San Jose",
    "Los Angeles", "Las Vegas", "Salt Lake City", "Minneapolis", "St. Louis", "Kansas City", "Omaha",
    "Tulsa", "Wichita", "New Orleans", "Pittsburgh", "Cincinnati", "Columbus", "Indianapolis",
    "Charlotte", "Raleigh", "Richmond", "Norfolk", "Buffalo", "Rochester", "Hartford", "Providence",
    "Newark", "Jersey City", "Philadelphia", "Brooklyn", "Queens", "the Bronx", "Anchorage", "Honolulu",
    "Boise", "Spokane", "Tacoma", "El Paso", "San Antonio", "Fort Worth", "Corpus Christi", "Lubbock",
    "Birmingham", "Montgomery", "Jackson", "Little Rock", "Des Moines", "Madison", "Green Bay",
    "Toronto", "Montreal", "Vancouver", "Calgary", "Winnipeg", "London", "Manchester", "Glasgow",
    "Dublin", "Paris", "Lyon", "Berlin", "Hamburg", "Munich", "Vienna", "Zurich", "Madrid", "Lisbon",
    "Rome", "Milan", "Athens", "Istanbul", "Cairo", "Lagos", "Nairobi", "Accra", "Johannesburg",
    "Mumbai", "Delhi", "Karachi", "Dhaka", "Manila", "Jakarta", "Bangkok", "Hanoi", "Seoul", "Tokyo",
    "Osaka", "Beijing", "Shanghai", "Sydney", "Melbourne", "Auckland", "Lima", "Bogotá", "Quito",
    "Santiago", "Buenos Aires", "São Paulo", "Mexico City", "Guadalajara", "Havana", "San Juan",
)  # fmt: skip
_TOWNS = (
    "Springfield", "Riverside", "Fairview", "Georgetown", "Salem", "Madison", "Clinton", "Franklin",
    "Ashland", "Dover", "Auburn", "Bristol", "Milton", "Newport", "Oxford", "Jackson", "Marion",
    "Florence", "Aurora", "Victoria", "Bergen", "Tromsø", "Győr", "Plzeň", "Łódź", "Cluj-Napoca",
    "Thessaloniki", "Izmir", "Mangalore", "Cebu", "Kumasi", "Mombasa", "Valparaíso", "Medellín",
)  # fmt: skip
# Towns whose name is also a common English word or a state: only the context says it is a place.
_WORD_TOWNS = (
    "Surprise", "Chance", "Boring", "Fortune", "Unity", "Friendship", "Concord", "Freedom", "Pleasant",
    "Hazard", "Marathon", "Pride", "Comfort", "Welcome", "Sugar Land", "Sweet Home", "Bountiful", "Mesa",
    "Plano", "Ontario", "Arcadia", "Providence", "Trinity", "Wyoming", "Delaware", "Oregon", "Indiana",
    "Iowa", "Texas City", "Michigan City", "Nevada City", "Mobile", "Orange", "Independence", "Normal",
    "Reading", "Paradise", "Commerce", "Bath", "Hope", "Liberty", "Temple", "Eden", "Harmony", "Story",
    "Energy", "Justice", "Plain", "Marion", "Canton", "Columbia", "Florence", "Victoria", "Washington",
    "Virginia", "Kansas", "Cairo", "Lebanon", "Athens", "Paris", "Moscow", "Berlin", "Troy", "Sparta",
    "Bethlehem", "Nazareth", "Jericho", "Eureka", "Enterprise", "Industry", "Opportunity", "Success",
    "Climax", "Mars", "Venus", "Jupiter", "Globe", "Mountain View", "Fair Oaks", "Sunrise", "Weston",
)  # fmt: skip
_NEIGHBOURHOOD_CORES = (
    "Oak", "Cedar", "Maple", "Elm", "Pine", "Birch", "Willow", "Bay", "Lake", "River", "Brook", "Glen",
    "Mill", "Harbor", "Beacon", "Union", "Liberty", "Five", "Forest", "Spring", "Rose", "Meadow", "Stone",
    "German", "Irish", "Korea", "China", "Fish", "Mid", "Down", "Up", "Bucks", "Chester", "Hyde",
)  # fmt: skip
_NEIGHBOURHOOD_KINDS = (
    "Heights", "Park", "Hill", "Hills", "Village", "Point", "Points", "Square", "End", "Side", "Gardens",
    "Terrace", "Commons", "Crossing", "Flats", "Ridge", "Green", "Estates", "Bay", "Town", "Corner",
    "Quarter", "District", "Junction", "Landing", "Harbor", "Grove", "Meadows", "Bottoms", "Addition",
)  # fmt: skip
_NEIGHBOURHOOD_PREFIXES = (
    "North", "South", "East", "West", "Upper", "Lower", "Old", "Little", "Back", "Fort", "New", "Near",
)  # fmt: skip
_STATES = (
    "Alabama", "Arizona", "California", "Colorado", "Florida", "Georgia", "Illinois", "Iowa", "Kansas",
    "Kentucky", "Louisiana", "Maine", "Maryland", "Michigan", "Minnesota", "Missouri", "Montana",
    "Nebraska", "Nevada", "New Jersey", "New Mexico", "New York", "North Carolina", "Ohio", "Oklahoma",
    "Oregon", "Pennsylvania", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia",
    "Washington", "West Virginia", "Wisconsin", "Wyoming", "Puerto Rico",
)  # fmt: skip
_STATE_CODES = (
    "AL", "AZ", "CA", "CO", "FL", "GA", "IL", "IA", "KS", "KY", "LA", "ME", "MD", "MI", "MN", "MO",
    "MT", "NE", "NV", "NJ", "NM", "NY", "NC", "OH", "OK", "OR", "PA", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip
_COUNTRIES = (
    "Mexico", "Canada", "Germany", "France", "Spain", "Italy", "Poland", "Brazil", "India", "China",
    "Japan", "Nigeria", "Kenya", "Ghana", "Vietnam", "the Philippines", "Guatemala", "Honduras", "Peru",
    "Colombia", "Ukraine", "Russia", "Turkey", "Iran", "Iraq", "Syria", "Egypt", "Ethiopia", "Somalia",
    "Haiti", "Jamaica", "Cuba", "Ireland", "Scotland", "England", "Portugal", "Greece", "Sweden",
)  # fmt: skip
# Locales whose Faker writes addresses in their own order (street number after the name, postcode
# before the city, letters in the postcode).
_ADDRESS_LOCALES = (
    "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "es_ES", "es_MX", "it_IT", "nl_BE", "sv_SE", "da_DK",
    "fi_FI", "pl_PL", "cs_CZ", "sk_SK", "hu_HU", "pt_BR", "en_GB", "en_IE", "en_NZ", "en_US", "ro_RO",
    "hr_HR", "sl_SI", "lt_LT", "et_EE", "tr_TR", "id_ID",
)  # fmt: skip


# ----------------------------------------------------------------------------------------- negatives

EPONYMS = (
    "Parkinson's disease", "Foley catheter", "Apgar score", "Glasgow Coma Scale", "Bell's palsy",
    "Crohn's disease", "Alzheimer's dementia", "Hodgkin lymphoma", "Down syndrome", "Cushing syndrome",
    "Addison's disease", "Graves' disease", "Hashimoto thyroiditis", "Babinski sign", "Murphy's sign",
    "McBurney's point", "Kernig sign", "Wilms tumor", "Kaposi sarcoma", "Tourette syndrome",
    "Epley maneuver", "Heimlich maneuver", "Valsalva maneuver", "Trendelenburg position",
    "Swan-Ganz catheter", "Holter monitor", "Doppler ultrasound", "Gram stain", "Pap smear",
    "Barrett's esophagus", "Guillain-Barre syndrome", "Raynaud's phenomenon", "Sjogren's syndrome",
    "Meniere's disease", "Huntington's disease", "Lyme disease", "Marfan syndrome", "Turner syndrome",
    "Wolff-Parkinson-White pattern", "Bartholin cyst", "Baker's cyst", "Colles fracture",
    "Homans sign", "Romberg test", "Lachman test", "McMurray test", "Phalen test", "Tinel sign",
    "Kussmaul breathing", "Cheyne-Stokes respirations", "Lewy body dementia", "Ewing sarcoma",
    "Hirschsprung disease", "Kawasaki disease", "Tanner stage", "Braden score", "Morse fall scale",
    "Wells criteria", "Ranson criteria", "Child-Pugh class", "Mallampati class", "Ludwig angina",
    "Whipple procedure", "Nissen fundoplication", "Roux-en-Y bypass", "Hartmann procedure",
    "Fontan circulation", "Tetralogy of Fallot", "Bence Jones protein", "Reed-Sternberg cells",
)  # fmt: skip
DRUGS = (
    "Metformin", "Lisinopril", "Atorvastatin", "Tylenol", "Advil", "Lasix", "Coumadin", "Eliquis",
    "Zoloft", "Synthroid", "Norvasc", "Xarelto", "Keppra", "Humalog", "Lantus", "Ozempic", "Plavix",
    "Prednisone", "Amoxicillin", "Augmentin", "Zithromax", "Cipro", "Flagyl", "Vancomycin", "Heparin",
    "Lovenox", "Protonix", "Zofran", "Ativan", "Haldol", "Seroquel", "Lexapro", "Prozac", "Wellbutrin",
    "Neurontin", "Lyrica", "Tramadol", "Dilaudid", "Narcan", "Albuterol", "Spiriva", "Singulair",
)  # fmt: skip
FORM_WORDS = (
    "Copy", "Identity", "Professional", "Signature", "Provider", "Attending", "Reviewed", "Discharge",
    "Summary", "Medications", "Allergies", "Vitals", "Plan", "Assessment", "History", "Impression",
    "Findings", "Procedure", "Indication", "Consent", "Disposition", "Referral", "Status", "Result",
    "Specimen", "Report", "Addendum", "Insurance", "Coverage", "Member", "Subscriber", "Guarantor",
    "Emergency Contact", "Primary Care", "Chief Complaint", "Review of Systems", "Physical Exam",
    "Social History", "Family History", "Past Medical History", "Follow-up", "Orders", "Labs",
    "Radiology", "Pathology", "Nursing Note", "Progress Note", "Care Team", "Case Manager",
    "Authorization", "Claim", "Billing", "Copay", "Deductible", "Pharmacy Benefit", "Formulary",
    "Power of Attorney", "Triage", "Intake", "Care Plan", "Wound Care", "Diet Order",
)  # fmt: skip
CLINICAL_CAPS = (
    "CBC", "BMP", "CMP", "HbA1c", "TSH", "EKG", "ECG", "CT", "MRI", "CXR", "ED", "ICU", "PACU", "NICU",
    "OR", "PT", "OT", "SLP", "BP", "HR", "RR", "SpO2", "BMI", "COPD", "CHF", "CKD", "DM2", "HTN",
    "GERD", "UTI", "DVT", "PE", "MI", "CVA", "TIA", "NKDA", "PRN", "BID", "TID", "NPO", "DNR", "HIPAA",
    "RLL", "LUQ", "IV", "IM", "PO", "SOB", "CP", "N/V", "A&O x3", "ROM", "WNL", "PERRLA",
)  # fmt: skip
_NEGATIVE_SENTENCES = (
    "{E} was considered and ruled out.",
    "History of {E}, stable on current therapy.",
    "Continue {D} 20 mg daily; hold {D2} for now.",
    "{D} was started in {M} and titrated to effect.",
    "{F}: see below.",
    "{F} reviewed with the patient today.",
    "{F} - {F2} - {F3}",
    "{K} and {K2} ordered; {K3} pending.",
    "{K} within normal limits, {K2} elevated.",
    "Negative {E}. {E2} not assessed.",
    "{E} noted on exam; {K} unremarkable.",
    "Patient reports Good Energy and no Fever since Monday.",
    "Per {F}, the {F2} section was updated.",
    "The {E} was documented at 1 and 5 minutes.",
    "Placed {E} without difficulty.",
    "Plan: {D}, {K} in 3 months, {F}.",
    "{F} Status: Pending",
    "Medical Record Copy - Not for Distribution",
    "Identity verified using two identifiers.",
    "Professional services rendered on {M} 12.",
    "Signed electronically by the Attending.",
    "Will follow up with Cardiology and Neurology next week.",
    "Referred to Physical Therapy and Occupational Therapy.",
    "Seen in the Emergency Department overnight.",
    "Admitted to Internal Medicine for observation.",
    "Discussed with Pharmacy regarding {D} dosing.",
    "Ultrasound showed no evidence of DVT.",
    "May increase {D} if Blood Pressure remains above goal.",
    "Grace period for Coverage ends in {M}.",
    "Will call back tomorrow if Symptoms Worsen.",
    "Mark the box if Yes; otherwise leave Blank.",
    "Bill the Primary Insurance first, then Secondary.",
    "Hope this helps. Best regards and Happy Holidays!",
    "Thank you for your Referral. Kind Regards.",
    "Please Review and Sign the attached Consent.",
    "The Quarterly Report is due on Friday.",
    "Our Team meets every Tuesday in Conference Room B.",
    "See Attached Policy for Details.",
    "Christmas and New Year hours are posted in the Lobby.",
    "The Patient Portal is available in English and Spanish.",
    "Apple Watch data was reviewed; no Atrial Fibrillation detected.",
    "UPDATE: {F} SECTION REVISED",
    "{FU}: {KU}",
    "ASSESSMENT AND PLAN",
    "REVIEW OF SYSTEMS: NEGATIVE EXCEPT AS NOTED",
    "{EU} RULED OUT",
)  # fmt: skip
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip

# -------------------------------------------------------------------------------------- templates
# {P} person, {G} given name alone, {S} family name alone, {T} title + family, {C} city, {ST} street,
# {O} organisation; upper-case letters elsewhere fill clinical filler.

_PROSE = (
    "{P} is a 54-year-old man seen today for {E}.",
    "Seen with her daughter {P}, who helps with {D}.",
    "{G} tolerated the procedure well and was discharged home.",
    "Spoke with {P} by phone; she agrees with the plan.",
    "Patient lives with his wife {G} in {C}.",
    "Discussed the results with {T} from {O}.",
    "{T} recommends repeat imaging in six weeks.",
    "Consulted {T} ({O}) who will see the patient tomorrow.",
    "Transferred from {O} in {C} for further care.",
    "Her son {G} drove her from {C} this morning.",
    "Emergency contact: {P} (brother).",
    "{S} family reports no similar illness.",
    "Mr. {S} denies chest pain or shortness of breath.",
    "Ms. {S} was counseled on {D} side effects.",
    "Care coordinated with {P}, RN, and {P2}, MSW.",
    "Referred by {T} of {O}.",
    "The patient, {P}, presented with {E} and fever.",
    "{P} returned from a trip to {C} last week.",
    "{G} says her grandmother {P} raised her in {C}.",
    "Prior records from {O} were reviewed.",
    "Works as a driver for {O} in {C}.",
    "Lives alone on {ST} near the {O}.",
    "Per {G}, the pain began after lifting boxes.",
    "{G} and {G2} are both vaccinated.",
    "Called {P} at 3 pm to confirm the appointment.",
    "Pharmacy at {O} in {C} will fill the prescription.",
    "Mother {P} reports he has been eating less.",
    "Handed off to {T} at shift change.",
    "Visited by {P} and {P2} from church.",
    "Moved to {C} from {C2} in 2019.",
    "Seen by {T}, who agreed with {E} as the working diagnosis.",
    "{P} ({G} to friends) was in good spirits.",
    "Prefers to be called {G}.",
    "Goes by {G}, not {G2}.",
    "Reached {G} on the second attempt.",
    "{T} and {T2} co-signed the note.",
)  # fmt: skip
_FORM = (
    "Patient: {P}",
    "Patient Name: {P}",
    "Name: {SU}, {GU}",
    "PATIENT {PU}",
    "PT NAME {PU}",
    "Attending: {T}",
    "Referring Physician: {P}, MD",
    "PCP: {T}",
    "Guarantor: {P}",
    "Emergency Contact: {P} ({R})",
    "Facility: {O}",
    "Location: {O}, {C}",
    "City: {C}",
    "Address: {N} {ST}, {C}",
    "Next of kin: {P}",
    "Nurse: {G} {S0}.",
    "Interpreter: {P}",
    "Signed: {P}, PA-C",
    "cc: {T}; {T2}",
    "Dictated by {P} on {M} 3.",
)  # fmt: skip
_LETTER = (
    "{P}\n{N} {ST}\n{C}, {Z}",
    "Dear {T},\n\nThank you for referring {P} to our clinic.",
    "Dear {G},\nYour results are ready.",
    "{O}\n{N} {ST}\n{C}\n\nRe: {P}",
    "Sincerely,\n{P}\n{O}",
    "Best,\n{G}",
    "To whom it may concern:\n{P} has been under my care since {M}.",
    "{PU}\n{N} {STU}\n{CU}",
    "From: {P}\nTo: {P2}\nSubject: {E} follow-up",
    "Hi {G}, can you send {P} the forms?",
    "{P}, {C}",
)  # fmt: skip
_TRANSCRIPT = (
    "hi this is {P} calling about my mom",
    "yes my name is {P}",
    "its {P}",
    "the name's {S}",
    "first name {G} last name {S}",
    "um my daughter {G} needs a refill",
    "i'm calling for my husband {P} he's in room four",
    "can i speak to {T} please",
    "we live in {C} now",
    "she was born in {C}",
    "{G} said you'd call me back",
    "ok so {G} and i will come on tuesday",
    "this is {G} from {O}",
    "yeah i talked to {G} yesterday",
    "my neighbor {P} found her",
    "spell that {S}",
    "it's for {P} date of birth march third",
    "he goes to {O} in {C}",
    "we moved from {C} to {C2}",
    "patient {P} is asking for {T}",
    "hello {G} how are you",
    "{G} {S} speaking",
    "her sister {G} can pick her up",
)  # fmt: skip
_GENERAL = (
    "{P} met {P2} at a conference in {C}.",
    "{G} wants to move to {C} next year.",
    "According to {P}, the meeting was moved.",
    "{P} works at {O}.",
    "Yesterday {G} sent me the photos from {C}.",
    "I think {G} is right about this.",
    "Ask {G} whether the package arrived.",
    "The report was written by {P} and {P2}.",
    "{P}'s flight from {C} was delayed.",
    "My friend {G} lives on {ST}.",
    "{G} called; {G2} will be late.",
    "Send the invoice to {P}, {O}.",
    "Congratulations to {P} on the promotion!",
    "{P} (born 1984 in {C}) joined the team.",
)  # fmt: skip

# Places with the cues (or none) they come with: a city alone or with its state code, a letterhead
# after a facility, a neighbourhood, a county, a town named like a word. States and countries stay
# unlabelled: they are not identifiers, and the model must not learn to tag them.
_PLACES = (
    "{C} resident, here for {E} follow-up.",
    "Hometown: {C}",
    "Travel history: {C} last month; no sick contacts.",
    "Originally from {C}, now lives in {NB}.",
    "Drove in from {C} this morning with her {R}.",
    "Records requested from {O} ({C}).",
    "Transferred from {O} - {C} for a higher level of care.",
    "{O} · {C}",
    "{O} | {C}\nDischarge summary",
    "{O}, {C} campus",
    "{O}\n{C}, {SA} {Z}",
    "{O}\n{N} {ST}\n{WC}, {SA} {Z}",
    "Lives in {NB} with two roommates.",
    "Grew up in {NB} and moved to {C} after college.",
    "Sleeps at a shelter near {NB}.",
    "Works at a warehouse in {NB}, {C}.",
    "Resident of {CO}.",
    "Reported to the {CO} Health Department.",
    "Lives in {WC}, {SA} with her husband.",
    "{WC}, {SA} {Z}",
    "Mailing address: {N} {ST}, {WC}, {SA} {Z}",
    "Born in {C}, {CTRY}; moved to {C2} in 2015.",
    "Family lives in {SN}; the patient lives in {C}.",
    "Vacationed in {SN} and {CTRY} this summer.",
    "Immigrated from {CTRY} in 2009; lives in {SN}.",
    "Her {R} in {C} is the emergency contact.",
    "Staying at a motel in {C} near the highway.",
    "Seen at {O} in {C} on {M} 3.",
    "{C}, {SN}",
    "{NB}, {C}",
    "From {WC}, {SA}. Retired teacher.",
    "Works in {WC} and commutes from {C2}.",
    "Lives in {CO}, {SN}.",
    "{C} ({CTRY})",
    "Patient of {O}, {C}, since {M}.",
    "Lost to follow-up after moving to {NB}.",
    "{CU}, {SA} {Z}",
)  # fmt: skip
_PLACE_SPEECH = (
    "i live over in {C} now",
    "we're out in {C} near the lake",
    "she's staying with her sister up in {C}",
    "yeah we just moved to {C} last month",
    "i'm from {C} originally",
    "we're over by {NB}",
    "it's out in {CO}",
    "the clinic in {C} closed so we come here",
    "my mom's place in {NB}",
    "we drove up from {C} this morning",
    "we were in {SN} last week visiting family",
    "he's back home in {CTRY} for a month",
    "down in {WC} by the river",
    "she lives in {WC} {SA}",
    "we go to the pharmacy in {C}",
    "it's near {NB} off the freeway",
)  # fmt: skip
# The same cues with no place after them, and names set off by commas where a place could stand: the
# model must read the word after "in", "to" or "from", not tag it because of the cue.
_PLACE_SPEECH_NEGATIVES = (
    "i live in the apartment over the garage",
    "we're out in the car right now",
    "she's staying up in her room",
    "we drove up from work",
    "i just want to know",
    "my son wants to know",
    "he needs to go in the morning",
    "we moved it to tuesday",
    "i'm calling from the insurance company",
    "it's in the mail already",
    "she lives in assisted living now",
    "we're over by the pharmacy",
    "i'm out in the parking lot",
    "he's back home now",
    "i'll come in on monday",
    "we were in the waiting room",
    "they live in a trailer out back",
    "he's in the hospital again",
    "hope to hear back soon",
    "she used to work at night",
    "i need to ask about the bill",
    "we'd like to come in together",
)  # fmt: skip
_PLACE_COUNTERS = (
    "Pt's {R}, {G}, will drive her home.",
    "Her {R}, {G}, is at the bedside.",
    "{G}, her {R}, lives in {C}.",
    "Spoke with the {R}, {G}, who lives in {NB}.",
    "{G} called from {C} about the refill.",
    "{LBL2} {NUM} in the log.",
    "{LBL2}: {NUM}",
    "Timestamp {N} recorded in the log.",
    "Entry {N} in the chart was amended.",
    "{F} updated in the record.",
)  # fmt: skip
# Labels before a number in other languages (forms and exports the proxy forwards).
_FOREIGN_LABELS = (
    "Patientennummer", "Versichertennummer", "Kundennummer", "Aktenzeichen", "Fallnummer", "Numéro",
    "Dossier", "Número", "Expediente", "Referentie", "Codice", "Tessera", "Personnummer", "Henkilötunnus",
    "Numer", "Identificador", "Matricule", "Zeitstempel", "Horodatage", "Referencia",
)  # fmt: skip
# Everyday speech with no name in it, said to a call centre or a clinic (lower-cased when used).
_PLAIN_SPEECH = (
    "ok let me grab my glasses from the other room",
    "we have two cats and a parrot at home",
    "any time after lunch works for me",
    "the app keeps asking for my password",
    "the number is printed on the front of the card",
    "she teaches at the middle school",
    "the post office was closed so i couldn't send it",
    "he takes the pill with breakfast",
    "my son is a paramedic",
    "what should i avoid after the procedure",
    "i was charged twice for the same visit",
    "perfect thank you so much",
    "hold on let me find a pen",
    "no that's the old address we moved last spring",
    "sorry the line cut out can you repeat that",
    "is the pharmacy open on sunday",
    "i was told to call back after the weekend",
    "the pills are white and round with a line in the middle",
    "we usually eat dinner around six",
    "my knee still hurts when i climb the stairs",
    "could you mail the forms instead of emailing them",
    "the appointment was moved to next thursday morning",
    "the copay was higher than last time",
    "i have the insurance card right here",
    "do i need to fast before the blood test",
    "the baby has had a cough since tuesday",
    "my husband usually handles the bills",
    "um yeah the portal won't let me sign in",
    "i'll be driving so text me instead",
    "it's the blue building next to the gas station",
    "the nurse said to keep the bandage dry",
    "we'll bring the paperwork with us",
    "the last four digits are seven seven one two",
    "my date of birth is the third of may",
    "my member number starts with two nine",
    "i am calling about a bill i got in the mail",
    "that's right yes the second one",
)  # fmt: skip
# Capitalised words that open a sentence or label a field, and what follows them in forms and chat.
_PLAIN_WRITING = (
    "{VERB} the results this morning.",
    "{VERB} as discussed.",
    "{VERB} and sent to the chart.",
    "{NOUN} completed; see attached.",
    "{NOUN} pending.",
    "Noted. Will review tomorrow.",
    "Sounds good, see you then.",
    "Great news about the scan!",
    "{LBL} #: {NUM}",
    "{LBL} #{NUM}",
    "{LBL} # {NUM} updated.",
    "{LBL} no. {NUM}",
    "{LBL}: {NUM}",
    'export DB_PASSWORD="{HEX}"',
    '{{"apiKey": "{HEX}", "region": "us-east-1"}}',
    "twilioAuthToken={HEX}",
    "client_secret: {HEX}",
    "Authorization: Bearer {HEX}",
    "check-in at 7:30, check-out by noon",
    "Fall precautions in place. Verbalized understanding.",
    "Male, 54, presents with dizziness.",
        "{EH} {NUM}",
    "{EH} scores {D1} and {D1}.",
    "{EH} negative bilaterally.",
    "Positive {EH}; negative {EH}.",
    # Instructions in cased text: the lower-case words after "at", "in", "to" are not places.
    "Take {D} at bedtime with food.",
    "Start a steroid taper over {D1} days.",
    "Apply to the affected area twice daily.",
    "Check sugars at breakfast and at supper.",
    "Walk in the hallway with assistance.",
    "Go to the lab in the morning, fasting.",
    "Pay at the front desk or online.",
    "Cash or card at the window; checks to billing.",
    "Weigh daily in the morning; call if up {D1} pounds.",
    "Keep the wound dry in the shower.",
    "Patient {HDR}: {INSTR}",
    "{HDR}: {INSTR}",
    "{LAB} {D1}.{D1}; repeat {LAB} in the morning.",
    "{LAB} pending at discharge.",
)  # fmt: skip
# Section headers of care documents and discharge papers.
_HEADERS = (
    "Education", "Instructions", "Counseling", "Nutrition", "Activity", "Diet", "Precautions",
    "Ambulation", "Hygiene", "Admission", "Readmission", "Transition", "Handoff", "Goals", "Barriers",
    "Outcome", "Response", "Teaching", "Safety", "Equipment", "Supplies", "Resources", "Services",
)  # fmt: skip
_INSTRUCTIONS = (
    "reviewed with patient and family", "low sodium, 2 g daily", "as tolerated", "given in writing",
    "none", "see discharge packet", "walker at all times", "verbalized understanding",
)  # fmt: skip
_LABS = (
    "International Normalized Ratio", "Prothrombin Time", "Partial Thromboplastin Time",
    "Complete Blood Count", "Basic Metabolic Panel", "Comprehensive Metabolic Panel",
    "Thyroid Stimulating Hormone", "Brain Natriuretic Peptide", "Erythrocyte Sedimentation Rate",
    "C-Reactive Protein", "Hemoglobin A1c", "Lactate", "Troponin", "Magnesium", "Phosphorus",
)  # fmt: skip
# Words that open a line or a sentence in notes and messages, capitalised but never a name.
_OPENING_VERBS = (
    "Got", "Sent", "Called", "Checked", "Reviewed", "Received", "Faxed", "Scanned", "Updated", "Signed",
    "Confirmed", "Cancelled", "Rescheduled", "Requested", "Printed", "Uploaded", "Forwarded", "Noted",
    "Verified", "Completed", "Reach", "Call", "Send", "Check", "Please", "Thanks", "Done", "Refund",
)  # fmt: skip
_OPENING_NOUNS = (
    "Admission", "Refund", "Encounter", "Transfer", "Intake", "Checkout", "Registration", "Payment",
    "Prior authorization", "Enrollment", "Screening", "Reconciliation", "Escalation", "Callback",
)  # fmt: skip
_ID_LABELS = (
    "Encounter", "Acct", "Account", "Claim", "Ref", "Order", "Case", "Ticket", "Member ID", "Policy",
    "Invoice", "Visit", "Requisition", "Accession", "Batch", "Lot", "Confirmation", "Booking", "PIN",
)  # fmt: skip
# First words of eponyms as they appear with a value ("Glasgow 14", "Braden 16").
_EPONYM_HEADS = (
    "Apgar", "Glasgow", "Braden", "Morse", "Wells", "Mallampati", "Tanner", "Romberg", "Lachman",
    "Babinski", "Murphy", "Homans", "Kernig", "Brudzinski", "Phalen", "Tinel", "Trendelenburg", "Epley",
    "Valsalva", "Doppler", "Holter", "Foley", "Ranson", "Child-Pugh", "Killip", "Gleason", "Breslow",
    "Karnofsky", "Hunt-Hess", "Fisher", "Spetzler", "Bishop", "Beighton", "Mini-Cog",
)  # fmt: skip


_FILLERS: dict[str, Callable[[random.Random], str]] = {
    "E": lambda r: r.choice(EPONYMS),
    "E2": lambda r: r.choice(EPONYMS),
    "EU": lambda r: r.choice(EPONYMS).upper(),
    "D": lambda r: r.choice(DRUGS),
    "D2": lambda r: r.choice(DRUGS),
    "F": lambda r: r.choice(FORM_WORDS),
    "F2": lambda r: r.choice(FORM_WORDS),
    "F3": lambda r: r.choice(FORM_WORDS),
    "FU": lambda r: r.choice(FORM_WORDS).upper(),
    "K": lambda r: r.choice(CLINICAL_CAPS),
    "K2": lambda r: r.choice(CLINICAL_CAPS),
    "K3": lambda r: r.choice(CLINICAL_CAPS),
    "KU": lambda r: r.choice(CLINICAL_CAPS),
    "M": lambda r: r.choice(_MONTHS),
    "N": lambda r: str(r.randint(1, 9999)),
    "Z": lambda r: f"{r.randint(10000, 99999)}",
    "R": lambda r: r.choice(["wife", "husband", "son", "daughter", "mother", "friend", "sister"]),
    "S0": lambda r: f"{r.choice('ABCDEFGHJKLMNPRSTW')}",
    "NUM": lambda r: str(r.randint(1000, 99_999_999)),
    "HEX": lambda r: "".join(r.choice("0123456789abcdef") for _ in range(r.randint(12, 32))),
    "EH": lambda r: r.choice(_EPONYM_HEADS),
    "D1": lambda r: str(r.randint(1, 10)),
    "VERB": lambda r: r.choice(_OPENING_VERBS),
    "NOUN": lambda r: r.choice(_OPENING_NOUNS),
    "LBL": lambda r: r.choice(_ID_LABELS),
    "HDR": lambda r: r.choice(_HEADERS),
    "INSTR": lambda r: r.choice(_INSTRUCTIONS),
    "LAB": lambda r: r.choice(_LABS),
    "SN": lambda r: r.choice(_STATES),
    "SA": lambda r: r.choice(_STATE_CODES),
    "CTRY": lambda r: r.choice(_COUNTRIES),
    "LBL2": lambda r: r.choice(_FOREIGN_LABELS + _ID_LABELS),
}


def _same_length(changed: str, original: str) -> str:
    """Case mapping that keeps offsets: "İ".lower() and "ß".upper() are two characters."""
    return changed if len(changed) == 1 else original


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.values = Values(self.rng)

    def _slot(self, key: str, lower: bool) -> tuple[str, str | None]:
        v, r = self.values, self.rng
        base = key.rstrip("0123456789U")
        upper = key.endswith("U") and base in {"P", "S", "G", "C", "ST", "T", "O", "NB", "CO", "WC"}
        latin = lower or upper
        if base == "P":
            value, label = v.person(latin), "PERSON"
        elif base == "G":
            value, label = v.given(latin), "PERSON"
        elif base == "S":
            value, label = v.family(latin), "PERSON"
        elif base == "T":
            title = r.choice(["Dr.", "Dr", "Doctor", "Mr.", "Mrs.", "Ms.", "Prof.", "Nurse"])
            who = " ".join((v.family(latin) if r.random() < 0.6 else v.person(latin)).split())
            return f"{title} {{{{{who}}}}}", "PERSON"  # only the name is labelled
        elif base == "C":
            value, label = v.city(), "GPE"
        elif base == "NB":
            value, label = v.neighbourhood(), "GPE"
        elif base == "CO":
            value, label = v.county(), "GPE"
        elif base == "WC":
            value, label = v.word_city(), "GPE"
        elif base == "ST":
            value, label = v.street(), "FAC"
        elif base == "O":
            value, label = v.org(), "ORG"
        else:
            return _FILLERS.get(key, _FILLERS.get(base, lambda _: key))(r), None
        value = " ".join(value.split())
        if upper:
            value = "".join(_same_length(c.upper(), c) for c in value)
        return value, label

    def _fill(self, template: str, *, lower: bool = False) -> Example:
        """Fill ``{KEY}`` slots left to right, recording the labelled spans."""
        out: list[str] = []
        spans: list[Span] = []
        pos = 0
        i = 0
        while i < len(template):
            if template[i] == "{":
                j = template.index("}", i)
                key = template[i + 1 : j]
                if key in _FILLERS:
                    value, label = _FILLERS[key](self.rng), None
                else:
                    value, label = self._slot(key, lower)
                if label is not None and "{{" in value:
                    pre, rest = value.split("{{", 1)
                    name, post = rest.split("}}", 1)
                    out.append(pre)
                    pos += len(pre)
                    spans.append((pos, pos + len(name), label))
                    out.append(name + post)
                    pos += len(name) + len(post)
                else:
                    if label is not None:
                        spans.append((pos, pos + len(value), label))
                    out.append(value)
                    pos += len(value)
                i = j + 1
            else:
                out.append(template[i])
                pos += 1
                i += 1
        return Example("".join(out), tuple(spans))

    # ---------------------------------------------------------------------------- example shapes

    def _lowered(self, ex: Example) -> Example:
        """A call transcript: lower case, no punctuation (same length where characters are kept)."""
        from masker.detect.ner import truecase

        keep: list[int] = []
        chars: list[str] = []
        for k, ch in enumerate(ex.text):
            if ch in '.,;:!?()"':
                continue
            keep.append(k)
            chars.append(_same_length(ch.lower(), ch))
        remap = {old: new for new, old in enumerate(keep)}
        remap[len(ex.text)] = len(chars)

        def at(k: int) -> int:
            while k not in remap:
                k += 1
            return remap[k]

        text = "".join(chars)
        spans = tuple((at(s), at(e), lab) for s, e, lab in ex.spans if at(e) > at(s))
        if self.rng.random() < 0.5:
            text = truecase(text)  # what the proxy sends NER for lower-case text
        return Example(text, spans)

    def _upper(self, ex: Example) -> Example:
        return Example("".join(_same_length(c.upper(), c) for c in ex.text), ex.spans)

    def _window(self, ex: Example) -> Example:
        """A cut-out of a longer text, as the proxy's NER gate sends it: whole words, any cut."""
        words = [k for k in range(len(ex.text)) if k == 0 or ex.text[k - 1] == " "]
        if len(words) < 6:
            return ex
        a = self.rng.choice(words[: len(words) // 3])
        b_choices = [k - 1 for k in words[2 * len(words) // 3 :]] + [len(ex.text)]
        b = self.rng.choice(b_choices)
        spans = tuple((s - a, e - a, lab) for s, e, lab in ex.spans if s >= a and e <= b)
        if any(s < a < e or s < b < e for s, e, _ in ex.spans):
            return ex
        return Example(ex.text[a:b], spans)

    def _join(self, parts: Sequence[Example], sep: str) -> Example:
        text: list[str] = []
        spans: list[Span] = []
        pos = 0
        for n, p in enumerate(parts):
            if n:
                text.append(sep)
                pos += len(sep)
            spans.extend((s + pos, e + pos, lab) for s, e, lab in p.spans)
            text.append(p.text)
            pos += len(p.text)
        return Example("".join(text), tuple(spans))

    def _intl_address(self) -> Example:
        """An address in its locale's order, in a letter block or on one line: the street (FAC) and
        the city (GPE) labelled, the postcode not (patterns find it)."""
        loc, street, postcode, city = self.values.intl_address()
        continental = loc not in {"en_GB", "en_IE", "en_NZ", "en_US", "es_ES", "es_MX"}
        tail = (
            [(postcode, None), (" ", None), (city, "GPE")]
            if continental
            else [(city, "GPE"), (", " if self.rng.random() < 0.5 else " ", None), (postcode, None)]
        )
        head: list[tuple[str, str | None]] = []
        r = self.rng.random()
        if r < 0.35:
            head = [(self.values.person(True), "PERSON"), ("\n", None)]
        elif r < 0.6:
            head = [(self.values.org(), "ORG"), ("\n", None)]
        elif r < 0.8:
            head = [(self.rng.choice(["Forwarding address: ", "Address: ", "Lives at ", "Send to "]), None)]
        sep = "\n" if r < 0.6 and self.rng.random() < 0.7 else ", "
        parts = [*head, (street, "FAC"), (sep, None), *tail]
        if self.rng.random() < 0.3:
            parts.append(("\n" if sep == "\n" else ", ", None))
            parts.append((self.rng.choice(_COUNTRIES), None))
        text: list[str] = []
        spans: list[Span] = []
        pos = 0
        for value, label in parts:
            if label is not None and value.strip():
                spans.append((pos, pos + len(value), label))
            text.append(value)
            pos += len(value)
        return Example("".join(text), tuple(spans))

    def _place_part(self) -> Example:
        r = self.rng.random()
        if r < 0.55:
            return self._fill(self.rng.choice(_PLACES))
        if r < 0.8:
            return self._fill(self.rng.choice(_PLACE_COUNTERS))
        return self._negative()

    def _places(self) -> Example:
        r = self.rng.random()
        if r < 0.25:
            return self._intl_address()
        if r < 0.55:
            if self.rng.random() < 0.45:
                speech = Example(self.rng.choice(_PLACE_SPEECH_NEGATIVES), ())
            else:
                speech = self._fill(self.rng.choice(_PLACE_SPEECH), lower=True)
            if self.rng.random() < 0.4:
                other = Example(self.rng.choice(_PLAIN_SPEECH), ())
                speech = self._join([speech, other] if self.rng.random() < 0.5 else [other, speech], " ")
            return self._lowered(speech)
        parts = [self._place_part() for _ in range(self.rng.randint(1, 3))]
        ex = self._join(parts, self.rng.choice([" ", "\n"]))
        return self._upper(ex) if self.rng.random() < 0.05 else ex

    def _negative(self) -> Example:
        if self.rng.random() < 0.4:
            return self._fill(self.rng.choice(_PLAIN_WRITING))
        return self._fill(self.rng.choice(_NEGATIVE_SENTENCES))

    def _fragment(self) -> Example:
        """A few words with no context at all — a reply, a label, an API model or tool name: without
        a cue, a lone lower-case word is not a name."""
        from faker.providers.lorem.en_US import Provider as Lorem

        words = [self.rng.choice(Lorem.word_list) for _ in range(self.rng.randint(1, 3))]
        r = self.rng.random()
        if r < 0.35:
            text = " ".join(words)
        elif r < 0.55:
            text = "-".join(words) + self.rng.choice(
                ["", f"-{self.rng.randint(1, 9)}", "-v2", "-mini", "_latest"]
            )
        elif r < 0.7:
            text = f"{words[0]}-{self.rng.randint(1, 5)}{self.rng.choice(['', 'o', '.5', 'b'])}"
        elif r < 0.85:
            text = (
                "_".join(words)
                if self.rng.random() < 0.5
                else words[0] + "".join(w.title() for w in words[1:])
            )
        else:
            text = " ".join(words).capitalize() + self.rng.choice([".", "", "!", "?"])
        return Example(text, ())

    def _speech(self) -> Example:
        """Lower-case speech with no name: several everyday phrases run together."""
        parts = [Example(self.rng.choice(_PLAIN_SPEECH), ()) for _ in range(self.rng.randint(1, 3))]
        return self._lowered(self._join(parts, " "))

    def example(self) -> Example:
        if self.rng.random() < 0.05:
            return self._fragment()
        if self.rng.random() < 0.1:
            return self._places()
        if self.rng.random() < 0.12:
            return self._speech()
        if self.rng.random() < 0.08:  # a caller's utterance: speech around a name
            ex = self._fill(self.rng.choice(_TRANSCRIPT), lower=True)
            speech = Example(self.rng.choice(_PLAIN_SPEECH), ())
            parts = [speech, ex] if self.rng.random() < 0.5 else [ex, speech]
            return self._lowered(self._join(parts, " "))
        r = self.rng.random()
        if r < 0.28:  # a piece of a clinical note: prose with negatives mixed in
            parts = [
                self._fill(self.rng.choice(_PROSE)) if self.rng.random() < 0.55 else self._negative()
                for _ in range(self.rng.randint(1, 4))
            ]
            ex = self._join(parts, " ")
            return self._window(ex) if self.rng.random() < 0.25 else ex
        if r < 0.43:  # form lines
            parts = [
                self._fill(self.rng.choice(_FORM)) if self.rng.random() < 0.6 else self._negative()
                for _ in range(self.rng.randint(1, 4))
            ]
            ex = self._join(parts, "\n")
            return self._upper(ex) if self.rng.random() < 0.12 else ex
        if r < 0.53:
            return self._fill(self.rng.choice(_LETTER))
        if r < 0.68:  # a caller's utterance
            ex = self._fill(self.rng.choice(_TRANSCRIPT), lower=True)
            return self._lowered(ex)
        if r < 0.80:
            ex = self._fill(self.rng.choice(_GENERAL))
            s = self.rng.random()
            if s < 0.1:
                return self._lowered(ex)
            return self._upper(ex) if s < 0.15 else ex
        if r < 0.97:  # no entity at all: form words, eponyms, drugs, abbreviations
            parts = [self._negative() for _ in range(self.rng.randint(1, 3))]
            ex = self._join(parts, self.rng.choice([" ", "\n"]))
            return self._lowered(ex) if self.rng.random() < 0.1 else ex
        return self._upper(self._fill(self.rng.choice(_FORM)))

    def examples(self, n: int) -> Iterator[Example]:
        for _ in range(n):
            yield self.example()


def generate(seed: int, n: int) -> list[Example]:
    return list(Generator(seed).examples(n))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args(argv)
    for ex in generate(args.seed, args.n):
        sys.stdout.write(ex.to_json() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
