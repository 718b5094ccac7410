"""PHI detection: pattern recognizers, spoken-form normalisation, NER, conflict resolution."""

from .types import (
    ENTITY_BY_LABEL,
    LABELS,
    DetectionResult,
    DetectOptions,
    Detector,
    Entity,
    Finding,
    NerBackend,
    NerSpan,
    NerUnavailable,
)

__all__ = [
    "ENTITY_BY_LABEL",
    "LABELS",
    "DetectOptions",
    "DetectionResult",
    "Detector",
    "Entity",
    "Finding",
    "NerBackend",
    "NerSpan",
    "NerUnavailable",
]
