"""Spoken-form PHI as ASR transcripts deliver it: number words, "oh", "double", years and dates as
words, spelled e-mails, lower-case names."""

from __future__ import annotations

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.spoken import digit_view
from masker.detect.types import Entity as E

from .conftest import spans_of


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("four one five five five five two six seven one", "4155552671"),
        ("nine oh one, double two, three four five six", "901-22-3456"),
        ("triple seven", "777"),
        ("nineteen eighty", "1980"),
        ("twenty twenty three", "2023"),
        ("two thousand and five", "2005"),
        ("one hundred twenty three main street", "123 main street"),
        ("eight hundred five main street", "805 main street"),
        ("one eight hundred five five five one two one two", "18005551212"),
        ("march third nineteen eighty", "march 3rd 1980"),
        ("the twenty first of june", "the 21st of june"),
        ("415 five five five 2671", "4155552671"),
        ("ninety two years old", "92 years old"),
    ],
)
def test_digit_view(text: str, view: str) -> None:
    result = digit_view(text)
    assert result is not None and result.text == view


@pytest.mark.parametrize("text", ["i have two kids", "oh I see", "no numbers here"])
def test_digit_view_leaves_plain_text_alone(text: str) -> None:
    assert digit_view(text) is None


def test_digit_view_maps_back_to_the_original() -> None:
    text = "call four one five, five five five, two six seven one now"
    view = digit_view(text)
    assert view is not None
    start = view.text.index("415")
    s, e = view.to_original(start, start + len("415-555-2671"))
    assert text[s:e] == "four one five, five five five, two six seven one"


SPOKEN: list[tuple[str, set[tuple[E, str]]]] = [
    (
        "my number is four one five five five five two six seven one",
        {(E.PHONE, "four one five five five five two six seven one")},
    ),
    ("call me at four one five, five five five, oh one nine nine", {
        (E.PHONE, "four one five, five five five, oh one nine nine"),
    }),
    ("my social is nine oh one double two three four five six", {
        (E.SSN, "nine oh one double two three four five six"),
    }),
    ("ssn 901 22 three four five six", {(E.SSN, "901 22 three four five six")}),
    ("i was born march third nineteen eighty", {(E.DATE, "march third nineteen eighty")}),
    ("date of birth is the fourth of july nineteen sixty two", {
        (E.DATE, "fourth of july nineteen sixty two"),
    }),
    ("my email is john dot smith at gmail dot com", {(E.EMAIL, "john dot smith at gmail dot com")}),
    ("it's j o h n underscore doe at example dot org", {
        (E.EMAIL, "j o h n underscore doe at example dot org"),
    }),
    ("my member id is x j h four four seven one two two", {
        (E.HEALTH_PLAN_ID, "x j h four four seven one two two"),
    }),
    ("mrn is oh oh one two three four five six", {(E.MRN, "oh oh one two three four five six")}),
    ("i live at one two three main street", {(E.ADDRESS, "one two three main street")}),
    ("she is ninety four years old", {(E.AGE, "ninety four years old")}),
    ("the card is four one one one one one one one one one one one one one one one", {
        (E.CREDIT_CARD, "four one one one one one one one one one one one one one one one"),
    }),
    ("my name is john smith", {(E.PERSON, "john smith")}),
    ("my dob is one slash five slash nineteen eighty", {(E.DATE, "one slash five slash nineteen eighty")}),
    ("my member id is A-B-C 1-2-3-4-5", {(E.HEALTH_PLAN_ID, "A-B-C 1-2-3-4-5")}),
    ("four fifteen, five fifty-five, twenty-six seventy-one", {
        (E.PHONE, "four fifteen, five fifty-five, twenty-six seventy-one"),
    }),
    ("one two three dash four five dash six seven eight nine is my social", {
        (E.SSN, "one two three dash four five dash six seven eight nine"),
    }),
    ("it's 5 5 5, 1 2 3, 4 5 6 7", {(E.PHONE, "5 5 5, 1 2 3, 4 5 6 7")}),
    ("one eight hundred five five five one two one two", {
        (E.PHONE, "one eight hundred five five five one two one two"),
    }),
    ("Caller: Sure, it's June fifth, nineteen seventy-two.", {(E.DATE, "June fifth, nineteen seventy-two")}),
    ("My name is Maria, M-A-R-I-A, and my last name is Lopez", {
        (E.PERSON, "Maria, M-A-R-I-A"), (E.PERSON, "Lopez"),
    }),
    ("ok my social is nine-two-seven-six-eight-nine-two-nine-four", {
        (E.SSN, "nine-two-seven-six-eight-nine-two-nine-four"),
    }),
    ("sure it's 8 9 7 9 6 0 5 4 4 4", {(E.PHONE, "8 9 7 9 6 0 5 4 4 4")}),
    ("area code double seven two and then two nine six one three eight seven", {
        (E.PHONE, "double seven two and then two nine six one three eight seven"),
    }),
    ("my date of birth is oh five fourteen nineteen sixty one", {
        (E.DATE, "oh five fourteen nineteen sixty one"),
    }),
    ("my appointment was on july three nineteen fifty", {(E.DATE, "july three nineteen fifty")}),
    ("my mom is ninety four and she lives with me", {(E.AGE, "ninety four")}),
    ("um yeah hi uh this is mark young and i'm calling about my uh bill", {(E.PERSON, "mark young")}),
    ("this is maria gonzalez calling", {(E.PERSON, "maria gonzalez")}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SPOKEN)
def test_spoken_forms(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i take one tablet two times a day",
        "about five or six months ago",
        "in nineteen eighty we moved",  # a year alone is not a date element
        "I am doing fine thanks",
        "this is ridiculous",
        "i'm calling about my prescription",
        "customer: it's uh about seven thirty",
        "sure it's 4 may i ask why",
        "my blood sugar was one forty this morning",
        "i'm on the fifth floor",
    ],
)
def test_spoken_traps(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the last four of my social are one two three four", {(E.SSN, "one two three four")}),
        ("it's the visa ending in 4242", {(E.CREDIT_CARD, "4242")}),
        ("my email is john smith seven eight at gmail dot com", {
            (E.EMAIL, "john smith seven eight at gmail dot com"),
        }),
        ("you're speaking with brynlee how can i help", {(E.PERSON, "brynlee")}),
        ("hey its tom again", {(E.PERSON, "tom")}),
        ("so my kid's doctor is doctor nguyen", {(E.PERSON, "nguyen")}),
        ("the claim number is c l m dash two oh two four dash five five one two", {
            (E.ID_NUMBER, "c l m dash two oh two four dash five five one two"),
        }),
        ("she turned ninety one last week", {(E.AGE, "ninety one")}),
        ("my dad is a hundred and two", {(E.AGE, "a hundred and two")}),
        ("my phone is five five five one two three four", {(E.PHONE, "five five five one two three four")}),
        ("call four one five five five five two six seven one extension two three four", {
            (E.PHONE, "four one five five five five two six seven one extension two three four"),
        }),
        ("dob three slash fifteen slash eighty", {(E.DATE, "three slash fifteen slash eighty")}),
        ("i live at twelve thirty four main street", {(E.ADDRESS, "twelve thirty four main street")}),
    ],
)  # fmt: skip
def test_partial_numbers_and_caller_phrasing(
    patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]
) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i'll transfer you to the nurse line",
        "your total is one hundred twenty dollars",
        "take one tablet by mouth three times a day for ten days",
        "we have an opening at nine thirty on the fourteenth",
        "my blood pressure was one forty over ninety",
        "i weigh about one eighty five",
        "it's room two twelve",
        "the code was nine nine two one three",
        "the last time i came in was in june",
    ],
)
def test_agent_and_caller_traps(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()
