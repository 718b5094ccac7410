"""E-mail addresses and web addresses read out loud: "john dot smith at gmail dot com",
"j o h n underscore five at example dot org", "w w w dot clinic dot org slash forms"."""

from __future__ import annotations

import re

from ..recognizer import Doc, Pattern, PatternRecognizer, fold_words, gate_regex
from ..types import Entity

IGNORE = re.IGNORECASE

_TLD = r"(?:com|org|net|edu|gov|io|co|us|info|biz|me|health|example|test|invalid|uk|ca|ai|app|dev)"
_DOT = r"(?:[ \t]+(?:dot|period|point)[ \t]+|\.)"
_SEP = r"(?:[ \t]+(?:dot|period|point|underscore|under[ \t]score|dash|hyphen|minus)[ \t]+|[._-])"
_PART = r"(?:(?!at\b)[a-z0-9]+|(?:[a-z][ \t]){1,}[a-z](?![a-z]))"
# Words a caller says before the address that are never part of it.
_NOT_LOCAL = (
    r"(?!(?:at|is|my|email|e-mail|mail|address|its|it's|it|me|the|and|to|was|sure|yes|yeah|ok|okay|uh|um)\b)"
)
# Further local-part words joined by a pause only ("john smith seven eight at …"), at most three.
_SPACED = rf"(?:[ \t]+{_NOT_LOCAL}[a-z0-9]+){{0,3}}"
_AT = r"(?:[ \t]*@[ \t]*|[ \t]+at(?:[ \t]+sign)?[ \t]+)"


class SpokenEmailRecognizer(PatternRecognizer):
    name = "email_spoken"
    ENTITY = Entity.EMAIL
    triggers = (" at ", "@")
    PATTERNS = (
        Pattern(
            "spoken-email",
            rf"(?<![\w@.'\u2019])(?P<e>{_NOT_LOCAL}{_PART}(?:{_SEP}{_PART}){{0,4}}{_SPACED}{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+){{0,3}}{_DOT}{_TLD})\b(?![/@-])",
            0.85,
            group="e",
            flags=IGNORE,
        ),
    )

    # Cheap gate for the expensive pattern: something "at" something "dot"/"." something.
    _gate = gate_regex(
        r"\bat[ \t]+[a-z0-9-]+(?:[ \t]+(?:dot|period|point)[ \t]+|\.)[a-z]"
        r"|@\S{0,64}[ \t]+(?:dot|period|point)[ \t]",
        IGNORE,
    )

    # Prefilter for the gate: a spoken dot, or a written one before a letter ("at gmail.com").
    _dot_letter = gate_regex(r"\.(?i:[a-z])")
    _dots = fold_words(("dot", "period", "point"))

    def prefilter(self, doc: Doc) -> bool:
        return doc.has_any(self._dots) or doc.found(self._dot_letter)

    def applies(self, doc: Doc) -> bool:
        return super().applies(doc) and doc.found(self._gate)

    def validate(self, value: str, *, context: bool) -> bool:
        # Written addresses belong to the e-mail recognizer; this one needs a spoken part.
        low = value.lower()
        return " dot " in low or " at " in low or " underscore " in low


class SpokenUrlRecognizer(PatternRecognizer):
    name = "url_spoken"
    ENTITY = Entity.URL
    triggers = (" dot ",)
    PATTERNS = (
        Pattern(
            "spoken-url",
            rf"(?<![\w@])(?:(?:w[ \t]w[ \t]w|www)[ \t]+dot[ \t]+)?[a-z0-9-]+"
            rf"(?:[ \t]+dot[ \t]+[a-z0-9-]+){{0,3}}"
            rf"[ \t]+dot[ \t]+{_TLD}\b(?:[ \t]+slash[ \t]+[a-z0-9-]+)*",
            0.7,
            flags=IGNORE,
        ),
    )
