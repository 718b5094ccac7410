"""Detection that inputs cannot make fail or hang: NER input is bounded whatever the text, a long
request ends in ``DetectionBudgetExceeded`` at its budget, and nothing of that outlives the request.
(Speed is shown by ``bench/detection_scaling.py``; these tests assert outcomes, not times.)"""

from __future__ import annotations

import asyncio
import base64
import random
import threading
from collections.abc import Sequence

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.inprocess import InProcessNer
from masker.detect.ner import MAX_SEGMENT, ner_segments
from masker.detect.types import DetectionBudgetExceeded, DetectOptions, Entity, NerSpan


class SizeCheckingNer:
    """A backend as strict as spaCy about length: fails on any text over ``max_length``."""

    def __init__(self, max_length: int = 1_000_000) -> None:
        self.max_length = max_length
        self.longest = 0
        self.calls = 0

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        self.calls += 1
        for t in texts:
            self.longest = max(self.longest, len(t))
            if len(t) > self.max_length:
                raise ValueError("[E088] Text of length exceeds maximum")
        return [[] for _ in texts]

    async def close(self) -> None:
        pass


def _blob(n: int, seed: int = 1) -> str:
    return base64.b64encode(random.Random(seed).randbytes(n * 3 // 4)).decode()[:n]


@pytest.mark.parametrize(
    "text",
    [
        "Seen by Margarethe Vulpius " + "A" * 1_100_000,
        "Seen by Margarethe Vulpius " + _blob(1_100_000) + " and Ottilie Pogwisch",
        "Margarethe " + "x" * 300_000 + " Vulpius",
        " ".join(["Zq"] * 300_000),  # one sentence of 300,000 unknown capitalised words
    ],
)
def test_ner_segments_are_bounded(text: str) -> None:
    segments = ner_segments(text)
    assert all(len(seg) <= MAX_SEGMENT for _, seg in segments)
    assert all(text[offset : offset + len(seg)] == seg for offset, seg in segments)


def test_names_next_to_a_blob_still_reach_ner() -> None:
    text = "Seen by Margarethe Vulpius: " + _blob(500_000) + " signed Ottilie Pogwisch."
    sent = " ".join(seg for _, seg in ner_segments(text))
    assert "Margarethe Vulpius" in sent and "Ottilie Pogwisch" in sent
    assert len(sent) < 2_000


@pytest.mark.slow
def test_a_million_character_run_cannot_make_ner_fail() -> None:
    ner = SizeCheckingNer()
    engine = DetectionEngine(ner=ner, budget_seconds=600)
    text = "Patient Margarethe Vulpius sent " + "A" * 1_100_000
    result = asyncio.run(engine.detect([text], DetectOptions(on_ner_failure="raise")))
    assert not result.degraded
    assert ner.longest <= MAX_SEGMENT


def test_a_request_past_its_budget_fails_and_the_next_one_is_answered() -> None:
    engine = DetectionEngine(ner=None, budget_seconds=0.0, offload_from=1000)
    big = "Call Derek Olsen at 415-555-2671. " * 2000
    with pytest.raises(DetectionBudgetExceeded):
        asyncio.run(engine.detect([big], DetectOptions()))
    # Small requests stay on the event loop, outside any budget: answered as usual.
    result = asyncio.run(engine.detect(["Call 415-555-2671 today"], DetectOptions()))
    assert [f.entity for f in result.findings[0]] == [Entity.PHONE]


def test_a_large_request_is_detected_on_the_worker_thread() -> None:
    seen: list[str] = []

    class Recording(DetectionEngine):
        def pattern_candidates(self, text: str, **kwargs: object) -> list:  # type: ignore[override]
            seen.append(threading.current_thread().name)
            return super().pattern_candidates(text, **kwargs)  # type: ignore[arg-type]

    engine = Recording(ner=None, offload_from=10_000)
    asyncio.run(engine.detect(["Call 415-555-2671 today"], DetectOptions()))
    asyncio.run(engine.detect(["Call 415-555-2671 today. " * 1000], DetectOptions()))
    assert seen[0] == threading.main_thread().name
    assert seen[-1].startswith("masker-detect")


def test_findings_in_a_chunked_text_match_the_whole_text_reading() -> None:
    unit = (
        "Patient Derek Olsen, SSN 512-44-7781, phone (415) 555-2671, MRN 00417732, seen 03/04/2021 "
        "at 12 Elm Street, Springfield, IL 62704; e-mail derek.olsen@example.com.\n"
    )
    text = unit * 1200  # > 2 chunks, so values straddle chunk edges
    whole = DetectionEngine(ner=None, offload_from=10**9)
    chunked = DetectionEngine(ner=None, offload_from=1000, budget_seconds=600)
    a = asyncio.run(whole.detect([text], DetectOptions())).findings[0]
    b = asyncio.run(chunked.detect([text], DetectOptions())).findings[0]
    assert [(f.start, f.end, f.entity) for f in a] == [(f.start, f.end, f.entity) for f in b]


@pytest.mark.slow
def test_in_process_model_survives_a_huge_run_and_answers_the_next_turn() -> None:
    ner = InProcessNer(mode="inline")
    engine = DetectionEngine(ner=ner, budget_seconds=600)
    text = "Note from Margarethe Vulpius: " + "Q" * 1_100_000
    first = asyncio.run(engine.detect([text], DetectOptions(on_ner_failure="raise")))
    assert not first.degraded
    nxt = asyncio.run(engine.detect(["I spoke with Ottilie Pogwisch yesterday."], DetectOptions()))
    values = {("I spoke with Ottilie Pogwisch yesterday."[f.start : f.end]) for f in nxt.findings[0]}
    assert "Ottilie Pogwisch" in values
