"""The multi-pattern scan's answers are exactly what ``re`` and ``str`` answer.

``Doc`` starts with its prefilter memos filled in from one Hyperscan scan (``multiscan``). Every
answer filled in must be the one the memo would have computed; these tests compare each of them,
for every registered condition, over the labelled corpora and over generated texts full of the
shapes the conditions look for. The candidates gated-or-not comparison in ``test_prefilters.py``
covers the scan too (gated docs use it), this one checks the facts themselves.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masker.detect import recognizer
from masker.detect.multiscan import MultiScan
from masker.detect.recognizer import Doc, contains_any
from masker.detect.registry import Registry

from .test_prefilters import _TEXT, CORPUS


@pytest.fixture(scope="module")
def scan() -> MultiScan:
    Registry()  # installs the scan of every registered condition
    assert recognizer._SCAN is not None, "hyperscan is a dependency: the scan must be installed"
    return recognizer._SCAN


def _check(scan: MultiScan, text: str) -> int:
    """Compare every filled-in fact of ``text`` with ``re``/``str``; returns how many there were."""
    facts = scan.facts(text)
    if facts is None:
        assert not text.isascii() or re.search("[\x1c-\x1f]", text)
        return 0
    gates, lower_gates, fold_words, text_words = facts
    lower = text.lower()
    for rx, hit in gates.items():
        assert hit == (rx.search(text) is not None), (rx.pattern, text)
    for rx, hit in lower_gates.items():
        assert hit == (rx.search(lower) is not None), (rx.pattern, text)
    for words, hit in fold_words.items():
        assert hit == contains_any(lower, words), (words, text)
    for words, hit in text_words.items():
        assert hit == contains_any(text, words), (words, text)
    return len(gates) + len(lower_gates) + len(fold_words) + len(text_words)


def test_most_conditions_are_in_the_scan(scan: MultiScan) -> None:
    registered = len(recognizer._GATES) + len(recognizer._LOWER_GATES)
    registered += len(recognizer._FOLD_WORDS) + len(recognizer._TEXT_WORDS)
    assert len(scan) >= 0.8 * registered


def test_corpus_facts_match_re(scan: MultiScan) -> None:
    checked = sum(_check(scan, t) for t in CORPUS)
    assert checked > 10 * len(CORPUS)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_generated_facts_match_re(text: str) -> None:
    assert recognizer._SCAN is not None
    _check(recognizer._SCAN, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=60))
def test_any_ascii_text_facts_match_re(text: str) -> None:
    assert recognizer._SCAN is not None
    _check(recognizer._SCAN, text)


@pytest.mark.parametrize("text", ["caf\u00e9 at 555-0100", "a\x1cb 12 34", ""])
def test_texts_left_to_re(scan: MultiScan, text: str) -> None:
    _check(scan, text)
    doc = Doc(text)
    # Left to ``re``: nothing filled in beyond what the doc computes itself.
    if text and (not text.isascii() or "\x1c" in text):
        assert doc._gates == {}


def test_an_approximate_gate_is_left_to_re_when_it_may_match(scan: MultiScan) -> None:
    # The URL gate has look-behinds: Hyperscan compiles it only in prefilter mode, so "it may
    # match" is not an answer and ``re`` decides (here: it does not match).
    from masker.detect.recognizers.contact import UrlRecognizer

    gate = UrlRecognizer._requires
    assert gate is not None
    text = "x.y:z wwwxcom"
    facts = scan.facts(text)
    assert facts is not None
    assert gate not in facts[0] or facts[0][gate] == (gate.search(text) is not None)
    assert Doc(text).found(gate) == (gate.search(text) is not None)
