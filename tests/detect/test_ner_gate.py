"""The NER gate: text that cannot hold a name skips the model (most of a voice turn's cost)."""

from __future__ import annotations

import re

import pytest

from bench.corpus import generate_class_corpus, generate_corpus
from masker.detect.ner import _SENTENCE_END, WINDOW_WORDS, ner_segments, worth_ner


@pytest.mark.parametrize(
    "text",
    [
        "Tuesday is better. If I miss you, call me back at 415-555-0142, I'm usually home after 5.",
        "Let's do Wednesday. Can you also send the reminder to my email, it's jo.kim7@example.com?",
        "OK thanks, Friday in September works.",
    ],
)
def test_calendar_and_everyday_words_skip_ner(text: str) -> None:
    assert not worth_ner(text)


@pytest.mark.parametrize(
    "text",
    [
        "I will call you on Tuesday, may I?",  # given names that are everyday words stay skipped
        "BP and HR stable, CBC pending.",
        "The grace period ends Friday, we will bill you in May.",
    ],
)
def test_everyday_words_that_are_also_names_skip_ner(text: str) -> None:
    assert not worth_ner(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wednesday at 3 works. Oh and my wife Priya Raman might call to confirm.",
        "Let's ask Dr. Okafor on Tuesday.",
        "my daughter june will bring me",  # June is a given name: months that are names stay unknown
        # Cased text, but the name is not capitalised, or is in short capitals like an abbreviation.
        "Yes, I spoke with alice about the Results yesterday.",
        "PT ANNA ROE seen today, BP stable.",
        "Follow-up: ANA to call back on Monday.",
    ],
)
def test_possible_names_still_go_to_ner(text: str) -> None:
    assert worth_ner(text)


def test_words_with_digits_are_not_names() -> None:
    assert not worth_ner("SpO2 97% on room air. HbA1c and B12 pending.")


def test_a_title_does_not_end_the_sentence_sent_to_ner() -> None:
    filler = "The patient reports mild fatigue and was advised to rest at home. " * 4
    text = filler + "Seen by Dr. Ana Diaz today. " + filler
    segments = [segment for _, segment in ner_segments(text)]
    assert any("Dr. Ana Diaz" in s for s in segments), segments


def test_long_sentences_send_a_window_around_the_unknown_word() -> None:
    words = ["the", "patient", "was", "stable", "and", "comfortable"] * 10
    words[30] = "Okonkwo"
    text = " ".join(words) + "."
    ((offset, segment),) = ner_segments(text)
    assert text[offset : offset + len(segment)] == segment
    assert "Okonkwo" in segment and len(segment.split()) == 2 * WINDOW_WORDS + 1


def test_words_already_claimed_by_a_pattern_skip_ner() -> None:
    text = "Hi, this is Priya Raman, you can reach me at 415-555-0142."
    name = (text.index("Priya"), text.index(",", text.index("Priya")))
    assert ner_segments(text) == [(0, text)]
    assert ner_segments(text, claimed=[name]) == []
    assert ner_segments(text, claimed=[(name[0], name[0] + 5)]) == [(0, text)]  # "Raman" is left


# The sentence splitter as it read before its lookahead was moved first (same matches, slower):
# the reference the faster one is held to.
_SENTENCE_END_REFERENCE = re.compile(
    r"(?<!\b(?:dr|mr|ms|mx|st|jr|sr))(?<!\b(?:mrs|rev|sgt|col|gen|gov|hon))(?<!\b(?:prof|capt))"
    r"[.!?;]+(?=\s|$)|\n",
    re.IGNORECASE,
)
_SENTENCE_EDGES = [
    "Dr. Ana Diaz. Mrs. Roe! Prof. X? capt. y; St. Paul",
    "ends with a stop.",
    "no stop at all",
    "a.b. c..  d?!\te;\nf\n\ng",
    "MR. ROE.\u00a0next",
    "(Dr.) (dr.)x mr.; jr.. sr.!",
    "",
]


def _sentence_texts() -> list[str]:
    samples = [*generate_corpus(9, n_clinical=40, n_dialogue=30, n_spoken=30), *generate_class_corpus(9)]
    return [t for s in samples for t in s.turns] + _SENTENCE_EDGES


@pytest.mark.parametrize("text", _sentence_texts())
def test_sentence_ends_are_those_of_the_reference_pattern(text: str) -> None:
    assert [m.span() for m in _SENTENCE_END.finditer(text)] == [
        m.span() for m in _SENTENCE_END_REFERENCE.finditer(text)
    ]
