"""The NER model's unit of output, shared by the proxy's NER clients and the NER service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NerSpan:
    """A span from the NER model: spaCy label (PERSON, GPE, LOC, FAC, ORG, ...) and offsets."""

    start: int
    end: int
    label: str
    score: float = 0.85
