"""The NER gate: text that cannot hold a name skips the model (most of a voice turn's cost)."""

from __future__ import annotations

import pytest

from masker.detect.ner import worth_ner


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
        "Wednesday at 3 works. Oh and my wife Priya Raman might call to confirm.",
        "Let's ask Dr. Okafor on Tuesday.",
        "my daughter june will bring me",  # June is a given name: months that are names stay unknown
    ],
)
def test_possible_names_still_go_to_ner(text: str) -> None:
    assert worth_ner(text)
