"""NER merged with patterns, against the real spaCy model: names/places found, clinical language kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.ner import ner_findings
from masker.detect.types import DetectOptions, NerSpan
from masker.detect.types import Entity as E

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine() -> Iterator[DetectionEngine]:
    eng = DetectionEngine(ner=InProcessNer(mode="inline"))
    yield eng
    asyncio.run(eng.close())


def _spans(engine: DetectionEngine, text: str) -> set[tuple[E, str]]:
    result = asyncio.run(engine.detect([text], DetectOptions()))
    return {(f.entity, text[f.start : f.end]) for f in result.findings[0]}


@pytest.mark.parametrize(
    "text",
    [
        "History of Parkinson's disease and Bell's palsy. Glasgow Coma Scale 15. Foley catheter removed.",
        "Started Keppra and Depakote; Seroquel at night. Consult Radiology and Orthopedics.",
        "Empagliflozin was started and Apixaban continued. Rosuvastatin 20 mg.",
        "Crackles at the right base. RLL infiltrate, LUQ tenderness. Seen in ED.",
        "Will you take metformin 500 mg? May I help? BP 120/80. Hope so. Grace period applies.",
        "Caller: hi. Agent: thank you for calling. Customer: yes. Representative: one moment.",
        "Medicare number pending. Driver's license scanned. Insurance: Cigna.",
        "mark it down for friday please",
        "i'll grab it at the kitchen counter",
    ],
)
def test_clinical_language_is_not_flagged(engine: DetectionEngine, text: str) -> None:
    assert _spans(engine, text) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "John Carter presented with chest pain; his wife Maria Carter drove him from Springfield.",
            {(E.PERSON, "John Carter"), (E.PERSON, "Maria Carter"), (E.LOCATION, "Springfield")},
        ),
        (
            "Patient Name: John Doe\nDOB: 01/02/1960\nMRN: 123456",
            {(E.PERSON, "John Doe"), (E.DATE, "01/02/1960"), (E.MRN, "123456")},
        ),
        ("i live in springfield with my sister", {(E.LOCATION, "springfield")}),
        # lower-case ASR with no cue: the NER model sees a truecased copy
        ("yeah so maria said she'd pick it up tomorrow", {(E.PERSON, "maria")}),
        ("i talked to david thompson about it yesterday", {(E.PERSON, "david thompson")}),
    ],
)
def test_names_and_places(engine: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert _spans(engine, text) == expected


@pytest.mark.parametrize(
    ("text", "span", "kept"),
    [
        ("my daughter emily needs a refill", "emily needs", "emily"),
        ("my son dmitri wants to know", "dmitri wants", "dmitri"),
        ("talked to emily jones today", "emily jones", "emily jones"),
        ("ask james williams to call", "james williams", "james williams"),
        ("his wife Maria Carter drove him", "Maria Carter drove", "Maria Carter"),
    ],
)
def test_a_model_span_does_not_swallow_the_next_verb(text: str, span: str, kept: str) -> None:
    start = text.index(span)
    found = ner_findings(text, [NerSpan(start, start + len(span), "PERSON")])
    assert [text[f.start : f.end] for f in found] == [kept]
