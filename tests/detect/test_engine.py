"""The engine as the gateway uses it: caching, allow/deny, thresholds, NER failure policy,
numbers split across turns, and the in-process spaCy backend."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

import pytest

from masker.detect.cache import FindingsCache
from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.types import DetectOptions, Entity, NerSpan, NerUnavailable


class CountingNer:
    """A real NerBackend: finds capitalised two-word names and counts the texts it was asked about."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        self.seen.extend(texts)
        out: list[list[NerSpan]] = []
        for text in texts:
            idx = text.find("Qzx Vrb")
            out.append([NerSpan(idx, idx + 7, "PERSON")] if idx >= 0 else [])
        return out

    async def close(self) -> None:
        pass


class BrokenNer:
    """A backend whose service is down."""

    def __init__(self) -> None:
        self.closed = False

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        raise NerUnavailable("service down")

    async def close(self) -> None:
        self.closed = True


class CrashingNer(BrokenNer):
    """A backend with a bug: any exception must be treated like unavailability."""

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        raise RuntimeError("boom")


def _values(text: str, findings: list) -> set[tuple[Entity, str]]:  # type: ignore[type-arg]
    return {(f.entity, text[f.start : f.end]) for f in findings}


async def test_history_is_served_from_cache_and_only_new_text_is_analysed() -> None:
    ner = CountingNer()
    engine = DetectionEngine(ner=ner)
    history = ["Ann Lee here.", "How can I help?", "My MRN is 00123456 at Lakeside."]
    first = await engine.detect(history, DetectOptions())
    # "How can I help?" is everyday vocabulary only, and "Ann Lee" is already found by its cue
    # ("… here"): nothing left for NER there, so it is not asked.
    assert ner.seen == ["My MRN is 00123456 at Lakeside."]
    new = "Also call Zorblax Quimbo at 415-555-2671."  # no cue, not in the name lexicon: NER decides
    second = await engine.detect([*history, new], DetectOptions())
    assert ner.seen == ["My MRN is 00123456 at Lakeside.", new]
    assert second.findings[:3] == first.findings
    assert _values(history[0], first.findings[0]) == {(Entity.PERSON, "Ann Lee")}
    assert engine.cache.hits == 3


async def test_everyday_vocabulary_skips_ner() -> None:
    ner = CountingNer()
    engine = DetectionEngine(ner=ner)
    await engine.detect(
        ["yes that's right", "my number is four one five", "i live in springfield"], DetectOptions()
    )
    assert ner.seen == ["i live in springfield"]


async def test_cache_is_keyed_by_options_too() -> None:
    ner = CountingNer()
    engine = DetectionEngine(ner=ner)
    await engine.detect(["Qzx Vrb."], DetectOptions())
    result = await engine.detect(["Qzx Vrb."], DetectOptions(use_ner=False))
    assert result.findings == [[]]


def test_cache_is_bounded_by_entries_and_bytes() -> None:
    cache = FindingsCache(max_entries=3, max_bytes=10_000)
    for i in range(10):
        cache.put(("k", i), [])
    assert len(cache) == 3 and cache.get(("k", 0)) is None and cache.get(("k", 9)) == []
    small = FindingsCache(max_entries=1000, max_bytes=1000)
    for i in range(50):
        small.put(i, [])
    assert small.bytes_used <= 1000 and len(small) < 50


async def test_allow_list_suppresses_the_clinic_own_number_and_name() -> None:
    engine = DetectionEngine(ner=CountingNer())
    text = "Ann Lee at Ann Lee Clinic, call 415-555-2671 or 415-555-0100"
    options = DetectOptions(allow=frozenset({"415-555-0100", "ann lee clinic"}))
    result = await engine.detect([text], options)
    assert _values(text, result.findings[0]) == {(Entity.PERSON, "Ann Lee"), (Entity.PHONE, "415-555-2671")}


async def test_deny_list_forces_values_and_keeps_their_type() -> None:
    engine = DetectionEngine()
    text = "project Bluebird, ticket 4155552671"
    result = await engine.detect([text], DetectOptions(deny=frozenset({"bluebird", "4155552671"})))
    found = _values(text, result.findings[0])
    assert (Entity.ID_NUMBER, "Bluebird") in found
    assert (Entity.ID_NUMBER, "4155552671") in found


async def test_per_entity_threshold() -> None:
    engine = DetectionEngine()
    text = "ticket 4155552671 and reach me at 4155552672"
    strict = DetectOptions(thresholds=((Entity.PHONE, 0.99),))
    result = await engine.detect([text], strict)
    assert Entity.PHONE not in {f.entity for f in result.findings[0]}


async def test_ner_failure_raises_by_default() -> None:
    engine = DetectionEngine(ner=BrokenNer())
    with pytest.raises(NerUnavailable):
        await engine.detect(["Qzx Vrb, SSN 900-12-3456"], DetectOptions())


@pytest.mark.parametrize("backend", [BrokenNer, CrashingNer])
async def test_ner_failure_degrades_to_patterns_and_is_not_cached(backend: type[BrokenNer]) -> None:
    engine = DetectionEngine(ner=backend())
    text = "Qzx Vrb, SSN 900-12-3456"
    result = await engine.detect([text], DetectOptions(on_ner_failure="degrade"))
    assert result.degraded
    assert _values(text, result.findings[0]) == {(Entity.SSN, "900-12-3456")}
    assert len(engine.cache) == 0


async def test_close_closes_the_backend() -> None:
    ner = BrokenNer()
    engine = DetectionEngine(ner=ner)
    await engine.close()
    assert ner.closed


@pytest.mark.parametrize(
    ("turns", "left", "right", "entity"),
    [
        (["my number is 415 555", "2671"], "415 555", "2671", Entity.PHONE),
        (["my ssn is 123-45", "6789"], "123-45", "6789", Entity.SSN),
        (["card 4111 1111", "1111 1111."], "4111 1111", "1111 1111", Entity.CREDIT_CARD),
        (["my phone is four one five", "five five five two six seven one"], "four one five",
         "five five five two six seven one", Entity.PHONE),
    ],
)  # fmt: skip
async def test_number_split_across_two_user_turns(
    turns: list[str], left: str, right: str, entity: Entity
) -> None:
    engine = DetectionEngine()
    result = await engine.detect(turns, DetectOptions(), roles=["user", "user"])
    a, b = result.findings
    assert (entity, left) in _values(turns[0], a)
    assert (entity, right) in _values(turns[1], b)


async def test_number_split_across_three_user_turns() -> None:
    engine = DetectionEngine()
    turns = ["my phone number is 742", "262", "5888"]
    result = await engine.detect(turns, DetectOptions(), roles=["user"] * 3)
    assert [_values(t, f) for t, f in zip(turns, result.findings, strict=True)] == [
        {(Entity.PHONE, "742")},
        {(Entity.PHONE, "262")},
        {(Entity.PHONE, "5888")},
    ]


async def test_in_process_backend_that_cannot_load_its_model_is_unavailable() -> None:
    ner = InProcessNer(model_name="masker_no_such_model")
    engine = DetectionEngine(ner=ner)
    with pytest.raises(NerUnavailable):
        await engine.detect(["Qzx Vrb, SSN 900-12-3456"], DetectOptions())
    degraded = await engine.detect(["Qzx Vrb, SSN 900-12-3456"], DetectOptions(on_ner_failure="degrade"))
    assert degraded.degraded
    await engine.close()


async def test_split_number_is_not_joined_across_an_assistant_turn() -> None:
    engine = DetectionEngine()
    turns = ["my number is 415 555", "2671"]
    result = await engine.detect(turns, DetectOptions(), roles=["user", "assistant"])
    assert result.findings == [[], []]


async def test_findings_are_sorted_and_non_overlapping() -> None:
    engine = DetectionEngine()
    text = "Dr. Ann Lee, 123 Main Street, Springfield, IL 62704, ann.lee@example.com, https://example.com/x"
    findings = (await engine.detect([text], DetectOptions())).findings[0]
    assert findings == sorted(findings, key=lambda f: f.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


@pytest.mark.slow
async def test_in_process_spacy_backend() -> None:
    ner = InProcessNer()
    engine = DetectionEngine(ner=ner)
    texts = [
        "Patient Maria Gonzalez was seen at Boston Medical Center in Springfield.",
        "Will you take metformin 500 mg? May I help? BP 120/80.",
    ]
    concurrent = await asyncio.gather(
        engine.detect(texts[:1], DetectOptions()), engine.detect(texts[1:], DetectOptions())
    )
    found = _values(texts[0], concurrent[0].findings[0])
    assert (Entity.PERSON, "Maria Gonzalez") in found
    assert (Entity.LOCATION, "Springfield") in found
    assert concurrent[1].findings == [[]]
    await engine.close()
    with pytest.raises(NerUnavailable):
        await ner.analyze(["after close"])
