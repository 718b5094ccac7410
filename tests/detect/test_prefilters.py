"""The pattern pass's prefilters and shortcuts never change a finding.

Every recognizer and pattern may skip work on a text that cannot hold a match (``Recognizer.prefilter``,
``min_digits``, ``Pattern.gate``/``words``/``run``/``starts``/``lowercase``, the spoken view's
``_view_possible``). ``gated=False`` turns all of them off; these tests run both ways over the
labelled synthetic corpora and over generated texts built from the same values, cue words, number
words and the characters that trip case folding, and require identical candidates.
"""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import generate_corpus, generate_dev_corpus
from masker.detect.engine import DetectionEngine
from masker.detect.recognizer import _FOLD, PatternRecognizer, gate_regex
from masker.detect.recognizers import labelled, names
from masker.detect.registry import default_recognizers
from masker.detect.spoken import _NUMBER_WORDS, digit_view


def _corpus_texts() -> list[str]:
    samples = [
        *generate_corpus(3, n_clinical=40, n_dialogue=40, n_spoken=60, n_multiturn=10),
        *generate_dev_corpus(5, n_notes=30, n_calls=40, n_multiturn=5),
    ]
    texts = [t for s in samples for t in s.turns]
    texts += [" ".join(s.turns) for s in samples if len(s.turns) > 1]
    return texts


CORPUS = _corpus_texts()

# Pieces to build texts from: corpus sentences cut at random, and the words and characters the
# prefilters look for (or must not be fooled by).
_WORDS = [
    "my name is", "this is", "Dr.", "doctor", "MRN", "member id", "DOB", "born", "ssn", "routing",
    "npi", "area code", "call me at", "fax", "zip", "Springfield, IL", "Austin, Texas", "moved to",
    "County", "works at", "Medical Center", "Inc", "age", "years old", "march", "Dec", "the 3rd of",
    "oh", "o", "one", "twenty", "hundred", "double", "first", "dash", "a", "i", "x", "b", "@", "dot",
    "at", "www.", "http://", "::", "1.2", "3/4", "12-", "(01)", "+44", "SK", "AC", "box", "last four",
    "ending in", "speaking", "here", "Ms", "Nurse", "RN", "MD", "PT:", "patient:", ",", ":", "-", "/",
    "\u212a", "\u017f", "\u0130", "\u0131", "\u2019", "\t", "\n", "  ",
]  # fmt: skip
_DIGITS = st.integers(0, 10**12).map(str)
_PIECE = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(sorted(_NUMBER_WORDS)),
    _DIGITS,
    st.sampled_from(CORPUS).flatmap(
        lambda t: st.tuples(st.integers(0, len(t)), st.integers(0, 80)).map(lambda p: t[p[0] : p[0] + p[1]])
    ),
    st.text(alphabet="aAoOxX019 -.,:/@\t\u212a\u017f", max_size=6),
)
_TEXT = st.lists(_PIECE, max_size=14).flatmap(
    lambda parts: st.lists(
        st.sampled_from([" ", "", ", ", "-", "\n", "  "]), min_size=len(parts), max_size=len(parts)
    ).map(lambda seps: "".join(p + s for p, s in zip(parts, seps, strict=True)))
)


@pytest.fixture(scope="module")
def engine() -> DetectionEngine:
    return DetectionEngine(ner=None)


def test_corpus_candidates_are_the_same_gated_or_not(engine: DetectionEngine) -> None:
    assert len(CORPUS) > 250
    differ = [t for t in CORPUS if engine.pattern_candidates(t) != engine.pattern_candidates(t, gated=False)]
    assert not differ, f"{len(differ)} texts differ"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_generated_candidates_are_the_same_gated_or_not(text: str) -> None:
    engine = DetectionEngine(ner=None)
    assert engine.pattern_candidates(text) == engine.pattern_candidates(text, gated=False)
    assert digit_view(text) == digit_view(text, gated=False)


@pytest.mark.parametrize(
    "text",
    [
        "x y, dash 5",  # a letters-only run before a separator that does not join
        "plan X 4471",
        "five \u212aone two",  # U+212A before a number word: "one" is still a token
        "call 4 1 5 5 now",
        "i x1 5 i",
        "oh 5",
        "Oh, I see",
        "\u0130t's john calling",
        "MY NAME IS JOHN SMITH",
        "March 3rd",
        "DOB: 3/14/1980, MRN 00123456",
    ],
)
def test_edge_cases_are_the_same_gated_or_not(engine: DetectionEngine, text: str) -> None:
    assert engine.pattern_candidates(text) == engine.pattern_candidates(text, gated=False)
    assert digit_view(text) == digit_view(text, gated=False)


@pytest.mark.parametrize("word", sorted(_NUMBER_WORDS))
def test_every_number_word_opens_the_spoken_view(engine: DetectionEngine, word: str) -> None:
    for text in (f"call {word} {word} {word} now", f"it is {word.upper()}", f"{word}, 5", f"b {word} x"):
        assert digit_view(text) == digit_view(text, gated=False), text
        assert engine.pattern_candidates(text) == engine.pattern_candidates(text, gated=False), text


def test_fold_covers_every_character_ignorecase_matches_with_an_ascii_letter() -> None:
    # Doc.fold relies on this: a case-insensitive match of a word is a substring of the fold.
    letter = re.compile("(?i)[a-z]")
    special = {chr(c) for c in range(128, sys.maxunicode + 1) if letter.fullmatch(chr(c))}
    assert special == {chr(c) for c in _FOLD}
    for c in special:
        target = c.translate(_FOLD)
        assert len(target) == 1 and re.fullmatch(f"(?i){target}", c)


# What may hold an upper-case letter in a ``lowercase`` regex: escapes (\\S), group names, and the
# class A-Za-z (it also holds the lower-case letters).
_UNCASED = re.compile(r"\\[A-Za-z]|\(\?P<\w+>|\(\?P=\w+\)|A-Za-z")


def test_lowercase_patterns_have_only_lower_case_letters() -> None:
    # A ``lowercase=True`` regex runs without IGNORECASE over the lower-cased text: an upper-case
    # letter in it (outside escapes such as \\S) would never match there.
    checked = 0
    for recognizer in default_recognizers():
        if not isinstance(recognizer, PatternRecognizer):
            continue
        for pattern in recognizer.PATTERNS:
            if pattern.lowercase:
                assert pattern.flags & re.IGNORECASE, pattern.name
                bare = _UNCASED.sub("", pattern.regex)
                assert not re.search("[A-Z]", bare), pattern.name
                checked += 1
    assert checked >= 10
    for rx in (names._TITLE_LOWER, names._STRONG, names._WEAK, names._BEFORE_VERB, labelled._LABEL_RX):
        assert rx.flags & re.IGNORECASE
        assert not re.search("[A-Z]", _UNCASED.sub("", rx.pattern)), rx.pattern[:40]


def test_gates_are_shared_between_patterns() -> None:
    assert gate_regex(r"\d[/.-]\d") is gate_regex(r"\d[/.-]\d")
    assert gate_regex(r"\d[/.-]\d") is not gate_regex(r"\d[/.-]\d", re.IGNORECASE)


def _literal_words(rx: re.Pattern[str]) -> list[str]:
    """Every lower-case word the regex spells out (an over-approximation of where a match starts)."""
    return sorted({w for w in re.findall(r"[a-z]+", rx.pattern.lower()) if len(w) > 1 or w == "i"})


@pytest.mark.parametrize(
    "word",
    sorted(
        {
            w
            for rx in (names._TITLE, names._TITLE_LOWER, names._STRONG, names._WEAK)
            for w in _literal_words(rx)
        }
    ),
)
def test_every_cue_word_is_a_name_cue_lead(engine: DetectionEngine, word: str) -> None:
    # The cue regexes are only tried where ``names._LEADS`` finds a word: a cue they start with
    # that is missing from the lead sets would lose the findings after it.
    for text in (
        f"ok {word} maria smith calling",
        f"{word.title()} Maria Smith",
        f"{word}'s name is john",
        f"{word}. Dr. Patel",
        f"{word} is emily, {word}: mark",
        f"her {word} is maria",
        f"ok {word} by John Smith, {word} with maria smith",
        f"{word} in by maria, {word} of kin: maria, {word} of attorney: maria",
    ):
        assert engine.pattern_candidates(text) == engine.pattern_candidates(text, gated=False), text


def test_required_regexes_are_in_every_text_with_a_finding() -> None:
    # ``Recognizer.requires`` skips a recognizer on a text without a match: checked directly here on
    # the ungated findings (the gated-vs-ungated tests check it through the engine).
    from masker.detect.recognizer import Doc

    required = [r for r in default_recognizers() if r._requires is not None]
    assert len(required) >= 8
    texts = [*CORPUS, "IBAN GB82 WEST 1234 5698 7654 32", "VIN 1HGCM82633A004352", "00:1A:2b:3C:4d:5E"]
    for text in texts:
        doc = Doc(text, gated=False)
        for recognizer in required:
            if recognizer.applies(doc) and recognizer.analyze(doc):
                assert recognizer._requires is not None and recognizer._requires.search(text), (
                    recognizer.name,
                    text,
                )
