"""Clinical over-redaction and name-recall classes: text -> expected spans, and precision traps.

Three layers, each tested where it lives:
- the NER post-filter (``ner_findings``) given the spans a model could return, so every rule is
  exercised whatever a particular model version says;
- the pattern recognizers (no model): recall of names the model misses, and traps they must leave;
- the engine with the real spaCy model, on sentences of each trap class.

Eponyms, brands and departments here are deliberately not the ones of the benchmark corpus
(``bench/corpus/clinical_traps.py``): the rules are for the class, not for a list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.ner import ner_findings
from masker.detect.types import Entity as E
from masker.detect.types import NerSpan

from .conftest import spans_of

Case = tuple[str, set[tuple[E, str]]]


def _ner(text: str, *labelled: tuple[str, str]) -> set[tuple[E, str]]:
    """``ner_findings`` for model spans given as (label, surface text) at their first occurrence."""
    spans = []
    for label, value in labelled:
        start = text.index(value)
        spans.append(NerSpan(start, start + len(value), label, 0.85))
    return {(f.entity, text[f.start : f.end]) for f in ner_findings(text, spans)}


NER_TRAPS: list[tuple[str, tuple[tuple[str, str], ...]]] = [
    # eponyms: a surname before a disease / sign / scale / device word, or possessive
    ("Positive Kehr sign on exam.", (("PERSON", "Kehr"),)),
    ("Ranson criteria calculated at admission.", (("ORG", "Ranson"),)),
    ("Findings suggest Buerger's disease.", (("PERSON", "Buerger"),)),
    ("Waterhouse-Friderichsen syndrome was considered.", (("PERSON", "Waterhouse-Friderichsen"),)),
    ("Pancoast tumor on the CT.", (("GPE", "Pancoast"),)),
    ("Cullen and Grey Turner signs absent.", (("PERSON", "Cullen"),)),
    ("Fontaine class II claudication.", (("PERSON", "Fontaine"),)),
    ("Richmond Agitation Sedation Scale of -1.", (("ORG", "Richmond"),)),
    ("Spetzler-Martin grade 3 lesion.", (("PERSON", "Spetzler-Martin grade"),)),
    # drugs and brands, named by their context
    ("Began Wixela 250/50 one puff twice daily.", (("PERSON", "Wixela"),)),
    ("Restarted Nuvigil this week.", (("PERSON", "Nuvigil"),)),
    ("Allergic to Bactroban and Keflex.", (("ORG", "Bactroban"),)),
    ("Tresiba was increased to 30 units.", (("GPE", "Tresiba"),)),
    ("Took Xyzal 5 mg. Later we discussed Xyzal again.", (("PERSON", "Xyzal"),)),
    # departments, services and form words
    (
        "Consult Geriatric Medicine and Hospice Care.",
        (("ORG", "Consult Geriatric Medicine and Hospice Care"),),
    ),
    ("Evaluated by Behavioral Medicine.", (("ORG", "Behavioral Medicine"),)),
    ("Placed in the Neonatal Intensive Care Unit.", (("ORG", "the Neonatal Intensive Care Unit"),)),
    ("Orders per Protocol.", (("PERSON", "Protocol"),)),
    ("Staph culture: S. Epidermidis.", (("PERSON", "S. Epidermidis"),)),
    # organisations with no organisation shape: not Safe Harbor identifiers, not reported
    ("Medtronic device interrogated.", (("ORG", "Medtronic"),)),
    ("Abbott sensor replaced.", (("ORG", "Abbott"),)),
    ("Message sent through Epic MyChart.", (("ORG", "Epic MyChart"),)),
]


@pytest.mark.parametrize(("text", "labelled"), NER_TRAPS)
def test_ner_trap_spans_are_dropped(text: str, labelled: tuple[tuple[str, str], ...]) -> None:
    assert _ner(text, *labelled) == set()


NER_KEPT: list[tuple[str, tuple[tuple[str, str], ...], set[tuple[E, str]]]] = [
    # a title makes the surname a person whatever follows
    ("Dr. Kehr's catheter order.", (("PERSON", "Kehr"),), {(E.PERSON, "Kehr")}),
    # a possessive before a thing a patient has is the patient's
    ("Emily's catheter was changed.", (("PERSON", "Emily"),), {(E.PERSON, "Emily")}),
    # a given name after a medication verb stays a name
    ("Started Maria on insulin.", (("PERSON", "Maria"),), {(E.PERSON, "Maria")}),
    # an organisation with its shape stays one (masked or kept as the policy says)
    (
        "Transferred to St. Agnes Hospital.",
        (("ORG", "St. Agnes Hospital"),),
        {(E.ORGANIZATION, "St. Agnes Hospital")},
    ),
    # a person read as an organisation is reported as a person
    ("Results sent to Kovács Zsófia.", (("ORG", "Kovács Zsófia"),), {(E.PERSON, "Kovács Zsófia")}),
    # the small model reads unknown towns as ORG: after a place preposition they are places
    ("Visiting from Steinfurt for two weeks.", (("ORG", "Steinfurt"),), {(E.LOCATION, "Steinfurt")}),
    (
        "Lives near Capelle aan den IJssel.",
        (("ORG", "Capelle aan den IJssel"),),
        {(E.LOCATION, "Capelle aan den IJssel")},
    ),
    # two unknown capitalised words NER called an organisation: masked as a name (recall first)
    ("Seen with Tecla Mulet today.", (("ORG", "Tecla Mulet"),), {(E.PERSON, "Tecla Mulet")}),
    # particles after the part NER found
    ("Omar al-Farouk is here.", (("PERSON", "Omar"),), {(E.PERSON, "Omar al-Farouk")}),
    ("Ana da Silva called.", (("PERSON", "Ana"),), {(E.PERSON, "Ana da Silva")}),
    # a leading verb is trimmed, the name kept
    ("Called Priya Raman back.", (("PERSON", "Called Priya Raman"),), {(E.PERSON, "Priya Raman")}),
]


@pytest.mark.parametrize(("text", "labelled", "expected"), NER_KEPT)
def test_ner_spans_kept(
    text: str, labelled: tuple[tuple[str, str], ...], expected: set[tuple[E, str]]
) -> None:
    assert _ner(text, *labelled) == expected


NAME_RECALL: list[Case] = [
    # a rare lower-case given name after a relation or talk cue
    ("talked to brynlee yesterday", {(E.PERSON, "brynlee")}),
    ("my mom ricki is coming", {(E.PERSON, "ricki")}),
    ("my stepdaughter said my son kaidyn has a cold", {(E.PERSON, "kaidyn")}),
    ("so my girlfriend zaylee, she drives", {(E.PERSON, "zaylee")}),
    # the span stops before the verb
    ("my daughter emily needs a refill", {(E.PERSON, "emily")}),
    # a given name of the lexicon after a weak title, an everyday word after it
    ("i spoke with nurse kendra yesterday", {(E.PERSON, "kendra")}),
    # a given name that is also vocabulary, after a greeting
    ("Dear Iris,\nthank you for coming.", {(E.PERSON, "Iris")}),
    # a first name alone as a sentence subject, and inside a sentence
    ("Ingrid is feeling better today.", {(E.PERSON, "Ingrid")}),
    ("Overnight quiet. Sven has a fever.", {(E.PERSON, "Sven")}),
    ("Please call Ngozi back about the results.", {(E.PERSON, "Ngozi")}),
    ("Discussed the plan with Aino, her sister.", {(E.PERSON, "Aino")}),
    # particles, prefixes, hyphens, initials
    ("Results sent to Ludwig van der Berg today.", {(E.PERSON, "Ludwig van der Berg")}),
    ("Results sent to Omar al-Farouk today.", {(E.PERSON, "Omar al-Farouk")}),
    ("Seen with Siobhan O'Sullivan today.", {(E.PERSON, "Siobhan O'Sullivan")}),
    ("Copy to Jean-Luc Moreau.", {(E.PERSON, "Jean-Luc Moreau")}),
    ("Consent witnessed by A. J. Kowalczyk.", {(E.PERSON, "A. J. Kowalczyk")}),
    ("Seen with Nuala Ní Bhriain today.", {(E.PERSON, "Nuala Ní Bhriain")}),
    # upper-case names after a field label without a colon, the longer label first
    ("PATIENT NAME WILMA HAVERFORD", {(E.PERSON, "WILMA HAVERFORD")}),
    ("RE: WILMA HAVERFORD", {(E.PERSON, "WILMA HAVERFORD")}),
]

PATTERN_TRAPS = [
    "Patient states pain is better.",
    "the nurse line is busy",
    "my son broke his arm",
    "my mom never calls back",
    "my wife usually drives",
    "i talked to the pharmacy",
    "my zip is on the form",
    "Mother Baby Unit stable.",
    "Heparin drip per Protocol.",
    "Memory is intact.",
    "Rain is expected tomorrow.",
    "We moved to New York last year.",
    "P. aeruginosa grew in culture.",
    "Braden Scale 14.",
    "Med Rec done by Clinical Pharmacist.",
    "RE: FOLLOW UP VISIT",
    "Results of Hunt and Hess grading reviewed.",
    "Started Eliquis and Plavix today.",
]


@pytest.mark.parametrize(("text", "expected"), NAME_RECALL)
def test_names_found_without_ner(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize("text", PATTERN_TRAPS)
def test_pattern_traps_are_not_flagged(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()


@pytest.mark.parametrize(("text", "expected"), NAME_RECALL)
def test_prefilters_hide_no_name(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    gated = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text)}
    plain = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text, gated=False)}
    assert gated == plain


@pytest.fixture(scope="module")
def with_model() -> Iterator[DetectionEngine]:
    eng = DetectionEngine(ner=InProcessNer(mode="inline"))
    yield eng
    asyncio.run(eng.close())


MODEL_TRAPS = [
    "Exam showed a positive Kehr sign and Ranson criteria of 2.",
    "Findings suggest Buerger's disease; Pancoast tumor ruled out.",
    "Began Wixela and Nuvigil; Tresiba was increased to 30 units.",
    "Consult Geriatric Medicine; Behavioral Medicine evaluated the patient.",
    "Admitted to the Neonatal Intensive Care Unit. Orders per Protocol.",
    "Medtronic device interrogated; Abbott sensor replaced.",
    "IMPRESSION: stable. DISPOSITION: home with Home Health.",
]


@pytest.mark.slow
@pytest.mark.parametrize("text", MODEL_TRAPS)
def test_model_traps_are_not_flagged(with_model: DetectionEngine, text: str) -> None:
    assert spans_of(with_model, text) == set()


@pytest.mark.slow
def test_model_still_finds_the_names_beside_traps(with_model: DetectionEngine) -> None:
    text = "Dr. Okafor noted a positive Kehr sign. Ingrid Halvorsen started Wixela 250/50 twice daily."
    assert spans_of(with_model, text) == {(E.PERSON, "Okafor"), (E.PERSON, "Ingrid Halvorsen")}
