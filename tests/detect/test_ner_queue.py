"""The in-process model's queue: concurrent calls are batched, and a call never waits longer than
its deadline — it is shed with ``NerUnavailable`` (the policy's NER-failure outcome) instead."""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.types import DetectOptions, NerUnavailable

TEXT = "Patient Maria Gonzalez was seen at Boston Medical Center in Springfield, and her son Tomas came too."


@pytest.mark.slow
async def test_calls_that_would_wait_past_the_deadline_are_shed() -> None:
    ner = InProcessNer(max_wait_ms=0.001)  # a microsecond: anything queued behind a pass is too late
    ner.warm_up()
    try:
        await ner.analyze([TEXT])  # measures the model's cost per text
        results = await asyncio.gather(
            *(ner.analyze([f"{TEXT} ({i})"]) for i in range(12)), return_exceptions=True
        )
        served = [r for r in results if isinstance(r, list)]
        shed = [r for r in results if isinstance(r, NerUnavailable)]
        assert served and shed and len(served) + len(shed) == 12
        assert ner.shed == len(shed)
        assert any(span.label == "PERSON" for span in served[0][0])
    finally:
        await ner.close()


@pytest.mark.slow
async def test_without_a_backlog_nothing_is_shed_and_calls_share_passes() -> None:
    ner = InProcessNer(max_wait_ms=60_000)
    ner.warm_up()
    passes: list[int] = []
    run = ner._run

    def counting(texts: list[str]) -> object:
        passes.append(len(texts))
        return run(texts)

    ner._run = counting  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(ner.analyze([f"{TEXT} ({i})"]) for i in range(12)))
        assert len(results) == 12 and ner.shed == 0
        assert len(passes) < 12 and sum(passes) == 12  # batched across callers
    finally:
        await ner.close()


@pytest.mark.slow
async def test_a_shed_call_follows_the_policy_failure_outcome() -> None:
    ner = InProcessNer(max_wait_ms=0.001)
    ner.warm_up()
    engine = DetectionEngine(ner=ner)
    try:
        await ner.analyze([TEXT])
        degrade = DetectOptions(on_ner_failure="degrade")
        closed = DetectOptions(on_ner_failure="raise")
        outcomes = await asyncio.gather(
            *(engine.detect([f"{TEXT} call 415-555-{i:04d}"], degrade) for i in range(8)),
            *(engine.detect([f"{TEXT} ref {i}"], closed) for i in range(8)),
            return_exceptions=True,
        )
        degraded = [o for o in outcomes[:8] if not isinstance(o, BaseException) and o.degraded]
        assert degraded  # patterns only, flagged as degraded (and never cached)
        assert all(not isinstance(o, BaseException) for o in outcomes[:8])
        assert any(isinstance(o, NerUnavailable) for o in outcomes[8:])  # fail closed
        assert all(f for o in degraded for f in o.findings)  # the phone number is still found
    finally:
        await engine.close()


@pytest.mark.slow
def test_new_words_do_not_grow_the_model_for_good() -> None:
    from masker_ner.model import SpacyNer

    model = SpacyNer()
    model.analyze(["Warm up with Maria Gonzalez in Springfield."])
    before = model.vocabulary_size()
    found = model.analyze([f"Patient Zorblat{i} Quxtonian visited ref{i}x{i * 7919}" for i in range(300)])
    assert len(found) == 300
    assert model.vocabulary_size() == before  # the batch's new strings were given back
    spans = model.analyze(["Patient Maria Gonzalez was seen at Boston Medical Center in Springfield."])[0]
    assert any(s.label == "PERSON" for s in spans)
