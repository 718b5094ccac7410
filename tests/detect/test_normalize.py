# ruff: noqa: RUF001  (the cases are look-alike characters on purpose)
"""Unicode folding before detection: disguised identifiers are found, and what is reported is the
exact span of the original text (so what gets replaced is the original value, disguise included)."""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.normalize import normalize
from masker.detect.types import DetectOptions, Entity

ZWSP = "\u200b"
NBH = "\u2011"  # non-breaking hyphen
EN = "\u2013"
EM = "\u2014"
MINUS = "\u2212"
NBSP = "\u00a0"
THIN = "\u2009"


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _found(engine: DetectionEngine, text: str) -> set[tuple[Entity, str]]:
    result = asyncio.run(engine.detect([text], DetectOptions()))
    return {(f.entity, text[f.start : f.end]) for f in result.findings[0]}


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        (f"SSN 512{NBH}44{NBH}7781 on file", Entity.SSN, f"512{NBH}44{NBH}7781"),
        (f"SSN 512{EN}44{EN}7781 on file", Entity.SSN, f"512{EN}44{EN}7781"),
        (f"SSN 512{MINUS}44{MINUS}7781 on file", Entity.SSN, f"512{MINUS}44{MINUS}7781"),
        (f"social security number {_fullwidth('512-44-7781')}", Entity.SSN, _fullwidth("512-44-7781")),
        (f"SSN 5{ZWSP}12-44-77{ZWSP}81 on file", Entity.SSN, f"5{ZWSP}12-44-77{ZWSP}81"),
        ("SSN ٥١٢-٤٤-٧٧٨١ on file", Entity.SSN, "٥١٢-٤٤-٧٧٨١"),  # Arabic-Indic digits
        ("SSN 5\u03321\u03322-44-7781 on file", Entity.SSN, "5\u03321\u03322-44-7781"),  # combining marks
        (f"call me at (415){NBSP}555{EN}2671 today", Entity.PHONE, f"(415){NBSP}555{EN}2671"),
        (f"call me at 415{THIN}555{THIN}2671 today", Entity.PHONE, f"415{THIN}555{THIN}2671"),
        (f"call me at {_fullwidth('415-555-2671')} today", Entity.PHONE, _fullwidth("415-555-2671")),
        ("write to јane.rое@exаmple.com please", Entity.EMAIL, "јane.rое@exаmple.com"),  # Cyrillic
        (f"write to jane.roe@exam{ZWSP}ple.com please", Entity.EMAIL, f"jane.roe@exam{ZWSP}ple.com"),
        ("my name is Јоhn Ѕmith and I need a refill", Entity.PERSON, "Јоhn Ѕmith"),
        (f"my name is Jo{ZWSP}hn Sm{ZWSP}ith and I need a refill", Entity.PERSON, f"Jo{ZWSP}hn Sm{ZWSP}ith"),
        ("my name is Jose\u0301 Garci\u0301a and I need a refill", Entity.PERSON, "Jose\u0301 Garci\u0301a"),
        ("DOB 03\u200d/04/1961, seen today", Entity.DATE, "03\u200d/04/1961"),
        # Latin letters with no ASCII decomposition: the span covers the whole word, not its head.
        ("I live in Tromsø now", Entity.LOCATION, "Tromsø"),
        ("she moved to Łódź last year", Entity.LOCATION, "Łódź"),
        ("my name is Þórunn Guðmundsdóttir", Entity.PERSON, "Þórunn Guðmundsdóttir"),
        ("my name is Ægir Østergaard", Entity.PERSON, "Ægir Østergaard"),
        ("my name is Jürgen Weißmann", Entity.PERSON, "Jürgen Weißmann"),
    ],
)
def test_disguised_identifier_is_found_at_its_original_span(
    patterns: DetectionEngine, text: str, entity: Entity, value: str
) -> None:
    assert (entity, value) in _found(patterns, text)


@pytest.mark.parametrize(
    "text",
    [
        "Москва — столица России, сор и мусор.",  # a Russian sentence stays Russian
        "Η ασθενής είναι καλά σήμερα.",  # Greek prose
        "The café served crème brûlée — no issues noted.",
        "Patient states pain is 7\u20138 out of 10 today.",  # a range, with an en dash
        "Take 2\u00a0tablets twice daily\u2014with food.",
        "The ﬁnal ﬁle was ﬁled.",  # ligatures
        "Temperature 38\u2009°C, BP stable.",
        "Ｔｈｅ ｐａｔｉｅｎｔ ｉｓ ｗｅｌｌ.",  # fullwidth prose
    ],
)
def test_folding_creates_no_finding(patterns: DetectionEngine, text: str) -> None:
    assert _found(patterns, text) == set()


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("plain ascii", "plain ascii"),
        (f"a{ZWSP}b", "ab"),
        ("ﬁx", "fix"),
        ("Јоhn", "John"),
        ("e\u0301t\u00e9", "ete"),
        (f"1{EN}2{EM}3{MINUS}4{NBH}5", "1-2-3-4-5"),
        (f"a{NBSP}b{THIN}c\u2028d", "a b c\nd"),
        ("\u2018quoted\u2019 \u201cwords\u201d", "'quoted' \"words\""),
    ],
)
def test_folded_text(text: str, folded: str) -> None:
    assert normalize(text).text == folded


def test_plain_ascii_is_returned_unchanged() -> None:
    text = "Derek Olsen, 512-44-7781"
    norm = normalize(text)
    assert norm.text is text and norm.identity


@pytest.mark.parametrize(
    ("text", "folded_value", "original_value"),
    [
        (f"x Der{ZWSP}ek y", "Derek", f"Der{ZWSP}ek"),
        (f"x Derek{ZWSP} y", "Derek", f"Derek{ZWSP}"),  # a removed character right after is covered
        (f"x {ZWSP}Derek y", "Derek", "Derek"),  # one right before is not
        ("x ﬁle y", "file", "ﬁle"),
        ("x ﬁle y", "ile", "ﬁle"),  # part of an expanded character: the whole character
        ("x Jose\u0301 y", "Jose", "Jose\u0301"),
        (f"{ZWSP * 3}a{ZWSP}b{ZWSP * 2}c d", "abc", f"a{ZWSP}b{ZWSP * 2}c"),
    ],
)
def test_offsets_map_back_to_the_original(text: str, folded_value: str, original_value: str) -> None:
    norm = normalize(text)
    start = norm.text.index(folded_value)
    o_start, o_end = norm.to_original(start, start + len(folded_value))
    assert text[o_start:o_end] == original_value


def test_offsets_round_trip_on_every_span() -> None:
    text = f"ﬁ{ZWSP}Јо\u0301{EN}５ ab\u00ad{NBSP}ﬀ"
    norm = normalize(text)
    for start in range(len(norm.text) + 1):
        for end in range(start, len(norm.text) + 1):
            o_start, o_end = norm.to_original(start, end)
            assert 0 <= o_start <= o_end <= len(text)
            # The original span folds back to text that contains the folded span.
            assert norm.text[start:end] in normalize(text[o_start:o_end]).text
