"""Propagation: a value found in one text of a request is replaced wherever it recurs, in any text,
whatever its case, spacing or punctuation; values seeded as ``known`` are replaced with no cue."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence

import pytest

from bench.corpus import generate_class_corpus, generate_corpus
from masker.detect import propagate
from masker.detect.engine import DetectionEngine
from masker.detect.propagate import KNOWN, Values
from masker.detect.types import DetectOptions, Entity

SYSTEM = "You are the front desk assistant. The caller is patient Derek Olsen, SSN 512-44-7781."


def _found(
    engine: DetectionEngine, texts: Sequence[str], known: Sequence[tuple[Entity, str]] = ()
) -> list[set[tuple[Entity, str]]]:
    result = asyncio.run(engine.detect(list(texts), DetectOptions(), known=known))
    return [
        {(f.entity, t[f.start : f.end]) for f in fs} for t, fs in zip(texts, result.findings, strict=True)
    ]


@pytest.mark.parametrize(
    ("later", "value"),
    [
        ("yes this is derek olsen again", "derek olsen"),  # lower case, no cue the recognizers know
        ("DEREK OLSEN calling back", "DEREK OLSEN"),
        ("it's derek  olsen", "derek  olsen"),  # two spaces
        ("file saved as derek_olsen_notes.txt", "derek_olsen"),
        ("login DerekOlsen failed", "DerekOlsen"),
        ("tell olsen the results are in", "olsen"),  # a part of the name on its own
        ("my social is 512 44 7781", "512 44 7781"),
        ("ref 512447781 closed", "512447781"),
        ("der\u200bek olsen again", "der\u200bek olsen"),  # folded before matching
    ],
)
def test_value_from_the_system_prompt_is_found_in_a_later_message(
    patterns: DetectionEngine, later: str, value: str
) -> None:
    found = _found(patterns, [SYSTEM, "hello", later])
    assert any(v == value for _, v in found[2]), found[2]


def test_first_mention_without_cue_is_found_from_the_second(patterns: DetectionEngine) -> None:
    text = "Derek Olsen arrived at nine. Patient name: Derek Olsen. Olsen was seen by the nurse."
    found = _found(patterns, [text])[0]
    assert {v for _, v in found} >= {"Derek Olsen", "Olsen"}
    result = asyncio.run(patterns.detect([text], DetectOptions()))
    covered = [(f.start, f.end) for f in result.findings[0]]
    for needle in ("Derek Olsen arrived", "name: Derek Olsen", "Olsen was"):
        pos = text.index(needle) + (needle.index("Olsen") if needle != "Olsen was" else 0)
        assert any(s <= pos < e for s, e in covered), needle


def test_value_found_in_another_field_is_found_in_the_messages(patterns: DetectionEngine) -> None:
    # Conversation order, then other fields of the body (e.g. ``metadata``).
    texts = ["please reschedule for margarethe vulpius", "patient name: Margarethe Vulpius"]
    found = _found(patterns, texts)
    assert (Entity.PERSON, "margarethe vulpius") in found[0]


@pytest.mark.parametrize(
    ("known", "text", "value"),
    [
        ((Entity.PERSON, "Jane Roe"), "jane wants to move her appointment", "jane"),
        ((Entity.PERSON, "Jane Roe"), "ok roe, got it", "roe"),
        ((Entity.PERSON, "Jane Roe"), "JANE ROE here", "JANE ROE"),
        ((Entity.PHONE, "+1 415 555 2671"), "call back on (415) 555-2671", "415) 555-2671"),
        ((Entity.PHONE, "+14155552671"), "my number is 14155552671", "14155552671"),
        ((Entity.MRN, "MRN00417732"), "chart mrn00417732 updated", "mrn00417732"),
    ],
)
def test_known_values_are_found_with_no_cue(
    patterns: DetectionEngine, known: tuple[Entity, str], text: str, value: str
) -> None:
    found = _found(patterns, [text], known=[known])[0]
    assert any(v.endswith(value) for e, v in found if e is known[0]), found


_CALLER = [(Entity.PERSON, "Derek Olsen"), (Entity.PHONE, "+15555550148"), (Entity.DATE, "1961-04-12")]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DEREK\n  OLSEN", "DEREK\n  OLSEN"),  # a known name across a line break
        ("Thanks, derek. See you.", "derek"),  # a known name part in any case, in cased text
        ("my number is 555 555 0148", "555 555 0148"),  # a known number regrouped
        ("call (555) 555-0148 please", "(555) 555-0148"),
        ("or 555-5550148", "555-5550148"),
        ("+1 (555) 555 01 48 works", "+1 (555) 555 01 48"),
        ("1 555 555 0148", "1 555 555 0148"),
        ("call 555 555 0148 2 times", "555 555 0148"),  # the digits that follow are not part of it
        ("born 1961 04 12", "1961 04 12"),
        ("born 19610412", "19610412"),
    ],
)
def test_known_values_in_any_grouping_or_case(patterns: DetectionEngine, text: str, value: str) -> None:
    found = _found(patterns, [text], known=_CALLER)[0]
    assert any(value in v for _, v in found), found  # covered (a recognizer may take more)


@pytest.mark.parametrize(
    ("known", "text", "value"),
    [
        ((Entity.ID_NUMBER, "4417"), "member 4417 again", "4417"),  # short, but the caller says it is PHI
        ((Entity.PERSON, "Grace Lee"), "Grace called back", "Grace"),  # everyday part, capitalised
        ((Entity.PERSON, "Grace Lee"), "this is grace", "grace"),  # ... or in uncased text
        ((Entity.SSN, "512447781"), "ssn 512-44-7781 on file", "512-44-7781"),  # found as its digits
    ],
)
def test_known_values_need_no_distinctive_words(
    patterns: DetectionEngine, known: tuple[Entity, str], text: str, value: str
) -> None:
    found = _found(patterns, [text], known=[known])[0]
    assert value in {v for _, v in found}, found


@pytest.mark.parametrize(
    ("known", "text"),
    [
        ((Entity.PERSON, "Grace Lee"), "There is a grace period."),  # an everyday part in cased text
        ((Entity.PERSON, "Mark Price"), "Is the price right?"),
        ((Entity.PHONE, "+15555550148"), "order 55555501489 shipped"),  # digits inside a longer number
        ((Entity.PHONE, "+15555550148"), "ref x5555550148"),
        ((Entity.PERSON, "Dr Jo Li"), "dr jo is in"),  # titles and two-letter parts alone
    ],
)
def test_known_values_do_not_take_everyday_words_or_parts_of_numbers(
    patterns: DetectionEngine, known: tuple[Entity, str], text: str
) -> None:
    result = asyncio.run(patterns.detect([text], DetectOptions(), known=[known]))
    assert [text[f.start : f.end] for f in result.findings[0] if f.recognizer == KNOWN] == []


def test_known_value_is_one_finding_over_its_parts(patterns: DetectionEngine) -> None:
    text = "Derek Olsen, (555) 555-0148"
    result = asyncio.run(patterns.detect([text], DetectOptions(), known=_CALLER))
    assert [text[f.start : f.end] for f in result.findings[0]] == ["Derek Olsen", "(555) 555-0148"]


@pytest.mark.parametrize(
    ("first", "later"),
    [
        # A value the recognizers found must not turn everyday words into findings elsewhere.
        ("I am 95 years old.", "I walked 95 steps"),
        ("Dr. Will Smith called.", "I will call back tomorrow"),
        ("Dr. Will Smith called.", "Will you call back tomorrow?"),
        ("Patient: May Chen", "may I ask a question"),
        ("Patient: Grace Lee", "There is a grace period. Grace periods are short."),
        ("Patient: Mark Price", "Is the price right?"),  # a name part, lower case in cased text
        ("Account 4417 is closed", "take 4417 steps"),  # a short number
    ],
)
def test_propagation_does_not_spread_everyday_words(
    patterns: DetectionEngine, first: str, later: str
) -> None:
    found = _found(patterns, [first, later])
    assert found[1] == set(), found[1]


def test_propagation_is_linear_in_the_number_of_values(patterns: DetectionEngine) -> None:
    # Thousands of distinct values and a long text: answered (no quadratic blow-up to wait for).
    names = [f"Zq{i:05d}x Vr{i:05d}y" for i in range(3000)]
    known = [(Entity.PERSON, n) for n in names]
    text = " and ".join(n.lower() for n in names[::7])
    found = _found(patterns, [text], known=known)[0]
    assert len(found) == len(names[::7])


@pytest.mark.parametrize(
    "text",
    [
        "derek olsen called; DEREK OLSEN again, Derek_Olsen and olsenderek are not him",
        "Olsen, Derek. Dr. Ana María Ruiz-Peña visits ana maría; ruiz-peña at 10:30",
        "nothing here but derek's dog and ana",
    ],
)
def test_first_words_are_found_alike_by_the_short_and_the_long_text_path(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """Short texts look the values' first words up one by one, long ones through one compiled
    regex: both must find the very same occurrences."""
    from masker.detect import propagate

    known = [(Entity.PERSON, "Derek Olsen"), (Entity.PERSON, "Ana María Ruiz-Peña")]
    monkeypatch.setattr(propagate, "_REGEX_FROM_CHARS", 10**9)
    by_substring = propagate.collect([text], [[]], known).find(text)
    monkeypatch.setattr(propagate, "_REGEX_FIRSTS", -1)  # neither shortcut: word by word
    by_word = propagate.collect([text], [[]], known).find(text)
    monkeypatch.setattr(propagate, "_REGEX_FIRSTS", 256)
    monkeypatch.setattr(propagate, "_REGEX_FROM_CHARS", 0)
    by_regex = propagate.collect([text], [[]], known).find(text)
    assert by_word, "the known name must be found"
    assert by_word == by_regex == by_substring


def test_cached_word_keys_leave_the_cyclic_collectors_way() -> None:
    """The per-value caches live for the process: keyed by an ``Entity`` member (an object the
    collector tracks for life), each entry would be walked by every full collection."""
    values = Values()
    for value, entity in [("Derek Olsen", Entity.PERSON), ("555-555-0148", Entity.PHONE)]:
        values.add(value, entity, 0.9, "test")
        values.add(value, entity, 1.0, KNOWN, known=True)
    for _ in range(3):  # one level of nested tuples per pass
        gc.collect()
    # A cache's referents are its keys and results (and the wrapped function, a marker object...).
    cached = [
        o for f in (propagate._keys, propagate._numbers) for o in gc.get_referents(f) if type(o) is tuple
    ]
    assert len(cached) >= 8
    assert not [o for o in cached if gc.is_tracked(o)]


def _corpus_requests() -> list[tuple[str, ...]]:
    samples = [*generate_corpus(4, n_clinical=30, n_dialogue=30, n_spoken=30), *generate_class_corpus(4)]
    edges = [
        # A final sigma and a capital dotted I: their lower case depends on context or is longer.
        ("ΟΔΟΣ Παπαδόπουλος; οδος ΠΑΠΑΔΌΠΟΥΛΟΣ'\u0391 and \u0130lker Y\u0131lmaz, ilker yilmaz",),
        ("Olsen_Derek olsen2 2olsen OLSEN.derek ólsen Olsen", "Derek Olsen"),
        ("Straße Weiß, STRASSE WEISS; ﬁnn ﬁnnegan", "Finn Finnegan, Straße"),
    ]
    return [tuple(s.turns) for s in samples] + edges


@pytest.mark.parametrize("texts", _corpus_requests())
def test_first_words_are_found_alike_word_by_word_and_by_substring(
    monkeypatch: pytest.MonkeyPatch, patterns: DetectionEngine, texts: tuple[str, ...]
) -> None:
    """The substring shortcut for a text's values' first words finds what reading it word by word
    finds, with the values the engine collects from the request's own findings."""
    from masker.detect import propagate

    result = asyncio.run(patterns.detect(list(texts), DetectOptions()))
    known = [(Entity.PERSON, t) for t in texts[1:2]]
    values = propagate.collect(texts, result.findings, known)
    by_substring = [values.find(t) for t in texts]
    monkeypatch.setattr(propagate, "_REGEX_FIRSTS", -1)
    values = propagate.collect(texts, result.findings, known)
    assert [values.find(t) for t in texts] == by_substring
