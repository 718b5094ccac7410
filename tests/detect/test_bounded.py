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


class RecordingNer:
    """The in-process model, recording what it is asked to read."""

    def __init__(self) -> None:
        self.model = InProcessNer(mode="inline")
        self.texts: list[str] = []

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        self.texts.extend(texts)
        return await self.model.analyze(texts)

    async def close(self) -> None:
        await self.model.close()


_PEOPLE = ["Ottilie Pogwisch", "Margarethe Vulpius", "Kestrel Amundsen", "Ilse Brandauer"]
_SENTENCES = [
    "On visit {i} {name} described mild pain after the walk.",
    "Later that week {name} returned the forms (ref {i}).",
    "The team asked whether {name} could come back on day {i}.",
]


def _repeating_note(n: int) -> str:
    rng = random.Random(4)
    lines = []
    for i in range(n):
        name = rng.choice(_PEOPLE)
        lines.append(rng.choice(_SENTENCES).format(i=i if i % 3 else 7, name=name))
    return "\n".join(lines)


@pytest.mark.slow
def test_a_large_request_asks_the_model_once_per_window_and_not_for_names_already_found() -> None:
    text = _repeating_note(600)  # ~30,000 characters: the budgeted path
    options = DetectOptions(on_ner_failure="raise")
    every = RecordingNer()
    whole = asyncio.run(DetectionEngine(ner=every, offload_from=10**9).detect([text], options)).findings[0]
    fewer = RecordingNer()
    large = asyncio.run(
        DetectionEngine(ner=fewer, offload_from=1000, budget_seconds=600).detect([text], options)
    ).findings[0]
    assert len(fewer.texts) == len(set(fewer.texts))  # no window twice
    assert len(fewer.texts) < len(every.texts) / 2
    # Every name the model found reading every window is still masked everywhere.
    for found in (whole, large):
        masked = [False] * len(text)
        for f in found:
            masked[f.start : f.end] = [True] * (f.end - f.start)
        for name in _PEOPLE:
            start = text.find(name)
            while start >= 0:
                assert all(masked[start : start + len(name)]), (name, start)
                start = text.find(name, start + 1)


_SECRET_TEXTS = [
    "export MY_SERVICE_CLIENT_SECRET=Zq8xVbN2pLmK4rT7 and AWS_SECRET_ACCESS_KEY=" + "a1B2" * 10,
    'config = {"twilioAuthToken": "f00dfacebeef1234", "db.password": "hunter2hunter2"}',
    "key AKIAABCDEFGHIJKLMNOP; token ghp_" + "x" * 36 + " and glpat-" + "y" * 20,
    "Authorization: Bearer abcdefghijklmnop.qrstuvwx and Basic dXNlcjpwYXNzd29yZA==",
    "x" * 60 + "_webhook_secret: 'q1w2e3r4t5y6' and sk-proj-" + "z" * 24 + " sk_live_" + "k" * 20,
    "bot 123456789:AA"
    + "b" * 33
    + " key-"
    + "0" * 32
    + " xoxb-123-abcdefgh eyJabcdefgh.eyJabcdefgh.abcdefgh",
    "PWD=Secr3t!Secr3t refresh-token := 'tok_ABCDEFGH12' https://u:pa55word@host/x AccountKey=" + "Q" * 44,
]


@pytest.mark.parametrize("text", _SECRET_TEXTS)
def test_secret_patterns_tried_where_they_can_start_find_what_a_full_scan_finds(text: str) -> None:
    engine = DetectionEngine(ner=None)
    for piece in (text, "Note: " + text.upper(), text.lower() + " " + _blob(2000)):
        gated = sorted(map(repr, engine.pattern_candidates(piece)))
        assert gated == sorted(map(repr, engine.pattern_candidates(piece, gated=False)))
        assert "SECRET" in " ".join(gated) or piece.startswith("Note: ")
