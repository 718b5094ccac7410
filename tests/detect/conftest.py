"""Shared helpers: run the real engine (patterns only unless a test gives it a backend)."""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions, Entity

Spans = set[tuple[Entity, str]]


def spans_of(engine: DetectionEngine, text: str, options: DetectOptions | None = None) -> Spans:
    result = asyncio.run(engine.detect([text], options or DetectOptions()))
    return {(f.entity, text[f.start : f.end]) for f in result.findings[0]}


@pytest.fixture(scope="session")
def patterns() -> DetectionEngine:
    return DetectionEngine(ner=None)
