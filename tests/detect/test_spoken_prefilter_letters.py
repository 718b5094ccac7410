"""The spoken view's one-letter shortcut (``spoken._ALONE``) never hides a view.

``_view_possible`` skips its letter-beside-digit regexes when no one-letter word stands alone; these
texts put lone, glued and contracted letters next to digits and number words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from masker.detect.spoken import digit_view

_PIECES = [
    "a",
    "i",
    "o",
    "x",
    "b",
    "I'm",
    "it's",
    "5x",
    "x1",
    "7",
    "42",
    "one",
    "dash",
    "-",
    "slash",
    "oh",
    "'",
    "\u2019s",
]


@pytest.mark.parametrize(
    "text",
    [
        "5x a 7",
        "it's 5 b",
        "I'm 4 x 2",
        "x1 a 9",
        "let's go 12 b 3",
        "son\u2019s c 4 4",
        "q dash 5 5",
        "x1 dash o",
    ],
)
def test_letters_beside_digits_view_the_same_gated_or_not(text: str) -> None:
    assert digit_view(text) == digit_view(text, gated=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=8), st.sampled_from([" ", "", ", "]))
def test_generated_letter_texts_view_the_same_gated_or_not(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert digit_view(text) == digit_view(text, gated=False)
