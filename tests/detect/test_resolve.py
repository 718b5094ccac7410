"""Overlap resolution (``resolve``): what one stretch of text becomes when findings meet."""

from __future__ import annotations

import pytest

from masker.detect.resolve import resolve
from masker.detect.types import Entity, Finding


def _person(text: str, word: str, score: float = 0.8) -> Finding:
    start = text.index(word)
    return Finding(start, start + len(word), Entity.PERSON, score, "ner")


@pytest.mark.parametrize(
    ("text", "words", "expected"),
    [
        # one name found word by word: one finding, the space inside it
        ("seen by Kestrel Amundsen today", ["Kestrel", "Amundsen"], ["Kestrel Amundsen"]),
        ("seen by Kestrel  Amundsen today", ["Kestrel", "Amundsen"], ["Kestrel  Amundsen"]),
        ("Ana María Ruiz called", ["Ana", "María", "Ruiz"], ["Ana María Ruiz"]),
        # names a separator keeps apart stay apart
        ("Kestrel, Amundsen", ["Kestrel", "Amundsen"], ["Kestrel", "Amundsen"]),
        ("Kestrel\nAmundsen", ["Kestrel", "Amundsen"], ["Kestrel", "Amundsen"]),
        ("Kestrel and Amundsen", ["Kestrel", "Amundsen"], ["Kestrel", "Amundsen"]),
    ],
)
def test_adjacent_names_with_only_a_space_between_them_are_one(
    text: str, words: list[str], expected: list[str]
) -> None:
    found = resolve([_person(text, w) for w in words], text)
    assert sorted(text[f.start : f.end] for f in found) == sorted(expected)
    assert all(f.entity is Entity.PERSON for f in found)


def test_a_place_next_to_a_name_is_not_merged_into_it() -> None:
    text = "Kestrel Amundsen Springfield"
    start = text.index("Springfield")
    place = Finding(start, start + len("Springfield"), Entity.LOCATION, 0.8, "ner")
    found = resolve([_person(text, "Kestrel"), _person(text, "Amundsen"), place], text)
    assert sorted((text[f.start : f.end], f.entity) for f in found) == [
        ("Kestrel Amundsen", Entity.PERSON),
        ("Springfield", Entity.LOCATION),
    ]
